"""The export path against the simulator: ground truth, API call counts, resume, auto.

Syncs run the real tap in-process (fast); the interrupted run goes through the CLI.
"""

from __future__ import annotations

import functools
import json
import subprocess
import threading
import time
import zoneinfo
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from tapkit import (
    ARRAY_CUSTOM_FIELDS,
    TAP,
    comparable,
    discover_catalog,
    run_cli,
    run_in_process,
    sim_config,
)

from tap_pardot.clock import SETTLE
from tap_pardot.export.windows import plan_windows, poll_wait
from tap_pardot.simulator import Simulator

UTC = timezone.utc
NY = zoneinfo.ZoneInfo("America/New_York")
STREAMS = ["visitor_activities", "prospects", "list_memberships", "visitors", "prospect_accounts"]
DATA_START = "2025-09-15T00:00:00+00:00"
DATA_END = "2025-11-20T13:00:00+00:00"  # past the simulator's clock (an hour ahead)
DST_REREADS = 3  # v5 query calls of an export run that re-read the DST hour (export/dst.py)
FAST_EXPORTS = {"export_waiting_seconds": 0.0, "export_processing_seconds": 0.05,
                "export_rows_per_file": 150}
SMALL = {"visitor_activities": {"count": 900, "clump_size": 300},
         "prospects": {"count": 500, "clump_size": 120},
         "list_memberships": {"count": 600, "clump_size": 120}}


tap_config = functools.partial(
    sim_config, start_date=DATA_START, end_date=DATA_END, sync_mode="export",
    export_window_days=30, export_poll_seconds=0.01)


def catalog_for(config: dict, stream: str) -> dict:
    catalog = discover_catalog(config, select=stream)
    # Discovery's calls (custom field definitions) are not the sync's: count from here on.
    requests.post(f"{config['api_base_url']}/_sim/stats/reset", timeout=10)
    return catalog


def run_tap(config: dict, stream: str, state: dict | None = None) -> tuple[list, list]:
    """(records, states) of one in-process sync of one stream."""
    run = run_in_process(config, catalog=catalog_for(config, stream), state=state)
    return run.records.get(stream, []), run.states


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def assert_equals_truth(sim: Simulator, stream: str, records: list[dict], *,
                        exact: bool = False) -> None:
    """`exact`: every time too (v5 exports: export/dst.py); else a time of the DST hour
    other than updated_at is not compared (v3/v4 cannot place it)."""
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "a record was emitted twice in one run"
    truth = sim.truth(stream)
    assert truth, "the simulator served no data"
    same = (lambda r: r) if exact else comparable
    got = {r["id"]: same(r) for r in records}
    want = {r["id"]: same(r) for r in truth}
    assert sorted(got) == sorted(want), f"{len(set(want) - set(got))} records lost"
    diffs = [(i, k) for i in want for k in want[i] if got[i].get(k) != want[i][k]]
    assert not diffs, f"values differ, e.g. {diffs[:5]}: {got[diffs[0][0]]} != {want[diffs[0][0]]}"


@pytest.mark.parametrize("version", [5, 4])
@pytest.mark.parametrize("stream", STREAMS)
def test_export_sync_equals_truth(sim_factory, stream: str, version: int) -> None:
    knobs = {**FAST_EXPORTS, **SMALL}
    if version == 4:  # the other readings of the docs
        knobs |= {"export_reply_wrapped": True, "export_bounds_inclusive": True,
                  "export_result_refs_key": "resultsRef"}
    else:
        knobs |= {"download_drop_count": 2}
    sim = sim_factory(knobs=knobs)
    records, states = run_tap(tap_config(sim, api_version=version), stream)
    assert_equals_truth(sim, stream, records, exact=version == 5)
    final = states[-1]["bookmarks"][stream]
    # end_date is past Pardot's clock: the run reads up to Pardot's clock less the settle
    # margin, and the bookmark is the second after (everything before it was read).
    first_created = min(parse(e["createdAt"]) for e in sim.exports.describe_all())
    bookmark = parse(final["replication_key_value"])
    assert first_created - SETTLE - timedelta(seconds=10) < bookmark
    assert bookmark <= first_created - SETTLE + timedelta(seconds=1)
    assert "exports" not in final
    stats = sim.get_stats()
    # Only the re-reads of the DST hour (export/dst.py): v5, a few per run.
    assert stats["calls_by_kind"].get("query", 0) <= (DST_REREADS if version == 5 else 0)
    assert stats["calls_by_kind"]["export_create"] >= 4  # 30-day windows, cuts at the fall-back
    if version == 5:
        assert stats["errors_by_code"].get("download_dropped") == 2  # retried, no row lost
    assert "66" not in stats["errors_by_code"]
    assert stats["peak_in_flight"] <= 5


