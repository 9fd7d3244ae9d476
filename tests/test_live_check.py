"""scripts/live_check.py, run against the bundled simulator (never a real host).

The script targets real Pardot and the simulator plays whichever reading its knobs choose, so
these tests check the structure (exit code, one line per question, the call budget, the cleanup,
no secret printed), never a particular reading.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tap_pardot.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "live_check.py"
QUESTIONS = [f"Q{n}" for n in range(1, 27)] + ["DATE", "USAGE", "ACCOUNT", "CLEANUP"]
FAST = ["--max-wait", "20", "--poll-seconds", "0.5"]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any TAP_PARDOT_* (a developer's real credentials)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_PARDOT_")}
    env.update(extra)
    return env


def sim_env(sim: Simulator) -> dict[str, str]:
    creds = sim.credentials
    return clean_env(
        TAP_PARDOT_CLIENT_ID=creds["client_id"],
        TAP_PARDOT_CLIENT_SECRET=creds["client_secret"],
        TAP_PARDOT_REFRESH_TOKEN=creds["refresh_token"],
        TAP_PARDOT_PARDOT_BUSINESS_UNIT_ID=creds["pardot_business_unit_id"],
        TAP_PARDOT_API_BASE_URL=sim.url,
        TAP_PARDOT_AUTH_BASE_URL=sim.url,
    )


def run_script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[Simulator, subprocess.CompletedProcess[str]]]:
    """One run of the script against a fresh simulator (the text output)."""
    sim = Simulator(seed=1)
    sim.start()
    try:
        yield sim, run_script(sim_env(sim), *FAST)
    finally:
        sim.stop()


def test_exits_0_with_one_line_per_question(live: tuple) -> None:
    _, result = live
    assert result.returncode == 0, result.stderr
    for q in QUESTIONS:
        table = [line for line in result.stdout.splitlines() if re.match(rf"{q}\s", line)]
        block = [line for line in result.stdout.splitlines() if line.startswith(f"{q}: ")]
        assert len(table) == 1, (q, table)
        assert len(block) == 1, (q, block)
        assert "=>" in table[0]
    assert "---- paste into an issue ----" in result.stdout


def test_spends_fewer_than_30_calls(live: tuple) -> None:
    sim, result = live
    used = re.search(r"API calls used: (\d+)", result.stdout)
    assert used, result.stdout
    assert int(used.group(1)) < 30
    assert sim.get_stats()["total_calls"] < 30


def test_prints_no_credential_or_token(live: tuple) -> None:
    sim, result = live
    output = result.stdout + result.stderr
    for name, value in sim.credentials.items():
        assert value not in output, name
    assert sim.creds.tokens, "the script took no token"
    for token in sim.creds.tokens:
        assert token.split("!", 1)[1] not in output


def test_leaves_no_export_waiting_or_processing(live: tuple) -> None:
    sim, _ = live
    running = [e for e in sim.exports.describe_all()
               if (e.get("status") or e.get("state")) in ("Waiting", "Processing")]
    assert running == []


def test_json_option(sim_factory) -> None:
    sim = sim_factory(knobs={"export_waiting_seconds": 30})  # exports still waiting at the end
    result = run_script(sim_env(sim), *FAST, "--max-wait", "1", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["calls_used"] < 30
    assert {a["q"] for a in doc["answers"]} >= set(QUESTIONS)
    assert all(a["reading"] for a in doc["answers"])
    assert sim.get_stats()["total_calls"] < 30
    running = [e for e in sim.exports.describe_all()
               if (e.get("status") or e.get("state")) in ("Waiting", "Processing")]
    assert running == []


def test_missing_credentials_give_one_line_and_exit_2() -> None:
    result = run_script(clean_env(TAP_PARDOT_CLIENT_ID="x"))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "TAP_PARDOT_REFRESH_TOKEN" in lines[0]
    assert "TAP_PARDOT_PARDOT_BUSINESS_UNIT_ID" in lines[0]


def test_refuses_a_real_host_under_ci() -> None:
    env = clean_env(CI="true", TAP_PARDOT_CLIENT_ID="x", TAP_PARDOT_CLIENT_SECRET="y",
                    TAP_PARDOT_REFRESH_TOKEN="z",
                    TAP_PARDOT_PARDOT_BUSINESS_UNIT_ID="0Uv000000000001AAA",
                    TAP_PARDOT_API_BASE_URL="https://pardot.invalid",
                    TAP_PARDOT_AUTH_BASE_URL="https://login.invalid")
    result = run_script(env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "CI" in result.stderr


def test_the_30th_call_is_refused() -> None:
    if str(SCRIPT.parent) not in sys.path:
        sys.path.insert(0, str(SCRIPT.parent))
    module = importlib.import_module("live_check")
    config = {"client_id": "x", "client_secret": "y", "refresh_token": "z",
              "pardot_business_unit_id": "0Uv000000000001AAA",
              "api_base_url": "http://127.0.0.1:9", "auth_base_url": "http://127.0.0.1:9"}
    lv = module.Live(config, "refresh_token", max_wait=0, poll_seconds=0)
    for _ in range(28):
        lv.spend(reserve=0)
    with pytest.raises(module.OutOfCalls):
        lv.spend(reserve=1)  # the last call is kept for a cancel
    lv.spend(reserve=0)
    with pytest.raises(module.OutOfCalls):
        lv.spend(reserve=0)
    assert lv.used == 29
