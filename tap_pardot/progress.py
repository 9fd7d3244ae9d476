"""What a person reads in a run's log, in human units: one line per stream as it starts
(mode and why, the range, its bound) and as it ends (records, API calls, time), progress
lines on long work (at most one per `EVERY` seconds: steps done of their total where known,
records, records/s, an ETA), then one line for the run.

    progress = StreamProgress("prospects", logger, calls=lambda: gate.calls)
    progress.start("export", "auto: 66 days to fetch, more than 7 days", start, bound)
    progress.record(record["updated_at"], n)    # n more records; logs progress when due
    progress.files(2, 4, 3, 18)                 # the export path: window 2 of 4, file 3 of 18
    progress.note("export 201940 is Processing")  # what it waits on (None: nothing)
    progress.end("done")
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import typing as t

import yaml

from tap_pardot.clock import SETTLE

EVERY = 30.0  # seconds between progress lines of one stream
DUE_EVERY = 64  # records told to `StreamProgress.record` at once

# The SDK's own lines that the start line says better: at DEBUG instead of INFO.
SDK_START_LINES = ("Beginning sync of '%s' in %s mode",
                   "Starting incremental sync of '%s' with bookmark value: %s")


def metrics_level(config: t.Mapping[str, t.Any]) -> str:
    """The level of the SDK's METRIC lines: the `singer_sdk.metrics` logger's in a
    SINGER_SDK_LOG_CONFIG file, else the `metrics_log_level` setting (WARNING: off)."""
    path = os.environ.get("SINGER_SDK_LOG_CONFIG")
    if path:
        try:
            with open(path, encoding="utf-8") as file:
                loggers = (yaml.safe_load(file) or {}).get("loggers") or {}
            level = (loggers.get("singer_sdk.metrics") or {}).get("level")
        except (OSError, yaml.YAMLError, AttributeError):
            level = None
        if level:
            return str(level).upper()
    return str(config.get("metrics_log_level") or "WARNING").upper()


def duration(seconds: float) -> str:
    """`0.4 s`, `42 s`, `12 min`, `3 h`, `1.5 h`, `66 days`: the unit a person would say."""
    sign, s = ("-" if seconds < 0 else ""), abs(seconds)
    if s < 10:
        text = f"{s:.1f} s"
    elif s < 120:
        text = f"{s:.0f} s"
    elif s < 90 * 60:
        text = f"{s / 60:.0f} min"
    elif s < 36 * 3600:
        hours = s / 3600
        text = f"{hours:.1f} h" if hours < 10 else f"{hours:.0f} h"
    else:
        days = s / 86400
        text = f"{days:.1f} days" if days < 10 else f"{days:.0f} days"
    return sign + text.replace(".0 ", " ")


def span(delta: dt.timedelta) -> str:
    """A time range's length, as `duration`."""
    return duration(delta.total_seconds())


def when(instant: dt.datetime) -> str:
    """`2025-11-20 11:58:00 UTC`."""
    return instant.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def count(n: int) -> str:
    return f"{n:,}"


def plural(n: int, noun: str) -> str:
    """`1 record`, `1,500 records`."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


class QuietSdkLines(logging.Filter):
    """Moves the SDK's start-of-stream lines to DEBUG (the start line says more)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and record.msg in SDK_START_LINES:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def quiet_sdk_lines(logger: logging.Logger) -> None:
    """Install QuietSdkLines on `logger` (once)."""
    if not any(isinstance(f, QuietSdkLines) for f in logger.filters):
        logger.addFilter(QuietSdkLines())