def test_api_calls_are_create_scheduled_reads_and_one_per_file(sim_factory) -> None:
    # Polls at 1, 3, 5 and 8 units after the create; the export completes at 6.5 units.
    unit, waiting, processing = 0.25, 0.8, 0.825
    sim = sim_factory(knobs={"export_waiting_seconds": waiting,
                             "export_processing_seconds": processing,
                             "export_rows_per_file": 40})
    config = tap_config(sim, export_poll_seconds=unit, end_date="2025-10-10T00:00:00+00:00",
                        export_window_days=60)
    records, _ = run_tap(config, "visitors")
    reads, waited = 0, 0.0
    while waited < waiting + processing:
        waited += poll_wait(reads, unit)
        reads += 1
    calls = sim.get_stats()["calls_by_kind"]
    files = len(sim.exports.describe_all()[0]["file_rows"])
    assert files > 1
    assert calls["export_create"] == 1
    assert calls["export_read"] == reads == 4
    assert calls["export_download"] == files
    assert calls.get("query", 0) == 0
    assert records


def test_files_download_in_parallel_within_max_concurrency(sim_factory) -> None:
    sim = sim_factory(knobs={**FAST_EXPORTS, "export_rows_per_file": 30, "latency_ms": 60,
                             "max_concurrent_requests": 3})
    config = tap_config(sim, end_date="2025-10-10T00:00:00+00:00", export_window_days=60,
                        max_concurrency=3)
    records, _ = run_tap(config, "visitors")
    stats = sim.get_stats()
    assert stats["calls_by_kind"]["export_download"] > 3
    assert stats["peak_in_flight"] == 3
    assert not stats["errors_by_code"]
    assert len(records) == len({r["id"] for r in records}) > 0


def test_interrupted_run_resumes_the_same_export(sim_factory, tmp_path: Path) -> None:
    sim = sim_factory(knobs={"export_waiting_seconds": 0.0,
                             "export_processing_seconds": 3600.0})
    config = tap_config(sim, end_date="2025-10-10T00:00:00+00:00", export_window_days=60,
                        export_poll_seconds=0.05)
    catalog = catalog_for(config, "prospects")
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps(catalog))
    # Popen, not run_cli: this run is read while it goes and killed mid-export.
    cli = [TAP, "--config", str(config_file), "--catalog", str(catalog_file)]
    with subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True) as proc:
        watchdog = threading.Timer(60, proc.kill)  # never hang the suite
        watchdog.start()
        state = None
        assert proc.stdout is not None
        for line in proc.stdout:
            message = json.loads(line)
            if message["type"] == "STATE" and message["value"]["bookmarks"].get(
                    "prospects", {}).get("exports"):
                state = message["value"]
                break
        while proc.poll() is None and sim.get_stats()["calls_by_kind"].get("export_read", 0) < 2:
            time.sleep(0.05)  # the tap is polling the export, which is Processing
        proc.kill()  # SIGKILL: no chance to write anything more
        watchdog.cancel()
    assert state is not None
    recorded = state["bookmarks"]["prospects"]["exports"][0]["id"]
    assert sim.get_stats()["calls_by_kind"]["export_create"] == 1

    sim.advance(3600)  # the export completes meanwhile
    done = run_cli(config, catalog=catalog, state=state, tmp_path=tmp_path, check=True)
    calls = sim.get_stats()["calls_by_kind"]
    assert calls["export_create"] == 1, "the resumed run created the export again"
    records = done.records.get("prospects", [])
    window_end = datetime(2025, 10, 10, tzinfo=UTC)
    expected = {r["id"] for r in sim.truth("prospects")
                if datetime.fromisoformat(r["updated_at"]) <= window_end}
    assert {r["id"] for r in records} == expected
    assert f"resuming export {recorded}" in done.stderr


