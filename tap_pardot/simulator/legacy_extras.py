"""The v3/v4-only surfaces and child objects (pardot-v5-objects.md, Appendix B): email-click
query keys, an opportunity's nested prospects, a visitor's nested referrer, prospect-account
custom fields (describe and query values) and per-list-email statistics. Nested values are
derived from the parent record's id, like every generated value (rows.py).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from xml.sax.saxutils import escape

from .custom import CustomField, truth_value, value_builder
from .http import ApiError, Request, Response, json_response
from .rows import TRICKY, mix
from .schema import camel

# Keys a v3/v4 email click omits when null (DOC2020 `object-field-references.md`).
OMIT_NULL = {"email_clicks": frozenset({"list_email_id", "drip_program_action_id",
                                        "email_template_id", "tracker_redirect_id"})}
PROSPECT_KEYS = ("id", "email", "first_name", "last_name", "company")  # nested in opportunities
SALT = 0x5EEDBEEF


def _h(rid: int, salt: int) -> int:
    return mix(rid * 0x9E3779B97F4A7C15 + salt)


# ---- opportunity -> prospects -------------------------------------------------------------
def opportunity_prospect_ids(sim: Any, opportunity_id: int) -> list[int]:
    """0 to 3 distinct prospects linked to an opportunity (among those generated at start)."""
    h = _h(opportunity_id, SALT)
    picked: list[int] = []
    for j in range(h % 4):
        pid = sim.store.ctx.ref("prospects", mix(h + j))
        if pid is not None and pid not in picked:
            picked.append(pid)
    return picked


def _prospect(sim: Any, pid: int) -> dict[str, Any]:
    table = sim.store.tables["prospects"]
    row = table.row(table.find(pid))
    idx = table.spec.index
    return {k: row[idx[k]] for k in PROSPECT_KEYS if row[idx[k]] is not None}


def link_truth(sim: Any) -> list[dict[str, Any]]:
    """opportunity_prospects as the tap extracts them."""
    out = []
    for opp in sim.truth("opportunities"):
        for pid in opportunity_prospect_ids(sim, opp["id"]):
            p = _prospect(sim, pid)
            out.append({"opportunity_id": opp["id"], "prospect_id": pid,
                        **{k: p.get(k) for k in PROSPECT_KEYS if k != "id"}})
    return out


# ---- visitor -> visitor_referrer ----------------------------------------------------------
VENDORS = ["Google", "Bing", "Yahoo!", "DuckDuckGo", None]
TYPES = ["Natural Search", "Paid Search", "Referring Site", None]


def visitor_referrer(visitor_id: int) -> dict[str, Any] | None:
    """About 60% of visitors have a referrer; its null parts are left out."""
    h = _h(visitor_id, SALT + 1)
    if h % 10 >= 6:
        return None
    ref = {"id": 9_000_000 + visitor_id,
           "referrer": (TRICKY[h % len(TRICKY)] if (h >> 4) % 3 == 0
                        else f"https://search.example.com/?q=a%2Cb&id={visitor_id}"),
           "vendor": VENDORS[(h >> 8) % len(VENDORS)],
           "type": TYPES[(h >> 12) % len(TYPES)],
           "query": TRICKY[(h >> 16) % len(TRICKY)] if (h >> 20) % 2 else None}
    return {k: v for k, v in ref.items() if v is not None}


COMPANY_NAMES = ["Acme, Inc.", 'The "Best" Co', "Umbrella 🌂", "Initech\nLabs", None]


def identified_company(visitor_id: int) -> dict[str, Any] | None:
    """About a third of visitors come from an identified company; null parts left out."""
    h = _h(visitor_id, SALT + 2)
    if h % 3:
        return None
    company = {"id": 8_000 + h % 40, "name": COMPANY_NAMES[(h >> 6) % len(COMPANY_NAMES)],
               "street_address": TRICKY[(h >> 10) % len(TRICKY)] if (h >> 14) % 2 else None,
               "city": ["Boston", "São Paulo", None][(h >> 16) % 3],
               "state": ["MA", None][(h >> 18) % 2], "postal_code": f"{h % 100000:05d}",
               "country": ["USA", "Brazil", None][(h >> 20) % 3],
               "email": f"info{h % 40}@example.com" if (h >> 22) % 2 else None}
    return {k: v for k, v in company.items() if v is not None}


COMPANY_KEYS = ("name", "street_address", "city", "state", "postal_code", "country", "email")


def company_truth(sim: Any) -> list[dict[str, Any]]:
    """visitor_identified_companies as the tap extracts them: live visitors' (v3/v4 query)."""
    out = []
    for visitor in sim.truth("visitors"):
        company = identified_company(visitor["id"])
        if company and not visitor["is_deleted"]:
            out.append({**dict.fromkeys(COMPANY_KEYS), **company,
                        "visitor_id": visitor["id"], "updated_at": visitor["updated_at"]})
    return out


