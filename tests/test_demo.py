"""`make demo`'s parts that cannot lie: its summary compares values (scripts/demo_summary.py,
its pure functions: duckdb is only in the target's Python), it fails when its own simulator
does not start, and the simulator can start at the machine's now (`--clock now`)."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
import zoneinfo
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import demo_summary  # noqa: E402

from tap_pardot.simulator.__main__ import clock_knobs  # noqa: E402
from tap_pardot.simulator.knobs import DEFAULT_KNOBS  # noqa: E402

NY = zoneinfo.ZoneInfo("America/New_York")
UTC = timezone.utc


def test_same_compares_values_as_target_duckdb_stores_them() -> None:
    same = demo_summary.same
    assert same("2025-11-02T06:30:00+00:00", datetime(2025, 11, 2, 6, 30))  # TIMESTAMP: UTC
    assert same("2025-11-02T06:30:00+00:00", datetime(2025, 11, 2, 1, 30, tzinfo=NY).replace(
        fold=1))
    assert not same("2025-11-02T06:30:00+00:00", datetime(2025, 11, 2, 6, 30, 1))
    assert same(["a", "b"], '["a", "b"]')
    assert same({"k": 1}, '{"k": 1}')
    assert not same(["a", "b"], '["b", "a"]')
    assert not same(["a"], "a")
    assert same(3, 3.0)
    assert same(2.5, 2.5)
    assert not same(3, 4)
    assert not same(3, "3")
    assert same(True, True)
    assert not same(True, 1)
    assert not same(1, True)
    assert same(None, None)
    assert not same(None, "")
    assert not same("D", None)
    assert same("a,\r\n\"b\" 🎉", "a,\r\n\"b\" 🎉")
    assert not same("a\r\n", "a\n")


def test_compare_table_reports_rows_and_columns_that_differ() -> None:
    truth: list[dict[str, Any]] = [
        {"id": 1, "grade": "A", "tags": ["x"], "password": "s", "updated_at":
         "2025-11-01T00:00:00+00:00"},
        {"id": 2, "grade": "B", "tags": [], "password": "s", "updated_at":
         "2025-11-01T00:00:00+00:00"},
        {"id": 3, "grade": "C", "tags": None, "password": "s", "updated_at":
         "2025-11-01T00:00:00+00:00"},
        # the second 01:30 of the fall-back, read as the first one (same wall-clock time)
        {"id": 4, "grade": None, "tags": None, "password": "s", "updated_at":
         "2025-11-02T06:30:00+00:00"},
        # changed a minute before the run: the next run's
        {"id": 5, "grade": None, "tags": None, "password": "s", "updated_at":
         "2025-11-20T11:59:00+00:00"},
    ]
    columns = ["id", "grade", "tags", "updated_at"]
    rows = [
        (1, "A", '["x"]', datetime(2025, 11, 1)),
        (2, None, "[]", datetime(2025, 11, 1)),  # a null grade: a difference
        (4, None, None, datetime(2025, 11, 2, 5, 30)),
        (9, "Z", None, datetime(2025, 11, 1)),  # not in the truth
    ]
    report = demo_summary.compare_table("prospects", truth, columns, rows, NY,
                                        datetime(2025, 11, 20, 12, tzinfo=UTC))
    assert (report.rows, report.expected) == (4, 5)
    assert report.missing_ids == [3]
    assert report.next_run_ids == [5]
    assert report.unexpected_ids == [9]
    assert report.differing_rows == 1
    assert report.differing_columns == {"grade": 1}
    assert report.ambiguous == 1
    assert report.not_extracted == ["password"]
    assert report.missing_columns == []
    assert not report.ok
    text = "\n".join(demo_summary.render("pardot.prospects", report))
    assert "DIFFERS" in text
    assert "grade (1)" in text
    assert "id 2 grade: loaded None" in text

    # a column the tap should extract but did not, and one of the listed ones loaded all null
    report = demo_summary.compare_table("emails", [{"id": 1, "name": "n", "text_message": "t"}],
                                        ["id", "text_message"], [(1, None)])
    assert report.missing_columns == ["name"]
    assert report.not_extracted == ["text_message"]
    assert not report.ok
    good = demo_summary.compare_table("tags", [{"id": 1, "name": "n"}], ["id", "name"],
                                      [(1, "n")])
    assert good.ok
    assert "values match" in demo_summary.render("pardot.tags", good)[0]


@pytest.fixture
def occupied_port() -> Iterator[int]:
    """A port held by another HTTP server, answering 200 to anything (as a simulator left
    running would)."""

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"now": "2025-11-20T12:00:00+00:00"}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_demo_fails_when_its_simulator_cannot_start(occupied_port: int, tmp_path: Path) -> None:
    """Before, the demo ran against whatever answered on the port and exited 0."""
    env = {**os.environ, "SIM_PORT": str(occupied_port),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(["bash", str(ROOT / "scripts/demo.sh")], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"the simulator did not start on port {occupied_port}" in run.stderr
    assert "Address already in use" in run.stderr


def test_clock_knobs_move_the_data_with_the_clock() -> None:
    span = timedelta(days=66, hours=12)  # the defaults: 2025-09-15 to 2025-11-20T12:00
    fixed = clock_knobs("2025-11-20T12:00:00+00:00", {})
    assert (fixed["clock_start"], fixed["data_start"]) == (DEFAULT_KNOBS["clock_start"],
                                                           DEFAULT_KNOBS["data_start"])
    now = clock_knobs("now", {"prospects": {"count": 5}})
    start = datetime.fromisoformat(now["clock_start"])
    assert abs(start.timestamp() - time.time()) < 5
    assert datetime.fromisoformat(now["data_start"]) == start - span
    assert now["prospects"] == {"count": 5}
    kept = clock_knobs("now", {"data_start": "2025-01-01T00:00:00+00:00"})
    assert kept["data_start"] == "2025-01-01T00:00:00+00:00"


def test_simulator_cli_starts_at_the_machines_now(tmp_path: Path) -> None:
    knobs = tmp_path / "knobs.json"
    knobs.write_text(json.dumps({name: {"count": 20} for name in ("visitor_activities",
                                "prospects", "list_memberships", "visitors")}))
    proc = subprocess.Popen([sys.executable, "-m", "tap_pardot.simulator", "--port", "0",
                             "--clock", "now", "--config", str(knobs)],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split()[-1]  # type: ignore[union-attr]
        now = datetime.fromisoformat(requests.get(f"{url}/_sim/clock", timeout=30).json()["now"])
        assert abs(now.timestamp() - time.time()) < 10
        records = requests.get(f"{url}/_sim/truth/prospects", timeout=30).json()["records"]
        times = [datetime.fromisoformat(r[k]) for r in records for k in ("created_at",
                                                                          "updated_at")]
        assert now - timedelta(days=66, hours=12, seconds=10) <= min(times)  # data_start
        assert max(times) <= now
    finally:
        proc.terminate()
        proc.wait(10)
    bad = subprocess.run([sys.executable, "-m", "tap_pardot.simulator", "--clock", "soon"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2
    assert "--clock" in bad.stderr
