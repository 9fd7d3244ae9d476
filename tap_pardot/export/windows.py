"""Export date windows, the poll schedule, and reading naive CSV times inside a window.

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

import itertools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from tap_pardot.times import SECOND, guard_cuts, iso

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


def cut_windows(start: datetime, end: datetime, days: int, tz: tzinfo) -> list[Window]:
    """Cut ``[start, end]`` into windows of at most ``days`` days (never over a year)."""
    if end <= start:
        return []
    width = min(timedelta(days=max(1, int(days))), MAX_WINDOW)
    windows: list[Window] = []
    edges = [start, *guard_cuts(tz, start, end), end]
    for lo, hi in itertools.pairwise(edges):
        cursor = lo
        while cursor < hi:
            nxt = min(cursor + width, hi)
            if hi - nxt <= SLACK:  # no export for a second: the window takes it (MAX_WINDOW
                nxt = hi  # leaves room for it)
            windows.append(Window(cursor, nxt))
            cursor = nxt
    return windows
