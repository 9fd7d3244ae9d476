"""A reply that is not JSON (cut off, a proxy's error page) is retried, never taken for an
empty page; if it persists the run stops with one line, and the state it wrote resumes."""

from __future__ import annotations

import typing as t

import pytest
import requests
from tapkit import discover_catalog, run_in_process, sim_config, truth

from tap_pardot.object_stream import StreamFailed

KNOBS = {"visitors": {"count": 150, "clump_size": 0}}


def config_and_catalog(sim: t.Any) -> tuple[dict, dict]:
    config = sim_config(sim, start_date="2025-09-15T00:00:00Z", sync_mode="query",
                        page_size=50)
    return config, discover_catalog(config, select="visitors")


def set_knobs(sim: t.Any, **knobs: t.Any) -> None:
    requests.post(f"{sim.url}/_sim/knobs", json=knobs, timeout=10).raise_for_status()


def test_malformed_replies_are_retried_and_lose_nothing(sim_factory: t.Any) -> None:
    sim = sim_factory(KNOBS)
    config, catalog = config_and_catalog(sim)
    set_knobs(sim, fault_malformed_count=2)
    run = run_in_process(config, catalog=catalog, backoff_factor=0)
    assert sorted(r["id"] for r in run.records["visitors"]) == sorted(truth(sim, "visitors"))
    assert sim.get_stats()["errors_by_code"].get("malformed") == 2


def test_persistent_malformed_reply_stops_in_one_line_and_resumes(
        sim_factory: t.Any, caplog: pytest.LogCaptureFixture) -> None:
    sim = sim_factory({**KNOBS, "latency_ms": 0})
    config, catalog = config_and_catalog(sim)
    first = run_in_process(config, catalog=catalog, backoff_factor=0)  # a full first run
    changes = sim.mutate("visitors", {"create": 5, "update": [{"id": min(truth(sim, "visitors"))}]})
    sim.advance(180)  # past the settle margin: the next run reads the changes
    set_knobs(sim, fault_malformed_count=100)
    with pytest.raises(StreamFailed) as stopped:
        run_in_process(config, catalog=catalog, state=first.state, backoff_factor=0)
    assert "malformed reply (not JSON)" in str(stopped.value)
    assert "\n" not in str(stopped.value)
    set_knobs(sim, fault_malformed_count=0)
    resumed = run_in_process(config, catalog=catalog, state=first.state, backoff_factor=0)
    changed = {r["id"] for r in changes["created"] + changes["updated"]}
    assert changed <= {r["id"] for r in resumed.records["visitors"]}  # none lost
    truth_now = truth(sim, "visitors")
    assert all(truth_now[r["id"]] == r for r in resumed.records["visitors"])
