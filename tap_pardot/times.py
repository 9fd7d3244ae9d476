"""Times: ISO strings, Pardot's times (naive in the API user's zone, or with an offset), and
the one DST rule both sync paths cut their ranges by.

Pardot writes v3/v4 times and export CSV times as naive local times in the API user's
timezone. At a DST fall-back the zone repeats D (an hour) of local time: a naive time there
names two instants. A request whose range holds at most one of them tells which it is, so
both paths cut their ranges around each fall-back (`repeated_spans`): the query walks by
`fold_cuts`, the export windows by `guard_cuts`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import typing as t

UTC = dt.timezone.utc
SECOND = dt.timedelta(seconds=1)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)  # where a stream read whole starts
# The finder steps through time this far at a time: less than the gap between two
# fall-backs of any zone, more than any fold.
_STEP = dt.timedelta(hours=6)


def iso(value: dt.datetime) -> str:
    """ISO 8601 in UTC with an offset, whole seconds (v5 refuses fractions and `Z`)."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_utc(value: str | dt.datetime) -> dt.datetime:
    """An ISO 8601 string or datetime as aware UTC (naive values are taken as UTC)."""
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def server_time(value: t.Any, tz: dt.tzinfo) -> dt.datetime | None:
    """A Pardot time as aware UTC: ISO 8601 with an offset, or naive in `tz`.

    Both `YYYY-MM-DD HH:MM:SS` and `YYYY-MM-DDTHH:MM:SS` (fractions, `Z`, `+0000`
    allowed). A naive time in a repeated hour (DST fall-back) has two readings, one in a
    skipped hour (spring-forward) none: either way the earlier instant is returned, the safe
    side for a bookmark. None or an empty string is None; anything else raises ValueError.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        msg = f"not a time: {value!r}"
        raise TypeError(msg)
    parsed = dt.datetime.fromisoformat(value.strip())
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    return min(parsed.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1))


def fall_backs(tz: dt.tzinfo, start: dt.datetime,
               end: dt.datetime) -> list[tuple[dt.datetime, dt.timedelta]]:
    """(instant, fold): each UTC instant near [start, end] where `tz` turns its clocks back,
    to the second, and how much local time it repeats."""
    found: list[tuple[dt.datetime, dt.timedelta]] = []
    cursor = start - _STEP
    while cursor <= end + _STEP:
        nxt = cursor + _STEP
        before, after = cursor.astimezone(tz).utcoffset(), nxt.astimezone(tz).utcoffset()
        if before is not None and after is not None and after < before:
            lo, hi = cursor, nxt  # offset(lo) == before, offset(hi) == after
            while hi - lo > SECOND:
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if mid.astimezone(tz).utcoffset() == before else (lo, mid)
            found.append((hi.replace(microsecond=0), before - after))
        cursor = nxt
    return found


def repeated_spans(tz: dt.tzinfo, start: dt.datetime,
                   end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """UTC spans [a, b) near [start, end] whose local times `tz` repeats at a fall-back:
    a naive time is ambiguous exactly when one of its readings lies in such a span."""
    return [(instant - fold, instant + fold) for instant, fold
            in fall_backs(tz, start - dt.timedelta(days=1), end + dt.timedelta(days=1))]


def fold_cuts(tz: dt.tzinfo, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Where a query walk over naive local times starts a new segment, in (start, end].

    A segment [lo, hi] is queried with `after = lo - 1s`, `before = hi + 1s`, so whether the
    server reads bounds as exclusive or inclusive it returns instants in [lo - 1s, hi + 1s]
    only. For a fall-back at T repeating D of local time, the cuts T - D/2 and T + D/2 - 2s
    keep every such range within one occurrence of the repeated hour, or shorter than D:
    no two instants it can hold share a local time, so the range tells which one a naive
    time is.
    """
    cuts = {cut for a, b in repeated_spans(tz, start, end) for cut in span_cuts(a, b)
            if start < cut <= end}
    return sorted(cuts)


def span_cuts(a: dt.datetime, b: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The two query cuts of a repeated span [a, b) (fall-back at its middle T, D = T - a)."""
    middle, half = a + (b - a) / 2, (b - a) / 4
    return ((middle - half).replace(microsecond=0),
            (middle + half - 2 * SECOND).replace(microsecond=0))


def guard_cuts(tz: dt.tzinfo, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Where export windows must be cut, in (start, end), so none spans a repeated hour.

    A window [lo, hi) is sent as `after = lo - 1s`, `before = hi`. For a fall-back at T with
    fold D, the window between the cuts T - D/2 and T + D/2 - 3s holds, read inclusively,
    less than D; the windows on either side reach only one of the two occurrences.
    """
    cuts = {cut for instant, fold in fall_backs(tz, start, end)
            for cut in (instant - fold / 2, instant + fold / 2 - 3 * SECOND)
            if start < cut < end}
    return sorted(cuts)


def segments(start: dt.datetime, end: dt.datetime,
             cuts: t.Iterable[dt.datetime]) -> list[tuple[dt.datetime, dt.datetime]]:
    """[start, end] as inclusive whole-second ranges that begin at `start` and each cut."""
    edges = [start, *(c for c in cuts if start < c <= end)]
    return [(lo, nxt - SECOND) for lo, nxt in itertools.pairwise(edges)] + [(edges[-1], end)]
