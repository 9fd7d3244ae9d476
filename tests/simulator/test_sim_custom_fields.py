"""Prospect custom fields: definitions, values on v5 and v3/v4 (JSON, XML), truth.

(Custom columns in export CSVs are the Export API tests' business: test_sim_exports.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Api

KNOBS = {"prospects": {"count": 200, "clump_size": 0}, "export_waiting_seconds": 0.0,
         "export_processing_seconds": 0.0}


def _truth(api: Api) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in api.admin("truth/prospects")["records"]}


def test_definitions_cover_every_kind(api: Api) -> None:
    r = api.get("/api/v5/objects/custom-fields",
                params={"fields": "id,name,fieldId,apiFieldId,type,isRecordMultipleResponses"})
    assert r.status_code == 200, r.text
    defs = {d["fieldId"]: d for d in r.json()["values"]}
    types = {d["type"] for d in defs.values()}
    assert {"Text", "Number", "Date", "Dropdown", "Multi-Select", "Checkbox"} <= types
    assert defs["Event_Sessions"]["isRecordMultipleResponses"] is True
    # fieldId is the bare id, apiFieldId = fieldId + "__c" (pardot-api.md 3c)
    assert all(d["apiFieldId"] == f + "__c" for f, d in defs.items())
    v3 = api.get("/api/customField/version/4/do/query", params={"format": "json"}).json()
    rows = v3["result"]["customField"]
    assert {d["field_id"] for d in rows} == set(defs)
    assert {"crm_id", "is_use_values"} <= set(rows[0])
    assert "salesforce_id" not in rows[0]


def test_v5_serves_custom_values_when_requested(api_factory: Any) -> None:
    api = api_factory(KNOBS)
    truth = _truth(api)
    fields = "id,email,Partner_Level__c,Annual_Budget__c,Renewal_Date__c,Seats__c"
    values = api.get("/api/v5/objects/prospects",
                     params={"fields": fields, "limit": 1000}).json()["values"]
    assert set(values[0]) == set(fields.split(","))
    for v in values:
        t = truth[v["id"]]
        assert v["Partner_Level__c"] == t["partner_level__c"]
        assert v["Annual_Budget__c"] == t["annual_budget__c"]
        assert (v["Renewal_Date__c"] and v["Renewal_Date__c"] + "T00:00:00+00:00") == (
            t["renewal_date__c"])
    assert any(v["Partner_Level__c"] and "," in v["Partner_Level__c"] for v in values)
    # the bare fieldId is the v3/v4 name: unknown on v5, and the whole request fails
    bad = api.get("/api/v5/objects/prospects", params={"fields": "id,Partner_Level"})
    assert (bad.status_code, bad.json()) == (400, {"code": 51, "message": (
        "Invalid parameter: fields. It contains an invalid or unknown field: Partner_Level.")})
    # names match case-insensitively and come back in Pardot's spelling (SRV getFieldByName)
    any_case = api.get("/api/v5/objects/prospects", params={"fields": "ID,partner_level__c"})
    assert set(any_case.json()["values"][0]) == {"id", "Partner_Level__c"}
    plain = api.get("/api/v5/objects/prospects", params={"fields": "id"}).json()["values"]
    assert set(plain[0]) == {"id"}


def test_array_custom_fields_refused_on_query(api_factory: Any) -> None:
    api = api_factory(KNOBS)
    r = api.get("/api/v5/objects/prospects",
                params={"fields": "id,Product_Interests__c,Newsletter_Topics__c,"
                                  "Event_Sessions__c,Seats__c"})
    assert (r.status_code, r.json()) == (400, {"code": 51, "message": (
        "Invalid parameter: fields. Custom fields that return array types are not allowed to "
        "be selected: Product_Interests__c, Newsletter_Topics__c, Event_Sessions__c.")})
    # an unknown field is reported first
    r = api.get("/api/v5/objects/prospects", params={"fields": "id,Product_Interests__c,nope"})
    assert "unknown field: nope." in r.json()["message"]
    # read by id: open question 10, a knob
    truth = _truth(api)
    pid = next(i for i, t in truth.items() if t["product_interests__c"] and not t["is_deleted"])
    path = f"/api/v5/objects/prospects/{pid}"
    assert api.get(path, params={"fields": "id,Product_Interests__c"}).json()["code"] == 51
    api.sim.set_knobs({"v5_read_array_custom_fields": "array"})
    got = api.get(path, params={"fields": "id,Product_Interests__c"}).json()
    assert got == {"id": pid, "Product_Interests__c": truth[pid]["product_interests__c"]}


def test_v3_json_and_xml_shapes(api_factory: Any) -> None:
    api = api_factory(KNOBS)
    truth = _truth(api)
    body = api.get("/api/prospect/version/4/do/query",
                   params={"format": "json", "output": "bulk", "limit": 200}).json()
    shapes = set()
    for row in body["result"]["prospect"]:
        t = truth[row["id"]]
        many = t["newsletter_topics__c"]
        got = row.get("Newsletter_Topics")  # the bare fieldId
        if many is None:
            assert "Newsletter_Topics" not in row  # no value: the key is absent
        elif len(many) == 1:
            assert got == many[0]
        else:
            assert got == {"value": many}
        shapes.add(type(got).__name__)
        if t["annual_budget__c"] is not None:
            assert float(row["Annual_Budget"]) == pytest.approx(t["annual_budget__c"])
        assert not any(k.endswith("__c") for k in row)
    assert shapes == {"NoneType", "str", "dict"}
    xml = api.get("/api/prospect/version/4/do/query", params={"limit": 50}).text
    assert "<Newsletter_Topics><value>" in xml


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
    assert api.get("/api/v5/objects/custom-fields/501",
                   params={"fields": "id"}).json()["code"] == 46
    assert r.json()["code"] == 46
    legacy = api.get("/api/customField/version/4/do/query", params={"format": "json"}).json()
    assert legacy["@attributes"]["err_code"] == 46
    ok = api.get("/api/v5/objects/prospects", params={"fields": "id,Seats__c"})
    assert ok.status_code == 200
