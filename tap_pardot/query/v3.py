"""v3/v4 query paging, `sort_by=updated_at` (ties in no defined order).

Each page is a new query from the hwm second inclusive, skipping the ids already emitted in
that second; a clump larger than a page is walked by id with `id_greater_than` inside the
hwm second. A checkpoint there saves the last id as the tie id, and once the second is read
whole the bookmark is the next second: a resumed walk goes on, whatever its page budget.

v3/v4 times are naive local times: at a DST fall-back one local time names two instants.
Around each fall-back the walk is cut into segments (`fold_cuts`) whose requests cannot
return both, so each record's time is the one instant its request allows. The sorted walk
cuts lazily: only once it meets a repeated local time (most objects have none).
"""

from __future__ import annotations

import datetime as dt
import typing as t

from typing_extensions import override

from tap_pardot.client import PardotAPIError
from tap_pardot.query.plan import Plan, PlanStream, replication_key
from tap_pardot.times import SECOND, fold_cuts, iso, parse_utc, repeated_spans, segments, span_cuts

if t.TYPE_CHECKING:
    import requests


class V3SortedPlan(Plan):
    """v3/v4 objects sortable by updated_at: one query per page from the hwm second."""

    v5 = False

    def __init__(self, stream: PlanStream, start: dt.datetime, tie_id: int | None, *,
                 saved: t.Mapping[str, t.Any] | None = None, **kwargs: t.Any) -> None:
        if saved and saved.get("hwm"):  # a resumed walk goes on from its mark
            start, tie_id = parse_utc(saved["hwm"]), saved.get("tie_id")
        super().__init__(stream, start, tie_id, **kwargs)
        self.seen: set[int] = set()
        # Walking the hwm second by id, after this id; from the start with a tie id (the
        # start second's records up to it are emitted).
        self.clump_after: int | None = tie_id
        self.clump_done_at: dt.datetime | None = None
        self.exclusive = False  # the hwm second is complete: query strictly after it
        self.inclusive_bounds = False  # Pardot's bounds are exclusive since 2020; detected
        # DST fall-backs: the walk reads [floor, end] whole (`lazy`) until it meets a local
        # time the zone repeats that the request's bounds cannot place; then it walks that
        # span in segments up to its last cut, and on from there lazily again (the bounds
        # then exclude the span's first occurrence).
        tz = stream.converter.tz
        self.repeated = repeated_spans(tz, start, self.end)
        self.cuts = fold_cuts(tz, start, self.end)
        self.floor = start
        self.lazy = True
        self.segments = [(start, self.end)]
        self.segment = 0
        self.at_fold: int | None = None  # the span met on this page
        self.past_range = False  # a page reached past the range: all of the range is read
        self.bounds: tuple[dt.datetime, dt.datetime] = (start - SECOND, self.end + SECOND)
        span = self.unplaced(start, start - SECOND)
        if span is not None:
            self.enter_span(span)

    def unplaced(self, instant: dt.datetime, after: dt.datetime) -> int | None:
        """The repeated span of `instant` if bounds from `after` on could hold both its
        readings (the span's first occurrence ends at its middle, the fall-back)."""
        for k, (a, b) in enumerate(self.repeated):
            if a <= instant < b and after < a + (b - a) / 2:
                return k
        return None

    def enter_span(self, k: int) -> None:
        """Walk span k in segments up to its last cut; the lazy walk resumes there."""
        a, b = self.repeated[k]
        last_cut = span_cuts(a, b)[1]
        lo, hi = max(a, self.floor), min(last_cut - SECOND, self.end)
        self.floor = max(self.floor, last_cut)
        if lo <= hi:
            self.lazy, self.segment = False, 0
            self.segments = segments(lo, hi, self.cuts)

    @override
    def plan_params(self) -> dict[str, t.Any]:
        params = self.base_params()
        rkey = replication_key(self.stream)  # updated_at (created_at for immutable objects)
        stem = rkey.removesuffix("_at")
        if self.clump_after is not None:
            self.bounds = (self.hwm - SECOND, self.hwm + SECOND)
            params.update({f"{stem}_after": iso(self.hwm - SECOND),
                           f"{stem}_before": iso(self.hwm + SECOND),
                           "id_greater_than": self.clump_after,
                           "sort_by": "id", "sort_order": "ascending"})
            return params
        lo, hi = self.current()
        if self.exclusive:
            after = self.hwm + SECOND if self.inclusive_bounds else self.hwm
        else:
            after = self.hwm - SECOND
        self.bounds = (max(after, lo - SECOND), hi + SECOND)
        params[f"{stem}_after"] = iso(self.bounds[0])
        params[f"{stem}_before"] = iso(self.bounds[1])
        params.update({"sort_by": rkey, "sort_order": "ascending"})
        return params

    def current(self) -> tuple[dt.datetime, dt.datetime]:
        """The range being walked: the rest of it, or a segment of a repeated span."""
        return (self.floor, self.end) if self.lazy else self.segments[self.segment]

    @override
    def request_span(self) -> tuple[dt.datetime, dt.datetime]:
        # The walk of the hwm second by id is one second; else the rest of the range (of
        # the segment being walked, around a DST fall-back).
        if self.clump_after is not None:
            return self.hwm, self.hwm
        lo, hi = self.current()
        return max(lo, self.hwm), hi

    @override
    def window(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        # The request's bounds, read inclusively: within a segment they hold at most one
        # instant of any local time, so a time repeated at a DST fall-back is that one.
        return self.bounds

    @override
    def keep(self, record: dict[str, t.Any], updated: dt.datetime | None) -> bool:
        lo, hi = self.current()
        if updated is None or updated < lo:
            return False  # inclusive bounds: the previous segment's
        rid = record["id"]
        if self.clump_after is not None and updated != self.hwm:
            return False  # inclusive bounds: the neighbours of the clump second come later
        if updated > hi:
            # Rows come in time order: every row of the range came before this one.
            self.past_range = True
            return False
        if updated < self.hwm or (updated == self.hwm and (
            rid in self.seen or (self.hwm_id is not None and rid <= self.hwm_id)
        )):
            return False
        if self.lazy and self.at_fold is None:
            self.at_fold = self.unplaced(updated, self.bounds[0])
        if self.lazy and self.at_fold is not None:
            # A repeated local time (records come in time order, so all earlier ones are
            # read): it and the rest of the page are read again in segments.
            return False
        if updated > self.hwm:
            self.hwm, self.hwm_id, self.seen = updated, None, {rid}
            self.exclusive = False
        else:
            self.seen.add(rid)
        return True

    def mark(self) -> tuple[dt.datetime, int | None]:
        """(bookmark, tie id) for what is emitted: past the hwm second once it is read
        whole; else in it, after the ids its walk by id has read (none otherwise: ties
        come in no defined order, so a resumed walk reads the second again)."""
        if self.exclusive:
            return self.hwm + SECOND, None
        return self.hwm, self.clump_after or None

    @override
    def checkpoint(self) -> None:
        bookmark, tie_id = self.mark()
        self.stream.checkpoint(bookmark, tie_id=tie_id)

    @override
    def progress(self) -> dict[str, t.Any]:
        bookmark, tie_id = self.mark()
        return {"hwm": iso(bookmark), "tie_id": tie_id}

    @override
    def next(self, response: requests.Response) -> dict[str, t.Any] | None:
        full = self.page_rows >= self.limit
        if self.clump_after is not None:
            if full and self.last_raw_id is not None:
                self.clump_after = self.last_raw_id
            else:
                self.clump_after, self.exclusive, self.clump_done_at = None, True, self.hwm
            return self.token(self.plan_params())
        if self.at_fold is not None:
            self.enter_span(self.at_fold)
            self.at_fold, self.past_range, self.emitted_since_restart = None, False, 0
            return self.token(self.plan_params())
        if not full or self.past_range or (self.exclusive and self.hwm >= self.current()[1]):
            # The range is read: on to the next segment, or past the span, or done.
            self.past_range, self.emitted_since_restart = False, 0
            if not self.lazy and self.segment + 1 < len(self.segments):
                self.segment += 1
            elif not self.lazy and self.floor <= self.end:
                self.lazy = True
            else:
                return None
            return self.token(self.plan_params())
        if self.emitted_since_restart == 0:
            if self.clump_done_at == self.hwm and self.exclusive:
                if self.inclusive_bounds:
                    msg = f"{self.stream.name}: a query made no progress at {self.hwm}"
                    raise PardotAPIError(msg)
                self.inclusive_bounds = True  # `updated_after` included the hwm second
            else:
                self.clump_after = 0  # a page full of the hwm second: walk it by id
        self.emitted_since_restart = 0
        return self.token(self.plan_params())