def referrer_truth(sim: Any) -> list[dict[str, Any]]:
    """visitor_referrers as the tap extracts them: live visitors' (the v3/v4 query's)."""
    out = []
    for visitor in sim.truth("visitors"):
        ref = visitor_referrer(visitor["id"])
        if ref and not visitor["is_deleted"]:
            out.append({**dict.fromkeys(("referrer", "vendor", "type", "query")), **ref,
                        "visitor_id": visitor["id"], "updated_at": visitor["updated_at"]})
    return out


# ---- prospect-account custom fields (v3/v4 describe, query and export) -------------------
# Typed as prospect custom fields are (custom.py); none on v5 (pardot-api.md §3c).
ACCOUNT_FIELDS = [
    CustomField("Tier", "Tier", "Dropdown", options=("Gold", "Silver, Legacy", 'The "Top" tier')),
    CustomField("Seat_Count", "Seat Count", "Number"),
    CustomField("Renewal_On", "Renewal On", "Date"),
    CustomField("Regions", "Regions", "Multi-Select", options=("EMEA", "AMER, North", "APAC 🌏")),
    CustomField("Account_Notes", "Account Notes", "Textarea"),
]
STANDARD_ACCOUNT_FIELDS = [("name", "Name", "text", True), ("number", "Number", "text", False),
                           ("annual_revenue", "Annual Revenue", "text", False)]


def extend_accounts(spec: Any) -> tuple[Any, dict[str, Any]]:
    """The prospect-accounts spec with its custom fields (v3/v4 only), and their values."""
    fields = [*spec.fields, *((f.key, f.kind) for f in ACCOUNT_FIELDS)]
    rules = {f.key: value_builder(f, 100 + j) for j, f in enumerate(ACCOUNT_FIELDS)}
    return dataclasses.replace(spec, fields=fields, custom={f.key: f.field_id
                                                            for f in ACCOUNT_FIELDS},
                               custom_v5=False), rules


def account_truth(sim: Any, account_id: int) -> dict[str, Any]:
    """One prospect account's custom values as the tap extracts them (`tier__c`; the truth
    endpoint leaves them out: v5 has none)."""
    table = sim.store.tables["prospect_accounts"]
    row, spec = table.row(table.find(account_id)), table.spec
    return {f.key: truth_value(f.kind, row[spec.index[f.key]]) for f in ACCOUNT_FIELDS}


def describe(sim: Any, req: Request) -> Response:
    """`prospectAccount/do/describe`: every field's metadata (tamias/pardot-client's shape)."""
    sim.legacy.check_version(int(req.params["v"]))
    fields = [{"@attributes": {"id": fid, "label": label, "required": required,
                               "custom": False, "type": kind, "has_options": False}}
              for fid, label, kind, required in STANDARD_ACCOUNT_FIELDS]
    for f in ACCOUNT_FIELDS:
        entry: dict[str, Any] = {"@attributes": {
            "id": f.field_id, "label": f.name, "required": False, "custom": True,
            "type": f.type.lower(), "has_options": bool(f.options)}}
        if f.options:
            entry["option"] = list(f.options)
        fields.append(entry)
    if (req.arg("format") or "xml") != "json":  # XML by default, as every v3/v4 reply
        parts = []
        for entry in fields:
            attrs = " ".join(f'{k}="{escape(str(v).lower() if isinstance(v, bool) else str(v))}"'
                             for k, v in entry["@attributes"].items())
            options = "".join(f"<option>{escape(o)}</option>" for o in entry.get("option", ()))
            parts.append(f"<field {attrs}>{options}</field>")
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<rsp stat="ok" version="1.0"><result>'
               + "".join(parts) + "</result></rsp>\n")
        return Response(200, xml.encode(), "application/xml; charset=utf-8")
    body = {"@attributes": {"stat": "ok", "version": 1}, "result": {"field": fields}}
    return Response(200, json.dumps(body, ensure_ascii=False).encode(),
                    "application/json; charset=utf-8")


# ---- the v3/v4 query record hooks ---------------------------------------------------------
def extend_record(sim: Any, spec: Any, row: list[Any], bulk: bool, out: dict[str, Any]) -> None:
    """What a v3/v4 query record carries beyond its flat fields."""
    rid = row[spec.index["id"]]
    if bulk:
        return  # `bulk` drops nested objects (seed 000)
    if spec.name == "opportunities":
        linked = [_prospect(sim, pid) for pid in opportunity_prospect_ids(sim, rid)]
        if linked:
            out["prospects"] = {"prospect": linked[0] if len(linked) == 1 else linked}
        elif rid % 2:
            out["prospects"] = None  # an empty <prospects/>; else no key at all
    if spec.name == "visitors":
        ref = visitor_referrer(rid)
        if ref:
            out["visitor_referrer"] = ref
        company = identified_company(rid)
        if company:
            out["identified_company"] = company


