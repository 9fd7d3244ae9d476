"""`api_quota_reserve`: the run leaves the account's other integrations their share of the
daily API limit (told by `x-api-usage`), through the real CLI against the simulator: a clean
stop (exit 0, state saved, a warning), never a 122 of its own, and the next run resumes."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from tapkit import truth, visitors_run

from tap_pardot.limits import ApiUsage, QuotaReserveReached, RequestGate, StopRun


# The whole read takes 23 calls (a token, 21 pages of 20 visitors...): each limit less its
# reserve cuts it short. No reserve set: 10% of the limit.
@pytest.mark.parametrize(("limit", "reserve", "ceiling"), [(30, 10, 20), (20, None, 18)])
def test_the_reserve_is_a_clean_stop_and_the_next_run_resumes(
        sim_factory: t.Any, tmp_path: Path, limit: int, reserve: int | None,
        ceiling: int) -> None:
    sim = sim_factory({"visitors": {"count": 400, "clump_size": 0}, "daily_call_limit": limit})
    sim.advance(180)
    sim.reset_stats()  # discovery's calls aside: the run starts at 0 calls today
    first = visitors_run(sim, tmp_path, api_quota_reserve=reserve)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "Traceback" not in first.stderr
    assert "api_quota_reserve" in first.stderr
    stats = sim.get_stats()
    assert 122 not in {int(code) for code in stats["errors_by_code"]}
    used = sum(stats["daily_calls"].values())
    assert 0 < used <= ceiling
    assert f"the account's daily API usage: {used}/{limit}" in first.stderr
    got = {r["id"] for r in first.records["visitors"]}
    assert 0 < len(got) < 400
    sim.set_knobs({"daily_call_limit": 0})
    second = visitors_run(sim, tmp_path, state=first.state, api_quota_reserve=reserve)
    assert second.returncode == 0, second.stderr[-2000:]
    assert got | {r["id"] for r in second.records["visitors"]} == set(truth(sim, "visitors"))


def test_the_gate_refuses_the_call_that_would_cross_the_reserve() -> None:
    gate = RequestGate(usage=ApiUsage(reserve=5))
    gate.acquire()()  # nothing known yet: the first call goes
    gate.observe({"x-api-usage": "94/100"})
    gate.acquire()()  # 95 <= 100 - 5
    gate.observe({"x-api-usage": "95/100"})
    with pytest.raises(QuotaReserveReached, match="95/100"):
        gate.acquire()
    with pytest.raises(StopRun, match="quota reserve"):
        gate.acquire()  # the run stays stopped


def test_calls_in_flight_count_before_their_replies() -> None:
    gate = RequestGate(usage=ApiUsage(reserve=0))
    gate.observe({"x-api-usage": "97/100"})
    releases = [gate.acquire(), gate.acquire(), gate.acquire()]  # 98, 99, 100
    with pytest.raises(QuotaReserveReached):
        gate.acquire()
    for release in releases:
        release()
