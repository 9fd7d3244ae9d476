"""v5 object queries: fields, filters, ordering, deleted, nextPageToken paging and its cap."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tap_pardot.simulator.v5 import warning_header

from .conftest import Api

VA = "/api/v5/objects/visitor-activities"


def _all(api: Api, path: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    r = api.get(path, params=params)
    assert r.status_code == 200, r.text
    out, pages = list(r.json()["values"]), 1
    while "nextPageUrl" in r.json():
        r = api.get(r.json()["nextPageUrl"])
        assert r.status_code == 200, r.text
        out += r.json()["values"]
        pages += 1
    return out, pages


def _utc(s: str) -> datetime:
    return datetime.fromisoformat(s)


def test_full_sequence_matches_truth_in_order(api: Api) -> None:
    params = {"fields": "id,updatedAt,typeName,details", "limit": 1000,
              "orderBy": "updatedAt ASC,id ASC"}
    rows, pages = _all(api, VA, params)
    truth = api.admin("truth/visitor_activities")["records"]
    assert len(rows) == len(truth) == 2500
    assert pages == 3
    keys = [(_utc(r["updatedAt"]), r["id"]) for r in rows]
    assert keys == sorted(keys)
    by_id = {t["id"]: t for t in truth}
    for r in rows:
        t = by_id[r["id"]]
        assert _utc(r["updatedAt"]) == _utc(t["updated_at"])
        assert r["details"] == t["details"]
        assert set(r) == {"id", "updatedAt", "typeName", "details"}
    # values carry the account timezone's offset, both sides of the DST change
    offsets = {r["updatedAt"][-6:] for r in rows}
    assert offsets == {"-04:00", "-05:00"}


def test_clump_larger_than_a_page(api: Api) -> None:
    truth = api.admin("truth/visitor_activities")["records"]
    biggest = Counter(t["updated_at"] for t in truth).most_common(1)[0]
    assert biggest[1] >= 1200


def test_filters_are_applied_with_their_operators(api: Api) -> None:
    truth = api.admin("truth/prospects")["records"]
    mid = sorted(t["updated_at"] for t in truth)[600]
    rows, _ = _all(api, "/api/v5/objects/prospects", {
        "fields": "id,updatedAt", "limit": 1000, "orderBy": "updatedAt ASC,id ASC",
        "updatedAtAfterOrEqualTo": mid, "deleted": "all"})
    want = {t["id"] for t in truth if _utc(t["updated_at"]) >= _utc(mid)}
    assert {r["id"] for r in rows} == want
    rows, _ = _all(api, "/api/v5/objects/prospects", {
        "fields": "id", "limit": 1000, "updatedAtAfter": mid, "deleted": "all"})
    assert {r["id"] for r in rows} == {t["id"] for t in truth
                                       if _utc(t["updated_at"]) > _utc(mid)}
    rows, _ = _all(api, "/api/v5/objects/prospects", {
        "fields": "id", "limit": 1000, "idGreaterThan": truth[100]["id"],
        "idLessThanOrEqualTo": truth[200]["id"]})
    assert {r["id"] for r in rows} == {t["id"] for t in truth[101:201] if not t["is_deleted"]}


def test_deleted_records_only_when_asked(api: Api) -> None:
    truth = api.admin("truth/prospects")["records"]
    deleted = {t["id"] for t in truth if t["is_deleted"]}
    assert deleted
    base = {"fields": "id,isDeleted", "limit": 1000}
    live, _ = _all(api, "/api/v5/objects/prospects", base)
    assert deleted.isdisjoint(r["id"] for r in live)
    only, _ = _all(api, "/api/v5/objects/prospects", {**base, "deleted": "true"})
    assert {r["id"] for r in only} == deleted
    assert all(r["isDeleted"] is True for r in only)
    everything, _ = _all(api, "/api/v5/objects/prospects", {**base, "deleted": "all"})
    assert len(everything) == len(truth)


def test_parameter_errors(api: Api) -> None:
    r = api.get(VA)
    assert (r.status_code, r.json()["code"]) == (400, 224)
    assert api.get(VA, params={"fields": "id", "limit": 1001}).status_code == 400
    assert api.get(VA, params={"fields": "id", "updatedAtAfter": "yesterday-ish"}).ok is False
    r = api.get(VA, params={"fields": "id", "idGreaterThan": 1,
                            "updatedAtAfter": "2025-10-01T00:00:00+00:00",
                            "createdAtAfter": "2025-10-01T00:00:00+00:00", "idLessThan": 10**9})
    assert r.ok  # three distinct fields
    r = api.get(VA, params={"fields": "id", "idGreaterThan": 1, "typeLessThan": 30,
                            "updatedAtAfter": "2025-10-01T00:00:00+00:00", "visitorId": 5})
    assert r.json() == {"code": 209, "message": (
        "Too many fields have filters: The max number of 3 distinct fields with filters was "
        "exceeded for this query.")}
    r = api.get("/api/v5/objects/nothing", params={"fields": "id"})
    assert r.status_code == 404
    assert api.get(VA, params={"fields": "id", "bogus": 1}).json()["code"] == 51
    api.sim.set_knobs({"v5_unknown_parameter": "ignored"})
    assert api.get(VA, params={"fields": "id", "bogus": 1}).ok


def test_field_selection_errors(api: Api) -> None:
    r = api.get(VA, params={"fields": "id,nope,typeName,alsoNope"})
    assert (r.status_code, r.json()) == (400, {"code": 51, "message": (
        "Invalid parameter: fields. It contains an invalid or unknown field: nope, alsoNope.")})
    r = api.get(VA, params={"fields": "id,,type"})
    assert r.json() == {"code": 51,
                        "message": "Invalid parameter: fields. Empty strings are not allowed."}
    # read-endpoint-only fields are refused on query (224) and served on read
    emails = "/api/v5/objects/emails"
    r = api.get(emails, params={"fields": "id,htmlMessage"})
    assert (r.status_code, r.json()["code"]) == (400, 224)
    assert "htmlMessage. These fields are not queryable" in r.json()["message"]
    eid = api.admin("truth/emails")["records"][0]["id"]
    r = api.get(f"{emails}/{eid}", params={"fields": "id,htmlMessage,textMessage"})
    assert set(r.json()) == {"id", "htmlMessage", "textMessage"}


def test_fields_the_objects_file_lists(api: Api) -> None:
    """Fields added from pardot-v5-objects.md, each selectable and matching the truth."""
    wanted = {"users": "lastName", "prospects": "assignedToId,password",
              "lists": "isSalesforceVisible", "custom-fields": "apiFieldId",
              "emails": "userId"}
    for path, names in wanted.items():
        r = api.get(f"/api/v5/objects/{path}", params={"fields": "id," + names})
        assert r.status_code == 200, (path, r.text)
        assert set(r.json()["values"][0]) == {"id", *names.split(",")}
    truth = {t["id"]: t for t in api.admin("truth/emails")["records"]}
    r = api.get("/api/v5/objects/emails", params={
        "fields": "id,senderOptions.type,senderOptions.address,replyToOptions.userId"})
    assert r.status_code == 200, r.text
    for v in r.json()["values"]:
        t = truth[v["id"]]
        want = t["sender_options"] and [{"type": o["type"], "address": o["address"]}
                                        for o in t["sender_options"]]
        assert v["senderOptions"] == want
        assert v["replyToOptions"] == (t["reply_to_options"] and [
            {"userId": o["userId"]} for o in t["reply_to_options"]])
    assert api.get("/api/v5/objects/emails", params={
        "fields": "id,senderOptions.nope"}).json()["code"] == 51


def test_score_and_assigned_to_id_types_knob(api: Api) -> None:
    params = {"fields": "id,score,assignedToId", "limit": 50}
    rows = api.get("/api/v5/objects/prospects", params=params).json()["values"]
    assert all(isinstance(r["score"], int) for r in rows)  # SRV: Integer
    api.sim.set_knobs({"v5_prospect_string_fields": ["score", "assignedToId"]})  # AB: String
    rows = api.get("/api/v5/objects/prospects", params=params).json()["values"]
    assert all(isinstance(r["score"], str) for r in rows)
    assert {type(r["assignedToId"]) for r in rows} == {str, type(None)}


def test_feature_flagged_fields(api: Api) -> None:
    prospects, visitors = "/api/v5/objects/prospects", "/api/v5/objects/visitors"
    extended = "grade,notes,campaignParameter,convertedAt,firstActivityAt,isEmailHardBounced"
    assert api.get(prospects, params={"fields": f"id,doNotSell,{extended}"}).ok
    assert api.get(visitors, params={"fields": "id,doNotSell"}).ok
    assert api.get("/api/v5/objects/custom-fields", params={"fields": "id,isAnalyticsSynced"}).ok
    api.sim.set_knobs({"feature_prospect_extended_fields": False, "feature_do_not_sell": False,
                       "feature_selective_sync": False})
    r = api.get(prospects, params={"fields": "id,email,grade"})
    assert r.json()["message"].endswith("unknown field: grade.")
    assert api.get(prospects, params={"fields": "id,email,doNotSell"}).json()["code"] == 51
    assert api.get(visitors, params={"fields": "id,doNotSell"}).json()["code"] == 51
    assert api.get("/api/v5/objects/custom-fields",
                   params={"fields": "id,isAnalyticsSynced"}).json()["code"] == 51
    assert api.get(prospects, params={"fields": "id,email,score"}).ok


def test_dates_must_be_exact_atom(api: Api) -> None:
    for bad in ("2025-10-01T00:00:00Z", "2025-10-01T00:00:00.000+00:00",
                "2025-10-01T00:00:00+0000", "2025-10-01", "2025-10-01 00:00:00",
                "yesterday", "2025-13-01T00:00:00+00:00"):
        r = api.get(VA, params={"fields": "id", "updatedAtAfter": bad})
        assert (r.status_code, r.json()["code"]) == (400, 51), bad
        assert "Invalid date time value" in r.json()["message"]
    # an unencoded "+" arrives as a space: not ATOM either
    r = api.get(VA + "?fields=id&updatedAtAfter=2025-10-01T00:00:00+00:00")
    assert r.status_code == 400
    # the offset given is honoured
    truth = api.admin("truth/visitor_activities")["records"]
    r = api.get(VA, params={"fields": "id", "limit": 1000, "deleted": "all",
                            "updatedAtAfterOrEqualTo": "2025-11-19T20:00:00-05:00"})
    want = {t["id"] for t in truth if t["updated_at"] >= "2025-11-20T01:00:00+00:00"}
    assert {v["id"] for v in r.json()["values"]} == want


def test_other_filters_of_the_objects(api: Api) -> None:
    pr = api.admin("truth/prospects")["records"]
    t = next(t for t in pr if not t["is_deleted"])
    r = api.get("/api/v5/objects/prospects", params={"fields": "id,email", "email": t["email"]})
    assert t["id"] in {v["id"] for v in r.json()["values"]}
    r = api.get("/api/v5/objects/prospects", params={"fields": "id,userId", "limit": 1000,
                                                      "userIdIsNull": "true"})
    assert r.json()["values"]
    assert all(v["userId"] is None for v in r.json()["values"])
    lm = api.admin("truth/list_memberships")["records"]
    pid = lm[0]["prospect_id"]
    r = api.get("/api/v5/objects/list-memberships",
                params={"fields": "id", "prospectId": pid, "deleted": "all", "limit": 1000})
    assert {v["id"] for v in r.json()["values"]} == {m["id"] for m in lm
                                                      if m["prospect_id"] == pid}
    # prospect-accounts: only id filters, sorted by id or salesforceId (SRV and AB agree)
    pa = "/api/v5/objects/prospect-accounts"
    r = api.get(pa, params={"fields": "id", "updatedAtAfter": "2025-10-01T00:00:00+00:00"})
    assert r.status_code == 400
    r = api.get(pa, params={"fields": "id,salesforceId", "orderBy": "salesforceId DESC",
                            "limit": 1000})
    keys = [((v["salesforceId"] is not None, v["salesforceId"] or ""), v["id"])
            for v in r.json()["values"]]
    assert keys == sorted(keys, reverse=True)


def test_order_by_rules(api: Api) -> None:
    r = api.get(VA, params={"fields": "id", "orderBy": "updatedAt ASC,createdAt DESC"})
    assert r.json() == {"code": 51, "message": (
        "Invalid parameter: the direction of all the orderBy's must be the same.")}
    r = api.get(VA, params={"fields": "id", "orderBy": "nope"})
    assert r.json()["message"] == "Invalid parameter: orderBy. Unknown field name specified: nope"
    r = api.get(VA, params={"fields": "id", "orderBy": "typeName ASC"})
    assert r.json()["message"] == ('Invalid parameter: orderBy. Field name "typeName" is not '
                                   "sortable.")
    assert api.get(VA, params={"fields": "id", "orderBy": "id sideways"}).status_code == 400
    # field names are exact (no source says orderBy folds their case); the direction is not
    assert api.get(VA, params={"fields": "id", "orderBy": "updatedat"}).status_code == 400
    # id is appended in the same direction: ties on updatedAt come id-descending
    rows, _ = _all(api, VA, {"fields": "id,updatedAt", "limit": 1000,
                             "orderBy": "updatedAt desc"})
    keys = [(_utc(r["updatedAt"]), r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=True)
    assert len(keys) == 2500


def test_deleted_parameter_per_object(api: Api) -> None:
    # recycle bin without isDeleted: deleted rows always hidden, the parameter accepted
    for path in ("custom-fields", "emails", "opportunities"):
        r = api.get(f"/api/v5/objects/{path}", params={"fields": "id", "deleted": "all"})
        assert r.status_code == 200, path
        assert api.get(f"/api/v5/objects/{path}", params={
            "fields": "id,isDeleted"}).json()["code"] == 51
    # no recycle bin: ignored by default (open question 16), or an error
    all_va = api.get(VA, params={"fields": "id", "deleted": "true"})
    assert all_va.ok
    assert all_va.json()["values"]
    api.sim.set_knobs({"v5_deleted_without_recycle_bin": "error"})
    assert api.get(VA, params={"fields": "id", "deleted": "true"}).status_code == 400
    assert api.get("/api/v5/objects/prospects", params={"fields": "id",
                                                        "deleted": "maybe"}).status_code == 400


def test_date_header_is_the_simulators_clock(api: Api) -> None:
    want = "Thu, 20 Nov 2025 12:00:00 GMT"
    assert api.get(VA, params={"fields": "id"}).headers["Date"] == want
    assert api.get(VA).headers["Date"] == want  # an error
    assert api.get("/api/prospect/version/4/do/query").headers["Date"] == want
    assert api.s.post(f"{api.url}/services/oauth2/token").headers["Date"] == want
    assert api.s.get(f"{api.url}/_sim/clock").headers["Date"] == want
    api.sim.advance(90)
    assert api.get(VA, params={"fields": "id"}).headers["Date"] == "Thu, 20 Nov 2025 12:01:30 GMT"


def test_page_token_rules(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"token_ttl_seconds": 86400})
    r = api.get(VA, params={"fields": "id", "limit": 10})
    token = r.json()["nextPageToken"]
    bad = api.get(VA, params={"nextPageToken": token, "limit": 10})
    assert bad.status_code == 400
    assert api.get(VA, params={"nextPageToken": token, "fields": "id,type"}).ok
    # a token may be replayed (a retried request gets the same page)
    a = api.get(VA, params={"nextPageToken": token}).json()["values"]
    b = api.get(VA, params={"nextPageToken": token}).json()["values"]
    assert a == b
    assert api.get(VA, params={"nextPageToken": "garbage"}).json()["code"] == 211
    api.sim.advance(4 * 3600 + 1)
    assert api.get(VA, params={"nextPageToken": token}).json()["code"] == 210


def test_token_sequence_cap(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"v5_page_token_cap": 450})
    params = {"fields": "id,updatedAt", "limit": 200, "orderBy": "updatedAt ASC,id ASC"}
    r = api.get(VA, params=params)
    seen = r.json()["values"]
    while "nextPageToken" in r.json():
        r = api.get(VA, params={"nextPageToken": r.json()["nextPageToken"]})
        seen += r.json()["values"]
    assert len(seen) == 450
    assert r.headers["Pardot-Warning"] == (
        "203;Record count for nextPageToken sequence has been exceeded. No page token returned.")
    # restarting from the high-water mark continues the sequence
    last = seen[-1]
    r = api.get(VA, params={**params, "updatedAtAfterOrEqualTo": last["updatedAt"]})
    assert r.ok
    assert "Pardot-Warning" not in r.headers
    api.sim.set_knobs({"v5_page_token_cap_warning_code": 101})  # the 2023 server's code
    r = api.get(VA, params={**params, "limit": 1000})
    assert r.headers["Pardot-Warning"].startswith("101;Record count for nextPageToken")


def test_warning_header_escaping() -> None:
    assert warning_header((201, "a, b; c"), (101, "x")) == "201;a\\, b\\; c,101;x"


def test_read_one_record(api: Api) -> None:
    truth = api.admin("truth/prospects")["records"]
    t = next(t for t in truth if t["is_deleted"])
    path = f"/api/v5/objects/prospects/{t['id']}"
    # in the recycle bin: 404 unless deleted=true (DOC2021; 3P status list)
    r = api.get(path, params={"fields": "id,email,isDeleted"})
    assert (r.status_code, r.json()["code"]) == (404, 192)
    assert r.headers["Pardot-Warning"].startswith("201;")
    r = api.get(path, params={"fields": "id,email,isDeleted", "deleted": "true"})
    assert r.json() == {"id": t["id"], "email": t["email"], "isDeleted": True}
    assert r.headers["Pardot-Warning"].startswith("201;")
    live = next(t for t in truth if not t["is_deleted"])
    r = api.get(f"/api/v5/objects/prospects/{live['id']}", params={"fields": "id,updatedAt"})
    assert r.ok
    assert "Pardot-Warning" not in r.headers
    assert api.get("/api/v5/objects/prospects/1", params={"fields": "id"}).status_code == 404


def test_small_objects_are_served(api: Api) -> None:
    for path in ("campaigns", "lists", "users", "tags", "custom-fields", "visitors",
                 "list-memberships", "prospect-accounts"):
        r = api.get(f"/api/v5/objects/{path}", params={"fields": "id,createdAt,updatedAt"})
        assert r.status_code == 200, (path, r.text)
        assert r.json()["values"]


def test_deprecated_offset(api: Api) -> None:
    base = {"fields": "id", "limit": 5}
    first = api.get(VA, params=base).json()["values"]
    skipped = api.get(VA, params={**base, "offset": 2}).json()["values"]
    assert skipped[:3] == first[2:]
    assert api.get(VA, params={**base, "offset": 2001}).status_code == 400


def test_descending_order_pages_through_everything(api: Api) -> None:
    rows, _ = _all(api, "/api/v5/objects/visitors", {
        "fields": "id,createdAt", "limit": 97, "orderBy": "createdAt DESC", "deleted": "all"})
    keys = [(_utc(r["createdAt"]), r["id"]) for r in rows]
    assert [k[0] for k in keys] == sorted((k[0] for k in keys), reverse=True)
    assert len({r["id"] for r in rows}) == len(api.admin("truth/visitors")["records"])
