"""The Export API (v3/v4 and v5): procedures, a one-at-a-time queue, CSV result files.

An export snapshots the matching row indices when it is created; its state is derived from
the simulator clock (Waiting -> Processing -> Complete/Failed, or Canceled), exports running
one at a time in creation order. Result files are slices of a pseudo-random permutation of
those rows, rendered to CSV while they are sent, so a file never sits in memory.
"""

from __future__ import annotations

import csv
import io
import json
import math
import operator
import threading
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import custom
from .http import ApiError, DropConnection, Request, Response, json_response
from .schema import BY_EXPORT_OBJECT, BY_V5_PATH, PROCEDURES, StreamSpec, camel
from .timefmt import TimeFormatter

MSG_178 = "The current state of the export does not allow the operation"
_DATE_ARGS = ("created_after", "created_before", "updated_after", "updated_before",
              "prospect_updated_after", "prospect_updated_before")


@dataclass
class Export:
    id: int
    version: int
    spec: StreamSpec
    procedure: str
    args: dict[str, Any]
    fields: list[tuple[str, str]]  # (snake name, header as sent)
    created: float
    wait: float
    duration: float
    fail: bool
    tz: str
    rows: array  # table indices matching the procedure, fixed at creation
    row_count: int = 0
    files: list[tuple[int, int, int]] = field(default_factory=list)  # (file id, start, end)
    perm: tuple[int, int] = (1, 0)
    canceled_at: float | None = None
    forced_expired: bool = False
    start: float = 0.0
    finish: float = 0.0


