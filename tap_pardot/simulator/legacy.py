"""v3/v4 queries: `/api/{object}/version/{3|4}/do/query`, with the JSON quirks of that API."""

from __future__ import annotations

import bisect
import itertools
import json
from typing import Any
from xml.sax.saxutils import escape

from . import custom, legacy_extras, timeouts
from .http import ApiError, Request, Response, json_response
from .schema import BY_V3_OBJECT, StreamSpec

_VA_OPTIONAL = {"campaign_id", "custom_redirect_id", "email_id", "email_template_id", "file_id",
                "form_id", "form_handler_id", "landing_page_id", "list_email_id",
                "multivariate_test_variation_id", "opportunity_id", "paid_search_ad_id",
                "prospect_id", "site_search_query_id", "visit_id", "visitor_page_view_id"}


def _keys(text: str) -> tuple[tuple[str, str], ...]:
    """`snake` or `snake:key` entries -> ((snake, v3/v4 query key), ...)."""
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        snake, _, key = part.partition(":")
        out.append((snake, key or snake))
    return tuple(out)


# The documented v3/v4 query/read keys (pardot-api.md section 2; DOC2020
# `docs/kb/object-field-references.md`). These come from older code than the export names
# (schema.StreamSpec.api_name): e.g. prospect `crm_url`, customField `crm_id`. Rows carry no
# deleted flag. Objects not listed serve every field but `is_deleted` under its snake name.
QUERY_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "visitor_activities": _keys(
        "id, prospect_id, visitor_id, type, type_name, details, email_id, email_template_id, "
        "list_email_id, form_id, form_handler_id, site_search_query_id, landing_page_id, "
        "paid_search_ad_id, multivariate_test_variation_id, visitor_page_view_id, file_id, "
        "custom_redirect_id, campaign_id, created_at, updated_at"),
    "prospects": _keys(
        "id, campaign_id, salutation, first_name, last_name, email, password, company, "
        "prospect_account_id, website, job_title, department, country, address_one, "
        "address_two, city, state, territory, zip, phone, fax, source, annual_revenue, "
        "employees, industry, years_in_business, comments, notes, score, grade, "
        "last_activity_at, recent_interaction, salesforce_lead_id:crm_lead_fid, "
        "salesforce_contact_id:crm_contact_fid, salesforce_owner_id:crm_owner_fid, "
        "salesforce_account_id:crm_account_fid, salesforce_last_sync:crm_last_sync, "
        "salesforce_url:crm_url, is_do_not_email, is_do_not_call, opted_out, is_reviewed, "
        "is_starred, created_at, updated_at"),
    "campaigns": _keys("id, name, cost"),
    "list_memberships": _keys("id, list_id, prospect_id, opted_out, created_at, updated_at"),
    "visitors": _keys(
        "id, page_view_count, ip_address, hostname, campaign_parameter, medium_parameter, "
        "source_parameter, content_parameter, term_parameter, created_at, updated_at, "
        "prospect_id"),
    "lists": _keys("id, name, is_public, is_dynamic, title, description, "
                   "is_salesforce_visible:is_crm_visible, created_at, updated_at"),
    "custom_fields": _keys("id, name, field_id, type, created_at, updated_at, "
                           "is_record_multiple_responses, salesforce_id:crm_id, is_use_values"),
    "tags": _keys("id, name, created_at, updated_at"),
    # DOC2020 `docs/kb/api-version-4/custom-redirects.md`, `dynamic-content.md`,
    # `lifecycle-stages.md` (their response examples; the nested campaign and variations are
    # full-output only)
    "custom_redirects": _keys("id, name, url, destination_url, created_at, updated_at"),
    "dynamic_contents": _keys("id, name, embed_code:embedCode, embed_url:embedUrl, "
                              "based_on:basedOn, created_at, updated_at"),
    "lifecycle_stages": _keys("id, name, position, is_locked"),
}
# `deleted` is documented only for these objects, as a boolean (default false).
DELETED_PARAM = ("prospects", "list_memberships")
# Objects whose v3/v4 docs list fewer date filters than `created_*`/`updated_*` (pardot-api.md
# section 2): DOC2020 `lifecycle-stages.md` lists none, `batch-email-clicks.md` and
# `opportunities.md` only `created_*` (pardot-v5-objects.md Appendix B); the others: knob
# `v3_undocumented_date_filter`.
DATE_FILTERS: dict[str, tuple[str, ...]] = {"lifecycle_stages": (), "email_clicks": ("created",),
                                            "opportunities": ("created",)}


