"""Prospect custom fields end to end against the simulator: discovery types them, and the
v5 query, v4 query and export paths all return the simulator's truth, custom values included."""

from __future__ import annotations

import functools
import json
import typing as t
from pathlib import Path

import pytest
from tapkit import comparable, discover_catalog, discover_cli, run_in_process, sim_config

from tap_pardot.convert import RecordConverter, to_list
from tap_pardot.custom_fields import CustomField, parse_definitions
from tap_pardot.streams import ProspectsStream
from tap_pardot.tap import TapPardot

KNOBS = {"prospects": {"count": 300, "clump_size": 60}, "export_waiting_seconds": 0.0,
         "export_processing_seconds": 0.05, "export_rows_per_file": 120}
DATA_END = "2025-11-20T13:00:00+00:00"
TYPES = {  # property -> (JSON schema type, format)
    "partner_level__c": ("string", None), "annual_budget__c": ("number", None),
    "renewal_date__c": ("string", "date-time"), "product_interests__c": ("array", None),
    "newsletter_topics__c": ("array", None), "preferred_region__c": ("string", None),
    "referral_code__c": ("string", None), "sales_notes__c": ("string", None),
    "lead_tracking_id__c": ("string", None), "account_owner__c": ("string", None),
    "event_sessions__c": ("array", None), "seats__c": ("number", None),
}


# No page_size: the tap's default, unless a test sets one.
config_for = functools.partial(sim_config, start_date="2025-01-01T00:00:00Z", sync_mode="query")


def sync_prospects(config: dict, catalog: dict | None = None) -> list[dict]:
    """Records of an in-process sync of the prospects stream alone."""
    catalog = catalog or discover_catalog(config, select="prospects")
    return run_in_process(config, catalog=catalog).records.get("prospects", [])


def assert_equals_truth(sim: t.Any, records: list[dict], *, export: bool = False) -> None:
    # A v5 query refuses array custom fields (pardot-api.md §3e): left out, never null.
    drop = () if export else ("product_interests__c", "newsletter_topics__c",
                              "event_sessions__c")
    assert not any(set(drop) & r.keys() for r in records)
    got = {r["id"]: comparable(r, drop) for r in records}
    assert len(got) == len(records), "duplicates"
    want = {r["id"]: comparable(r, drop) for r in sim.truth("prospects")}
    assert got.keys() == want.keys()
    assert not export or any(r["product_interests__c"] for r in want.values())
    bad = [i for i in want if got[i] != want[i]]
    assert not bad, f"{len(bad)} differ, e.g. {got[bad[0]]} != {want[bad[0]]}"


def test_discovery_types_custom_fields(simulator: t.Any, tmp_path: Path) -> None:
    proc = discover_cli(config_for(simulator), tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    entry = next(s for s in json.loads(proc.stdout)["streams"]
                 if s["tap_stream_id"] == "prospects")
    props = entry["schema"]["properties"]
    for name, (kind, fmt) in TYPES.items():
        assert props[name]["type"] == [kind, "null"], name
        assert props[name].get("format") == fmt, name
    assert props["product_interests__c"]["items"] == {"type": ["string"]}
    assert props["partner_level__c"]["title"] == "Partner_Level__c"
    assert props["email"]["type"] == ["string", "null"]  # the standard fields stay
    assert simulator.get_stats()["calls_by_kind"]["query"] == 1  # one definitions call


def test_v5_query_sync_equals_truth(sim_factory: t.Any) -> None:
    sim = sim_factory(knobs=KNOBS)
    records = sync_prospects(config_for(sim, page_size=100))
    assert_equals_truth(sim, records)


def test_v4_query_sync_returns_custom_values(sim_factory: t.Any) -> None:
    sim = sim_factory(knobs=KNOBS)
    records = sync_prospects(config_for(sim, api_version=4))
    got = {r["id"]: r for r in records}
    want = {r["id"]: r for r in sim.truth("prospects")}
    assert got.keys() == want.keys()
    for rid, row in want.items():
        assert {k: v for k, v in got[rid].items() if k.endswith("__c")} == {
            k: v for k, v in row.items() if k.endswith("__c")}, rid


@pytest.mark.parametrize(("version", "multi"), [(5, "semicolon"), (4, "json")])
def test_export_sync_equals_truth(sim_factory: t.Any, version: int, multi: str) -> None:
    sim = sim_factory(knobs={**KNOBS, "export_multi_value_format": multi})
    config = config_for(sim, api_version=version, sync_mode="export", end_date=DATA_END,
                        start_date="2025-09-15T00:00:00Z", export_window_days=60,
                        export_poll_seconds=0.01)
    records = sync_prospects(config)
    assert_equals_truth(sim, records, export=True)
    assert sim.get_stats()["calls_by_kind"]["export_create"] >= 2


def test_saved_catalog_needs_no_definitions_call(sim_factory: t.Any) -> None:
    sim = sim_factory(knobs=KNOBS)
    config = config_for(sim, page_size=1000)
    catalog = discover_catalog(config, select="prospects")
    sim.reset_stats()
    records = sync_prospects(config, catalog)
    assert sim.get_stats()["calls_by_kind"]["query"] == 1  # one page, no definitions call
    assert_equals_truth(sim, records)


def test_definitions_denied_warns_and_syncs_the_rest(sim_factory: t.Any,
                                                     tmp_path: Path) -> None:
    sim = sim_factory(knobs={**KNOBS, "custom_fields_error_code": 46})
    proc = discover_cli(config_for(sim, page_size=100), tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = [line for line in proc.stderr.splitlines() if "custom fields not discovered"
                in line]
    assert len(warnings) == 1
    assert "46" in warnings[0]
    catalog = json.loads(proc.stdout)
    entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == "prospects")
    assert not [name for name in entry["schema"]["properties"] if name.endswith("__c")]

    records = sync_prospects(config_for(sim, page_size=100))
    want = {r["id"]: {k: v for k, v in r.items() if not k.endswith("__c")}
            for r in sim.truth("prospects")}
    assert {r["id"]: comparable(r) for r in records} == {
        i: comparable(r) for i, r in want.items()}


# ---- units ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["a", "b, c"], ["a", "b, c"]),  # v5
        ({"value": ["a", 'b "q"']}, ["a", 'b "q"']),  # v3/v4 JSON, several values
        ({"value": "a"}, ["a"]),  # v3/v4 JSON, one value (XML -> JSON)
        ("a", ["a"]),  # v3/v4 JSON, one value, unwrapped
        ("a;b, c", ["a", "b, c"]),  # CSV, Salesforce's separator
        ('["a","b;c"]', ["a", "b;c"]),  # CSV, a JSON array
        ("[draft] x", ["[draft] x"]),  # not JSON after all
        ([], None), ("", None), (None, None), ({"value": None}, None), ([1, 2.0], ["1", "2"]),
    ],
)
def test_multi_values_in_every_shape(value: t.Any, expected: t.Any) -> None:
    assert to_list(value) == expected