# ---- list email statistics -----------------------------------------------------------------
COUNTS = ("sent", "delivered", "total_clicks", "unique_clicks", "soft_bounced", "hard_bounced",
          "opt_outs", "spam_complaints", "opens", "unique_opens")
RATES = ("delivery_rate", "opens_rate", "click_through_rate", "unique_click_through_rate",
         "click_open_ratio", "opt_out_rate", "spam_complaint_rate")


def _ratio(a: int, b: int) -> float | None:
    return None if b == 0 else round(100.0 * a / b, 2)


def stats_of(list_email_id: int, updated_at: int) -> dict[str, Any]:
    """One list email's statistics (snake names, rates as numbers); a fifth never sent."""
    h = _h(list_email_id, SALT + 20 + updated_at)
    sent = 0 if h % 5 == 0 else 1 + h % 5000
    soft, hard = (h >> 8) % (sent // 20 + 1), (h >> 12) % (sent // 30 + 1)
    delivered = sent - soft - hard
    opens = (h >> 16) % (delivered + 1)
    unique_opens = opens - (h >> 20) % (opens // 3 + 1)
    clicks = (h >> 24) % (opens + 1)
    unique_clicks = clicks - (h >> 28) % (clicks // 2 + 1)
    opt_outs, spam = (h >> 32) % (delivered // 50 + 1), (h >> 36) % (delivered // 200 + 1)
    return {"sent": sent, "delivered": delivered, "total_clicks": clicks,
            "unique_clicks": unique_clicks, "soft_bounced": soft, "hard_bounced": hard,
            "opt_outs": opt_outs, "spam_complaints": spam, "opens": opens,
            "unique_opens": unique_opens, "delivery_rate": _ratio(delivered, sent),
            "opens_rate": _ratio(unique_opens, delivered),
            "click_through_rate": _ratio(clicks, delivered),
            "unique_click_through_rate": _ratio(unique_clicks, delivered),
            "click_open_ratio": _ratio(unique_clicks, unique_opens),
            "opt_out_rate": _ratio(opt_outs, delivered),
            "spam_complaint_rate": _ratio(spam, delivered)}


def stats_truth(sim: Any) -> list[dict[str, Any]]:
    """list_email_stats for every list email (the tap reads deleted ones too)."""
    table = sim.store.tables["list_emails"]
    with sim.store.lock:
        return [{"list_email_id": table.ids[i], **stats_of(table.ids[i], table.updated[i])}
                for i in range(len(table))]


def v5_stats(sim: Any, req: Request) -> Response:
    """v5 `list-emails/{id}/stats`: one flat object, camelCase (3P data model; a public
    client reads `sent`, `uniqueOpens`, `hardBounced` from it); rates per knob."""
    table = sim.store.tables["list_emails"]
    i = table.find(int(req.params["id"]))
    if i < 0:
        raise ApiError(404, "Object not found", status=404)
    stats = stats_of(table.ids[i], table.updated[i])
    text = sim.knobs["list_email_stats_rates"] == "percent_text"
    body = {}
    for name, v in stats.items():
        body[camel(name)] = f"{v:.2f}%" if text and v is not None and name in RATES else v
    return json_response(body)


# Records with no table of their own (nested in other objects' rows, or per list email):
# their truth, their key and the API versions that serve them, for /_sim/truth and /_sim.
DERIVED: dict[str, tuple[Any, tuple[str, ...], tuple[int, ...]]] = {
    "opportunity_prospects": (link_truth, ("opportunity_id", "prospect_id"), (3, 4)),
    "visitor_referrers": (referrer_truth, ("id",), (3, 4)),
    "visitor_identified_companies": (company_truth, ("visitor_id",), (3, 4)),
    "list_email_stats": (stats_truth, ("list_email_id",), (5,)),
}


def register(sim: Any, r: Any) -> None:
    """The routes: the v3/v4 prospect-account describe and the v5 stats of a list email."""
    r("GET,POST", r"/api/prospectAccount/version/(?P<v>[34])/do/describe",
      lambda q: describe(sim, q), "v3", "describe")
    r("GET", r"/api/v5/objects/list-emails/(?P<id>\d+)/stats", lambda q: v5_stats(sim, q),
      "v5", "read")
