"""Logs a person can read (tap_pardot/progress.py): through the real CLI, one start line and
one end line per stream and one run summary line, in human units, and the SDK's METRIC lines
only when asked for; the progress lines' arithmetic on a fake clock."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tapkit import discover_catalog, run_cli, sim_config

from tap_pardot.progress import StreamProgress, duration

STREAMS = ("visitors", "tags")  # the export path (auto, a first run) and the query path


@pytest.fixture
def config(simulator: Any) -> dict:
    simulator.advance(180)
    return sim_config(simulator, start_date="2025-09-15T00:00:00Z", export_poll_seconds=0.05)


def test_one_start_and_end_line_per_stream_then_a_summary(config: dict, tmp_path: Path) -> None:
    run = run_cli(config, catalog=discover_catalog(config, STREAMS), tmp_path=tmp_path,
                  check=True)
    log = run.stderr
    for name in STREAMS:
        starts = re.findall(rf"Stream {name}: (\w+) mode \((.+?)\); changes from "
                            r"2025-09-15 00:00:00 UTC to (\S+ \S+) UTC \((.+?); bound: "
                            r"Pardot's clock less 2 min; newer changes next run\)", log)
        assert len(starts) == 1, log
        assert re.fullmatch(r"6[67] days", starts[0][3])  # the simulator's data: 66.5 days
        records = len(run.records[name])
        ends = re.findall(rf"Stream {name}: done in [\d.]+ (?:s|min): ([\d,]+) records?, "
                          r"([\d,]+) API calls?", log)
        assert ends == [(f"{records:,}", ends[0][1])], log
    assert re.findall(r"Stream visitors: auto mode \(auto: each window newest first is probed "
                      r"with one query page, and exported only if it holds more than a few "
                      r"pages\); changes from .* to .* \(6[67] days; bound: ", log)
    assert "Stream tags: query mode (the Export API does not serve this object)" in log
    total = sum(len(r) for r in run.records.values())
    summary = re.findall(r"Run done in [\d.]+ (?:s|min): 2 streams, ([\d,]+) records, "
                         r"([\d,]+) API calls; the account's daily API usage: \d+/\d+", log)
    assert [records for records, _ in summary] == [f"{total:,}"], log
    assert "Run done in" in log.rstrip().splitlines()[-1]  # the last line
    # The SDK's lines the start line replaces, its METRIC lines, and machine units: gone.
    assert "Beginning sync of" not in log
    assert "Starting incremental sync" not in log
    assert "METRIC" not in log
    assert not re.search(r"\b0\.0 days|-\d+(\.\d)? days", log)


def test_metric_lines_on_with_the_setting(config: dict, tmp_path: Path) -> None:
    run = run_cli({**config, "metrics_log_level": "INFO"},
                  catalog=discover_catalog(config, "tags"), tmp_path=tmp_path, check=True)
    assert "METRIC" in run.stderr
    assert "record_count" in run.stderr


def test_metric_lines_on_with_the_sdk_log_config(config: dict, tmp_path: Path) -> None:
    """SINGER_SDK_LOG_CONFIG (the SDK's own switch) wins over the setting's default."""
    log_config = tmp_path / "logging.yml"
    log_config.write_text("version: 1\ndisable_existing_loggers: false\n"
                          "loggers:\n  singer_sdk.metrics:\n    level: INFO\n")
    run = run_cli(config, catalog=discover_catalog(config, "tags"), tmp_path=tmp_path,
                  check=True, env={"SINGER_SDK_LOG_CONFIG": str(log_config)})
    assert "METRIC" in run.stderr


@pytest.mark.parametrize(("seconds", "text"), [
    (0.4, "0.4 s"), (42, "42 s"), (720, "12 min"), (3 * 3600, "3 h"), (5400, "1.5 h"),
    (66.5 * 86400, "66 days"), (2 * 86400, "2 days"), (1.5 * 86400, "1.5 days"),
    (-1129.7 * 86400, "-1130 days"),
])
def test_durations_in_human_units(seconds: float, text: str) -> None:
    assert duration(seconds) == text


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logged(request: pytest.FixtureRequest) -> Iterator[tuple[logging.Logger, Lines]]:
    """A logger of this test's own at INFO, and the lines it logs."""
    logger = logging.getLogger(f"tap-pardot.progress-test.{request.node.name}")
    logger.setLevel(logging.INFO)
    handler = Lines()
    logger.addHandler(handler)
    yield logger, handler
    logger.removeHandler(handler)


def test_progress_lines_say_steps_rate_and_eta(logged: tuple[logging.Logger, Lines]) -> None:
    now = [0.0]
    calls = [10]
    logger, handler = logged
    progress = StreamProgress("visitor_activities", logger, lambda: calls[0],
                              clock=lambda: now[0], every=30)
    for k in range(1000):  # 1,000 records in 20 s: no line yet
        now[0] = k * 0.02
        progress.record()
    assert handler.lines == []
    progress.step(3, 12, "files")
    now[0] = 30.0  # a quarter of the files in 30 s
    progress.step(3, 12, "files")
    assert handler.lines == ["Stream visitor_activities: 3 of 12 files, 1,000 records, "
                             "33/s over the run, about 90 s left"]
    # The export path: waiting on an export, then window 2 of 4, half its files.
    now[0] = 60.0
    progress.note("export 201940 is Processing")
    assert handler.lines[-1] == ("Stream visitor_activities: export 201940 is Processing, "
                                 "3 of 12 files, 1,000 records, 17/s over the run, "
                                 "about 3 min left")
    progress.note(None)
    now[0] = 90.0
    progress.files(2, 4, 9, 18)  # (1 + 0.5) / 4 = 37.5% in 90 s
    assert handler.lines[-1] == ("Stream visitor_activities: window 2 of 4, file 9 of 18, "
                                 "1,000 records, 11/s over the run, about 2 min left")
    calls[0] = 25
    progress.end("done")
    assert handler.lines[-1] == ("Stream visitor_activities: done in 90 s: 1,000 records, "
                                 "15 API calls")


def test_query_progress_reads_how_far_through_the_range(
        logged: tuple[logging.Logger, Lines]) -> None:
    from datetime import datetime, timezone

    now = [0.0]
    logger, handler = logged
    progress = StreamProgress("prospects", logger, lambda: 0, clock=lambda: now[0],
                              every=30)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    bound = datetime(2025, 1, 11, tzinfo=timezone.utc)
    progress.start("query", "sync_mode query requested", start, bound, ordered=True)
    assert handler.lines[0] == (
        "Stream prospects: query mode (sync_mode query requested); changes from "
        "2025-01-01 00:00:00 UTC to 2025-01-11 00:00:00 UTC (10 days; bound: Pardot's "
        "clock less 2 min; newer changes next run)")
    now[0] = 60
    progress.record("2025-01-03T00:00:00+00:00")  # a fifth of the range in a minute
    assert handler.lines[1] == ("Stream prospects: 1 record, 0/s over the run, up to "
                                "2025-01-03 00:00:00 UTC (20% of the range), about "
                                "4 min left")
