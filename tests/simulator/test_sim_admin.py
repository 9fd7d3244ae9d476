"""Admin endpoints, generated data (hard cases, determinism) and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import requests

from tap_pardot.simulator import Simulator

from .conftest import Api


def test_stats_count_by_kind_and_reset(api: Api) -> None:
    api.admin("stats/reset", {})
    api.get("/api/v5/objects/prospects", params={"fields": "id"})
    api.get("/api/v5/objects/prospects")  # 224
    api.admin("truth/prospects")
    s = api.admin("stats")
    assert s["calls_by_kind"] == {"query": 2}
    assert s["total_calls"] == 2
    assert s["errors_by_code"] == {"224": 1}
    assert s["peak_in_flight"] == 1
    assert api.admin("stats/reset", {})["total_calls"] == 0


def test_truth_form(api: Api) -> None:
    rec = api.admin("truth/prospects")["records"][0]
    assert isinstance(rec["id"], int)
    assert isinstance(rec["is_deleted"], bool)
    assert rec["created_at"].endswith("+00:00")
    assert datetime.fromisoformat(rec["created_at"]).tzinfo == timezone.utc
    va = api.admin("truth/visitor_activities")["records"][0]
    assert "is_deleted" not in va
    assert requests.get(f"{api.url}/_sim/truth/nothing", timeout=30).status_code == 400


def test_records_create_update_delete_at_now(api: Api) -> None:
    now = api.admin("clock")["now"]
    out = api.admin("records/prospects", {"create": 2})
    assert [r["created_at"] for r in out["created"]] == [now, now]
    pid = out["created"][0]["id"]
    out = api.admin("records/prospects", {
        "create": [{"email": "new@example.com", "comments": 'a, "b"\n😀'}],
        "update": [{"id": pid, "first_name": "Renamed"}], "delete": [pid]})
    assert out["created"][0]["email"] == "new@example.com"
    assert out["updated"][0]["first_name"] == "Renamed"
    assert out["deleted"][0]["is_deleted"] is True
    r = api.get("/api/v5/objects/prospects", params={
        "fields": "id,email,comments,updatedAt", "updatedAtAfterOrEqualTo": now,
        "deleted": "all"})
    vals = {v["id"]: v for v in r.json()["values"]}
    assert len(vals) == 3
    assert vals[out["created"][0]["id"]]["comments"] == 'a, "b"\n😀'
    r = requests.post(f"{api.url}/_sim/records/visitor_activities", json={"delete": [1]},
                      timeout=30)
    assert r.status_code == 400


def test_clock_and_knobs(api: Api) -> None:
    assert api.admin("clock")["now"] == "2025-11-20T12:00:00+00:00"
    assert api.admin("clock", {"advance_seconds": 60})["now"] == "2025-11-20T12:01:00+00:00"
    c = api.admin("clock", {"now": "2025-11-21T00:00:00+00:00"})
    assert c["local"] == "2025-11-20T19:00:00-05:00"
    assert api.admin("knobs")["max_concurrent_requests"] == 5
    assert api.admin("knobs", {"latency_ms": 5})["latency_ms"] == 5
    r = requests.post(f"{api.url}/_sim/knobs", json={"no_such_knob": 1}, timeout=30)
    assert r.status_code == 400
    r = requests.post(f"{api.url}/_sim/knobs", json={"prospects": {"count": 5}}, timeout=30)
    assert r.status_code == 400


def test_hard_cases_are_in_the_data(api: Api) -> None:
    va = api.admin("truth/visitor_activities")["records"]
    pr = api.admin("truth/prospects")["records"]
    assert Counter(t["updated_at"] for t in pr).most_common(1)[0][1] >= 250
    for edge in ("2025-10-01T00:00:00+00:00", "2025-10-15T00:00:00+00:00"):
        assert any(t["updated_at"] == edge for t in va)
    # ids out of time order
    created = [t["created_at"] for t in va]
    assert created != sorted(created)
    # both sides of the repeated 01:00-02:00 New York hour (2025-11-02)
    assert any("2025-11-02T05:" in t["created_at"] for t in va)
    assert any("2025-11-02T06:" in t["created_at"] for t in va)
    # updated after creation, nulls, tricky text, deleted
    assert any(t["updated_at"] > t["created_at"] for t in va)
    assert any(t["prospect_id"] is None for t in va)
    details = {t["details"] for t in va}
    assert any(d and "\n" in d for d in details)
    assert any(d and '"' in d for d in details)
    assert any(d and "🎉" in d for d in details)
    assert 0 < sum(t["is_deleted"] for t in pr) < len(pr) / 5
    assert all(t["updated_at"] >= t["created_at"] for t in va + pr)


def test_deterministic_per_seed() -> None:
    a, b, c = Simulator(seed=7), Simulator(seed=7), Simulator(seed=8)
    assert a.truth("prospects") == b.truth("prospects")
    assert a.truth("prospects") != c.truth("prospects")


def test_sizes_are_knobs() -> None:
    sim = Simulator({"visitor_activities": {"count": 300, "clump_size": 0},
                     "prospects": {"count": 50}})
    assert len(sim.truth("visitor_activities")) == 300
    assert len(sim.truth("prospects")) == 50


def test_cli_prints_url_and_serves(tmp_path: Path) -> None:
    cfg = tmp_path / "knobs.json"
    cfg.write_text(json.dumps({"prospects": {"count": 10}}))
    proc = subprocess.Popen([sys.executable, "-m", "tap_pardot.simulator", "--port", "0",
                             "--seed", "3", "--config", str(cfg)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Pardot API simulator listening on http://127.0.0.1:")
        url = line.split()[-1]
        creds = json.loads(proc.stdout.readline().split(": ", 1)[1])
        assert creds["client_id"] == "sim-client-id"
        assert requests.get(f"{url}/_sim", timeout=30).json()["streams"]["prospects"] == 10
    finally:
        proc.terminate()
        proc.wait(10)


def test_creating_records_changes_no_other_record() -> None:
    sim = Simulator({"clock_rate": 0})
    before = {name: sim.truth(name) for name in sim.store.tables}
    made = {name: len(sim.mutate(name, {"create": 3})["created"]) for name in sim.store.tables}
    assert set(made.values()) == {3}
    for name, old in before.items():
        assert sim.truth(name)[:len(old)] == old, name


def test_records_apply_whole_or_not_at_all(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"prospects": {"count": 100, "clump_size": 0}})
    before = api.admin("truth/prospects")["records"]
    pid = before[0]["id"]
    for body in ({"create": [{"email": "ok@example.com"}],
                  "update": [{"id": pid, "no_such_field": 1}]},
                 {"update": [{"id": pid, "first_name": "X"}], "delete": [1]},
                 {"create": [{"email": "a@example.com"}, {"score": "many"}]},
                 {"create": 1, "delte": [pid]}):
        r = requests.post(f"{api.url}/_sim/records/prospects", json=body, timeout=30)
        assert r.status_code == 400, body
        assert api.admin("truth/prospects")["records"] == before, body