def test_converter_reads_custom_fields_by_api_name() -> None:
    fields = [CustomField("Budget__c", "Number"), CustomField("Renewal__c", "Date"),
              CustomField("Tags__c", "Text", multiple=True), CustomField("Level__c", "Dropdown")]
    schema = {"properties": {"id": {"type": ["integer"]},
                             **{f.name: f.property_schema for f in fields}}}
    converter = RecordConverter(schema, "America/New_York",
                                aliases={f.api_name: f.name for f in fields})
    row = {"id": "7", "Budget__c": "12.50", "Renewal__c": "2025-11-02", "Tags__c": "x;y",
           "Level__c": "Gold, Plus"}
    assert converter.convert(row) == {"id": 7, "budget__c": pytest.approx(12.5),
                                      "renewal__c": "2025-11-02T00:00:00+00:00",
                                      "tags__c": ["x", "y"], "level__c": "Gold, Plus"}


def test_definitions_in_v5_and_v3_shapes() -> None:
    v5 = {"values": [{"id": 1, "fieldId": "Interests", "apiFieldId": "Interests__c",
                      "type": "Multi-Select", "isRecordMultipleResponses": False,
                      "name": "Interests"}]}
    v3 = {"result": {"customField": {"id": "2", "field_id": "Score_2", "type": "Number",
                                     "is_record_multiple_responses": "1"}}}  # one: an object
    assert parse_definitions(v5, 5) == [CustomField("Interests__c", "Multi-Select", False,
                                                    "Interests")]
    (score,) = parse_definitions(v3, 4)
    assert (score.name, score.multiple) == ("score_2__c", True)
    assert score.property_schema["type"] == ["array", "null"]  # multiple responses win
    assert parse_definitions({"result": None}, 3) == []


def test_wire_names_on_each_version() -> None:
    config = {"start_date": "2025-01-01T00:00:00Z", "client_id": "c", "client_secret": "s",
              "refresh_token": "r", "pardot_business_unit_id": "0Uv000000000001AAA",
              "api_base_url": "http://127.0.0.1:9", "auth_base_url": "http://127.0.0.1:9"}
    tap = TapPardot(config=config, parse_env_config=False)
    stream = ProspectsStream(tap=tap, run=tap.run)
    stream.use_custom_fields([CustomField("Level__c", "Dropdown")])
    names = ["id", "updated_at", "level__c", "salesforce_lead_id", "salesforce_url"]
    assert [stream.wire_name(n, 5) for n in names] == [
        "id", "updatedAt", "Level__c", "salesforceLeadId", "salesforceUrl"]
    assert [stream.wire_name(n, 4) for n in names] == [  # v3/v4 exports (pre-v5 names)
        "id", "updated_at", "Level", "crm_lead_fid", "salesforce_url"]
    assert [stream.wire_name(n, 4, query=True) for n in names] == [  # v3/v4 query keys
        "id", "updated_at", "Level", "crm_lead_fid", "crm_url"]
    row = {"id": "1", "Level": "Gold", "crm_lead_fid": "00Q1", "crm_url": "https://x",
           "is_archived": "1"}
    record = stream.converter.convert(row)
    assert (record["level__c"], record["salesforce_lead_id"], record["salesforce_url"],
            record["is_deleted"]) == ("Gold", "00Q1", "https://x", True)
