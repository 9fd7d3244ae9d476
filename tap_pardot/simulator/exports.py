"""The Export API (v3/v4 and v5): procedures, a one-at-a-time queue, CSV result files.

Pardot is the reference: docs/simulator.md ("Export API") names the source of every rule.
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
import re
import threading
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import custom
from .http import ApiError, DropConnection, Request, Response, json_response
from .schema import StreamSpec, camel, spec_field_available
from .timefmt import TimeFormatter

MSG_178 = "The current state of the export does not allow the operation"
BOM = b"\xef\xbb\xbf"
SESSION = 5  # visitor activity type Session: exported only when `type` names it
ACTIVITY_TYPES = frozenset(range(1, 39))
MIN_FILE_SIZE = 10_000_000
GENERIC = "export_generic_procedures"  # the knob of the v5-only generic procedures
C, U = "filter_by_created_at", "filter_by_updated_at"
PU, LA = "filter_by_prospect_updated_at", "filter_by_last_activity"
AD = "filter_by_activity_date"  # external activities (seed 003): activity_after/_before
_PREFIX = {C: "created", U: "updated", PU: "prospect_updated", LA: "last_activity",
           AD: "activity"}
_COLUMN = {"last_activity": "last_activity_at", "activity": "activity_date"}  # by prefix

# Objects with both generic procedures (pardot-api.md 4d): v5 object type, stream.
_GENERIC_BOTH = (
    ("Campaign", "campaigns"), ("CustomField", "custom_fields"), ("List", "lists"),
    ("User", "users"), ("Opportunity", "opportunities"), ("Form", "forms"), ("Visit", "visits"),
    ("CustomRedirect", "custom_redirects"), ("DynamicContent", "dynamic_contents"),
    ("EmailTemplate", "email_templates"), ("File", "files"), ("Folder", "folders"),
    ("FormHandler", "form_handlers"), ("LandingPage", "landing_pages"),
    ("LayoutTemplate", "layout_templates"), ("LifecycleStage", "lifecycle_stages"),
    ("ListEmail", "list_emails"), ("TrackerDomain", "tracker_domains"))

# v5 object type -> (stream, {procedure in v3/v4 spelling: the knob that enables it, or None})
OBJECTS: dict[str, tuple[str, dict[str, str | None]]] = {
    "VisitorActivity": ("visitor_activities", {C: None, U: None}),
    "Prospect": ("prospects", {C: None, U: None, LA: "export_prospect_last_activity"}),
    "ListMembership": ("list_memberships", {C: None, U: None}),
    "Visitor": ("visitors", {U: None, PU: None, C: GENERIC}),
    "ProspectAccount": ("prospect_accounts", {U: None, PU: None, C: GENERIC}),
    "Email": ("emails", {U: "export_email_procedure"}),
    **{obj: (stream, {C: GENERIC, U: GENERIC}) for obj, stream in _GENERIC_BOTH},
    # No updatedAt: only the generic FilterByCreatedAt
    "LifecycleHistory": ("lifecycle_histories", {C: GENERIC}),
    "VisitorPageView": ("visitor_page_views", {C: GENERIC}),
    "FormHandlerField": ("form_handler_fields", {C: GENERIC}),
    "Tag": ("tags", {}),
    "ExternalActivity": ("external_activities", {C: None, AD: None}),
}
# Documented for v3/v4 today (seed 003) but not among the v3/v4 export objects of SRV's
# `findValidObjectName` (2023): knob `export_v3_external_activities`.
V5_ONLY = frozenset({"ExternalActivity"})
V5_PROPERTIES = ("id", "status", "isExpired", "resultRefs", "procedure", "fields", "createdAt",
                 "updatedAt", "createdById", "updatedById", "includeByteOrderMark",
                 "maxFileSizeBytes")
_V5_BODY = ("fields", "procedure", "includeByteOrderMark", "maxFileSizeBytes")
_ATOM = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")


def pascal(snake: str) -> str:
    """`filter_by_created_at` -> `FilterByCreatedAt` (v5 procedure names)."""
    return "".join(p[:1].upper() + p[1:] for p in snake.split("_"))


def _human(names: list[str], conj: str = "or") -> str:
    """Pardot's human-readable list: `a`, `a or b`, `a, b, or c`."""
    if len(names) < 3:
        return f" {conj} ".join(names)
    return f"{', '.join(names[:-1])}, {conj} {names[-1]}"


