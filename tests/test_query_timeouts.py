"""Queries that time out on long ranges (airbyte#56366, pardot/api-docs#174), through the real
CLI against the simulator: the tap reads the range in halves and loses nothing, on v5 and
v3/v4, under each reading of what times out (a long date range, many matched records) and
of the reply (HTTP 504, error 214); a range it cannot split (one second) fails the run with
one line and its state saved, and the next run resumes."""

from __future__ import annotations

import contextlib
import io
import typing as t
from pathlib import Path

import pytest
from tapkit import (
    ARRAY_CUSTOM_FIELDS,
    discover_catalog,
    in_repeated_hour,
    parse_messages,
    run_cli,
    sim_config,
    truth,
)

from tap_pardot.object_stream import StreamFailed
from tap_pardot.query.split import KEY
from tap_pardot.tap import TapPardot

START = "2025-09-15T00:00:00Z"
DATA = {"visitors": {"count": 300, "clump_size": 0},
        "prospects": {"count": 200, "clump_size": 0}, "deleted_fraction": 0.15}
# (api_version, stream, what times out, reply): each reading on each API at least once.
CASES = [
    (5, "visitors", {"query_timeout_rows": 40}, "504"),
    (5, "prospects", {"query_timeout_range_days": 8}, "214"),
    (4, "visitors", {"query_timeout_rows": 40}, "214"),
    (4, "prospects", {"query_timeout_range_days": 8}, "504"),  # recycle-bin walk, then live
]


def config(sim: t.Any, version: int, **extra: t.Any) -> dict:
    return sim_config(sim, **{"start_date": START, "sync_mode": "query",
                              "api_version": version, "page_size": 20, **extra})


def timeouts(sim: t.Any) -> int:
    errors = sim.get_stats()["errors_by_code"]
    return int(errors.get("504", 0)) + int(errors.get("214", 0))


def assert_union_is_truth(sim: t.Any, stream: str, version: int,
                          *runs: list[dict]) -> None:
    """Every record of the truth is in some run's output (v3/v4 visitors: the live ones),
    and every value of its last version sent is the truth's (a v3/v4 naive time of the DST
    hour aside, which Pardot's format cannot place)."""
    want = truth(sim, stream)
    if version < 5 and stream == "visitors":  # its v3/v4 query reads live records only
        want = {i: r for i, r in want.items() if not r["is_deleted"]}
    got = {r["id"]: r for run in runs for r in run}  # a later run's version wins
    assert got.keys() == want.keys(), "records lost (or invented)"
    for record in got.values():
        row = want[record["id"]]
        if version == 5:
            assert record.keys() == row.keys() - ARRAY_CUSTOM_FIELDS
        for name, value in record.items():
            if value is not None and value != row[name]:
                assert version < 5, (record["id"], name)
                assert in_repeated_hour(row[name]), (record["id"], name)


@pytest.mark.parametrize(("version", "stream", "knobs", "reply"), CASES)
def test_a_timed_out_range_is_read_in_halves(sim_factory: t.Any, tmp_path: Path,
                                             version: int, stream: str, knobs: dict,
                                             reply: str) -> None:
    sim = sim_factory(DATA)
    sim.advance(180)
    cfg = config(sim, version)
    catalog = discover_catalog(cfg, select=stream)
    sim.set_knobs({**knobs, "query_timeout_reply": reply})
    sim.reset_stats()
    first = run_cli(cfg, catalog=catalog, tmp_path=tmp_path, check=True)
    assert timeouts(sim) > 0, "the knob made no query time out"
    assert "timed out" in first.stderr
    assert_union_is_truth(sim, stream, version, first.records[stream])
    saved = first.state["bookmarks"][stream][KEY]
    assert isinstance(saved, int)
    assert saved < 8 * 86400 or "query_timeout_rows" in knobs

    # A run from the start with the size kept in state meets fewer timeouts.
    again = {"bookmarks": {stream: {KEY: saved}}}
    before = timeouts(sim)
    second = run_cli(cfg, catalog=catalog, state=again, tmp_path=tmp_path, check=True)
    assert timeouts(sim) - before < before
    assert_union_is_truth(sim, stream, version, second.records[stream])

    # Changes after the run: an incremental run reads them (a short range: no split).
    ids = sorted(truth(sim, stream))
    sim.mutate(stream, {"create": 2, "update": [{"id": ids[0], "last_name": "Changed"}
                                                if stream == "prospects" else
                                                {"id": ids[0], "campaign_id": None}]})
    sim.advance(180)
    third = run_cli(cfg, catalog=catalog, state=first.state, tmp_path=tmp_path, check=True)
    assert len(third.records[stream]) >= 3
    assert_union_is_truth(sim, stream, version, first.records[stream], third.records[stream])


def run_expecting_failure(cfg: dict, catalog: dict) -> tuple[list[dict], dict, str]:
    """A sync in this process with immediate retries, which fails: its records, last state
    and error line."""
    tap = TapPardot(config=cfg, catalog=catalog, state={}, parse_env_config=False)
    tap.run.backoff_factor = 0.0
    out = io.StringIO()
    with pytest.raises(StreamFailed) as failed, contextlib.redirect_stdout(out):
        tap.sync_all()
    records, states = parse_messages(out.getvalue())
    return records.get("visitors", []), states[-1] if states else {}, str(failed.value)


@pytest.mark.parametrize("version", [5, 4])
def test_a_second_that_times_out_fails_the_run_and_the_next_resumes(
        sim_factory: t.Any, tmp_path: Path, version: int) -> None:
    """A one-second clump larger than the timeout's threshold cannot be split: the stream
    fails after its retries (exit 1 from the CLI: test_exit_status) with its state saved
    before the clump; once Pardot reads it, the next run goes on from there."""
    sim = sim_factory({"visitors": {"count": 200, "clump_size": 60}})
    sim.advance(180)
    cfg = config(sim, version)
    catalog = discover_catalog(cfg, select="visitors")
    sim.set_knobs({"query_timeout_rows": 40})
    records, state, line = run_expecting_failure(cfg, catalog)
    assert "\n" not in line
    assert "failed after 6 tries" in line
    assert records, "the records before the clump are out"
    sim.set_knobs({"query_timeout_rows": 0})
    rest = run_cli(cfg, catalog=catalog, state=state, tmp_path=tmp_path, check=True)
    assert_union_is_truth(sim, "visitors", version, records, rest.records["visitors"])


def test_an_export_window_read_through_the_query_api_is_split_too(sim_factory: t.Any,
                                                                   tmp_path: Path) -> None:
    """Every export fails, so each window is queried (export/sync.py), and those queries
    time out: the windows are read in halves, and the run loses nothing."""
    sim = sim_factory(DATA)
    sim.advance(180)
    cfg = config(sim, 5, sync_mode="export", export_window_days=30, export_poll_seconds=0.01)
    catalog = discover_catalog(cfg, select="visitors")
    sim.set_knobs({"export_failure_count": 100, "query_timeout_rows": 40})
    run = run_cli(cfg, catalog=catalog, tmp_path=tmp_path, check=True)
    assert timeouts(sim) > 0
    assert "timed out" in run.stderr
    assert_union_is_truth(sim, "visitors", 5, run.records["visitors"])
    bookmark = run.state["bookmarks"]["visitors"]
    assert "exports" not in bookmark
