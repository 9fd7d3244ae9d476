"""v5 object queries and reads: fields, filters, orderBy, deleted, nextPageToken paging."""

from __future__ import annotations

import bisect
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from . import custom, timeouts
from .http import ApiError, Request, Response, json_response
from .schema import StreamSpec, camel, spec_field_available
from .timefmt import parse_atom

_PLAIN = {"fields", "limit", "orderBy", "deleted", "nextPageToken", "offset"}
_OPS = {"range": {"": "=", "GreaterThan": ">", "GreaterThanOrEqualTo": ">=", "LessThan": "<",
                  "LessThanOrEqualTo": "<="},
        "date": {"": "=", "After": ">", "AfterOrEqualTo": ">=", "Before": "<",
                 "BeforeOrEqualTo": "<="},
        "exact": {"": "="}}
# Sub-fields of the emails' senderOptions / replyToOptions arrays (AB selects them dotted).
OPTION_KEYS = ("type", "address", "name", "userId", "prospectCustomFieldId",
               "accountCustomFieldId")
CAP_WARNING = "Record count for nextPageToken sequence has been exceeded. No page token returned."
RECYCLE_WARNING = "Record In Recycle Bin"


def invalid(detail: str) -> ApiError:
    """Pardot's API_ERROR_INVALID_PARAMETER (51), rendered `Invalid parameter: <detail>`."""
    return ApiError(51, f"Invalid parameter: {detail}", status=400)


def warning_header(*warnings: tuple[int, str]) -> str:
    """`Pardot-Warning`: `code;message`, joined by `,`; `,` and `;` in a message escaped with
    a backslash (SRV `framework/ApiWarnings.php`)."""
    return ",".join(f"{code};" + msg.replace(",", "\\,").replace(";", "\\;")
                    for code, msg in warnings)


@dataclass
class Plan:
    spec: StreamSpec
    filters: list[tuple[str, str, Any]]  # (snake, op, value); ops = < <= > >= null notnull
    cols: tuple[str, ...]  # orderBy columns, `id` last
    desc: bool
    deleted: tuple[int, ...]  # deleted flags returned
    limit: int
    offset: int = 0


@dataclass
class PageToken:
    plan: Plan
    fields: list[tuple[str, str, list[str] | None]]
    last_key: tuple[Any, ...]
    count: int
    issued: float


