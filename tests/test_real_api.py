"""The tap against Pardot's real API shapes (pardot-api.md), through the simulator: every
reading of the open questions, fields an account refuses, stale exports, Pardot's clock.

The simulator's clock runs about a year behind this machine's, so every sync here also shows
that a machine clock far ahead of Pardot's loses nothing.
"""

from __future__ import annotations

import functools
import typing as t
from datetime import datetime, timedelta, timezone

import pytest
from tapkit import comparable, discover_catalog, run_cli, run_in_process, sim_config

from tap_pardot.clock import SETTLE

UTC = timezone.utc
START = "2025-09-15T00:00:00+00:00"
SMALL = {"visitor_activities": {"count": 400, "clump_size": 120},
         "prospects": {"count": 300, "clump_size": 80},
         "list_memberships": {"count": 200, "clump_size": 50},
         "export_waiting_seconds": 0.0, "export_processing_seconds": 0.05,
         "export_rows_per_file": 120}
# The open questions of pardot-api.md §7 that the simulator plays, one reading each.
READINGS: dict[str, dict[str, t.Any]] = {
    "fields param missing: 400": {"export_missing_fields_param": "error"},
    "fields param missing: id only": {"export_missing_fields_param": "id_only"},
    "v5 create answers 200": {"export_v5_create_status": 200},
    "v5 CSV dates naive": {"export_v5_csv_dates": "naive"},
    "v5 CSV dates with offset": {"export_v5_csv_dates": "offset"},
    "v5 CSV booleans 1/0": {"export_v5_csv_booleans": "digits"},
    "v5 CSV headers pre-v5": {"export_v5_csv_headers": "pre_v5"},
    "empty export: resultRefs null": {"export_v5_empty_result_refs": "null"},
    "empty export: resultRefs absent": {"export_v5_empty_result_refs": "absent"},
    "formula escape on": {"export_csv_formula_escape": True},
    "formula escape off": {"export_csv_formula_escape": False},
    "bounds inclusive": {"export_bounds_inclusive": True},
    "cap warning 101": {"v5_page_token_cap_warning_code": 101, "v5_page_token_cap": 150},
    "cap warning 203": {"v5_page_token_cap_warning_code": 203, "v5_page_token_cap": 150},
    "v3 deleted=all: error 27": {"v3_deleted_all": "error"},
    "v3 deleted=all: taken as true": {"v3_deleted_all": "true"},
    "v3 deleted=all: ignored": {"v3_deleted_all": "ignored"},
    "array custom fields exported": {"export_array_custom_fields": "allowed"},
    "array custom fields refused by exports": {"export_array_custom_fields": "refused"},
    "grade and notes exportable": {"export_prospect_grade_notes": "exportable"},
    "grade and notes refused by exports": {"export_prospect_grade_notes": "refused"},
    "extended prospect fields off": {"feature_prospect_extended_fields": False},
    "doNotSell off": {"feature_do_not_sell": False},
    "generic v5 exports on": {"export_generic_procedures": True},
    "generic v5 exports off": {"export_generic_procedures": False},
    "v4 reply wrapped, resultsRef": {"export_reply_wrapped": True,
                                     "export_result_refs_key": "resultsRef"},
    "v5 snake_case arguments aliased": {"export_v5_snake_case_arguments": "alias"},
    "v5 procedure names case-insensitive": {"export_v5_procedure_case": "insensitive"},
    "v5 `object` property ignored": {"export_v5_object_property": "ignored"},
    "`deleted` refused without a recycle bin": {"v5_deleted_without_recycle_bin": "error"},
    "score and assignedToId as strings": {"v5_prospect_string_fields": ["score",
                                                                        "assignedToId"]},
    "v3/v4 exports default deleted to all": {"export_v3_default_deleted": "all"},
    "flagged procedures on": {"export_prospect_last_activity": True,
                              "export_email_procedure": True},
}
# What a v3/v4 prospect carries that the comparison reads (v3/v4 queries return no
# salesforce_* keys, only the crm_* ones mapped to them).
V3_COLUMNS = ("id", "email", "updated_at", "is_deleted", "salesforce_lead_id",
              "salesforce_url", "score", "partner_level__c", "annual_budget__c")

config_for = functools.partial(sim_config, start_date=START, export_poll_seconds=0.01,
                               export_window_days=30)