def test_auto_exports_a_backfill_then_queries_the_catch_up(sim_factory) -> None:
    """Pages of 20: the backfill's large windows are exported (each after one probe
    page), its small ones queried; a catch-up of two days is a few pages, queried."""
    sim = sim_factory(knobs={**FAST_EXPORTS, **SMALL})
    config = tap_config(sim, sync_mode="auto", page_size=20)
    records, states = run_tap(config, "visitor_activities")
    calls = sim.get_stats()["calls_by_kind"]
    assert calls["export_create"] >= 1
    assert_equals_truth(sim, "visitor_activities", records)

    sim.reset_stats()
    state = states[-1]
    state["bookmarks"]["visitor_activities"]["replication_key_value"] = (
        datetime.fromisoformat(DATA_END) - timedelta(days=2)).isoformat()
    run_tap(config, "visitor_activities", state)
    calls = sim.get_stats()["calls_by_kind"]
    assert calls.get("export_create", 0) == 0
    assert calls["query"] >= 1

    sim.reset_stats()
    forced = {**config, "stream_sync_modes": {"visitor_activities": "export"}}
    run_tap(forced, "visitor_activities", state)
    assert sim.get_stats()["calls_by_kind"]["export_create"] >= 1


def test_simulator_truth_endpoint_matches_python_api(sim_factory) -> None:
    sim = sim_factory(knobs=SMALL)
    body = requests.get(f"{sim.url}/_sim/truth/visitors", timeout=10).json()
    assert body["records"] == sim.truth("visitors")


@pytest.mark.parametrize("fate", ["expired", "failed", "canceled"])
def test_resumed_export_that_cannot_be_used_is_made_again(sim_factory, fate: str) -> None:
    sim = sim_factory(knobs={"export_waiting_seconds": 0.0, "export_processing_seconds": 5.0,
                             "export_failure_count": 1 if fate == "failed" else 0})
    config = tap_config(sim, end_date="2025-10-10T00:00:00+00:00", export_window_days=60,
                        export_poll_seconds=0.05)
    _, states = run_tap({**config, "max_api_calls": 3}, "visitors")  # token, create, a read
    saved = states[-1]
    recorded = saved["bookmarks"]["visitors"]["exports"][0]["id"]
    assert saved["bookmarks"]["visitors"]["replication_key_value"] == DATA_START  # not moved
    sim.advance(10)
    sim.set_knobs({"export_processing_seconds": 0.05})  # for the export made again
    if fate == "expired":
        sim.expire_exports(recorded)
    elif fate == "canceled":
        sim.exports.items[recorded].canceled_at = sim.exports.items[recorded].created + 1
    sim.reset_stats()
    records, states = run_tap(config, "visitors", saved)
    assert sim.get_stats()["calls_by_kind"]["export_create"] == 1
    window_end = datetime(2025, 10, 10, tzinfo=UTC)
    expected = {r["id"] for r in sim.truth("visitors") if parse(r["updated_at"]) <= window_end}
    assert {r["id"] for r in records} == expected
    assert "exports" not in states[-1]["bookmarks"]["visitors"]


def test_without_include_deleted_the_recycle_bin_is_left_out(sim_factory) -> None:
    sim = sim_factory(knobs={**FAST_EXPORTS, **SMALL,
                             "export_prospect_deleted_must_be_all": True})
    records, _ = run_tap(tap_config(sim, include_deleted=False), "prospects")
    expected = {r["id"] for r in sim.truth("prospects") if not r["is_deleted"]}
    assert len(expected) < len(sim.truth("prospects"))
    assert {r["id"] for r in records} == expected
    arguments = [e["procedure"]["arguments"] for e in sim.exports.describe_all()]
    assert all(a["deleted"] == "all" for a in arguments)


def test_only_selected_fields_are_exported(sim_factory) -> None:
    sim = sim_factory(knobs={**FAST_EXPORTS, **SMALL})
    config = tap_config(sim, end_date="2025-10-10T00:00:00+00:00", export_window_days=60)
    catalog = catalog_for(config, "visitor_activities")
    entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == "visitor_activities")
    for meta in entry["metadata"]:
        if meta["breadcrumb"] in (["properties", "details"], ["properties", "type_name"]):
            meta["metadata"]["selected"] = False
    records = run_in_process(config, catalog=catalog).records.get("visitor_activities", [])
    fields = sim.exports.describe_all()[0]["fields"]
    assert "details" not in fields
    assert "typeName" not in fields
    assert {"id", "updatedAt", "prospectId"} <= set(fields)
    assert records
    assert all("details" not in r and "type_name" not in r for r in records)


def window_of(export: dict) -> tuple[datetime, datetime]:
    """An export's window `[start, end)` (its arguments are exclusive bounds)."""
    arguments = export["procedure"]["arguments"]
    return (parse(arguments["updatedAfter"]) + timedelta(seconds=1),
            parse(arguments["updatedBefore"]))


