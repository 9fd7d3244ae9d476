"""Exact UTC across a DST fall-back on the v5 export path, through the real CLI against the
simulator: naive CSV times in the repeated hour (01:00-02:00 New York time, twice) are the
truth's instants, not the hour's first occurrence, for every date-time field of a record,
at the cost of a few query calls."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from tapkit import discover_catalog, in_repeated_hour, run_cli, run_in_process, sim_config, truth

from tap_pardot.export import dst

# Many records in the repeated hour; prospects have several times each there (created,
# first and last activity), some not equal to updated_at.
KNOBS = {"prospects": {"count": 300, "clump_size": 0},
         "visitor_activities": {"count": 300, "clump_size": 0},
         "visitors": {"count": 200, "clump_size": 0},
         "prospect_accounts": {"count": 200, "clump_size": 0},
         "dst_fraction": 0.25, "updated_fraction": 0.5,
         "export_waiting_seconds": 0.0, "export_processing_seconds": 0.05}


@pytest.mark.parametrize(("stream", "held"), [
    ("prospects", None), ("visitor_activities", None), ("visitors", None),
    ("prospect_accounts", None),
    # Records held back a few at a time (memory stays flat): the same times; an hour is
    # queried once per run, only the look-ups by id are made per batch.
    ("prospects", 7), ("prospect_accounts", 7)])
def test_times_in_the_repeated_hour_are_exact(sim_factory: t.Any, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch, stream: str,
                                              held: int | None) -> None:
    sim = sim_factory(KNOBS)
    sim.advance(180)
    cfg = sim_config(sim, start_date="2025-09-15T00:00:00Z", sync_mode="export",
                     export_window_days=30, export_poll_seconds=0.01)
    catalog = discover_catalog(cfg, select=stream)
    sim.reset_stats()
    if held is None:
        run = run_cli(cfg, catalog=catalog, tmp_path=tmp_path, check=True)
    else:
        monkeypatch.setattr(dst, "HELD", held)
        run = run_in_process(cfg, catalog=catalog)
    want = truth(sim, stream)
    got = {r["id"]: r for r in run.records[stream]}
    assert got.keys() == want.keys()
    doubtful = [(rid, name) for rid, row in want.items() for name, value in row.items()
                if name != "updated_at" and in_repeated_hour(value)
                and value != row["updated_at"]]
    second = [(rid, name) for rid, name in doubtful if want[rid][name] >= "2025-11-02T06"]
    assert second, "the data has times in the hour's second occurrence"
    for rid, row in want.items():
        for name, value in row.items():
            if name.endswith(("_at", "_sync")):
                assert got[rid].get(name) == value, (rid, name)
    queries = sim.get_stats()["calls_by_kind"].get("query", 0)
    assert 0 < queries <= (6 if held is None else 12), "a few calls re-read the hour"
