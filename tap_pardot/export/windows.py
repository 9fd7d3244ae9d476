"""Export date windows (newest first, growing), the poll schedule, and naive CSV times.

A backfill is cut newest first, as seed 000 (bulk data pull) advises: the last month, the
three months before, the eight before, then a year per export (the API's maximum), each at
most `export_window_days`. So the newest month lands after the first export, and three years
take about five exports.

A window is the half-open UTC range ``[start, end)`` of whole seconds. Pardot's export bounds
are exclusive (inclusive before May 2020), so it is sent as ``after = start - 1s`` and
``before = end``: whichever reading the server uses, every record with
``start <= updated_at < end`` is inside, and the rows of a neighbour's edge seconds that an
inclusive reading adds are dropped by the reader. Neighbouring windows share their edge.

Export CSVs carry naive times in the account timezone. At a DST fall-back the local hour
repeats, so a naive time there has two UTC readings, one hour apart. Windows are cut around
each fall-back so that no window (with the slack second below it) spans a whole repeated
hour: inside any window at most one of the two readings is possible, and the converter, given
the window's bounds, picks it (`RecordConverter.convert(..., window=(after, before))`).
"""

from __future__ import annotations

import math
import statistics
import typing as t
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from tap_pardot.times import SECOND, guard_cuts, iso

if t.TYPE_CHECKING:
    from collections.abc import Iterator

SLACK = SECOND  # the second added below a window, read inclusively
# The range sent (window plus a slack second each side) must not exceed one year.
MAX_WINDOW = timedelta(days=365) - 2 * SLACK


@dataclass(frozen=True)
class Window:
    """A half-open UTC range ``[start, end)`` of the window field (``updated_at``)."""

    start: datetime
    end: datetime

    @property
    def after(self) -> datetime:
        """The exclusive lower bound sent to Pardot."""
        return self.start - SLACK

    @property
    def before(self) -> datetime:
        """The exclusive upper bound sent to Pardot."""
        return self.end

    def label(self) -> str:
        """Human-readable range for logs."""
        return f"{iso(self.start)} to {iso(self.end)}"


def poll_wait(n: int, unit: float) -> float:
    """Seconds to wait before the n-th poll (n from 0): ``unit * ceil(n²/5 + 1)``."""
    return unit * math.ceil((n * n + 5) / 5)


QUICK_POLL = 3.0  # seconds before the first poll: a small export is often done by then


def poll_delays(unit: float, expected: float | None = None) -> Iterator[float]:
    """The waits before each poll of one export.

    A quick first look (`QUICK_POLL`, or `unit` if shorter); then, when this account's
    recent exports tell how long this one should take (`expected`, seconds), a wait until
    about then, with the unit shortened to a quarter of it for exports that finish fast
    (never below the quick poll); then seed 000's growing schedule
    ``unit * ceil(n²/5 + 1)``. Without experience that is the plain schedule.
    """
    quick = min(QUICK_POLL, unit)
    yield quick
    elapsed, n = quick, (1 if quick == unit else 0)
    if expected is not None and expected > 0:
        unit = min(unit, max(QUICK_POLL, expected / 4))
        if expected * 1.1 > elapsed + unit:
            yield expected * 1.1 - elapsed
            n = 1
    while True:
        yield poll_wait(n, unit)
        n += 1


def expected_seconds(history: list[t.Any], days: float) -> float | None:
    """How long an export of `days` days should take, from recent ones (`[seconds, hours]`
    pairs, Pardot's createdAt to its last updatedAt, and the window's length). None without
    history.

    An export's time is a fixed part (the queue, the set-up) and a part that grows with its
    window: fitted as `a + b * days` where the windows' lengths differ (a month after an
    hour-long DST window must not be expected to take 720 times as long), else taken as
    proportional (all windows alike: their median seconds per day).
    """
    pairs = []
    for item in history:
        try:
            seconds, span = float(item[0]), max(float(item[1]) / 24, 1 / 24)
        except (TypeError, ValueError, IndexError):
            continue
        if seconds >= 0:
            pairs.append((seconds, span))
    if not pairs:
        return None
    days = max(days, 1 / 24)
    spans = [span for _, span in pairs]
    if max(spans) < 2 * min(spans):
        return statistics.median(seconds / span for seconds, span in pairs) * days
    mean_d = statistics.fmean(spans)
    mean_s = statistics.fmean(seconds for seconds, _ in pairs)
    var = sum((d - mean_d) ** 2 for d in spans)
    slope = max(0.0, sum((d - mean_d) * (s - mean_s) for s, d in pairs) / var)
    fixed = mean_s - slope * mean_d
    if fixed < 0:  # through the origin
        fixed, slope = 0.0, sum(s * d for s, d in pairs) / sum(d * d for d in spans)
    return fixed + slope * days


# Seed 000's growing ranges: the last month, the three months before, the eight before;
# then a year each (MAX_WINDOW).
GROWTH = (timedelta(days=31), timedelta(days=92), timedelta(days=242))
TAIL = timedelta(days=31)  # a tail shorter than this joins the last growth step


def plan_windows(ranges: list[tuple[datetime, datetime]], days: int,
                 tz: tzinfo) -> list[Window]:
    """Windows over `ranges` (half-open, disjoint), newest first, growing (GROWTH, then a
    year), each at most `days` days. A window holding a DST fall-back stops at it, and the
    hour around it is a window of its own (see the module doc); it does not count as a
    growth step."""
    cap = min(timedelta(days=max(1, int(days))), MAX_WINDOW)
    windows: list[Window] = []
    step = 0
    for lo, hi in sorted(ranges, reverse=True):
        cursor = hi
        while cursor > lo:
            width = min(GROWTH[step] if step < len(GROWTH) else MAX_WINDOW, cap)
            start = max(lo, cursor - width)
            if step == len(GROWTH) - 1 and start > lo:
                # The last growth step takes a short tail the year windows would leave
                # (a leap day: three years are a day more than three of MAX_WINDOW).
                tail = (start - lo) % MAX_WINDOW
                if tail < TAIL and start - tail - cursor >= -cap:
                    start -= tail
            if start - lo <= SLACK:  # no export for a second: the window takes it
                start = lo
            cuts = guard_cuts(tz, start, cursor)
            if cuts:
                start = cuts[-1]
            if cursor - start > timedelta(days=1):
                step += 1
            windows.append(Window(start, cursor))
            cursor = start
    return windows