class V5:
    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.lock = threading.Lock()
        self.tokens: OrderedDict[str, PageToken] = OrderedDict()

    # ---- fields ---------------------------------------------------------------------------
    def fields(self, spec: StreamSpec, raw: str | None,
               query: bool) -> list[tuple[str, str, list[str] | None]]:
        """(snake, v5 name, sub-fields) per selected field. Names match case-insensitively
        (SRV `getFieldByName` lowercases) and come back in their own spelling."""
        if raw is None or not raw.strip():
            raise ApiError(224, "The fields parameter is required.", status=400)
        names = [f.strip() for f in raw.split(",")]
        if not all(names):
            raise invalid("fields. Empty strings are not allowed.")
        lookup = {api.lower(): snake for api, snake in spec.by_camel.items()
                  if spec_field_available(self.sim, spec, snake)}
        subs = {k.lower(): k for k in OPTION_KEYS}
        out: dict[str, list[str] | None] = {}
        unknown: list[str] = []
        not_queryable: list[str] = []
        arrays: list[str] = []
        array_read = self.sim.knobs["v5_read_array_custom_fields"]
        for name in names:
            head, dot, sub = name.partition(".")
            snake = lookup.get(head.lower())
            objs = snake is not None and spec.types[snake] == "objs"
            if snake is None or bool(dot) != objs or (objs and sub.lower() not in subs):
                unknown.append(name)
            elif objs:
                keys = out.setdefault(snake, [])
                keys.append(subs[sub.lower()])  # type: ignore[union-attr]  # objs: a list
            elif query and snake in spec.read_only:
                not_queryable.append(name)
            elif (snake in spec.custom and spec.types[snake] == "list"
                  and (query or array_read == "error")):
                arrays.append(name)
            else:
                out[snake] = None
        if unknown:
            raise invalid("fields. It contains an invalid or unknown field: "
                          f"{', '.join(dict.fromkeys(unknown))}.")
        if not_queryable:
            raise ApiError(224, "Invalid fields for request type: "
                                f"{', '.join(not_queryable)}. These fields are not queryable "
                                "and should be removed from the request.", status=400)
        if arrays:
            raise invalid("fields. Custom fields that return array types are not allowed to "
                          f"be selected: {', '.join(arrays)}.")
        return [(snake, spec.api_name(snake, 5), keys) for snake, keys in out.items()]

    # ---- query ----------------------------------------------------------------------------
    def query(self, req: Request, spec: StreamSpec) -> Response:
        spec = self.sim.store.tables[spec.name].spec  # prospects: with custom fields
        k = self.sim.knobs
        if spec.name == "custom_fields" and k["custom_fields_error_code"]:
            raise custom.denied(int(k["custom_fields_error_code"]))
        q = req.query
        if "nextPageToken" in q:
            extra = set(q) - {"nextPageToken", "fields"}
            if extra:
                raise invalid(f"{sorted(extra)[0]}. Not allowed with nextPageToken.")
            with self.lock:
                tok = self.tokens.get(q["nextPageToken"])
            if tok is None or tok.plan.spec is not spec:
                raise ApiError(211, "Page token is invalid.", status=400)
            if self.sim.clock.now_f() - tok.issued > k["v5_page_token_ttl_seconds"]:
                raise ApiError(210, "Page token has expired.", status=400)
            fields = self.fields(spec, q["fields"], True) if "fields" in q else tok.fields
            return self._page(tok.plan, fields, tok.last_key, tok.count)
        fields = self.fields(spec, q.get("fields"), True)
        return self._page(self._plan(spec, q), fields, None, 0)

    def _rules(self, spec: StreamSpec) -> tuple[tuple[str, ...], dict[str, str]]:
        """The object's sortable fields and filters, under knob `v5_added_objects_dates`."""
        return spec.rules(str(self.sim.knobs["v5_added_objects_dates"]))

    def _filter_params(self, spec: StreamSpec) -> dict[str, tuple[str, str]]:
        """Query parameter -> (snake, op suffix) for the object's filters."""
        out = {}
        for snake, kind in self._rules(spec)[1].items():
            for suffix in _OPS[kind]:
                out[camel(snake) + suffix] = (snake, suffix)
            if snake in spec.v5_nullable:
                out[camel(snake) + "IsNull"] = (snake, "IsNull")
                out[camel(snake) + "IsNotNull"] = (snake, "IsNotNull")
        return out

    def _plan(self, spec: StreamSpec, q: dict[str, str]) -> Plan:
        k = self.sim.knobs
        params = self._filter_params(spec)
        unknown = [p for p in q if p not in _PLAIN and p not in params]
        if unknown and k["v5_unknown_parameter"] == "error":
            raise invalid(unknown[0])
        try:
            limit = int(q.get("limit", k["v5_default_limit"]))
        except ValueError:
            raise invalid("limit") from None
        if not 1 <= limit <= k["v5_max_limit"]:
            raise invalid(f"limit. It must be between 1 and {k['v5_max_limit']}")
        try:
            offset = int(q.get("offset", 0))
        except ValueError:
            raise invalid("offset") from None
        if not 0 <= offset <= 2000:  # deprecated, and capped at 2000
            raise invalid("offset. It must be between 0 and 2000")
        filters = [self._filter(spec, p, v, *params[p]) for p, v in q.items() if p in params]
        if len({f[0] for f in filters}) > k["v5_max_filtered_fields"]:
            raise ApiError(209, "Too many fields have filters: The max number of "
                                f"{k['v5_max_filtered_fields']} distinct fields with filters "
                                "was exceeded for this query.", status=400)
        cols, desc = self._order_by(spec, self._rules(spec)[0], q.get("orderBy") or "")
        return Plan(spec, filters, cols, desc, self._deleted(spec, q.get("deleted")), limit,
                    offset)

    def _filter(self, spec: StreamSpec, p: str, v: str, snake: str,
                suffix: str) -> tuple[str, str, Any]:
        kind = spec.types[snake]
        if suffix in ("IsNull", "IsNotNull"):
            if v not in ("true", "false"):
                raise invalid(f"{p}. Invalid boolean value")
            return snake, "null" if (suffix == "IsNull") == (v == "true") else "notnull", None
        op = _OPS[self._rules(spec)[1][snake]][suffix]
        try:
            if kind == "dt":
                return snake, op, parse_atom(v)
            if kind == "int":
                return snake, op, int(v)
        except ValueError:
            msg = "Invalid date time value" if kind == "dt" else "Invalid integer value"
            raise invalid(f"{p}. {msg}") from None
        if kind == "bool":
            if v not in ("true", "false"):
                raise invalid(f"{p}. Invalid boolean value")
            return snake, op, v == "true"
        return snake, op, v

    @staticmethod
    def _order_by(spec: StreamSpec, sortable: tuple[str, ...],
                  raw: str) -> tuple[tuple[str, ...], bool]:
        """SRV `objects/OrderByParser.php` and `ObjectQueryManager::applyOrderByToDoctrine
        Query`: one direction for all entries, `id` appended in that direction."""
        cols: list[str] = []
        dirs = set()
        for part in raw.split(",") if raw.strip() else []:
            part = part.strip()
            if not part:
                raise invalid(f"orderBy. It contains an invalid or unknown orderBy: {part}")
            name, _, direction = part.partition(" ")
            snake = spec.by_camel.get(name)  # exact: no source says orderBy folds case
            if snake is None:
                raise invalid(f"orderBy. Unknown field name specified: {name}")
            if snake not in sortable:
                raise invalid(f'orderBy. Field name "{name}" is not sortable.')
            direction = direction.strip().upper() or "ASC"
            if direction not in ("ASC", "DESC"):
                raise invalid(f"orderBy. Unknown direction specified: {direction.strip()}. "
                              "Expected ASC or DESC")
            dirs.add(direction)
            cols.append(snake)
        if len(dirs) > 1:
            raise invalid("the direction of all the orderBy's must be the same.")
        if "id" not in cols:
            cols.append("id")
        return tuple(dict.fromkeys(cols)), dirs == {"DESC"}

    def _deleted(self, spec: StreamSpec, raw: str | None) -> tuple[int, ...]:
        """Which deleted flags a query or read returns (pardot-api.md 3a)."""
        if raw is not None and not spec.recycle_bin:
            if self.sim.knobs["v5_deleted_without_recycle_bin"] == "error":
                raise invalid("deleted. The object does not support deleted records")
            return (0, 1)  # no recycle bin: every row
        value = raw or "false"  # exact: pardot-api.md 3a names `all|true|false`, no folding
        if value not in ("true", "false", "all"):
            raise invalid("deleted. It must be true, false or all")
        if not spec.deletable:  # no isDeleted field: deleted rows stay hidden
            return (0,)
        return {"true": (1,), "false": (0,), "all": (0, 1)}[value]

    def _page(self, plan: Plan, fields: list[tuple[str, str, list[str] | None]],
              last_key: tuple[Any, ...] | None, count: int) -> Response:
        k = self.sim.knobs
        table = self.sim.store.tables[plan.spec.name]
        with self.sim.store.lock:
            order = table.order(plan.cols)
            key = table.sort_key(plan.cols)
            n = len(order)
            if plan.desc:
                step = -1
                pos = n - 1 if last_key is None else bisect.bisect_left(order, last_key,
                                                                         key=key) - 1
            else:
                step = 1
                pos = (self._lower_bound(plan, order, key) if last_key is None
                       else bisect.bisect_right(order, last_key, key=key))
            cap = int(k["v5_page_token_cap"])
            take = min(plan.limit, cap - count) if cap else plan.limit
            match = self._matcher(plan, table)
            self._timeout(plan, order, pos, step, match)
            hits: list[int] = []
            more = False
            skip = plan.offset if last_key is None else 0
            while 0 <= pos < n:
                i = order[pos]
                pos += step
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
        out: dict[str, Any] = {"values": [self.value(plan.spec, r, fields) for r in rows]}
        headers: dict[str, str] = {}
        total = count + len(hits)
        if more:
            if cap and total >= cap:
                code = int(k["v5_page_token_cap_warning_code"])
                headers["Pardot-Warning"] = warning_header((code, CAP_WARNING))
            else:
                token = secrets.token_urlsafe(24)
                with self.lock:
                    self.tokens[token] = PageToken(plan, fields, last or (), total,
                                                   self.sim.clock.now_f())
                    while len(self.tokens) > 20000:
                        self.tokens.popitem(last=False)
                out["nextPageToken"] = token
                path = plan.spec.v5_url or f"/api/v5/objects/{plan.spec.v5_path}"
                out["nextPageUrl"] = f"{self.sim.url}{path}?nextPageToken={quote(token)}"
        return json_response(out, headers=headers)

    def _timeout(self, plan: Plan, order: list[int], pos: int, step: int,
                 match: Callable[[int], bool]) -> None:
        """The query times out on a long range or many matches (timeouts.py)."""
        def left(limit: int) -> int:  # the matches from `pos` on, up to limit + 1
            count, p = 0, pos
            while 0 <= p < len(order) and count <= limit:
                count += match(order[p])
                p += step
            return count

        dates = [(op, v) for c, op, v in plan.filters if plan.spec.types[c] == "dt"]
        timeouts.check(self.sim.knobs, [v for op, v in dates if op in (">", ">=", "=")],
                       [v for op, v in dates if op in ("<", "<=", "=")],
                       self.sim.clock.now(), left)

    @staticmethod
    def _lower_bound(plan: Plan, order: list[int], key: Any) -> int:
        col = plan.cols[0]
        lows = [v for c, op, v in plan.filters if c == col and op in (">", ">=", "=")]
        if not lows:
            return 0
        return bisect.bisect_left(order, ((1, max(lows)),), key=key)

    @staticmethod
    def _matcher(plan: Plan, table: Any) -> Any:
        tests: dict[str, Callable[[Any, Any], bool]] = {
            "=": lambda x, v: x == v, ">": lambda x, v: x is not None and x > v,
            ">=": lambda x, v: x is not None and x >= v,
            "<": lambda x, v: x is not None and x < v,
            "<=": lambda x, v: x is not None and x <= v,
            "null": lambda x, v: x is None, "notnull": lambda x, v: x is not None}
        checks = [(table.column(c), tests[op], v) for c, op, v in plan.filters]
        deleted, want = table.deleted, plan.deleted

        def match(i: int) -> bool:
            return deleted[i] in want and all(t(get(i), v) for get, t, v in checks)

        return match

    def value(self, spec: StreamSpec, row: list[Any],
               fields: list[tuple[str, str, list[str] | None]]) -> dict[str, Any]:
        tf = self.sim.tf
        strings = set(self.sim.knobs["v5_prospect_string_fields"]) \
            if spec.name == "prospects" else ()
        out = {}
        for snake, name, keys in fields:
            v = row[spec.index[snake]]
            if v is None:
                pass
            elif keys is not None:  # senderOptions.x, replyToOptions.y
                v = [{key: item.get(key) for key in keys} for item in v]
            elif spec.types[snake] == "dt":
                v = tf.iso_local(v)
            elif snake in spec.custom:
                v = custom.v5_value(spec.types[snake], v)
            elif name in strings:
                v = str(v)
            out[name] = v
        return out

    # ---- read -----------------------------------------------------------------------------
    def read(self, req: Request, spec: StreamSpec, rid: str) -> Response:
        spec = self.sim.store.tables[spec.name].spec
        if spec.name == "custom_fields" and self.sim.knobs["custom_fields_error_code"]:
            raise custom.denied(int(self.sim.knobs["custom_fields_error_code"]))
        fields = self.fields(spec, req.query.get("fields"), False)
        # deleted=true (or all): "return it even if in the recycle bin" (DOC2021)
        want = (0,) if self._deleted(spec, req.query.get("deleted")) == (0,) else (0, 1)
        table = self.sim.store.tables[spec.name]
        i = table.find(int(rid)) if rid.isdigit() else -1
        if i < 0:
            raise ApiError(192, "Object specified does not exist", status=404)
        headers = {}
        if table.deleted[i]:
            headers["Pardot-Warning"] = warning_header((201, RECYCLE_WARNING))
            if table.deleted[i] not in want:
                raise ApiError(192, "Object specified does not exist", status=404,
                               headers=headers)
        return json_response(self.value(spec, table.row(i), fields), headers=headers)


__all__ = ["V5", "camel", "invalid", "warning_header"]