def assert_queried_equals_truth(records: list[dict], want: list[dict], queried: set[int],
                                version: int) -> None:
    """Records equal `want`; those of a window read by query on the fields its replies
    carry: on v5 all but array custom fields (Pardot's v5 query refuses them), on v3/v4 the
    columns the v3/v4 query returns (fewer than an export's: the others are null)."""
    got = {r["id"]: comparable(r) for r in records}
    assert len(got) == len(records), "a record was emitted twice in one run"
    truth = {r["id"]: comparable(r) for r in want}
    assert sorted(got) == sorted(truth)
    assert queried
    if version == 5:
        assert all(not ARRAY_CUSTOM_FIELDS & got[i].keys() for i in queried)
        dropped = set(ARRAY_CUSTOM_FIELDS)
    else:
        carried = {k for i in queried for k, v in got[i].items() if v is not None}
        dropped = set(truth[next(iter(queried))]) - carried
        assert len(dropped) < len(carried)
    for rid, row in truth.items():
        keys = row.keys() - dropped if rid in queried else row.keys()
        assert {k: got[rid].get(k) for k in keys} == {k: row[k] for k in keys}, rid


@pytest.mark.parametrize(("version", "stream"), [(5, "visitors"), (4, "list_memberships"),
                                                 (5, "prospects")])
def test_a_window_whose_export_fails_twice_is_queried_and_the_run_completes(
    sim_factory, version: int, stream: str
) -> None:
    knobs = {**FAST_EXPORTS, **SMALL, "export_failure_count": 2}
    if version == 4:
        knobs |= {"export_reply_wrapped": True}
    sim = sim_factory(knobs=knobs)
    sim.advance(180)  # past the settle margin: every record is due
    # Pages of 50: the query's own checkpoints move the bookmark inside the window. One
    # export at a time: the two failed ones are the first window's (none made ahead).
    config = tap_config(sim, api_version=version, page_size=50, max_concurrency=1)
    records, states = run_tap(config, stream)  # no StreamFailed: the run completes
    exports = sim.exports.describe_all()
    assert [e["status"] for e in exports[:2]] == ["Failed", "Failed"]
    assert window_of(exports[0]) == window_of(exports[1])  # the first window, made again once
    assert len(exports) > 2
    assert all(e["status"] == "Complete" for e in exports[2:])
    assert sim.get_stats()["calls_by_kind"]["query"] >= 1
    first = window_of(exports[0])
    assert first[0] == window_of(exports[2])[1]  # the next window, older, follows it
    queried = {r["id"] for r in records if first[0] <= parse(r["updated_at"]) < first[1]}
    assert_queried_equals_truth(records, sim.truth(stream), queried, version)
    if stream == "prospects":  # the exported windows carry the array custom fields
        assert any(ARRAY_CUSTOM_FIELDS & r.keys() for r in records if r["id"] not in queried)
    final = states[-1]["bookmarks"][stream]
    assert "exports" not in final
    # The bookmark is the end of the range: Pardot's clock less the settle margin, + 1 s.
    bookmark = parse(final["replication_key_value"])
    last_created = max(parse(e["createdAt"]) for e in exports)
    assert last_created - SETTLE - timedelta(seconds=10) < bookmark
    assert bookmark <= last_created - SETTLE + timedelta(seconds=1)
    bookmarks = [parse(s["bookmarks"][stream]["replication_key_value"]) for s in states
                 if s["bookmarks"].get(stream, {}).get("replication_key_value")]
    assert bookmarks == sorted(bookmarks)  # never past the window, never backwards
    assert first[1] in bookmarks  # the queried window's end
    if version == 5:  # sorted pages (v3/v4 list memberships are walked by id)
        assert any(first[0] < b < first[1] for b in bookmarks)