class Exports:
    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.lock = threading.Lock()
        self.items: dict[int, Export] = {}
        self.next_id = 201917
        self._tfs: dict[str, TimeFormatter] = {}

    # ---- queue and state ---------------------------------------------------------------------
    def _schedule(self) -> None:
        """Start/finish times: one export at a time, in creation order."""
        free = float("-inf")
        cancel_after = float(self.sim.knobs["export_cancel_after_days"]) * 86400
        for e in sorted(self.items.values(), key=lambda x: (x.created, x.id)):
            start = max(e.created + e.wait, free)
            finish = start + e.duration
            limit = e.created + cancel_after
            if finish > limit and (e.canceled_at is None or e.canceled_at > limit):
                e.canceled_at = limit  # never finished within the limit: canceled by Pardot
            e.start, e.finish = start, finish
            if e.canceled_at is not None and e.canceled_at < finish:
                if e.canceled_at > start:
                    free = e.canceled_at
            else:
                free = finish

    def state(self, e: Export, now: float) -> tuple[str, float, bool]:
        """(state, updated time, expired) of an export at `now` (call after _schedule)."""
        st = self._state(e, now)
        if (st[0] in ("Canceled", "Failed") or st[2]) and len(e.rows):
            e.rows = array("i")  # nothing can be downloaded any more: free the row list
        return st

    def _state(self, e: Export, now: float) -> tuple[str, float, bool]:
        if e.canceled_at is not None and e.canceled_at < e.finish and now >= e.canceled_at:
            return "Canceled", e.canceled_at, e.forced_expired
        if now < e.start:
            return "Waiting", e.created, False
        if now < e.finish:
            return "Processing", e.start, False
        expiry = float(self.sim.knobs["export_expiry_days"]) * 86400
        expired = e.forced_expired or now >= e.finish + expiry
        return ("Failed" if e.fail else "Complete"), e.finish, expired

    def _get(self, req: Request) -> tuple[Export, str, float, bool]:
        with self.lock:
            e = self.items.get(int(req.params["id"]))
            if e is None:
                raise ApiError(16, "Invalid ID", status=404)
            self._schedule()
            return (e, *self.state(e, self.sim.clock.now_f()))

    def _tf(self, tz: str) -> TimeFormatter:
        tf = self._tfs.get(tz)
        if tf is None:
            tf = self._tfs[tz] = TimeFormatter(tz)
        return tf

    def rep(self, e: Export, st: str, updated: float, expired: bool,
            refs: bool = True) -> dict[str, Any]:
        k = self.sim.knobs
        tf = self.sim.tf
        out: dict[str, Any] = {"id": e.id, "state": st, "isExpired": expired}
        if refs and st == "Complete" and not expired and e.files:
            urls = [self._url(e, fid) for fid, _, _ in e.files]
            if len(urls) == 1 and not (e.version == 5 and k["export_v5_result_refs_always_array"]):
                out[k["export_result_refs_key"]] = urls[0]
            else:
                out[k["export_result_refs_key"]] = urls
        out["createdAt"] = tf.iso_local(int(e.created))
        out["updatedAt"] = tf.iso_local(int(updated))
        if e.version == 5:
            out["object"] = e.spec.export_object
            out["createdById"] = 1
            out["updatedById"] = 1
        return out

    def _url(self, e: Export, fid: int) -> str:
        if e.version == 5:
            return f"{self.sim.url}/api/v5/exports/{e.id}/results/{fid}"
        return (f"{self.sim.url}/api/export/version/{e.version}/do/downloadResults/id/{e.id}"
                f"/file/{fid}")

    def _reply(self, d: dict[str, Any]) -> Response:
        if self.sim.knobs["export_reply_wrapped"]:
            d = {"export": d}
        return json_response(d)

    # ---- endpoints ---------------------------------------------------------------------------
    def create(self, req: Request, version: int) -> Response:
        if not req.body:
            raise ApiError(152, "Request body can't be empty")
        if "json" not in (req.headers.get("Content-Type") or "").lower():
            raise ApiError(151, "Unsupported content-type")
        try:
            body = json.loads(req.body)
        except ValueError:
            raise ApiError(150, "Input needs to be valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(150, "Input needs to be valid JSON")
        e = self._build(body, version)
        with self.lock:
            self.items[e.id] = e
            self._schedule()
            return self._reply(self.rep(e, *self.state(e, self.sim.clock.now_f())))

    def read(self, req: Request, version: int) -> Response:
        e, st, upd, exp = self._get(req)
        return self._reply(self.rep(e, st, upd, exp))

    def cancel(self, req: Request, version: int) -> Response:
        e, st, _upd, _exp = self._get(req)
        if st in ("Complete", "Failed", "Canceled"):
            raise ApiError(178, MSG_178)
        with self.lock:
            e.canceled_at = self.sim.clock.now_f()
            self._schedule()
            return self._reply(self.rep(e, *self.state(e, self.sim.clock.now_f()), refs=False))

    def query(self, req: Request, version: int) -> Response:
        tf, now = self.sim.tf, self.sim.clock.now()
        args = req.args()
        status = args.get("status")
        obj = (args.get("object") or "").lower()
        sort_by = args.get("sort_by", "id")
        if sort_by not in ("id", "created_at", "updated_at"):
            raise ApiError(19, "Invalid value specified for sort_by")
        order = args.get("sort_order", "descending")
        if order not in ("ascending", "descending"):
            raise ApiError(20, "Invalid value specified for sort_order")
        bounds = {}
        for name in ("created_after", "created_before", "updated_after", "updated_before"):
            if name in args:
                try:
                    bounds[name] = tf.parse(args[name], now)
                except ValueError:
                    raise ApiError(7, "Invalid timestamp") from None
        out = []
        with self.lock:
            self._schedule()
            for e in self.items.values():
                st, upd, exp = self.state(e, self.sim.clock.now_f())
                times = {"created": e.created, "updated": upd}
                if status and st != status:
                    continue
                if obj and (e.spec.export_object or "").lower() != obj:
                    continue
                if any((n.endswith("after") and times[n.split("_")[0]] <= v)
                       or (n.endswith("before") and times[n.split("_")[0]] >= v)
                       for n, v in bounds.items()):
                    continue
                out.append((e, self.rep(e, st, upd, exp, refs=False), upd))
        col = {"id": lambda t: t[0].id, "created_at": lambda t: t[0].created,
               "updated_at": lambda t: t[2]}[sort_by]
        out.sort(key=col, reverse=order == "descending")
        reps = [r for _, r, _ in out]
        if version == 5:
            return json_response({"values": reps})
        result: dict[str, Any] = {"total_results": len(reps)}
        if reps:
            result["export"] = reps[0] if len(reps) == 1 else reps
        return json_response({"result": result})

    def download(self, req: Request) -> Response:
        e, st, _, exp = self._get(req)
        if st != "Complete" or exp or not len(e.rows):  # (rows are gone if the clock went back)
            raise ApiError(178, MSG_178)
        fid = int(req.params["file"])
        match = [f for f in e.files if f[0] == fid]
        if not match:
            raise ApiError(16, "Invalid ID", status=404)
        k = self.sim.knobs
        drop = self.sim.knobs.take("download_drop_count") or (
            k["download_drop_rate"] and self.sim.rng.random() < k["download_drop_rate"])
        if drop:
            self.sim.stats.error("download_dropped")
        body = self._csv(e, match[0][1], match[0][2],
                         float(k["download_drop_fraction"]) if drop else None)
        return Response(200, body, "text/csv; charset=utf-8")

    def expire(self, export_id: int | None) -> list[int]:
        with self.lock:
            hit = [e for e in self.items.values() if export_id is None or e.id == int(export_id)]
            for e in hit:
                e.forced_expired = True
            return [e.id for e in hit]

    def describe_all(self) -> list[dict[str, Any]]:
        with self.lock:
            self._schedule()
            now = self.sim.clock.now_f()
            return [{**self.rep(e, *self.state(e, now)), "object": e.spec.export_object,
                     "version": e.version, "procedure": e.procedure, "arguments": e.args,
                     "fields": [n for _, n in e.fields], "row_count": e.row_count,
                     "file_rows": [end - start for _, start, end in e.files]}
                    for e in self.items.values()]

    # ---- building an export -------------------------------------------------------------------
    def _build(self, body: dict[str, Any], version: int) -> Export:
        k = self.sim.knobs
        obj = str(body.get("object") or "")
        spec = BY_EXPORT_OBJECT.get(obj.lower()) or BY_EXPORT_OBJECT.get(
            obj.lower().replace("-", "")) or _v5_alias(obj)
        if spec is None:
            raise ApiError(177, f"Invalid object: {obj}")
        spec = self.sim.store.tables[spec.name].spec  # prospects: with custom fields
        proc = body.get("procedure")
        if not isinstance(proc, dict):
            raise ApiError(176, "Missing required argument.")
        procs = PROCEDURES[spec.export_object]
        name = proc.get("name")
        if name not in procs:
            raise ApiError(174, "Unknown procedure name.")
        required, optional = procs[name]
        raw = proc.get("arguments") or {}
        if not isinstance(raw, dict):
            raise ApiError(177, "Invalid procedure argument.")
        args: dict[str, Any] = {}
        allowed = set(required) | set(optional)
        for key, value in raw.items():
            snake = _arg_name(key, allowed, version)
            if snake is None:
                raise ApiError(175, f"Unknown procedure argument: {key}")
            args[snake] = value  # duplicates: the latter value wins
        missing = [a for a in required if a not in args]
        if missing:
            raise ApiError(176, f"Missing required argument: {missing[0]}")
        now = self.sim.clock.now()
        window = self._window(args, now)
        fields = self._fields(spec, body.get("fields"), version)
        rows = self._select(spec, name, args, window, now)
        with self.lock:
            eid = self.next_id
            self.next_id += 1 + (eid * 7919) % 3
        rng = self.sim.rng
        rate = float(k["export_rows_per_second"])
        e = Export(
            id=eid, version=version, spec=spec, procedure=name, args=dict(raw), fields=fields,
            created=self.sim.clock.now_f(), wait=float(k["export_waiting_seconds"]),
            duration=float(k["export_processing_seconds"]) + (len(rows) / rate if rate else 0),
            fail=bool(self.sim.knobs.take("export_failure_count")
                      or (k["export_failure_rate"] and rng.random() < k["export_failure_rate"])),
            tz=k["timezone"], rows=rows, row_count=len(rows))
        self._split(e, rng)
        return e

    def _window(self, args: dict[str, Any], now: int) -> tuple[str, int | None, int]:
        tf = self.sim.tf
        prefix = next(p for p in ("prospect_updated", "created", "updated")
                      if f"{p}_after" in args)
        parsed = {}
        for a in (f"{prefix}_after", f"{prefix}_before"):
            if a in args:
                if not isinstance(args[a], str):
                    raise ApiError(177, f"Invalid procedure argument: {a}")
                try:
                    parsed[a] = tf.parse(args[a], now)
                except ValueError:
                    raise ApiError(177, f"Invalid procedure argument: {a}") from None
        after = parsed[f"{prefix}_after"]
        before = parsed.get(f"{prefix}_before")
        end = before if before is not None else now
        if end <= after:
            raise ApiError(177, "Invalid procedure argument: the range must be positive")
        limit = self.sim.knobs["export_max_range"]
        if limit == "1 year":
            start = datetime.fromtimestamp(after, tf.tz)
            try:
                year_later = start.replace(year=start.year + 1)
            except ValueError:  # 29 February
                year_later = start.replace(year=start.year + 1, day=28)
            too_long = end > int(year_later.timestamp())
        else:
            too_long = end - after > float(limit) * 86400
        if too_long:
            raise ApiError(177, "Invalid procedure argument: the range can't exceed 1 year")
        return prefix, after, end

    def _fields(self, spec: StreamSpec, raw: Any, version: int) -> list[tuple[str, str]]:
        k = self.sim.knobs
        unavailable = spec.export_unavailable
        if raw is None:
            names = [n for n, _ in spec.fields if n not in unavailable]
            return [(n, spec.api_name(n, version)) for n in names]
        if not isinstance(raw, list) or not raw or not all(isinstance(f, str) for f in raw):
            raise ApiError(177, "Invalid procedure argument: fields")
        if len(raw) > int(k["export_max_fields"]):
            raise ApiError(177, f"The number of fields can't exceed {k['export_max_fields']}")
        out = []
        for name in raw:
            plain = name in spec.types and name not in spec.custom  # custom: by fieldId only
            snake = name if plain and version != 5 else spec.by_camel.get(name)
            if snake is None and version == 5 and plain:
                snake = name
            if snake is None:
                raise ApiError(177, f"Invalid field: {name}")
            if snake in unavailable and k["export_unavailable_fields_error"]:
                raise ApiError(177, f"Field not available for export: {name}")
            out.append((snake, name))
        return out

    def _select(self, spec: StreamSpec, proc: str, args: dict[str, Any],
                window: tuple[str, int | None, int], now: int) -> array:
        k = self.sim.knobs
        store = self.sim.store
        table = store.tables[spec.name]
        prefix, after, before = window
        inclusive = bool(k["export_bounds_inclusive"])
        deleted_arg = "prospect_deleted" if prefix == "prospect_updated" else "deleted"
        want_deleted = _deleted(args.get(deleted_arg, "false"), deleted_arg)
        if (spec.name == "prospects" and k["export_prospect_deleted_must_be_all"]
                and want_deleted != (0, 1)):
            raise ApiError(177, "Invalid procedure argument: deleted must be all")
        types = _types(args["type"]) if "type" in args else None
        prospect_only = _bool(args["prospect_only"]) if "prospect_only" in args else False

        def in_range(t: int) -> bool:
            if inclusive:
                return after <= t <= before  # type: ignore[operator]
            return after < t < before  # type: ignore[operator]

        with store.lock:
            if prefix == "prospect_updated":
                pt = store.tables["prospects"]
                pidx = [i for i in range(len(pt)) if in_range(pt.updated[i])
                        and pt.deleted[i] in want_deleted]
                if spec.name == "visitors":
                    pids = {pt.ids[i] for i in pidx}
                    k_pid = spec.index["prospect_id"]
                    return array("i", (i for i in range(len(table)) if not table.deleted[i]
                                       and table.row(i)[k_pid] in pids))
                k_acc = pt.spec.index["prospect_account_id"]
                accs = {pt.row(i)[k_acc] for i in pidx}
                return array("i", (i for i in range(len(table))
                                   if not table.deleted[i] and table.ids[i] in accs))
            col = table.created if prefix == "created" else table.updated
            dele = table.deleted
            if not spec.deletable:
                want_deleted = (0, 1)
            lo, hi = after, before
            if inclusive:
                idx = [i for i, t in enumerate(col) if lo <= t <= hi and dele[i] in want_deleted]
            else:
                idx = [i for i, t in enumerate(col) if lo < t < hi and dele[i] in want_deleted]
            if types is not None or prospect_only:
                k_type, k_pid = spec.index["type"], spec.index["prospect_id"]
                keep = []
                for i in idx:
                    r = table.row(i)
                    if types is not None and r[k_type] not in types:
                        continue
                    if prospect_only and r[k_pid] is None:
                        continue
                    keep.append(i)
                idx = keep
            return array("i", idx)

    def _split(self, e: Export, rng: Any) -> None:
        """Uneven files over a pseudo-random permutation of the rows."""
        k = self.sim.knobs
        n = len(e.rows)
        if n == 0:
            return
        nfiles = max(1, min(int(k["export_max_files"]),
                            math.ceil(n / max(1, int(k["export_rows_per_file"])))))
        nfiles = min(nfiles, n)
        weights = [0.4 + rng.random() * 1.2 for _ in range(nfiles)]
        total = sum(weights)
        cuts = [0]
        acc = 0.0
        for w in weights[:-1]:
            acc += w
            cuts.append(min(n - (nfiles - len(cuts)), max(cuts[-1] + 1, round(n * acc / total))))
        cuts.append(n)
        a = rng.randrange(1, max(2, n)) | 1
        while math.gcd(a, n) != 1:
            a += 2
        e.perm = (a, rng.randrange(n))
        fids = rng.sample(range(10000, 99999), nfiles)
        e.files = [(fids[j], cuts[j], cuts[j + 1]) for j in range(nfiles)]
        rng.shuffle(e.files)

    def _csv(self, e: Export, start: int, end: int, drop: float | None) -> Iterator[bytes]:
        table = self.sim.store.tables[e.spec.name]
        spec = e.spec
        local = self._tf(e.tz).local
        sel = [spec.index[s] for s, _ in e.fields]
        pick = operator.itemgetter(*sel) if len(sel) > 1 else (lambda r: (r[sel[0]],))
        kinds = [spec.types[s] for s, _ in e.fields]
        dts = [j for j, t in enumerate(kinds) if t == "dt"]
        bools = [j for j, t in enumerate(kinds) if t == "bool"]
        lists = [j for j, t in enumerate(kinds) if t == "list"]  # multi-value custom fields
        multi = self.sim.knobs["export_multi_value_format"]
        rows, n = e.rows, len(e.rows)
        a, b = e.perm
        stop = start + int((end - start) * drop) if drop is not None else end
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow([name for _, name in e.fields])
        batch: list[list[Any]] = []
        row = table.row
        for pos in range(start, stop):
            r = row(rows[(a * pos + b) % n])
            out = list(pick(r))
            for j in dts:
                v = out[j]
                if v is not None:
                    out[j] = local(v)
            for j in bools:
                v = out[j]
                if v is not None:
                    out[j] = "true" if v else "false"
            for j in lists:
                out[j] = custom.csv_value("list", out[j], multi)
            batch.append(out)
            if len(batch) >= 1000:
                w.writerows(batch)
                batch.clear()
                if buf.tell() > 1 << 17:
                    yield buf.getvalue().encode()
                    buf.seek(0)
                    buf.truncate()
        w.writerows(batch)
        yield buf.getvalue().encode()
        if drop is not None:
            raise DropConnection


def _v5_alias(obj: str) -> StreamSpec | None:
    name = obj.lower()
    plural = name[:-1] + "ies" if name.endswith("y") else name + "s"
    spec = BY_V5_PATH.get(name) or BY_V5_PATH.get(plural)
    return spec if spec and spec.export_object else None


def _arg_name(key: str, allowed: set[str], version: int) -> str | None:
    if key in ("prospectOnly", "prospect_only"):
        return "prospect_only" if "prospect_only" in allowed else None
    if key in allowed:
        return key
    if version == 5:
        for a in allowed:
            if camel(a) == key:
                return a
    return None


def _deleted(value: Any, name: str) -> tuple[int, ...]:
    v = str(value).lower() if not isinstance(value, bool) else ("true" if value else "false")
    if v not in ("true", "false", "all"):
        raise ApiError(177, f"Invalid procedure argument: {name}")
    return {"true": (1,), "false": (0,), "all": (0, 1)}[v]


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise ApiError(177, "Invalid procedure argument: prospectOnly")


def _types(value: Any) -> set[int]:
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, int):
        items = [items]
    try:
        return {int(x) for x in items}
    except (TypeError, ValueError):
        raise ApiError(177, "Invalid procedure argument: type") from None