@pytest.fixture
def settled_sim(sim_factory: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """A simulator whose clock has moved past its data by more than the settle margin, so a
    sync reads all of it."""
    def make(knobs: dict[str, t.Any] | None = None) -> t.Any:
        sim = sim_factory(knobs={**SMALL, **(knobs or {})})
        sim.advance((SETTLE + timedelta(minutes=1)).total_seconds())
        return sim
    return make


def sync(sim: t.Any, stream: str, **config: t.Any) -> tuple[list[dict], dict]:
    """(records, final stream state) of one in-process sync of `stream`."""
    cfg = config_for(sim, **config)
    run = run_in_process(cfg, catalog=discover_catalog(cfg, select=stream))
    return run.records.get(stream, []), run.state["bookmarks"][stream]


def assert_matches_truth(sim: t.Any, stream: str, records: list[dict],
                         columns: t.Iterable[str] | None = None) -> None:
    """Every record of the truth, once, with the truth's values for the columns fetched
    (a property absent from every record was refused: never a null in its place)."""
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "a record was emitted twice"
    truth = {r["id"]: r for r in sim.truth(stream)}
    assert sorted(ids) == sorted(truth), f"{len(set(truth) - set(ids))} records lost"
    keys = set(columns) if columns is not None else set().union(*map(set, records))
    for record in records:
        assert set(record) >= keys or columns is not None
        got = comparable({k: record.get(k) for k in keys})
        want = comparable({k: truth[record["id"]].get(k) for k in keys})
        assert got == want, {k: (got[k], want[k]) for k in keys if got[k] != want[k]}


@pytest.mark.parametrize("reading", list(READINGS), ids=list(READINGS))
def test_every_path_equals_truth_under_each_reading(settled_sim: t.Any, reading: str) -> None:
    sim = settled_sim(READINGS[reading])
    for stream in ("prospects", "visitor_activities"):
        records, state = sync(sim, stream, sync_mode="export")
        assert_matches_truth(sim, stream, records)
        assert "exports" not in state
    records, _ = sync(sim, "prospects", sync_mode="query")
    assert_matches_truth(sim, "prospects", records)
    records, _ = sync(sim, "visitor_activities", sync_mode="query", page_size=100)
    assert_matches_truth(sim, "visitor_activities", records)
    for mode in ("export", "query"):
        records, _ = sync(sim, "prospects", sync_mode=mode, api_version=4)
        assert_matches_truth(sim, "prospects", records, V3_COLUMNS)


def test_fields_refused_are_left_out_and_named_once(settled_sim: t.Any, tmp_path: t.Any) -> None:
    sim = settled_sim({"feature_prospect_extended_fields": False})
    config = config_for(sim, sync_mode="query")
    run = run_cli(config, catalog=discover_catalog(config, select="prospects"),
                  tmp_path=tmp_path, check=True)
    records = run.records["prospects"]
    assert all("grade" not in r and "notes" not in r for r in records)  # not null: absent
    assert all("email" in r for r in records)
    warnings = [line for line in run.stderr.splitlines() if "Pardot refused" in line]
    # One line for the 18 flagged fields (pardot-api.md §3d); the array custom fields a v5
    # query refuses (§3e) are not even asked for.
    assert len(warnings) == 1, warnings
    assert "grade" in warnings[0]
    assert "product_interests__c not queried" not in warnings[0]
    assert "product_interests__c" in run.stderr
    assert_matches_truth(sim, "prospects", records)


def test_auto_queries_a_stream_whose_fields_the_export_refuses(settled_sim: t.Any) -> None:
    sim = settled_sim({"export_prospect_grade_notes": "refused"})
    records, _ = sync(sim, "prospects", sync_mode="auto")
    assert all("grade" in r for r in records)
    assert_matches_truth(sim, "prospects", records)
    calls = sim.get_stats()["calls_by_kind"]
    assert calls.get("query", 0) > 0


def test_forced_export_leaves_refused_fields_out(settled_sim: t.Any) -> None:
    sim = settled_sim({"export_prospect_grade_notes": "refused"})
    records, _ = sync(sim, "prospects", sync_mode="export")
    assert records
    assert all("grade" not in r and "notes" not in r for r in records)
    assert_matches_truth(sim, "prospects", records)


def test_a_stale_export_in_state_is_canceled(settled_sim: t.Any) -> None:
    sim = settled_sim({"export_processing_seconds": 3600.0})
    config = config_for(sim, sync_mode="export", max_api_calls=4)
    catalog = discover_catalog(config, select="visitors")
    first = run_in_process(config, catalog=catalog)
    recorded = first.state["bookmarks"]["visitors"]["exports"]
    assert recorded, "the interrupted run kept its export in flight"
    sim.set_knobs({"export_processing_seconds": 0.05})
    config = {**config, "include_deleted": False, "max_api_calls": None}  # another export
    run_in_process({k: v for k, v in config.items() if v is not None}, catalog=catalog,
                   state=first.state)
    status = {e["id"]: e.get("status") or e.get("state") for e in sim.exports.describe_all()}
    assert status[recorded[0]["id"]] == "Canceled"  # no longer holds the account's queue


def test_incremental_runs_follow_pardots_clock(settled_sim: t.Any) -> None:
    sim = settled_sim()
    config = config_for(sim, sync_mode="query")
    catalog = discover_catalog(config, select="visitors")
    first = run_in_process(config, catalog=catalog)
    bookmark = datetime.fromisoformat(
        first.state["bookmarks"]["visitors"]["replication_key_value"])
    pardot_now = datetime.fromtimestamp(sim.clock.now(), UTC)
    assert bookmark.year == 2025  # Pardot's clock, not this machine's
    # Everything up to the read bound (Pardot's clock less SETTLE) was read: the bookmark
    # is the second after it.
    bound = pardot_now - SETTLE
    assert bound - timedelta(seconds=30) < bookmark <= bound + timedelta(seconds=1)
    changed = sim.mutate("visitors", {"update": [{"id": first.records["visitors"][0]["id"],
                                                  "page_view_count": 4242}]})
    assert changed
    sim.advance((SETTLE + timedelta(seconds=30)).total_seconds())
    second = run_in_process(config, catalog=catalog, state=first.state)
    assert [r["id"] for r in second.records["visitors"]] == [first.records["visitors"][0]["id"]]
    assert second.records["visitors"][0]["page_view_count"] == 4242


def test_a_wrong_timezone_is_one_line(settled_sim: t.Any, tmp_path: t.Any) -> None:
    sim = settled_sim()
    config = config_for(sim, timezone="UTC", sync_mode="query")
    run = run_cli(config, catalog=discover_catalog(config, select="visitors"),
                  tmp_path=tmp_path)
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if "`timezone`" in line]
    assert len(errors) == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr


def test_a_v3_error_envelope_is_an_error_whatever_its_status(settled_sim: t.Any,
                                                             tmp_path: t.Any) -> None:
    sim = settled_sim({"account_api_version": 3, "v3_error_status": {"default": 200},
                       "v3_error_content_type": "text/html"})
    config = config_for(sim, api_version=4, sync_mode="query")
    run = run_cli(config, catalog=discover_catalog(config, select="visitors"),
                  tmp_path=tmp_path)
    assert run.returncode == 1
    assert "set `api_version: 3`" in run.stderr
    assert "Traceback" not in run.stderr


def test_selective_sync_off_leaves_is_analytics_synced_out(settled_sim: t.Any) -> None:
    sim = settled_sim({"feature_selective_sync": False})
    records, _ = sync(sim, "custom_fields", sync_mode="query")
    assert records
    assert all("is_analytics_synced" not in r for r in records)
    assert_matches_truth(sim, "custom_fields", records)


def test_a_retired_api_key_login_is_one_line(settled_sim: t.Any, tmp_path: t.Any) -> None:
    sim = settled_sim({"legacy_api_key_retired": True})
    c = sim.credentials
    config = config_for(sim, api_version=4, client_id=None, client_secret=None,
                        refresh_token=None, email=c["email"], password=c["password"],
                        user_key=c["user_key"], sync_mode="query")
    run = run_cli(config, catalog=discover_catalog(config, select="visitors"),
                  tmp_path=tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "199" in run.stderr


@pytest.mark.parametrize("reading", ["ignored", "error"])
def test_v4_objects_with_fewer_date_filters_under_each_reading(settled_sim: t.Any,
                                                               reading: str) -> None:
    """Lifecycle stages (no date filter in their v3/v4 docs) and email clicks (`created_*`
    only) whatever Pardot does with the others (knob `v3_undocumented_date_filter`)."""
    sim = settled_sim({"v3_undocumented_date_filter": reading})
    for stream in ("lifecycle_stages", "email_clicks"):
        records, _ = sync(sim, stream, sync_mode="query", api_version=4)
        live = {r["id"] for r in sim.truth(stream) if not r.get("is_deleted")}
        assert live
        assert sorted(r["id"] for r in records) == sorted(live)


@pytest.mark.parametrize("both", [True, False], ids=["both names", "old names unknown"])
def test_renamed_fields_under_each_reading(settled_sim: t.Any, both: bool) -> None:
    """List emails' `operationalEmail` and tagged objects' `targetId`/`targetObjectType`
    (2023 names, renamed since: open question 22) served beside today's, or unknown (51)."""
    sim = settled_sim({"v5_pre_rename_fields": both})
    for stream, old in (("list_emails", "operational_email"), ("tagged_objects", "target_id")):
        records, _ = sync(sim, stream, sync_mode="query")
        assert records
        assert all((old in r) == both for r in records)
        assert_matches_truth(sim, stream, records)