@pytest.mark.parametrize("version", [5, 4])
def test_an_export_stuck_waiting_is_canceled_then_its_window_queried(
    sim_factory, version: int
) -> None:
    """Exports stay Waiting (a queue held by another integration's export): each is canceled
    after a quarter of export_timeout_hours (0.36 s here), made again once, then the window
    is read through the query API."""
    sim = sim_factory(knobs={**SMALL, "export_waiting_seconds": 86400.0,
                             "export_reply_wrapped": version == 4})
    sim.advance(180)
    end = "2025-10-10T00:00:00+00:00"
    config = tap_config(sim, api_version=version, end_date=end, export_window_days=60,
                        export_timeout_hours=0.0004, export_poll_seconds=0.02)
    records, states = run_tap(config, "visitors")
    exports = sim.exports.describe_all()
    assert [e["status"] for e in exports] == ["Canceled", "Canceled"]
    calls = sim.get_stats()["calls_by_kind"]
    assert calls["export_cancel"] == 2
    assert calls["query"] >= 1
    # v3/v4 visitor queries take no `deleted`: they read live visitors only.
    want = [r for r in sim.truth("visitors") if parse(r["updated_at"]) <= parse(end)
            and (version == 5 or not r["is_deleted"])]
    assert_queried_equals_truth(records, want, {r["id"] for r in records}, version)
    final = states[-1]["bookmarks"]["visitors"]
    assert final["replication_key_value"] == (parse(end) + timedelta(seconds=1)).isoformat()
    assert "exports" not in final


def test_a_long_backfill_uses_windows_of_at_most_a_year(sim_factory) -> None:
    sim = sim_factory(knobs={**FAST_EXPORTS, **SMALL, "export_max_range": 365})
    config = tap_config(sim, start_date="2023-06-01T00:00:00+00:00", export_window_days=365)
    records, _ = run_tap(config, "prospect_accounts")
    assert not sim.get_stats()["errors_by_code"]
    assert sim.get_stats()["calls_by_kind"]["export_create"] >= 3
    assert_equals_truth(sim, "prospect_accounts", records)


CHANGE = {"visitors": ("hostname", "changed.example.com"), "list_memberships": ("opted_out", True)}


@pytest.mark.parametrize(("version", "stream"), [(5, "visitors"), (4, "list_memberships")])
def test_pardots_clock_bounds_the_run_and_later_changes_are_not_lost(
    sim_factory, version: int, stream: str
) -> None:
    """This machine's clock is a year past the simulator's: windows and bookmark follow
    Pardot's (the exports' createdAt), so the next run gets what changed meanwhile."""
    knobs = {**FAST_EXPORTS, **SMALL}
    if version == 4:
        knobs |= {"export_reply_wrapped": True}
    sim = sim_factory(knobs=knobs)
    config = tap_config(sim, api_version=version, end_date=None)  # up to this machine's now
    records, states = run_tap(config, stream)
    assert_equals_truth(sim, stream, records)
    created = [parse(e["createdAt"]) for e in sim.exports.describe_all()]
    assert datetime.now(UTC) - created[0] > timedelta(days=30), "no clock skew to test"
    # Only the windows up to Pardot's now (less the settle margin) are exported, not those
    # up to this machine's.
    first = states[-1]["bookmarks"][stream]
    bookmark = parse(first["replication_key_value"])
    assert bookmark <= min(created) - SETTLE + timedelta(seconds=1)
    planned = plan_windows([(parse(DATA_START), bookmark)], 30, NY)
    assert sim.get_stats()["calls_by_kind"]["export_create"] == len(planned)
    assert len(planned) < len(plan_windows([(parse(DATA_START), datetime.now(UTC))], 30, NY))

    # Pardot's clock moves on a minute; records are created, updated and deleted then, and
    # the next run comes once they have settled.
    requests.post(f"{sim.url}/_sim/clock", json={"advance_seconds": 60}, timeout=10)
    old = [r["id"] for r in sim.truth(stream)[:4]]
    field, value = CHANGE[stream]
    body = {"create": 3, "update": [{"id": i, field: value} for i in old[:3]], "delete": old[3:]}
    reply = requests.post(f"{sim.url}/_sim/records/{stream}", json=body, timeout=10).json()
    changed = {r["id"] for key in ("created", "updated", "deleted") for r in reply[key]}
    assert len(changed) == 7
    requests.post(f"{sim.url}/_sim/clock", json={"advance_seconds": 180}, timeout=10)

    sim.reset_stats()
    again, states = run_tap(config, stream, states[-1])
    assert sim.get_stats()["calls_by_kind"]["export_create"] == 1
    got = {r["id"] for r in again}
    assert got == changed  # exactly the changes: none missed, none sent again
    truth = {r["id"]: comparable(r) for r in sim.truth(stream)}
    assert {r["id"]: comparable(r) for r in again} == {i: truth[i] for i in got}
    last_created = max(parse(e["createdAt"]) for e in sim.exports.describe_all())
    final = parse(states[-1]["bookmarks"][stream]["replication_key_value"])
    assert bookmark < final <= last_created - SETTLE + timedelta(seconds=1)