@dataclass
class Export:
    id: int
    version: int
    obj: str  # v5 object type
    spec: StreamSpec
    procedure: str  # v3/v4 spelling
    args: dict[str, Any]  # snake name -> value (dates as epoch seconds)
    fields: list[tuple[str, str]]  # (snake name, CSV header)
    created: float
    wait: float
    duration: float
    fail: bool
    tz: str
    rows: array[int]  # table indices matching the procedure, fixed at creation
    bom: bool = False
    max_file_size: int = 0
    user_id: int | None = None
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
        self.file_owner: dict[int, int] = {}  # file id -> export id
        self.next_id = 201917
        self._tfs: dict[str, TimeFormatter] = {}
        self._types: dict[str, tuple[int, int, bytearray]] = {}

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
        """(status, updated time, expired) of an export at `now` (call after _schedule)."""
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

    def _get(self, export_id: int) -> tuple[Export, str, float, bool]:
        with self.lock:
            e = self.items.get(export_id)
            if e is None:
                raise ApiError(16, "Invalid ID", status=404)
            self._schedule()
            return (e, *self.state(e, self.sim.clock.now_f()))

    def _tf(self, tz: str) -> TimeFormatter:
        tf = self._tfs.get(tz)
        if tf is None:
            tf = self._tfs[tz] = TimeFormatter(tz)
        return tf

    # ---- representations -----------------------------------------------------------------------
    def _urls(self, e: Export, version: int) -> list[str]:
        if version == 5:
            return [f"{self.sim.url}/api/v5/exports/{e.id}/results/{fid}" for fid, _, _ in e.files]
        return [f"{self.sim.url}/api/export/version/{version}/do/downloadResults/id/{e.id}"
                f"/file/{fid}" for fid, _, _ in e.files]

    def rep3(self, e: Export, st: str, updated: float, expired: bool, version: int,
             refs: bool = True) -> dict[str, Any]:
        """The v3/v4 Export resource: `state`; resultRefs a string, an array or absent."""
        tf = self.sim.tf
        out: dict[str, Any] = {"id": e.id, "state": st, "isExpired": expired}
        if refs and st == "Complete" and not expired and e.files:
            urls = self._urls(e, version)
            out[self.sim.knobs["export_result_refs_key"]] = urls[0] if len(urls) == 1 else urls
        out["createdAt"] = tf.iso_local(int(e.created))
        out["updatedAt"] = tf.iso_local(int(updated))
        return out

    def rep5(self, e: Export, st: str, updated: float, expired: bool) -> dict[str, Any]:
        """Every property of the v5 Export resource (callers select from it)."""
        tf = self.sim.tf
        empty = self.sim.knobs["export_v5_empty_result_refs"]
        done = st == "Complete" and not expired
        refs = (self._urls(e, 5) or ([] if empty == "empty" else None)) if done else None
        args = {camel(n): tf.iso_local(v) if n.endswith(("_after", "_before")) else v
                for n, v in e.args.items()}
        out = {"id": e.id, "status": st, "isExpired": expired, "resultRefs": refs,
               "procedure": {"name": f"{e.obj}/{pascal(e.procedure)}", "arguments": args},
               "fields": [e.spec.api_name(s, 5) for s, _ in e.fields],
               "createdAt": tf.iso_local(int(e.created)), "updatedAt": tf.iso_local(int(updated)),
               "createdById": e.user_id, "updatedById": e.user_id,
               "includeByteOrderMark": e.bom, "maxFileSizeBytes": e.max_file_size}
        if done and not e.files and empty == "absent":
            del out["resultRefs"]
        return out

    def _reply3(self, d: dict[str, Any]) -> Response:
        if self.sim.knobs["export_reply_wrapped"]:
            d = {"export": d}
        return json_response(d)

    def _selection(self, req: Request, refused: tuple[str, ...] = ()) -> list[str]:
        """The Export properties named by the v5 `fields` query parameter (`id` always)."""
        raw = req.query.get("fields")
        if raw is None:
            if self.sim.knobs["export_missing_fields_param"] == "id_only":
                return ["id"]
            raise ApiError(224, "The fields parameter is required.")
        names = [n.strip() for n in raw.split(",")]
        if "" in names:
            raise ApiError(51, "Invalid parameter: fields. Empty strings are not allowed.")
        for n in names:
            if n not in V5_PROPERTIES:
                raise ApiError(51, "Invalid parameter: fields. It contains an invalid or "
                                   f"unknown field: {n}.")
            if n in refused:
                raise ApiError(224, f"Invalid fields for request type: {n}")
        return list(dict.fromkeys(["id", *names]))

    @staticmethod
    def _select(rep: dict[str, Any], names: list[str]) -> dict[str, Any]:
        return {n: rep[n] for n in names if n in rep}

    # ---- endpoints ---------------------------------------------------------------------------
    def create(self, req: Request, version: int) -> Response:
        names = self._selection(req) if version == 5 else []
        body = _json_body(req)
        e = self._build5(body) if version == 5 else self._build3(body, version)
        with self.lock:
            self.items[e.id] = e
            self._schedule()
            st = self.state(e, self.sim.clock.now_f())
        if version != 5:
            return self._reply3(self.rep3(e, *st, version))
        return json_response(self._select(self.rep5(e, *st), names),
                             int(self.sim.knobs["export_v5_create_status"]))

    def read(self, req: Request, version: int) -> Response:
        names = self._selection(req) if version == 5 else []
        e, st, upd, exp = self._get(int(req.params["id"]))
        if version != 5:
            return self._reply3(self.rep3(e, st, upd, exp, version))
        return json_response(self._select(self.rep5(e, st, upd, exp), names))

    def cancel(self, req: Request, version: int) -> Response:
        e, st, _upd, _exp = self._get(int(req.params["id"]))
        if st in ("Complete", "Failed"):
            raise ApiError(178, "Export has already been completed or failed.")
        if st == "Canceled":
            raise ApiError(178, "Export has already been canceled.")
        with self.lock:
            e.canceled_at = self.sim.clock.now_f()
            self._schedule()
            st3 = self.state(e, self.sim.clock.now_f())
        if version != 5:
            return self._reply3(self.rep3(e, *st3, version, refs=False))
        rep = self.rep5(e, *st3)
        return json_response({k: v for k, v in rep.items()
                              if k not in ("resultRefs", "createdById", "updatedById")})

    def query(self, req: Request, version: int) -> Response:
        if version == 5:
            return self._query5(req)
        tf, now = self.sim.tf, self.sim.clock.now()
        args = req.args()
        status = args.get("status")
        obj = args.get("object") or ""  # exact: only create is known to fold case
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
                if obj and obj != e.obj[:1].lower() + e.obj[1:]:  # v3/v4 `visitorActivity`
                    continue
                if any((n.endswith("after") and times[n.split("_")[0]] <= v)
                       or (n.endswith("before") and times[n.split("_")[0]] >= v)
                       for n, v in bounds.items()):
                    continue
                out.append((e, self.rep3(e, st, upd, exp, version, refs=False), upd))
        col = {"id": lambda t: t[0].id, "created_at": lambda t: t[0].created,
               "updated_at": lambda t: t[2]}[sort_by]
        out.sort(key=col, reverse=order == "descending")
        reps = [r for _, r, _ in out]
        result: dict[str, Any] = {"total_results": len(reps)}
        if reps:
            result["export"] = reps[0] if len(reps) == 1 else reps
        return json_response({"result": result})

    def _query5(self, req: Request) -> Response:
        """GET /api/v5/exports: filters status, isExpired, createdAt/updatedAt After|Before;
        orderBy id|createdAt|updatedAt [ASC|DESC]; resultRefs and fields are not selectable."""
        names = self._selection(req, refused=("resultRefs", "fields"))
        checks = []
        for key, value in req.query.items():
            m = re.fullmatch(r"(createdAt|updatedAt)(After|Before)", key)
            if m:
                t = _atom(value)
                if t is None:
                    raise ApiError(51, f"Invalid parameter: {key}. Invalid date time value")
                checks.append((m.group(1), m.group(2) == "After", t))
            elif key == "isExpired" and value not in ("true", "false"):
                raise ApiError(51, "Invalid parameter: isExpired. Invalid boolean")
            elif key not in ("fields", "orderBy", "status", "isExpired"):
                raise ApiError(51, f"Invalid parameter: {key}")
        col, _, direction = req.query.get("orderBy", "id").strip().partition(" ")
        if col not in ("id", "createdAt", "updatedAt") or direction.upper() not in (
                "", "ASC", "DESC"):
            raise ApiError(51, f"Invalid parameter: orderBy. Unknown field name specified: {col}")
        found = []
        with self.lock:
            self._schedule()
            now = self.sim.clock.now_f()
            for e in self.items.values():
                st, upd, exp = self.state(e, now)
                times = {"id": e.id, "createdAt": e.created, "updatedAt": upd}
                if req.query.get("status", st) != st or req.query.get(
                        "isExpired", str(exp).lower()) != str(exp).lower():
                    continue
                if all(times[c] > t if after else times[c] < t for c, after, t in checks):
                    found.append(((times[col], e.id), self.rep5(e, st, upd, exp)))
        found.sort(key=operator.itemgetter(0), reverse=direction.upper() == "DESC")
        return json_response({"values": [self._select(r, names) for _, r in found]})

    def download(self, req: Request) -> Response:
        fid, eid = int(req.params["file"]), int(req.params["id"])
        with self.lock:
            owner = self.file_owner.get(fid)
        if owner is None:
            raise ApiError(16, "Unable to find export file with the given ID", status=404)
        if owner != eid:
            raise ApiError(16, "Export file does not belong to this Export", status=404)
        e, st, _, exp = self._get(eid)
        if st != "Complete" or exp or not len(e.rows):  # (rows are gone if the clock went back)
            raise ApiError(178, MSG_178, status=404)
        start, end = next((s, t) for f, s, t in e.files if f == fid)
        k = self.sim.knobs
        drop = self.sim.knobs.take("download_drop_count") or (
            k["download_drop_rate"] and self.sim.rng.random() < k["download_drop_rate"])
        if drop:
            self.sim.stats.error("download_dropped")
        body = self._csv(e, start, end, float(k["download_drop_fraction"]) if drop else None)
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
            return [{**self.rep5(e, *self.state(e, now)), "version": e.version,
                     "row_count": e.row_count,
                     "file_rows": [end - start for _, start, end in e.files]}
                    for e in self.items.values()]

    # ---- building an export -------------------------------------------------------------------
    def _build5(self, body: dict[str, Any]) -> Export:
        k = self.sim.knobs
        for key in body:
            if key == "object" and k["export_v5_object_property"] == "ignored":
                continue
            if key not in _V5_BODY:
                raise ApiError(154, f"Invalid property in request: {key}")
        if body.get("fields") is None:
            raise ApiError(153, "Missing required property in request: fields")
        if body["fields"] == []:
            raise ApiError(154, "Invalid property in request: fields can't be empty")
        proc = body.get("procedure")
        if proc is None:
            raise ApiError(153, "Missing required property in request: procedure")
        if not isinstance(proc, dict) or not isinstance(proc.get("name"), str):
            raise ApiError(154, "Invalid property in request: procedure")
        if not isinstance(proc.get("arguments"), dict) or not proc["arguments"]:
            raise ApiError(154, "Arguments are missing or empty")
        obj, _, name = proc["name"].partition("/")
        fold = k["export_v5_procedure_case"] == "insensitive"
        obj = next((o for o in OBJECTS if o == obj or (fold and o.lower() == obj.lower())), "")
        if not obj:
            raise ApiError(154, "Invalid property in request: procedure")
        available = self._procedures(obj, 5)
        proc_name = next((p for p in available if pascal(p) == name
                          or (fold and pascal(p).lower() == name.lower())), None)
        if proc_name is None:
            raise self._unknown_procedure(name, [pascal(p) for p in available])
        spec = self.sim.store.tables[OBJECTS[obj][0]].spec  # prospects: with custom fields
        args = self._arguments(obj, spec, proc_name, proc["arguments"], 5)
        bom = body.get("includeByteOrderMark", False)
        if not isinstance(bom, bool):
            raise ApiError(154, "Invalid property in request: includeByteOrderMark")
        cap = int(k["export_max_file_size_cap"])
        size = body.get("maxFileSizeBytes", cap)
        if not isinstance(size, int) or isinstance(size, bool):
            raise ApiError(154, "Invalid property in request: maxFileSizeBytes")
        if size < MIN_FILE_SIZE:
            raise ApiError(231, "Maximum file size has to be at least 10,000,000 bytes")
        if size > cap:
            raise ApiError(232, f"Maximum file size cannot exceed {cap} bytes")
        fields = self._fields(spec, body["fields"], 5)
        return self._new(5, obj, spec, proc_name, args, fields, bom, size)

    def _build3(self, body: dict[str, Any], version: int) -> Export:
        for key in body:
            if key not in ("object", "fields", "procedure"):
                raise ApiError(154, f"Invalid property in request: {key}")
        if body.get("object") is None:
            raise ApiError(153, "Missing required property in request: object")
        names = {o[:1].lower() + o[1:]: o for o in OBJECTS if self._procedures(o, version)}
        obj = next((o for n, o in names.items() if n.lower() == str(body["object"]).lower()), "")
        if not obj:
            raise ApiError(154, f"The 'object' property must be {_human(list(names))}.")
        proc = body.get("procedure")
        if proc is None:
            raise ApiError(153, "Missing required property in request: procedure")
        if not isinstance(proc, dict) or not isinstance(proc.get("name"), str):
            raise ApiError(154, "Invalid property in request: procedure")
        available = self._procedures(obj, version)
        if proc["name"] not in available:
            raise self._unknown_procedure(proc["name"], available)
        raw = proc.get("arguments") or {}
        if not isinstance(raw, dict):
            raise ApiError(154, "Invalid property in request: arguments")
        spec = self.sim.store.tables[OBJECTS[obj][0]].spec
        args = self._arguments(obj, spec, proc["name"], raw, version)
        fields = self._fields(spec, body.get("fields") or None, version)
        return self._new(version, obj, spec, proc["name"], args, fields, False,
                         int(self.sim.knobs["export_max_file_size_cap"]))

    def _procedures(self, obj: str, version: int) -> list[str]:
        """The procedures of `obj` this account may run on `version` (v3/v4 spelling)."""
        k = self.sim.knobs
        if version != 5 and obj in V5_ONLY and k["export_v3_external_activities"] == "refused":
            return []
        return [p for p, knob in OBJECTS[obj][1].items()
                if (knob is None or k[knob]) and (version == 5 or knob != GENERIC)]

    @staticmethod
    def _unknown_procedure(name: str, available: list[str]) -> ApiError:
        msg = f"{name}."
        if available:
            msg += f" Procedure name must be one of the following: {_human(available)}"
        return ApiError(174, msg)

    def _arguments(self, obj: str, spec: StreamSpec, proc: str, raw: dict[str, Any],
                   version: int) -> dict[str, Any]:
        """Validated arguments, snake name -> value (dates as epoch seconds)."""
        k = self.sim.knobs
        generic = OBJECTS[obj][1][proc] == GENERIC
        p = _PREFIX[proc]
        kinds = {f"{p}_after": "date", f"{p}_before": "date"}
        if obj == "VisitorActivity":
            kinds |= {"type": "types", "prospect_only": "bool"}
        elif proc == PU:
            kinds["prospect_deleted"] = "deleted"
        elif generic or spec.recycle_bin:
            kinds["deleted"] = "deleted"
        wire = {(camel(a) if version == 5 else a): a for a in kinds}
        if version == 5 and k["export_v5_snake_case_arguments"] == "alias":
            wire |= {a: a for a in kinds}
        args: dict[str, Any] = {}
        unknown = []
        for key, value in raw.items():
            if key in wire:
                args[wire[key]] = (key, value)  # duplicates: the latter value wins
            else:
                unknown.append(key)
        if unknown:
            raise ApiError(175, f"Unknown arguments for procedure: {_human(unknown, 'and')}")
        after, before = f"{p}_after", f"{p}_before"
        if after not in args:
            name = camel(after) if version == 5 else after
            raise ApiError(176, f"Missing required arguments for procedure: {name}")
        out: dict[str, Any] = {}
        now = self.sim.clock.now()
        for a, (key, value) in args.items():
            bad = ApiError(177, f"Invalid value specified for argument {key}")
            kind = kinds[a]
            if kind == "date":
                t = _atom(value) if version == 5 else _loose(self.sim.tf, value, now)
                if t is None:
                    raise bad
                out[a] = t
            elif kind == "deleted":
                if a == "deleted" and not spec.recycle_bin:
                    raise bad  # a generic procedure of an object without a recycle bin
                if not isinstance(value, bool) and value not in ("true", "false", "all"):
                    raise bad
                out[a] = value if isinstance(value, bool) else (
                    "all" if value == "all" else value == "true")
            elif kind == "bool":
                if not isinstance(value, bool):
                    raise bad
                out[a] = value
            else:  # type: an array of known activity types
                if not isinstance(value, list) or not value or not all(
                        isinstance(x, int) and not isinstance(x, bool) for x in value):
                    raise bad
                unknown_types = [str(x) for x in value if x not in ACTIVITY_TYPES]
                if unknown_types:
                    raise ApiError(177, "nonexistent type provided: " + ",".join(unknown_types))
                out[a] = sorted(set(value))
        if (version != 5 and spec.name in ("prospects", "list_memberships")
                and "deleted" not in out and k["export_v3_default_deleted"] == "all"):
            out["deleted"] = "all"
        if (spec.name == "prospects" and k["export_prospect_deleted_must_be_all"]
                and out.get("deleted") != "all"):
            raise ApiError(177, f"Invalid value specified for argument "
                                f"{'deleted' if 'deleted' in args else after}")
        self._check_window(out, args, after, before, now)
        return out

    def _check_window(self, out: dict[str, Any], args: dict[str, Any], after: str,
                      before: str, now: int) -> None:
        lo = out[after]
        hi = out.get(before, now)
        if hi <= lo:
            raise ApiError(177, "Invalid value specified for argument "
                                f"{args[before][0] if before in args else args[after][0]}")
        limit = self.sim.knobs["export_max_range"]
        if limit == "1 year":
            start = datetime.fromtimestamp(lo, self.sim.tf.tz)
            try:
                year_later = start.replace(year=start.year + 1)
            except ValueError:  # 29 February
                year_later = start.replace(year=start.year + 1, day=28)
            too_long = hi > int(year_later.timestamp())
        else:
            too_long = hi - lo > float(limit) * 86400
        if too_long:
            raise ApiError(177, f"Invalid value specified for argument {args[after][0]}")

    def _fields(self, spec: StreamSpec, raw: Any, version: int) -> list[tuple[str, str]]:
        """(snake, CSV header) per column: as requested, or the v3/v4 default column set."""
        k = self.sim.knobs
        if raw is None:  # v3/v4 only: the default set
            return [(s, spec.api_name(s, version)) for s, _ in spec.fields
                    if s not in spec.export_not_default and self._exportable(spec, s)]
        if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
            raise ApiError(154, "Invalid property in request: fields")
        if len(raw) > int(k["export_max_fields"]):
            raise ApiError(177, f"The number of fields can't exceed {k['export_max_fields']}")
        found = {name: spec.from_api_name(name, version) for name in raw}
        snakes = {name: snake for name, snake in found.items()
                  if snake is not None and self._exportable(spec, snake)}
        bad = [name for name in raw if name not in snakes]
        if bad:
            raise ApiError(180, "One or more of the specified fields are invalid: "
                                + ", ".join(bad))
        pre_v5 = version == 5 and k["export_v5_csv_headers"] == "pre_v5"
        return [(snakes[n], spec.api_name(snakes[n], 3) if pre_v5 else n) for n in raw]

    def _exportable(self, spec: StreamSpec, snake: str) -> bool:
        k = self.sim.knobs
        kind = spec.types[snake]
        if kind in ("objs", "ints") or not spec_field_available(self.sim, spec, snake):
            return False  # built-in arrays never; flagged fields only with their flag
        if spec.name == "prospects" and snake in ("grade", "notes"):
            return bool(k["export_prospect_grade_notes"] == "exportable")
        return not (kind == "list" and k["export_array_custom_fields"] == "refused")

    def _new(self, version: int, obj: str, spec: StreamSpec, proc: str, args: dict[str, Any],
             fields: list[tuple[str, str]], bom: bool, size: int) -> Export:
        k = self.sim.knobs
        rows = self._rows(spec, proc, args)
        users = self.sim.store.tables["users"].ids
        with self.lock:
            eid = self.next_id
            self.next_id += 1 + (eid * 7919) % 3
        rng = self.sim.rng
        rate = float(k["export_rows_per_second"])
        scale = float(k["export_time_scale"])
        e = Export(
            id=eid, version=version, obj=obj, spec=spec, procedure=proc, args=args,
            fields=fields, created=self.sim.clock.now_f(),
            wait=float(k["export_waiting_seconds"]) * scale,
            duration=(float(k["export_processing_seconds"])
                      + (len(rows) / rate if rate else 0)) * scale,
            fail=bool(self.sim.knobs.take("export_failure_count")
                      or (k["export_failure_rate"] and rng.random() < k["export_failure_rate"])),
            tz=k["timezone"], rows=rows, bom=bom, max_file_size=size,
            user_id=users[0] if len(users) else None, row_count=len(rows))
        self._split(e, rng)
        return e

    def _rows(self, spec: StreamSpec, proc: str, args: dict[str, Any]) -> array[int]:
        """Indices of the rows the procedure selects, at creation time."""
        store = self.sim.store
        table = store.tables[spec.name]
        p = _PREFIX[proc]
        lo, hi = args[f"{p}_after"], args.get(f"{p}_before", self.sim.clock.now())
        if self.sim.knobs["export_bounds_inclusive"]:
            def in_range(t: int | None) -> bool:
                return t is not None and lo <= t <= hi
        else:
            def in_range(t: int | None) -> bool:
                return t is not None and lo < t < hi
        wanted = {False: (0,), True: (1,), "all": (0, 1)}
        with store.lock:
            dele = table.deleted
            if proc == PU:  # visitors / prospect accounts of the prospects updated in range
                pt = store.tables["prospects"]
                want = wanted[args.get("prospect_deleted", False)]
                hits = [i for i in range(len(pt)) if in_range(pt.updated[i])
                        and pt.deleted[i] in want]
                if spec.name == "visitors":
                    pids = {pt.ids[i] for i in hits}
                    get = table.column("prospect_id")
                    return array("i", (i for i in range(len(table))
                                       if not dele[i] and get(i) in pids))
                get = pt.column("prospect_account_id")
                accounts = {get(i) for i in hits}
                return array("i", (i for i in range(len(table))
                                   if not dele[i] and table.ids[i] in accounts))
            want = wanted[args.get("deleted", False)]
            if p in _COLUMN:  # a date column of its own, not created or updated
                get = table.column(_COLUMN[p])
                idx = [i for i in range(len(table)) if in_range(get(i)) and dele[i] in want]
            else:
                col = table.created if p == "created" else table.updated
                idx = [i for i, t in enumerate(col) if in_range(t) and dele[i] in want]
            if spec.name == "visitor_activities":
                codes = self._type_codes(table)
                if "type" in args:
                    types = set(args["type"])
                    idx = [i for i in idx if codes[i] in types]
                else:
                    idx = [i for i in idx if codes[i] != SESSION]
                if args.get("prospect_only"):
                    get = table.column("prospect_id")
                    idx = [i for i in idx if get(i) is not None]
            return array("i", idx)

    def _type_codes(self, table: Any) -> bytearray:
        """Visitor activity type per row, cached until the table changes."""
        hit = self._types.get(table.spec.name)
        if hit and hit[:2] == (table.version, len(table)):
            return hit[2]
        get = table.column("type")
        codes = bytearray((get(i) or 0) % 256 for i in range(len(table)))
        self._types[table.spec.name] = (table.version, len(table), codes)
        return codes

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
        with self.lock:
            fids: list[int] = []
            while len(fids) < nfiles:
                fid = rng.randrange(10000, 10**7)
                if fid not in self.file_owner:
                    self.file_owner[fid] = e.id
                    fids.append(fid)
        e.files = [(fids[j], cuts[j], cuts[j + 1]) for j in range(nfiles)]
        rng.shuffle(e.files)

    # ---- CSV ------------------------------------------------------------------------------------
    def _csv(self, e: Export, start: int, end: int, drop: float | None) -> Iterator[bytes]:
        k = self.sim.knobs
        table = self.sim.store.tables[e.spec.name]
        spec = e.spec
        tf = self._tf(e.tz)
        v5 = e.version == 5
        date = tf.iso_local if v5 and k["export_v5_csv_dates"] == "offset" else tf.local
        yes, no = ("1", "0") if v5 and k["export_v5_csv_booleans"] == "digits" else (
            "true", "false")
        sel = [spec.index[s] for s, _ in e.fields]
        pick = operator.itemgetter(*sel) if len(sel) > 1 else (lambda r: (r[sel[0]],))
        kinds = [spec.types[s] for s, _ in e.fields]
        dts = [j for j, t in enumerate(kinds) if t == "dt"]
        bools = [j for j, t in enumerate(kinds) if t == "bool"]
        lists = [j for j, t in enumerate(kinds) if t == "list"]  # multi-value custom fields
        strs = [j for j, t in enumerate(kinds) if t == "str"] if k[
            "export_csv_formula_escape"] else []
        multi = k["export_multi_value_format"]
        rows, n = e.rows, len(e.rows)
        a, b = e.perm
        stop = start + int((end - start) * drop) if drop is not None else end
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow([name for _, name in e.fields])
        batch: list[list[Any]] = []
        row = table.row
        if e.bom:
            yield BOM
        for pos in range(start, stop):
            out = list(pick(row(rows[(a * pos + b) % n])))
            for j in dts:
                v = out[j]
                if v is not None:
                    out[j] = date(v)
            for j in bools:
                v = out[j]
                if v is not None:
                    out[j] = yes if v else no
            for j in lists:
                out[j] = custom.csv_value("list", out[j], multi)
            for j in strs:
                v = out[j]
                if v and v[0] in "=+@":
                    out[j] = "\\" + v
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


def _json_body(req: Request) -> dict[str, Any]:
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
    return body


def _atom(value: Any) -> int | None:
    """Epoch seconds of a strict ATOM date (`YYYY-MM-DDTHH:MM:SS+HH:MM`), else None."""
    if not isinstance(value, str) or not _ATOM.fullmatch(value) or value.endswith("-00:00"):
        return None
    try:
        return int(datetime.fromisoformat(value).timestamp())
    except ValueError:
        return None


def _loose(tf: TimeFormatter, value: Any, now: int) -> int | None:
    """v3/v4 date arguments: account-timezone `YYYY-MM-DD HH:MM:SS`, ISO, keywords."""
    if not isinstance(value, str):
        return None
    try:
        return tf.parse(value, now)
    except ValueError:
        return None
