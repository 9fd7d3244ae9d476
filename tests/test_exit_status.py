"""The exit status tells the truth, through the real CLI against the simulator: the daily
limit, SIGTERM and SIGINT stop with state saved and a status of their own; bad input is one
line and status 1; and the next run resumes without loss."""

from __future__ import annotations

import json
import signal
import subprocess
import typing as t
from pathlib import Path

import pytest
from tapkit import TAP, discover_catalog, parse_messages, sim_config, truth, visitors_run

START = "2025-09-15T00:00:00Z"


def due_sim(sim_factory: t.Callable[..., t.Any], **knobs: t.Any) -> t.Any:
    """A simulator whose records are all due (its clock past the settle margin)."""
    sim = sim_factory({"visitors": {"count": 400, "clump_size": 0}, **knobs})
    sim.advance(180)
    return sim


def one_line(stderr: str, needle: str = "tap-pardot: ") -> str:
    """The one line of stderr that holds `needle` (the CLI's own line by default); no
    traceback anywhere."""
    assert "Traceback" not in stderr, stderr[-2000:]
    lines = [line for line in stderr.splitlines() if needle in line]
    assert len(lines) == 1, stderr[-2000:]
    return lines[0]


def test_the_daily_limit_is_exit_75_and_the_next_run_resumes(sim_factory: t.Any,
                                                            tmp_path: Path) -> None:
    # Pardot does not tell the usage (`x-api-usage`): the tap cannot stop before the limit.
    sim = due_sim(sim_factory, daily_call_limit=8, return_api_usage=False)
    first = visitors_run(sim, tmp_path)
    assert first.returncode == 75
    one_line(first.stderr, "tap-pardot: Pardot's daily API limit is used up")
    got = {r["id"] for r in first.records["visitors"]}
    assert 0 < len(got) < 400
    sim.set_knobs({"daily_call_limit": 0})
    second = visitors_run(sim, tmp_path, state=first.state)
    assert second.returncode == 0, second.stderr[-2000:]
    assert got | {r["id"] for r in second.records["visitors"]} == set(truth(sim, "visitors"))


def test_the_budget_is_a_planned_stop_exit_0(sim_factory: t.Any, tmp_path: Path) -> None:
    sim = due_sim(sim_factory)
    run = visitors_run(sim, tmp_path, max_api_calls=4)
    assert run.returncode == 0
    assert "max_api_calls" in run.stderr


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_at_a_safe_point_with_its_status(sim_factory: t.Any, tmp_path: Path,
                                                        sig: int, status: int) -> None:
    sim = due_sim(sim_factory, latency_ms=100)
    cfg = sim_config(sim, start_date=START, sync_mode="query", page_size=20)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "catalog.json").write_text(json.dumps(discover_catalog(cfg, select="visitors")))
    with (tmp_path / "stderr.txt").open("w") as stderr:
        proc = subprocess.Popen([TAP, "--config", str(tmp_path / "config.json"), "--catalog",
                                 str(tmp_path / "catalog.json")],
                                stdout=subprocess.PIPE, stderr=stderr, text=True)
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(30)]  # SCHEMA, STATE, then records
        proc.send_signal(sig)
        text = "".join(lines) + proc.stdout.read()  # the same reader: nothing skipped
        proc.wait(timeout=60)
    err = (tmp_path / "stderr.txt").read_text()
    assert proc.returncode == status, err[-2000:]
    line = one_line(err, f"tap-pardot: stopped by {signal.Signals(sig).name} after")
    assert "the next run resumes" in line
    records, states = parse_messages(text)
    got = {r["id"] for r in records["visitors"]}
    assert 0 < len(got) < 400
    second = visitors_run(sim, tmp_path, state=states[-1])
    assert second.returncode == 0, second.stderr[-2000:]
    assert got | {r["id"] for r in second.records["visitors"]} == set(truth(sim, "visitors"))


BAD_INPUT = {
    "start_date not ISO": ({"start_date": "yesterday"}, None, "not an ISO 8601 date-time"),
    "start_date in the future": ({"start_date": "2999-01-01T00:00:00Z"}, None, "future"),
    "end_date before start_date": ({"end_date": "2025-01-01T00:00:00Z"}, None,
                                   "is not after `start_date`"),
    "unreadable state file": ({}, "{not json", "is not readable JSON"),
    "bookmark not a date": ({}, json.dumps({"bookmarks": {"visitors": {
        "replication_key": "updated_at", "replication_key_value": "last tuesday"}}}),
        "bookmark for stream visitors is not a date"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_line_and_status_1(simulator: t.Any, tmp_path: Path,
                                            case: str) -> None:
    overrides, state_text, needle = BAD_INPUT[case]
    cfg = {**sim_config(simulator, start_date=START, sync_mode="query"), **overrides}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    cmd = [TAP, "--config", str(tmp_path / "config.json")]
    if state_text is not None:
        (tmp_path / "state.json").write_text(state_text)
        cmd += ["--state", str(tmp_path / "state.json")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    one_line(proc.stderr, needle)  # the SDK may add "Config validation failed" after it


def test_the_connection_test_checks_credentials_whatever_the_dates(simulator: t.Any,
                                                                  tmp_path: Path) -> None:
    # Nothing to read since this start date (Pardot's clock is behind it): still a check.
    cfg = sim_config(simulator, start_date="2026-11-01T00:00:00Z", client_secret="wrong")
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    proc = subprocess.run([TAP, "--config", str(tmp_path / "config.json"), "--test"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert "client_secret" in one_line(proc.stderr, "tap-pardot: Connection test failed")
