"""Query paging by id, for objects that cannot be filtered or sorted by `updated_at`.

v5 prospect accounts and several v3/v4 objects are walked by id, filtering on `updated_at`
client-side; the bookmark moves only when the walk is complete (an interrupted walk resumes
by id from the state). v3/v4 campaigns, whose records hold no time, are read whole
(`FullTablePlan`).
"""

from __future__ import annotations

import typing as t

from typing_extensions import override

from tap_pardot.query.plan import Plan, PlanStream, replication_key
from tap_pardot.times import SECOND, fold_cuts, iso, parse_utc, repeated_spans, segments

if t.TYPE_CHECKING:
    import datetime as dt

    import requests


class IdPagedPlan(Plan):
    """A walk in id order: each page after the last id the previous one held."""

    def __init__(self, stream: PlanStream, start: dt.datetime, tie_id: int | None,
                 **kwargs: t.Any) -> None:
        super().__init__(stream, start, tie_id, **kwargs)
        self.v5 = stream.api_version == 5
        self.after_id = 0

    @override
    def plan_params(self) -> dict[str, t.Any]:
        params = self.base_params()
        if self.v5:
            params["orderBy"] = "id ASC"
            if self.after_id:
                params["idGreaterThan"] = self.after_id
        else:
            params.update({"sort_by": "id", "sort_order": "ascending"})
            if self.after_id:
                params["id_greater_than"] = self.after_id
        return params

    def next_page(self) -> dict[str, t.Any] | None:
        """The next page's token if this one was full, else None."""
        if self.page_rows >= self.limit and self.last_raw_id is not None:
            self.after_id = self.last_raw_id
            return self.token(self.plan_params())
        return None


class IdWalkPlan(IdPagedPlan):
    """Objects without an updated_at sort: walk all ids, keep records updated since start.

    On v3/v4 (naive times) a first walk over the whole range keeps the records whose local
    time is not repeated at a DST fall-back; only where it met repeated times, the fall-back's
    span is walked again in segments (`fold_cuts`) whose UTC bounds tell which occurrence a
    repeated local time is.
    """

    LAYOUT = "whole-then-folds"  # what `segment` in a saved walk means

    def __init__(self, stream: PlanStream, start: dt.datetime, tie_id: int | None, *,
                 saved: t.Mapping[str, t.Any] | None = None, **kwargs: t.Any) -> None:
        super().__init__(stream, start, tie_id, **kwargs)
        # The walk so far, if it is for this start: `saved` for a recycle-bin walk (its
        # state is kept by query_deleted), else the `id_walk` state.
        walk = (saved if self.recycle_bin else stream.stream_state.get("id_walk")) or {}
        if walk.get("start") != iso(start) or (not self.v5 and walk.get("layout") != self.LAYOUT):
            walk = {}
        if walk.get("end"):  # a resumed walk keeps its bound: its pages read so far used it
            self.end = min(self.end, parse_utc(walk["end"]))
        # Segment 0 is [start, end]; then the segments of each repeated span (v3/v4 only).
        self.segments = [(start, self.end)]
        self.span_of: list[int | None] = [None]
        self.repeated = [] if self.v5 else repeated_spans(stream.converter.tz, start, self.end)
        cuts = fold_cuts(stream.converter.tz, start, self.end) if self.repeated else []
        for k, (a, b) in enumerate(self.repeated):
            lo, hi = max(a, start), min(b - SECOND, self.end)
            if lo <= hi:
                pieces = segments(lo, hi, cuts)
                self.segments += pieces
                self.span_of += [k] * len(pieces)
        self.segment = min(int(walk.get("segment") or 0), len(self.segments) - 1)
        # Spans whose repeated times the first walk met (indices into `repeated`).
        self.needed = {int(k) for k in walk.get("spans") or []}
        self.after_id = int(walk.get("after_id") or 0)

    @override
    def plan_params(self) -> dict[str, t.Any]:
        params = super().plan_params()
        if not self.v5:  # v3/v4: the segment's time filter (v5 has none for these objects)
            lo, hi = self.window()
            stem = replication_key(self.stream).removesuffix("_at")
            params.update({f"{stem}_after": iso(lo), f"{stem}_before": iso(hi)})
        return params

    @override
    def window(self) -> tuple[dt.datetime, dt.datetime]:
        # The segment's bounds as sent (exclusive), which an inclusive reading widens
        # by a second each side: what a response can hold.
        lo, hi = self.segments[self.segment]
        return (lo - SECOND, hi + SECOND)

    @override
    def request_span(self) -> tuple[dt.datetime, dt.datetime] | None:
        # v3/v4 filter the walk by time (the segment's); v5 walks every id.
        return None if self.v5 else self.segments[self.segment]

    @override
    def keep(self, record: dict[str, t.Any], updated: dt.datetime | None) -> bool:
        lo, hi = self.segments[self.segment]
        if updated is None or updated < lo or updated > hi:
            return False  # another segment's: read there
        if self.segment == 0 and self.repeated:
            span = next((k for k, (a, b) in enumerate(self.repeated) if a <= updated < b), None)
            if span is not None:
                self.needed.add(span)  # a repeated local time: read in that span's segments
                return False
        return not (updated == self.start and self.hwm_id is not None
                    and record["id"] <= self.hwm_id)

    @override
    def next(self, response: requests.Response) -> dict[str, t.Any] | None:
        token = self.next_page()
        if token is not None:
            return token
        later = [i for i in range(self.segment + 1, len(self.segments))
                 if self.span_of[i] in self.needed]
        if later:
            self.segment, self.after_id = later[0], 0
            return self.token(self.plan_params())
        return None

    @override
    def progress(self) -> dict[str, t.Any]:
        # The range, where the walk stands (segment, ids read in it) and the repeated
        # spans it met so far.
        return {"start": iso(self.start), "end": iso(self.end), "segment": self.segment,
                "layout": self.LAYOUT, "spans": sorted(self.needed), "after_id": self.after_id}

    @override
    def checkpoint(self) -> None:
        self.stream.checkpoint(extra={"id_walk": self.progress()})

    @override
    def finish_extra(self) -> dict[str, t.Any] | None:
        return {"id_walk": None}


class FullTablePlan(IdPagedPlan):
    """Objects whose records may carry no timestamps: the whole table by id, every run,
    every record kept. v3/v4 campaigns (`id, name, cost`): no `updated_after`, as a record
    changed since the bookmark could not be told from one that was not; read, the bookmark is
    the run's bound (`Plan.finish`). v5 objects without any date (dynamic content
    variations): no replication key, so no bookmark at all.

    The walk keeps no state: interrupted, the next run reads the table again (it is small).
    """

    @override
    def keep(self, record: dict[str, t.Any], updated: dt.datetime | None) -> bool:
        return True

    @override
    def next(self, response: requests.Response) -> dict[str, t.Any] | None:
        return self.next_page()

    @override
    def checkpoint(self) -> None:
        pass  # the bookmark stays until the table is read
