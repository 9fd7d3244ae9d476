"""The query-only objects: filters only on the times an object has, forms by id only,
emails by sentAt, immutable objects, v5-only objects absent from v3/v4."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .conftest import Api

KNOBS = {"emails": {"count": 40, "clump_size": 12}, "forms": {"count": 20, "clump_size": 0},
         "lifecycle_histories": {"count": 30, "clump_size": 0}}
AFTER = "2025-10-01T00:00:00+00:00"


def test_filters_only_on_fields_the_object_has(api_factory: Callable[..., Api]) -> None:
    api: Api = api_factory(KNOBS)
    page_views = "/api/v5/objects/visitor-page-views"
    r = api.get(page_views, params={"fields": "id", "updatedAtAfter": AFTER})
    assert r.status_code == 400
    r = api.get(page_views, params={"fields": "id,createdAt", "orderBy": "updatedAt ASC"})
    assert r.status_code == 400
    r = api.get(page_views, params={"fields": "id,createdAt", "createdAtAfter": AFTER,
                                    "orderBy": "createdAt ASC"})
    assert r.status_code == 200
    times = [datetime.fromisoformat(v["createdAt"]) for v in r.json()["values"]]
    assert times == sorted(times)
    assert "updatedAt" not in api.admin("truth/visitor_page_views")["records"][0]


def test_emails_page_by_sent_at(api_factory: Callable[..., Api]) -> None:
    api: Api = api_factory(KNOBS)
    r = api.get("/api/v5/objects/emails", params={
        "fields": "id,sentAt", "orderBy": "sentAt ASC,id ASC", "sentAtAfterOrEqualTo": AFTER,
        "limit": 1000})
    assert r.status_code == 200
    want = sorted((row["sent_at"], row["id"]) for row in api.admin("truth/emails")["records"]
                  if row["sent_at"] >= AFTER)
    got = [v["id"] for v in r.json()["values"]]
    assert len(got) == len(want)
    assert api.get("/api/v5/objects/emails", params={
        "fields": "id", "createdAtAfter": AFTER}).status_code == 400


def test_forms_take_no_time_filter_or_sort(api_factory: Callable[..., Api]) -> None:
    api: Api = api_factory(KNOBS)
    forms = "/api/v5/objects/forms"
    assert api.get(forms, params={"fields": "id", "updatedAtAfter": AFTER}).status_code == 400
    assert api.get(forms, params={"fields": "id", "orderBy": "updatedAt"}).status_code == 400
    r = api.get(forms, params={"fields": "id,isDeleted", "orderBy": "id ASC", "deleted": "all",
                               "idGreaterThan": 0})
    assert r.status_code == 200
    assert len(r.json()["values"]) == len(api.admin("truth/forms")["records"])


def test_v5_only_objects_are_not_served_on_v3(api_factory: Callable[..., Api]) -> None:
    api: Api = api_factory(KNOBS)
    params = {"format": "json", "output": "bulk"}
    assert api.get("/api/visit/version/4/do/query", params=params).status_code == 404
    r = api.get("/api/lifecycleHistory/version/4/do/query",
                params={**params, "sort_by": "created_at", "sort_order": "ascending"})
    assert r.status_code == 200
    assert len(r.json()["result"]["lifecycleHistory"]) == 30
