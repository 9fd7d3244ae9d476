"""v5 object queries: fields, filters, ordering, deleted, nextPageToken paging and its cap."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

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
    assert api.get(VA, params={"fields": "id,nope"}).status_code == 400
    assert api.get(VA, params={"fields": "id", "limit": 1001}).status_code == 400
    assert api.get(VA, params={"fields": "id", "orderBy": "typeName ASC"}).status_code == 400
    assert api.get(VA, params={"fields": "id", "updatedAtAfter": "yesterday-ish"}).ok is False
    r = api.get(VA, params={"fields": "id", "idGreaterThan": 1, "updatedAtAfter": "2025-10-01",
                            "createdAtAfter": "2025-10-01", "idLessThan": 10**9})
    assert r.ok  # three distinct fields
    r = api.get("/api/v5/objects/nothing", params={"fields": "id"})
    assert r.status_code == 404


def test_page_token_rules(api_factory) -> None:  # type: ignore[no-untyped-def]
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


def test_token_sequence_cap(api_factory) -> None:  # type: ignore[no-untyped-def]
    api = api_factory({"v5_page_token_cap": 450})
    params = {"fields": "id,updatedAt", "limit": 200, "orderBy": "updatedAt ASC,id ASC"}
    r = api.get(VA, params=params)
    seen = r.json()["values"]
    while "nextPageToken" in r.json():
        r = api.get(VA, params={"nextPageToken": r.json()["nextPageToken"]})
        seen += r.json()["values"]
    assert len(seen) == 450
    assert r.headers["Pardot-Warning"].startswith("203;")
    # restarting from the high-water mark continues the sequence
    last = seen[-1]
    r = api.get(VA, params={**params, "updatedAtAfterOrEqualTo": last["updatedAt"]})
    assert r.ok
    assert "Pardot-Warning" not in r.headers


def test_read_one_record(api: Api) -> None:
    truth = api.admin("truth/prospects")["records"]
    t = next(t for t in truth if t["is_deleted"])
    r = api.get(f"/api/v5/objects/prospects/{t['id']}", params={"fields": "id,email,isDeleted"})
    assert r.json() == {"id": t["id"], "email": t["email"], "isDeleted": True}
    assert r.headers["Pardot-Warning"].startswith("201;")
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
