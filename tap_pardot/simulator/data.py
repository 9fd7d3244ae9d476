"""The data store: compact columnar tables generated deterministically from a seed."""

from __future__ import annotations

import bisect
import random
import threading
import zlib
from array import array
from collections.abc import Callable
from typing import Any

from . import custom, legacy_extras
from .rows import Ctx, builder_for, row_hash
from .schema import STREAMS, StreamSpec
from .timefmt import iso_utc, parse_iso

# Instants that export/query windows are likely to start or end on (besides data_start + k*30d).
BOUNDARIES = ["2025-10-01T00:00:00+00:00", "2025-10-01T04:00:00+00:00",
              "2025-11-01T00:00:00+00:00", "2025-11-02T06:00:00+00:00",
              "2025-10-20T13:00:00+00:00"]
DST_START = parse_iso("2025-11-02T05:00:00+00:00")  # 01:00 EDT; 01:00-02:00 local twice


class Table:
    """One stream: ids ascending with the index, times as epoch seconds, deleted flags."""

    def __init__(self, spec: StreamSpec, ctx: Ctx, salt: int,
                 extra: dict[str, Callable[..., Any]] | None = None) -> None:
        self.spec = spec
        self.ctx = ctx
        self.salt = salt
        self.ids = array("q")
        self.created = array("q")
        self.updated = array("q")
        self.deleted = bytearray()
        self.overrides: dict[int, dict[int, Any]] = {}
        self.version = 0
        self._build = builder_for(spec.name, spec.fields, extra)
        self._orders: dict[tuple[str, ...], tuple[int, list[int]]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def row(self, i: int) -> list[Any]:
        rid = self.ids[i]
        r = self._build(self.ctx, rid, row_hash(self.salt, rid), self.created[i],
                        self.updated[i], self.deleted[i])
        ov = self.overrides.get(rid) if self.overrides else None
        if ov:
            for k, v in ov.items():
                r[k] = v
        return r

    def find(self, rid: int) -> int:
        i = bisect.bisect_left(self.ids, rid)
        return i if i < len(self.ids) and self.ids[i] == rid else -1

    def column(self, name: str) -> Callable[[int], Any]:
        """A fast accessor for a sortable/filterable column."""
        if name == "id":
            return self.ids.__getitem__
        if name in ("created_at", "sent_at"):  # an email's sent_at is its creation time
            return self.created.__getitem__
        if name == "updated_at":
            return self.updated.__getitem__
        k = self.spec.index[name]
        return lambda i: self.row(i)[k]

    def order(self, cols: tuple[str, ...]) -> list[int]:
        """Indices sorted ascending by cols (nulls first); cached until data changes.
        Descending orders walk this list backwards (every column shares one direction)."""
        hit = self._orders.get(cols)
        if hit and hit[0] == self.version:
            return hit[1]
        if cols == ("id",):
            idx = list(range(len(self.ids)))
        else:
            idx = sorted(range(len(self.ids)), key=self.sort_key(cols))
        self._orders[cols] = (self.version, idx)
        return idx

    def sort_key(self, cols: tuple[str, ...]) -> Callable[[int], tuple[Any, ...]]:
        """The sort key of `order`, for bisecting it: a (0,) or (1, value) pair per column."""
        gets = [self.column(c) for c in cols]

        def key(i: int) -> tuple[Any, ...]:
            return tuple((0,) if (v := get(i)) is None else (1, v) for get in gets)

        return key


def _gen_times(n: int, clump: int, rng: random.Random, t0: int, t1: int,
               knobs: dict[str, Any]) -> tuple[array[int], array[int]]:
    """created/updated arrays: roughly rising with the index, with the hard cases planted."""
    span = t1 - t0
    created = array("q", bytes(8 * n))
    updated = array("q", bytes(8 * n))
    ooo, upd, dst = knobs["out_of_order_fraction"], knobs["updated_fraction"], knobs["dst_fraction"]
    rnd = rng.random
    for i in range(n):
        c = t0 + int(span * (i + rnd()) / max(n, 1))
        r = rnd()
        if r < ooo:  # ids out of time order: an older record with a newer id
            c -= int(rnd() * 20 * 86400)
        elif r < ooo + dst and t0 < DST_START:  # inside the repeated local hour(s)
            c = DST_START + int(rnd() * 7200)
        if c < t0:
            c = t0 + (t0 - c) % 86400  # reflect, instead of piling records up at t0
        c = min(c, t1 - 1)
        u = c + int(rnd() * (t1 - c)) if rnd() < upd else c
        created[i] = c
        updated[i] = u
    start = 0
    clump = min(clump, n)
    if clump:  # one clump of records sharing a second, larger than any page
        start = max(0, min(n - clump, int(n * 0.4)))
        t = t0 + int(span * 0.35) // 60 * 60 + 30
        for i in range(start, start + clump):
            created[i] = min(created[i], t)
            updated[i] = t
    bounds = [parse_iso(b) for b in BOUNDARIES] + [t0 + k * 30 * 86400 for k in range(1, 13)]
    bounds = [b for b in bounds if t0 < b < t1]
    free = n - clump
    for k, b in enumerate(bounds):  # records exactly on likely window edges
        for j in range(3 if free else 0):
            i = (k * 7919 + j * 104729 + 13) % free
            i += clump if i >= start else 0  # never inside the clump
            created[i] = b if j == 0 else min(created[i], b)
            updated[i] = b
    return created, updated


class Store:
    """All tables, plus mutation (admin) and the ground truth view."""

    GEN_ORDER = ["users", "campaigns", "lists", "tags", "custom_fields", "prospect_accounts",
                 "prospects", "visitors", "list_memberships", "visitor_activities",
                 "opportunities", "forms", "emails", "visits", "visitor_page_views",
                 "lifecycle_histories", "tracker_domains", "folders", "layout_templates",
                 "custom_redirects", "dynamic_contents", "dynamic_content_variations",
                 "email_templates", "engagement_studio_programs", "external_activities",
                 "files", "folder_contents", "form_fields", "form_handlers",
                 "form_handler_fields", "landing_pages", "lifecycle_stages", "list_emails",
                 "tagged_objects", "imports", "account", "email_clicks"]

    def __init__(self, seed: int, knobs: dict[str, Any], now: int) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self.tables: dict[str, Table] = {}
        self.ctx = Ctx(self.tables)
        t0 = parse_iso(knobs["data_start"])
        for name in self.GEN_ORDER:
            spec, rules = STREAMS[name], None
            if name == "prospects":  # a field per custom-fields record (custom.py)
                spec, rules = custom.extend(spec, self.tables["custom_fields"])
            elif name == "prospect_accounts":  # v3/v4-only custom fields (legacy_extras.py)
                spec, rules = legacy_extras.extend_accounts(spec)
            salt = zlib.crc32(f"{seed}:{name}".encode()) * 0x100000001
            table = Table(spec, self.ctx, salt, rules)
            cfg = knobs[name]
            n = int(cfg.get("count", 0))
            rng = random.Random(f"{seed}:{name}")
            rb = rng.randbytes(n)
            table.ids = array("q", (spec.id_base + 2 * i + (rb[i] & 1) for i in range(n)))
            table.created, table.updated = _gen_times(n, int(cfg.get("clump_size", 0)), rng,
                                                      t0, now, knobs)
            if "updated_at" not in spec.index:  # immutable: one time, with the planted cases
                table.created = array("q", table.updated)
            if spec.deletable:
                frac = knobs["deleted_fraction"]
                table.deleted = bytearray(1 if rng.random() < frac else 0 for _ in range(n))
            else:
                table.deleted = bytearray(n)
            self.tables[name] = table
        self.ctx.freeze()

    # ---- truth form -----------------------------------------------------------------------
    def truth(self, name: str, row: list[Any]) -> dict[str, Any]:
        spec = self.tables[name].spec
        out: dict[str, Any] = {}
        for (field, kind), v in zip(spec.fields, row, strict=False):
            if field in spec.custom and not spec.custom_v5:
                continue  # v3/v4 only: legacy_extras.account_truth
            if kind in ("date", "list"):  # custom field values
                v = custom.truth_value(kind, v)
            elif v is not None and kind == "dt":
                v = iso_utc(v)
            out[field] = v
        return out

    def _from_truth(self, spec: StreamSpec, field: str, value: Any) -> Any:
        if field not in spec.types:
            raise KeyError(f"unknown field for {spec.name}: {field}")
        kind = spec.types[field]
        if value is None:
            return None
        if field in spec.custom:
            return custom.from_truth(kind, value)
        if kind == "dt":
            return parse_iso(value) if isinstance(value, str) else int(value)
        if kind == "int":
            return int(value)
        if kind == "num":
            return float(value)
        if kind == "bool":
            return bool(value)
        if kind == "ints":
            if not isinstance(value, list) or not all(isinstance(x, int) for x in value):
                raise ValueError(f"{field} must be a list of integers")
            return value
        if kind == "objs":
            if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
                raise ValueError(f"{field} must be a list of objects")
            return value
        return str(value)

    # ---- mutation at "now" ------------------------------------------------------------------
    def mutate(self, name: str, body: dict[str, Any], now: int) -> dict[str, list[Any]]:
        """Apply a /_sim/records body whole or not at all: everything is validated first."""
        table = self.tables[name]
        spec = table.spec
        unknown = set(body) - {"create", "update", "delete"}
        if unknown:
            raise KeyError(f"unknown keys: {sorted(unknown)}")
        create = body.get("create") or []
        if isinstance(create, int):
            create = [{} for _ in range(create)]
        fixed = ("id", "created_at", "updated_at", "is_deleted")
        with self.lock:
            made = [{spec.index[f]: self._from_truth(spec, f, v) for f, v in values.items()
                     if f not in fixed} for values in create]
            changes = []
            for values in body.get("update") or []:
                i = table.find(int(values["id"]))
                if i < 0:
                    raise KeyError(f"no {name} record with id {values['id']}")
                created = (self._from_truth(spec, "created_at", values["created_at"])
                           if "created_at" in values else None)
                ov = {spec.index[f]: self._from_truth(spec, f, v) for f, v in values.items()
                      if f not in fixed}
                changes.append((i, created, ov))
            gone = []
            for rid in body.get("delete") or []:
                if not spec.deletable:
                    raise KeyError(f"{name} records cannot be deleted")
                i = table.find(int(rid))
                if i < 0:
                    raise KeyError(f"no {name} record with id {rid}")
                gone.append(i)
            # everything is valid: apply
            result: dict[str, list[Any]] = {"created": [], "updated": [], "deleted": []}
            for ov in made:
                rid = (table.ids[-1] if len(table) else spec.id_base) + 1
                table.ids.append(rid)
                table.created.append(now)
                table.updated.append(now)
                table.deleted.append(0)
                if ov:
                    table.overrides[rid] = ov
                result["created"].append(self.truth(name, table.row(len(table) - 1)))
            for i, created, ov in changes:
                if created is not None:
                    table.created[i] = created
                table.overrides.setdefault(table.ids[i], {}).update(ov)
                table.updated[i] = now
                result["updated"].append(self.truth(name, table.row(i)))
            for i in gone:
                table.deleted[i] = 1
                table.updated[i] = now
                result["deleted"].append(self.truth(name, table.row(i)))
            table.version += 1
        return result
