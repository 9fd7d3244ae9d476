"""The other readable objects (issue #10): each object's own filters and sorts, recycle
bins, read-only fields, the imports path and the external-activity export."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .conftest import Api

AFTER = "2025-10-01T00:00:00+00:00"


@pytest.mark.parametrize("path", ["custom-redirects", "files", "folders", "layout-templates",
                                  "tracker-domains", "tagged-objects", "external-activities",
                                  "dynamic-content-variations"])
def test_walked_by_id_objects_refuse_date_sorts_and_filters(api: Api, path: str) -> None:
    url = "/api/v5/" + (path if path == "external-activities" else f"objects/{path}")
    assert api.get(url, params={"fields": "id", "orderBy": "updatedAt ASC"}).status_code == 400
    assert api.get(url, params={"fields": "id", "updatedAtAfter": AFTER}).status_code == 400
    r = api.get(url, params={"fields": "id", "orderBy": "id ASC", "idGreaterThan": 1})
    assert r.status_code == 200
    ids = [v["id"] for v in r.json()["values"]]
    assert ids == sorted(ids)
    assert ids


def test_external_activities_filter_but_do_not_sort_by_date(api: Api) -> None:
    url = "/api/v5/external-activities"
    assert api.get(url, params={"fields": "id", "orderBy": "createdAt"}).status_code == 400
    r = api.get(url, params={"fields": "id,createdAt", "createdAtAfter": AFTER,
                             "activityDateBefore": "2030-01-01T00:00:00+00:00"})
    assert r.status_code == 200
    assert all(v["createdAt"] > "2025-09-30" for v in r.json()["values"])


def test_recycle_bins(api_factory: Callable[..., Api]) -> None:
    api: Api = api_factory({"deleted_fraction": 0.5})
    r = api.get("/api/v5/objects/layout-templates",
                params={"fields": "id,isDeleted", "deleted": "true"})
    assert r.status_code == 200
    assert r.json()["values"]
    assert all(v["isDeleted"] for v in r.json()["values"])
    # files: a recycle bin without isDeleted (hidden rows); form handler fields: none
    assert api.get("/api/v5/objects/files", params={"fields": "isDeleted"}).status_code == 400
    r = api.get("/api/v5/objects/form-handler-fields",
                params={"fields": "id,formHandlerId", "orderBy": "createdAt ASC"})
    assert r.status_code == 200


def test_read_only_fields_are_refused_on_query(api: Api) -> None:
    for path, field in (("dynamic-contents", "baseContent"), ("landing-pages", "layoutCss"),
                        ("email-templates", "htmlMessage"), ("list-emails", "textMessage")):
        r = api.get(f"/api/v5/objects/{path}", params={"fields": f"id,{field}"})
        assert r.status_code == 400, path
        assert r.json()["code"] == 224


def test_imports_have_their_own_path(api: Api) -> None:
    r = api.get("/api/v5/imports", params={"fields": "id,status,isExpired",
                                           "orderBy": "updatedAt ASC", "status": "Complete"})
    assert r.status_code == 200
    assert all(v["status"] == "Complete" for v in r.json()["values"])
    assert api.get("/api/v5/objects/imports", params={"fields": "id"}).status_code == 404


def test_added_objects_per_reading(api_factory: Callable[..., Api]) -> None:
    sorted_by = {"orderBy": "updatedAt ASC", "updatedAtAfterOrEqualTo": AFTER}
    airbyte: Api = api_factory()
    amp: Api = api_factory({"v5_added_objects_dates": "amp_labs"})
    for path in ("form-fields", "folder-contents"):
        url = f"/api/v5/objects/{path}"
        assert airbyte.get(url, params={"fields": "id", **sorted_by}).status_code == 200
        assert amp.get(url, params={"fields": "id", **sorted_by}).status_code == 400
    assert amp.get("/api/v5/objects/form-fields", params={
        "fields": "id", "orderBy": "createdAt ASC", "createdAtAfter": AFTER}).status_code == 200


def test_tagged_objects_created_filter_per_reading(api_factory: Callable[..., Api]) -> None:
    """SRV's definition filters tagged objects by id only; the amp-labs map by createdAt too
    (open question 26)."""
    params = {"fields": "id", "createdAtAfter": AFTER}
    assert api_factory().get("/api/v5/objects/tagged-objects", params=params).status_code == 400
    amp: Api = api_factory({"v5_added_objects_dates": "amp_labs"})
    assert amp.get("/api/v5/objects/tagged-objects", params=params).status_code == 200


def test_account_singleton(api: Api) -> None:
    r = api.get("/api/v5/objects/account", params={"fields": "id,company,apiCallsUsed"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"id", "company", "apiCallsUsed"}
    assert body["apiCallsUsed"] >= 1
    assert api.get("/api/v5/objects/account", params={"fields": "id,nope"}).status_code == 400


def test_account_has_no_read_by_id(api: Api) -> None:
    """A singleton: read without an id, no query (pardot-v5-objects.md, Account)."""
    assert api.get("/api/v5/objects/account/1", params={"fields": "id"}).status_code == 404


def test_external_activity_export_procedures(api: Api) -> None:
    for name, args in (("ExternalActivity/FilterByCreatedAt", {"createdAfter": AFTER}),
                       ("ExternalActivity/FilterByActivityDate", {"activityAfter": AFTER})):
        r = api.post("/api/v5/exports?fields=id,status", json={"fields": ["id", "createdAt"],
                                               "procedure": {"name": name, "arguments": args}})
        assert r.status_code in (200, 201), r.text
    r = api.post("/api/v5/exports?fields=id,status", json={"fields": ["id"], "procedure": {
        "name": "ExternalActivity/FilterByCreatedAt",
        "arguments": {"createdAfter": AFTER, "deleted": "all"}}})
    assert r.status_code == 400  # no recycle bin: no `deleted` argument
    r = api.post("/api/export/version/4/do/create", json={
        "object": "externalActivity",
        "procedure": {"name": "filter_by_created_at", "arguments": {"created_after": "yesterday"}}})
    # v5 only here: not among SRV's v3/v4 export objects
    assert str(r.json()["@attributes"]["err_code"]) == "154"


def test_external_activities_path_per_reading(api_factory: Callable[..., Api]) -> None:
    params = {"fields": "id", "orderBy": "id ASC"}
    top: Api = api_factory()
    assert top.get("/api/v5/external-activities", params=params).status_code == 200
    assert top.get("/api/v5/objects/external-activities", params=params).status_code == 404
    older: Api = api_factory({"v5_external_activities_path": "objects"})
    assert older.get("/api/v5/external-activities", params=params).status_code == 404
    assert older.get("/api/v5/objects/external-activities", params=params).status_code == 200


def test_external_activity_v4_export_when_served(api_factory: Callable[..., Api]) -> None:
    """Seed 003's reading (knob `export_v3_external_activities`): v3/v4 exports them too,
    with snake_case procedures and arguments."""
    api: Api = api_factory({"export_v3_external_activities": "served"})
    path = "/api/export/version/4/do/create"
    for name, arg in (("filter_by_created_at", "created_after"),
                      ("filter_by_activity_date", "activity_after")):
        r = api.post(path, json={"object": "externalActivity", "fields": ["id"], "procedure": {
            "name": name, "arguments": {arg: "2025-10-01 00:00:00"}}})
        assert r.status_code == 200, r.text
        api.sim.advance(5)
        read = api.get(f"/api/export/version/4/do/read/id/{r.json()['id']}").json()
        assert read["state"] == "Complete", read
        refs = read["resultRefs"]
        first = api.get(refs if isinstance(refs, str) else refs[0])
        assert first.status_code == 200
        assert first.text.splitlines()[0] == "id"
    r = api.post(path, json={"object": "externalActivity", "procedure": {
        "name": "filter_by_updated_at", "arguments": {"updated_after": "yesterday"}}})
    assert str(r.json()["@attributes"]["err_code"]) == "174"


def test_external_activity_reads_follow_the_path_reading(api_factory: Callable[..., Api]) -> None:
    """Read by id sits beside the query: `/api/v5/external-activities/{id}` (3P) or under
    `/objects/` (SRV), per knob `v5_external_activities_path`; the other path 404s."""
    params = {"fields": "id"}
    for reading, good, bad in (("top", "external-activities", "objects/external-activities"),
                               ("objects", "objects/external-activities", "external-activities")):
        api: Api = api_factory({"v5_external_activities_path": reading})
        first = api.get(f"/api/v5/{good}", params={**params, "limit": 1}).json()["values"][0]
        assert api.get(f"/api/v5/{good}/{first['id']}", params=params).json() == first
        assert api.get(f"/api/v5/{bad}/{first['id']}", params=params).status_code == 404


def test_pre_rename_fields_per_reading(api_factory: Callable[..., Api]) -> None:
    for both in (True, False):
        api: Api = api_factory({"v5_pre_rename_fields": both})
        for path, name in (("list-emails", "operationalEmail"), ("tagged-objects", "targetId"),
                           ("list-emails", "isOperational"), ("tagged-objects", "tagId")):
            r = api.get(f"/api/v5/objects/{path}", params={"fields": f"id,{name}"})
            assert r.status_code == (200 if both or name in ("isOperational", "tagId") else 400)
