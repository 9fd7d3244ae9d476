"""v5 object queries: fields, filters, orderBy, deleted, nextPageToken paging with its cap."""

from __future__ import annotations

import bisect
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from . import custom
from .http import ApiError, Request, Response, json_response
from .schema import StreamSpec, camel

_FILTER_RE = re.compile(r"^(id|createdAt|updatedAt|sentAt)(GreaterThanOrEqualTo|GreaterThan|"
                        r"LessThanOrEqualTo|LessThan|AfterOrEqualTo|After|BeforeOrEqualTo|"
                        r"Before)$")
_OPS = {"GreaterThan": ">", "After": ">", "GreaterThanOrEqualTo": ">=",
        "AfterOrEqualTo": ">=", "LessThan": "<", "Before": "<", "LessThanOrEqualTo": "<=",
        "BeforeOrEqualTo": "<="}
_COLS = {"id": "id", "createdAt": "created_at", "updatedAt": "updated_at", "sentAt": "sent_at"}
_PLAIN = {"fields", "limit", "orderBy", "deleted", "nextPageToken", "offset"}
WARNING_203 = ("203;Record count for nextPageToken sequence has been exceeded. "
               "Use a filter to narrow results.")


def bad(message: str) -> ApiError:
    return ApiError(5, message, status=400)


@dataclass
class Plan:
    spec: StreamSpec
    filters: list[tuple[str, str, int]]
    order: tuple[tuple[str, bool], ...]
    deleted: str
    limit: int
    offset: int = 0


@dataclass
class PageToken:
    plan: Plan
    fields: list[tuple[str, str]]  # (snake, name as sent)
    last_key: tuple[Any, ...]
    count: int
    issued: float


