"""Prospect custom fields: definitions, values on v5, v3/v4 (JSON, XML), export CSV, truth."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

import pytest

from .conftest import Api

KNOBS = {"prospects": {"count": 200, "clump_size": 0}, "export_waiting_seconds": 0.0,
         "export_processing_seconds": 0.0}


def _truth(api: Api) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in api.admin("truth/prospects")["records"]}


def test_definitions_cover_every_kind(api: Api) -> None:
    r = api.get("/api/v5/objects/custom-fields",
                params={"fields": "id,name,fieldId,type,isRecordMultipleResponses"})
    assert r.status_code == 200, r.text
    defs = {d["fieldId"]: d for d in r.json()["values"]}
    types = {d["type"] for d in defs.values()}
    assert {"Text", "Number", "Date", "Dropdown", "Multi-Select", "Checkbox"} <= types
    assert defs["Event_Sessions__c"]["isRecordMultipleResponses"] is True
    v3 = api.get("/api/customField/version/4/do/query", params={"format": "json"}).json()
    assert {d["field_id"] for d in v3["result"]["customField"]} == set(defs)


def test_v5_serves_custom_values_when_requested(api_factory: Any) -> None:
    api = api_factory(KNOBS)
    truth = _truth(api)
    fields = "id,email,Partner_Level__c,Annual_Budget__c,Renewal_Date__c,Product_Interests__c"
    values = api.get("/api/v5/objects/prospects",
                     params={"fields": fields, "limit": 1000}).json()["values"]
    assert set(values[0]) == set(fields.split(","))
    for v in values:
        t = truth[v["id"]]
        assert v["Partner_Level__c"] == t["partner_level__c"]
        assert v["Annual_Budget__c"] == t["annual_budget__c"]
        assert (v["Renewal_Date__c"] and v["Renewal_Date__c"] + "T00:00:00+00:00") == (
            t["renewal_date__c"])
        assert v["Product_Interests__c"] == t["product_interests__c"]
    assert any(v["Product_Interests__c"] is None for v in values)
    assert any(v["Partner_Level__c"] and "," in v["Partner_Level__c"] for v in values)
    bad = api.get("/api/v5/objects/prospects", params={"fields": "id,partner_level__c"})
    assert bad.status_code == 400  # by fieldId only
    plain = api.get("/api/v5/objects/prospects", params={"fields": "id"}).json()["values"]
    assert set(plain[0]) == {"id"}


def test_v3_json_and_xml_shapes(api_factory: Any) -> None:
    api = api_factory(KNOBS)
    truth = _truth(api)
    body = api.get("/api/prospect/version/4/do/query",
                   params={"format": "json", "output": "bulk", "limit": 200}).json()
    shapes = set()
    for row in body["result"]["prospect"]:
        t = truth[row["id"]]
        many = t["newsletter_topics__c"]
        got = row.get("Newsletter_Topics__c")
        if many is None:
            assert "Newsletter_Topics__c" not in row  # no value: the key is absent
        elif len(many) == 1:
            assert got == many[0]
        else:
            assert got == {"value": many}
        shapes.add(type(got).__name__)
        if t["annual_budget__c"] is not None:
            assert float(row["Annual_Budget__c"]) == pytest.approx(t["annual_budget__c"])
    assert shapes == {"NoneType", "str", "dict"}
    xml = api.get("/api/prospect/version/4/do/query", params={"limit": 50}).text
    assert "<Newsletter_Topics__c><value>" in xml


@pytest.mark.parametrize(("version", "multi"), [(5, "semicolon"), (4, "json")])
def test_export_csv_has_custom_columns(api_factory: Any, version: int, multi: str) -> None:
    api = api_factory({**KNOBS, "export_multi_value_format": multi})
    fields = ["id", "Product_Interests__c", "Seats__c", "Renewal_Date__c"]
    body = {"object": "prospect", "fields": fields, "procedure": {
        "name": "filter_by_updated_at", "arguments": {
            "updated_after": "2025-01-01T00:00:00+00:00",
            "updated_before": "2025-12-01T00:00:00+00:00", "deleted": "all"}}}
    path = "/api/v5/exports" if version == 5 else f"/api/export/version/{version}/do/create"
    created = api.post(path, json=body)
    assert created.status_code == 200, created.text
    eid = created.json()["id"]
    read = f"/api/v5/exports/{eid}" if version == 5 else \
        f"/api/export/version/{version}/do/read/id/{eid}"
    for _ in range(100):
        reply = api.get(read).json()
        if reply["state"] == "Complete":
            break
        time.sleep(0.02)
    refs = reply["resultRefs"]
    rows = []
    for ref in [refs] if isinstance(refs, str) else refs:
        rows += list(csv.DictReader(io.StringIO(api.get(ref).text)))
    truth = _truth(api)
    assert list(rows[0]) == fields
    for row in rows:
        want = truth[int(row["id"])]["product_interests__c"]
        cell = row["Product_Interests__c"]
        if want is None:
            assert cell == ""
        elif multi == "json":
            assert json.loads(cell) == want
        else:
            assert cell.split(";") == want


def test_truth_and_mutation_in_tap_form(api: Api) -> None:
    made = api.admin("records/prospects", {"create": [{
        "partner_level__c": "Gold", "annual_budget__c": 12.5, "seats__c": 3,
        "renewal_date__c": "2026-01-31T00:00:00+00:00",
        "product_interests__c": ["Email", "Cloud, Hybrid"]}]})["created"][0]
    assert made["partner_level__c"] == "Gold"
    assert made["renewal_date__c"] == "2026-01-31T00:00:00+00:00"
    assert made["product_interests__c"] == ["Email", "Cloud, Hybrid"]
    assert made["annual_budget__c"] == 12.5
    assert made["newsletter_topics__c"] is None


def test_definitions_error_knob(api_factory: Any) -> None:
    api = api_factory({"custom_fields_error_code": 46})
    r = api.get("/api/v5/objects/custom-fields", params={"fields": "id,fieldId"})
    assert r.status_code == 400
    assert r.json()["code"] == 46
    legacy = api.get("/api/customField/version/4/do/query", params={"format": "json"}).json()
    assert legacy["@attributes"]["err_code"] == 46
    ok = api.get("/api/v5/objects/prospects", params={"fields": "id,Seats__c"})
    assert ok.status_code == 200