def xml_error(code: int, message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rsp stat="fail" version="1.0">'
            f'<err code="{code}">{escape(message)}</err></rsp>\n').encode()


class Legacy:
    def __init__(self, sim: Any) -> None:
        self.sim = sim

    def query(self, req: Request) -> Response:
        k = self.sim.knobs
        version = int(req.params["v"])
        spec = BY_V3_OBJECT.get(req.params["obj"].lower())
        if spec is None:
            raise ApiError(5, "Invalid query parameters", status=404)
        spec = self.sim.store.tables[spec.name].spec  # prospects: with custom fields
        if spec.name == "custom_fields" and k["custom_fields_error_code"]:
            raise custom.denied(int(k["custom_fields_error_code"]))
        self.check_version(version)
        a = self._documented_dates(spec, req.args())
        output = a.get("output", "full")
        if output not in ("full", "simple", "mobile", "bulk"):
            raise ApiError(5, "Invalid query parameters")
        limit = self._int(a.get("limit", str(k["v3_max_limit"])), 23,
                          "Invalid value specified for limit")
        if limit < 1 or (limit > k["v3_max_limit"] and k["v3_limit_over_max"] != "clamp"):
            raise ApiError(23, "Invalid value specified for limit")
        limit = min(limit, int(k["v3_max_limit"]))
        offset = self._int(a.get("offset", "0"), 21, "Invalid value specified for offset")
        if offset < 0:
            raise ApiError(21, "Invalid value specified for offset")
        sort_by = a.get("sort_by", "id")
        allowed = ("created_at", "id", "updated_at") if k["v3_sort_by_lenient"] else ()
        if sort_by not in spec.v3_sort_by and sort_by not in allowed:
            raise ApiError(19, "Invalid value specified for sort_by")
        sort_order = a.get("sort_order", "ascending" if sort_by == "id" else "descending")
        if sort_order not in ("ascending", "descending"):
            raise ApiError(20, "Invalid value specified for sort_order")
        match = self._matcher(spec, a)
        desc = sort_order == "descending"
        cols = (sort_by,) if sort_by == "id" else (sort_by, "id")
        table = self.sim.store.tables[spec.name]
        bulk = output == "bulk"
        with self.sim.store.lock:
            order = table.order(cols)
            self._timeout(a, order, match)
            if desc:
                walk: Any = reversed(order)
            else:
                low = self._lower_bound(sort_by, a)
                start = 0 if low is None else bisect.bisect_left(  # skip to the high-water mark
                    order, ((1, low),), key=table.sort_key(cols))
                walk = itertools.islice(order, start, None)
            if bulk:  # no total to count: stop at the page's end
                hits = list(itertools.islice((i for i in walk if match(i)),
                                             offset, offset + limit))
                total = 0
            else:
                every = [i for i in walk if match(i)]
                total = len(every)
                hits = every[offset:offset + limit]
            rows = [table.row(i) for i in hits]
        records = [self._record(spec, r, bulk) for r in rows]
        return self._render(req, spec, records, None if bulk else total)

    def check_version(self, version: int) -> None:
        """88 / 89: the API version (3 or 4) called is not the account's (pardot-api.md 1a)."""
        acct = self.sim.knobs["account_api_version"]
        if acct == 4 and version == 3:
            raise ApiError(88, "Your account must use version 4 of the API.")
        if acct == 3 and version == 4:
            raise ApiError(89, "Your account is unable to use version 4 of the API.")

    def _documented_dates(self, spec: StreamSpec, a: dict[str, str]) -> dict[str, str]:
        """The arguments less the date filters the object's docs do not list: ignored, or
        refused with 5, per knob `v3_undocumented_date_filter` (no source says which)."""
        stems = DATE_FILTERS.get(spec.name, ("created", "updated"))
        extra = [n for stem in ("created", "updated") if stem not in stems
                 for n in (f"{stem}_after", f"{stem}_before") if n in a]
        if extra and self.sim.knobs["v3_undocumented_date_filter"] == "error":
            raise ApiError(5, "Invalid query parameters")
        return {n: v for n, v in a.items() if n not in extra}

    def _timeout(self, a: dict[str, str], order: list[int], match: Any) -> None:
        """The query times out on a long range or many matches (timeouts.py)."""
        tf, now = self.sim.tf, self.sim.clock.now()
        lows = [tf.parse(a[f"{s}_after"], now) for s in ("created", "updated")
                if f"{s}_after" in a]
        highs = [tf.parse(a[f"{s}_before"], now) for s in ("created", "updated")
                 if f"{s}_before" in a]
        timeouts.check(self.sim.knobs, lows, highs, now, lambda limit: sum(
            1 for _ in itertools.islice((i for i in order if match(i)), limit + 1)))

    def _lower_bound(self, sort_by: str, a: dict[str, str]) -> int | None:
        """The lower bound a query puts on its (ascending) sort column, if any."""
        name = {"id": "id_greater_than", "created_at": "created_after",
                "updated_at": "updated_after"}.get(sort_by)
        if not name or name not in a:
            return None
        try:
            if sort_by == "id":
                return int(a[name])
            bound: int = self.sim.tf.parse(a[name], self.sim.clock.now())
            return bound
        except ValueError:
            return None

    @staticmethod
    def _int(value: str, code: int, message: str) -> int:
        try:
            return int(value)
        except ValueError:
            raise ApiError(code, message) from None

    def _matcher(self, spec: StreamSpec, a: dict[str, str]) -> Any:
        k = self.sim.knobs
        tf, now = self.sim.tf, self.sim.clock.now()
        table = self.sim.store.tables[spec.name]
        checks: list[Any] = []
        incl = bool(k["v3_bounds_inclusive"])
        for name, col, lower in (("id_greater_than", "id", True), ("id_less_than", "id", False)):
            if name in a:
                v = self._int(a[name], 16, "Invalid ID")
                checks.append((col, lower, v, False))
        for col in ("created_at", "updated_at"):
            stem = col[:-3]
            lo = hi = None
            try:
                if f"{stem}_after" in a:
                    lo = tf.parse(a[f"{stem}_after"], now)
                    checks.append((col, True, lo, incl))
                if f"{stem}_before" in a:
                    hi = tf.parse(a[f"{stem}_before"], now)
                    checks.append((col, False, hi, incl))
            except ValueError:
                raise ApiError(7, "Invalid timestamp") from None
            if lo is not None and hi is not None and lo >= hi:
                raise ApiError(8, "Invalid time range")
        getters = [(table.column(c), lower, v, inc) for c, lower, v, inc in checks]
        deleted = table.deleted
        want = self._deleted(spec, a.get("deleted"))
        extra = self._object_filters(spec, a)

        def match(i: int) -> bool:
            if deleted[i] not in want:
                return False
            for get, lower, v, inc in getters:
                x = get(i)
                if lower:
                    if not (x >= v if inc else x > v):
                        return False
                elif not (x <= v if inc else x < v):
                    return False
            return not extra or extra(table.row(i))

        return match

    def _deleted(self, spec: StreamSpec, raw: str | None) -> tuple[int, ...]:
        """The deleted flags returned: prospects and list memberships take `deleted=true|false`
        (error 27 otherwise; `all` per knob `v3_deleted_all`); other objects only live rows."""
        if spec.name not in DELETED_PARAM or raw is None:
            return (0,)
        value = raw  # exact: DOC2020 says true or false, error 27 otherwise
        if value == "all":
            reading = self.sim.knobs["v3_deleted_all"]
            value = {"true": "true", "ignored": "false"}.get(reading, value)
        if value not in ("true", "false"):
            raise ApiError(27, "Parameter deleted must be true or false")
        return (1,) if value == "true" else (0,)

    @staticmethod
    def _object_filters(spec: StreamSpec, a: dict[str, str]) -> Any:
        idx = spec.index
        conds: list[Any] = []
        if spec.name == "visitor_activities":
            if a.get("prospect_only", "") == "true":
                conds.append(lambda r: r[idx["prospect_id"]] is not None)
            if a.get("type"):
                types = {int(t) for t in a["type"].split(",") if t.strip().isdigit()}
                conds.append(lambda r: r[idx["type"]] in types)
        for name in ("prospect_id", "visitor_id", "campaign_id", "list_id"):
            if name in a and name in idx and a[name].isdigit():
                conds.append(lambda r, n=name, v=int(a[name]): r[idx[n]] == v)
        if spec.name == "campaigns" and "name" in a:
            conds.append(lambda r: r[idx["name"]] == a["name"])
        if spec.name == "visitors":
            if a.get("only_identified", "true") != "false":
                conds.append(lambda r: r[idx["is_identified"]])
            if a.get("prospect_ids"):
                pids = {int(p) for p in a["prospect_ids"].split(",") if p.strip().isdigit()}
                conds.append(lambda r: r[idx["prospect_id"]] in pids)
        if not conds:
            return None
        return lambda r: all(c(r) for c in conds)

    def _record(self, spec: StreamSpec, row: list[Any], bulk: bool) -> dict[str, Any]:
        local = self.sim.tf.local
        keys = QUERY_KEYS.get(spec.name) or tuple((n, n) for n, _ in spec.fields
                                                  if n != "is_deleted" and n not in spec.custom)
        out: dict[str, Any] = {}
        for name, key in keys:
            v = row[spec.index[name]]
            kind = spec.types[name]
            if v is None and spec.name == "visitor_activities" and name in _VA_OPTIONAL:
                continue
            if v is None and name in legacy_extras.OMIT_NULL.get(spec.name, ()):
                continue
            if v is not None:
                if kind == "dt":
                    v = local(v)
                elif kind == "bool" and spec.name == "list_memberships":
                    v = int(v)
                elif spec.name == "campaigns" and name == "cost":
                    v = int(v)  # an integer in v3/v4 (DOC2020 campaigns.md)
            if name == "campaign_id" and spec.name == "visitor_activities" and not bulk:
                out["campaign"] = self._campaign(v)  # full output nests the campaign
                continue
            out[key] = v
        for name, fid in spec.custom.items():  # under the bare fieldId; absent without a value
            v = row[spec.index[name]]
            if v is not None:
                out[fid] = custom.v3_value(spec.types[name], v)
        legacy_extras.extend_record(self.sim, spec, row, bulk, out)
        return out

    def _campaign(self, cid: int) -> dict[str, Any]:
        table = self.sim.store.tables["campaigns"]
        i = table.find(cid)
        name = table.row(i)[table.spec.index["name"]] if i >= 0 else None
        return {"id": cid, "name": name}

    def _render(self, req: Request, spec: StreamSpec, records: list[dict[str, Any]],
                total: int | None) -> Response:
        if (req.arg("format") or "xml") != "json":
            return self._xml(spec, records, total)
        result: dict[str, Any] | None = {}  # None only from the elif below, hence the ignores
        if total is not None:
            result["total_results"] = total  # type: ignore[index]
        if records:
            result[spec.v3_key] = records[0] if len(records) == 1 else records  # type: ignore[index]
        elif total is None and self.sim.knobs["v3_result_null_when_empty"]:
            result = None
        body = {"@attributes": {"stat": "ok", "version": 1}, "result": result}
        return Response(200, json.dumps(body, ensure_ascii=False).encode(),
                        "application/json; charset=utf-8")

    @staticmethod
    def _xml(spec: StreamSpec, records: list[dict[str, Any]], total: int | None) -> Response:
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<rsp stat="ok" version="1.0"><result>']
        if total is not None:
            parts.append(f"<total_results>{total}</total_results>")
        for rec in records:
            parts.append(f"<{spec.v3_key}>")
            for key, v in rec.items():
                parts.append(f"<{key}>{_xml_value(v)}</{key}>")
            parts.append(f"</{spec.v3_key}>")
        parts.append("</result></rsp>\n")
        return Response(200, "".join(parts).encode(), "application/xml; charset=utf-8")


def _xml_value(v: Any) -> str:
    if isinstance(v, dict) and isinstance(v.get("value"), list):  # multi-value custom field
        return "".join(f"<value>{escape(str(x))}</value>" for x in v["value"])
    if isinstance(v, dict):  # a nested object (visitor activity campaign), or a collection
        return "".join(f"<{k}>{_xml_value(i)}</{k}>" for k, x in v.items()
                       for i in (x if isinstance(x, list) else [x]))
    if v is None:
        return ""
    return escape(str(v).lower() if isinstance(v, bool) else str(v))


__all__ = ["QUERY_KEYS", "Legacy", "json_response", "xml_error"]