class StreamProgress:
    """One stream's part of the run, as log lines."""

    def __init__(self, name: str, logger: logging.Logger, calls: t.Callable[[], int], *,
                 clock: t.Callable[[], float] = time.monotonic, every: float = EVERY) -> None:
        self.name, self.log, self.calls, self.clock, self.every = name, logger, calls, clock, every
        self.began = self.last = clock()
        self.calls_before = calls()
        self.records = 0
        self.start_at: dt.datetime | None = None
        self.bound: dt.datetime | None = None
        self.ordered = False
        self.stamp: t.Any = None
        self.steps: str | None = None  # "3 of 12 files", "window 2 of 4, file 3 of 18"
        self.part: float | None = None  # the share of the work done, where steps tell it
        self.activity: str | None = None

    def start(self, mode: str, why: str, start: dt.datetime | None = None,
              bound: dt.datetime | None = None, *, end_date: bool = False,
              ordered: bool = False) -> None:
        """The start line; `end_date`: the bound is end_date, not Pardot's clock.
        `ordered`: records come in replication-key order, so the last one's value tells how
        far through the range the stream is (for the ETA)."""
        self.start_at, self.bound, self.ordered = start, bound, ordered
        line = f"Stream {self.name}: {mode} mode ({why})"
        if start is not None and bound is not None:
            by = ("end_date" if end_date else
                  f"Pardot's clock less {span(SETTLE)}; newer changes next run")
            if bound > start:
                line += (f"; changes from {when(start)} to {when(bound)} "
                         f"({span(bound - start)}; bound: {by})")
            else:
                line += f"; nothing new since {when(start)} (bound: {by})"
        self.log.info("%s", line)

    def record(self, stamp: t.Any = None, n: int = 1) -> None:
        """`n` more records, the last one's replication-key value `stamp` (None: unchanged
        where `n` > 1); a progress line when due. A stream tells it every DUE_EVERY records
        (a call per record costs a tenth of an export's CPU)."""
        self.records += n
        if stamp is not None or n == 1:
            self.stamp = stamp
        self._due()

    def step(self, done: int, total: int, unit: str) -> None:
        """Long work in countable steps: `done` of `total` `unit`."""
        self.steps = f"{done} of {total} {unit}"
        self.part = done / total if 0 < done <= total else None
        self._due()

    def files(self, window: int, windows: int, done: int, total: int) -> None:
        """The export path: `done` of `total` files of window `window` (from 1) of
        `windows` downloaded."""
        self.steps = f"window {window} of {windows}, file {done} of {total}"
        share = done / total if total else 1.0
        self.part = (window - 1 + share) / windows if windows else None
        self._due()

    def note(self, activity: str | None) -> None:
        """What the stream waits on now (`export 201940 is Processing`), or None."""
        self.activity = activity
        self._due()

    def _due(self) -> None:
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            self.log.info("%s", self.progress_line(now))

    def fraction(self) -> float | None:
        """How far through the work the stream is (0 to 1), where known."""
        if self.part:
            return min(1.0, self.part)
        if not (self.ordered and self.start_at and self.bound and self.bound > self.start_at):
            return None
        stamp = self.stamp_time()
        if stamp is None:
            return None
        part = (stamp - self.start_at) / (self.bound - self.start_at)
        return part if 0 < part <= 1 else None

    def stamp_time(self) -> dt.datetime | None:
        try:
            stamp = dt.datetime.fromisoformat(str(self.stamp))
        except ValueError:
            return None
        return stamp if stamp.tzinfo is not None else None

    def progress_line(self, now: float) -> str:
        elapsed = max(now - self.began, 1e-9)
        parts = [text for text in (self.activity, self.steps) if text]
        parts.append(f"{plural(self.records, 'record')}, {count(round(self.records / elapsed))}"
                     "/s over the run")
        part = self.fraction()
        if part is not None:
            stamp = self.stamp_time()
            if not self.part and stamp is not None:
                parts.append(f"up to {when(stamp)} ({part:.0%} of the range)")
            parts.append(f"about {duration(elapsed * (1 - part) / part)} left")
        return f"Stream {self.name}: " + ", ".join(parts)

    def end(self, outcome: str = "done") -> None:
        """The end line: `done`, `stopped early` or `failed`."""
        seconds = self.clock() - self.began
        self.log.info("Stream %s: %s in %s: %s, %s", self.name, outcome, duration(seconds),
                      plural(self.records, "record"),
                      plural(self.calls() - self.calls_before, "API call"))


def run_summary(outcome: str, seconds: float, streams: int, records: int, calls: int,
                usage: str) -> str:
    """The run's last line."""
    work = (f"{plural(streams, 'stream')}, {plural(records, 'record')}, "
            if streams else "no stream synced (a discovery, or none selected), ")
    return (f"Run {outcome} in {duration(seconds)}: {work}{plural(calls, 'API call')}; the "
            f"account's daily API usage: {usage}")