class V5:
    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.lock = threading.Lock()
        self.tokens: OrderedDict[str, PageToken] = OrderedDict()

    def fields(self, spec: StreamSpec, raw: str | None) -> list[tuple[str, str]]:
        if raw is None or not raw.strip():
            raise ApiError(224, "The fields parameter is required.", status=400)
        out = []
        for name in (f.strip() for f in raw.split(",")):
            snake = spec.by_camel.get(name)
            if snake is None:
                raise ApiError(224, f"Invalid fields for request type: {name}", status=400)
            out.append((snake, name))
        return out

    def query(self, req: Request, spec: StreamSpec) -> Response:
        spec = self.sim.store.tables[spec.name].spec  # prospects: with custom fields
        k = self.sim.knobs
        if spec.name == "custom_fields" and k["custom_fields_error_code"]:
            raise custom.denied(int(k["custom_fields_error_code"]))
        q = req.query
        if "nextPageToken" in q:
            extra = set(q) - {"nextPageToken", "fields"}
            if extra:
                raise bad(f"Parameters not allowed with nextPageToken: {sorted(extra)}")
            with self.lock:
                tok = self.tokens.get(q["nextPageToken"])
            if tok is None or tok.plan.spec is not spec:
                raise ApiError(211, "Invalid page token.", status=400)
            if self.sim.clock.now_f() - tok.issued > k["v5_page_token_ttl_seconds"]:
                raise ApiError(210, "Page token has expired.", status=400)
            fields = self.fields(spec, q["fields"]) if "fields" in q else tok.fields
            return self._page(req, tok.plan, fields, tok.last_key, tok.count)
        unknown = [p for p in q if p not in _PLAIN and not _FILTER_RE.match(p)]
        if unknown:
            raise bad(f"Invalid parameter: {unknown[0]}")
        fields = self.fields(spec, q.get("fields"))
        return self._page(req, self._plan(spec, q), fields, None, 0)

    def _plan(self, spec: StreamSpec, q: dict[str, str]) -> Plan:
        k = self.sim.knobs
        id_only = spec.v5_id_only or (spec.name == "prospect_accounts"
                                      and k["v5_prospect_accounts_id_only"])
        try:
            limit = int(q.get("limit", k["v5_default_limit"]))
        except ValueError:
            raise bad("Invalid value for limit") from None
        if not 1 <= limit <= k["v5_max_limit"]:
            raise bad(f"limit must be between 1 and {k['v5_max_limit']}")
        try:
            offset = int(q.get("offset", 0))
        except ValueError:
            raise bad("Invalid value for offset") from None
        if not 0 <= offset <= 2000:  # deprecated, and capped at 2000
            raise bad("offset must be between 0 and 2000")
        filters = []
        for p, v in q.items():
            m = _FILTER_RE.match(p)
            if not m:
                continue
            col, op = _COLS[m.group(1)], m.group(2)
            is_id = col == "id"
            if (is_id != op.startswith(("Greater", "Less")) or (id_only and not is_id)
                    or col not in spec.index):
                raise bad(f"Invalid parameter: {p}")
            try:
                val = int(v) if is_id else self.sim.tf.parse(v, self.sim.clock.now())
            except ValueError:
                raise bad(f"Invalid value for {p}: {v}") from None
            filters.append((col, _OPS[op], val))
        if len({f[0] for f in filters}) > k["v5_max_filtered_fields"]:
            raise ApiError(209, "Too many filtered fields.", status=400)
        order: list[tuple[str, bool]] = []
        for part in (q.get("orderBy") or "id ASC").split(","):
            bits = part.split()
            if (not bits or len(bits) > 2 or bits[0] not in _COLS
                    or _COLS[bits[0]] not in spec.index):
                raise bad(f"Invalid orderBy: {part.strip()}")
            if id_only and bits[0] != "id":
                raise bad(f"Invalid orderBy: {part.strip()}")
            direction = bits[1].upper() if len(bits) == 2 else "ASC"
            if direction not in ("ASC", "DESC"):
                raise bad(f"Invalid orderBy: {part.strip()}")
            order.append((_COLS[bits[0]], direction == "DESC"))
        if not any(c == "id" for c, _ in order):
            order.append(("id", False))  # a total order, as Pardot's id tiebreak
        deleted = (q.get("deleted") or "false").lower()
        if deleted not in ("true", "false", "all"):
            raise bad("deleted must be true, false or all")
        return Plan(spec, filters, tuple(order), deleted, limit, offset)

    def _page(self, req: Request, plan: Plan, fields: list[tuple[str, str]],
              last_key: tuple[Any, ...] | None, count: int) -> Response:
        k = self.sim.knobs
        table = self.sim.store.tables[plan.spec.name]
        with self.sim.store.lock:
            order = table.order(plan.order)
            key = table.sort_key(plan.order)
            if last_key is not None:
                pos = bisect.bisect_right(order, last_key, key=key)
            else:
                pos = self._lower_bound(plan, order, key)
            cap = int(k["v5_page_token_cap"])
            take = min(plan.limit, cap - count) if cap else plan.limit
            match = self._matcher(plan, table)
            hits: list[int] = []
            more = False
            skip = plan.offset if last_key is None else 0
            n = len(order)
            while pos < n:
                i = order[pos]
                pos += 1
                if match(i):
                    if skip:
                        skip -= 1
                        continue
                    if len(hits) == take:
                        more = True
                        break
                    hits.append(i)
            rows = [table.row(i) for i in hits]
            last = key(hits[-1]) if hits else None
        values = [self._value(plan.spec, r, fields) for r in rows]
        out: dict[str, Any] = {"values": values}
        headers: dict[str, str] = {}
        total = count + len(hits)
        if more:
            if cap and total >= cap:
                headers["Pardot-Warning"] = WARNING_203
            else:
                token = secrets.token_urlsafe(24)
                with self.lock:
                    self.tokens[token] = PageToken(plan, fields, last or (), total,
                                                   self.sim.clock.now_f())
                    while len(self.tokens) > 20000:
                        self.tokens.popitem(last=False)
                out["nextPageToken"] = token
                out["nextPageUrl"] = (f"{self.sim.url}/api/v5/objects/{plan.spec.v5_path}"
                                      f"?nextPageToken={quote(token)}")
        return json_response(out, headers=headers)

    @staticmethod
    def _lower_bound(plan: Plan, order: list[int], key: Any) -> int:
        col, desc = plan.order[0]
        if desc:
            return 0
        lows = [v for c, op, v in plan.filters if c == col and op in (">", ">=")]
        if not lows:
            return 0
        return bisect.bisect_left(order, (max(lows),), key=key)

    @staticmethod
    def _matcher(plan: Plan, table: Any) -> Any:
        checks = []
        for col, op, v in plan.filters:
            get = table.column(col)
            if op == ">":
                checks.append(lambda i, g=get, v=v: g(i) > v)
            elif op == ">=":
                checks.append(lambda i, g=get, v=v: g(i) >= v)
            elif op == "<":
                checks.append(lambda i, g=get, v=v: g(i) < v)
            else:
                checks.append(lambda i, g=get, v=v: g(i) <= v)
        deleted = table.deleted
        want = {"true": (1,), "false": (0,), "all": (0, 1)}[plan.deleted]

        def match(i: int) -> bool:
            return deleted[i] in want and all(c(i) for c in checks)

        return match

    def _value(self, spec: StreamSpec, row: list[Any],
               fields: list[tuple[str, str]]) -> dict[str, Any]:
        tf = self.sim.tf
        out = {}
        for snake, name in fields:
            v = row[spec.index[snake]]
            if v is not None and spec.types[snake] == "dt":
                v = tf.iso_local(v)
            elif snake in spec.custom:
                v = custom.v5_value(spec.types[snake], v)
            out[name] = v
        return out

    def read(self, req: Request, spec: StreamSpec, rid: str) -> Response:
        spec = self.sim.store.tables[spec.name].spec
        fields = self.fields(spec, req.query.get("fields"))
        table = self.sim.store.tables[spec.name]
        i = table.find(int(rid)) if rid.isdigit() else -1
        if i < 0:
            raise ApiError(404, "Object not found", status=404)
        row = table.row(i)
        headers = {}
        if table.deleted[i]:
            headers["Pardot-Warning"] = "201;Record In Recycle Bin"
        return json_response(self._value(spec, row, fields), headers=headers)


__all__ = ["V5", "camel"]
