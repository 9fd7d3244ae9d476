"""v3/v4 deleted records: a walk of the recycle bin, then the walk of the live records.

A v3/v4 query takes `deleted` as a boolean, on prospects and list memberships only: `true`
returns only the recycle bin, `false` (the default) only live rows, and rows carry no
deleted flag. So, with deleted records wanted, one range [start, end] is walked twice by
the stream's plan (sorted or by id), each record's `is_deleted` set by its walk:

1. the recycle-bin walk (`deleted=true`), first. It leaves the bookmark at `start`; its
   progress is the state key `deleted_walk` (below). A run whose bookmark is its `start`
   resumes it, with its `end`; any other run begins a new one.
2. the live walk (no `deleted`), over the same range, moving the bookmark as a single walk
   would. A run whose bookmark lies in a read recycle-bin walk's [start, end] resumes the
   live walk alone, with that `end`.

Once the live walk reaches `end`, the bookmark is end + 1 s and `deleted_walk` is removed.

`deleted_walk`: {"start", "end": the range (ISO, UTC), "done": the recycle bin is read,
"walk": the recycle-bin walk's own progress (`Plan.progress()`)}.

Both walks read the whole range, and no walk emits a record twice. Nothing is lost as long
as moving a record into or out of the recycle bin stamps its `updated_at` (incremental sync
of deletions relies on that on v5 too): the move then lies after `end`, for the next run.
A record moved between the two walks without such a stamp can be emitted by both (restored:
deleted, then live) or, deleted, by neither until its next change.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from tap_pardot.query.plan import Plan, PlanStream
from tap_pardot.times import SECOND, iso, parse_utc

if t.TYPE_CHECKING:
    import requests

    from tap_pardot.query.idwalk import IdWalkPlan
    from tap_pardot.query.v3 import V3SortedPlan

KEY = "deleted_walk"


def resumable(saved: t.Mapping[str, t.Any], start: dt.datetime) -> bool:
    """Whether a saved `deleted_walk` is for a run from `start`: a recycle-bin walk from
    there, or a read one whose range holds it (the live walk has moved the bookmark)."""
    if not (saved.get("start") and saved.get("end")):
        return False
    lo, hi = parse_utc(saved["start"]), parse_utc(saved["end"])
    return lo <= start <= hi if saved.get("done") else lo == start


class RecycleBinThenLive:
    """Drives the recycle-bin walk, then the live walk (each a `kind` plan)."""

    def __init__(self, kind: type[V3SortedPlan | IdWalkPlan], stream: PlanStream,
                 start: dt.datetime,
                 tie_id: int | None, *, end: dt.datetime | None = None) -> None:
        """`end`: the range's bound if not the run's (an export window's)."""
        self.stream = stream
        self.start = start
        saved = stream.stream_state.get(KEY) or {}
        if not resumable(saved, start):
            saved = {}
        if saved:  # its range, or the part of it a split chose (query/split.py)
            end = parse_utc(saved["end"]) if end is None else min(end, parse_utc(saved["end"]))
        self.bin: Plan | None = None
        if not saved.get("done"):
            self.bin = kind(stream, start, tie_id, recycle_bin=True, end=end,
                            saved=saved.get("walk"))
            end = self.bin.end
        self.live = kind(stream, start, tie_id, end=end)
        self.end = self.live.end
        if self.bin is not None and self.bin.start > self.bin.end:
            self.bin = None  # a resumed walk already past a bound moved back (end_date)
        self.current = self.bin or self.live
        self.reading = self.current  # the walk of the page being consumed

    def first(self) -> dict[str, t.Any]:
        return self.current.first()

    def request_span(self) -> tuple[dt.datetime, dt.datetime] | None:
        return self.current.request_span()

    def records(self, response: requests.Response) -> t.Iterator[dict[str, t.Any]]:
        self.reading = self.current
        return self.current.records(response)

    def next(self, response: requests.Response) -> dict[str, t.Any] | None:
        token = self.current.next(response)
        if token is None and self.current is self.bin:
            self.current = self.live  # the recycle bin is read: on to the live records
            return self.live.first()
        return token

    def checkpoint(self) -> None:
        """After a page: the recycle-bin walk's progress, or the live walk's checkpoint."""
        if self.bin is None or self.reading is not self.bin:
            self.live.checkpoint()
            return
        walk = {"start": iso(self.start), "end": iso(self.end),
                "done": self.current is self.live, "walk": self.bin.progress()}
        self.stream.checkpoint(extra={KEY: walk})

    def finish(self) -> None:
        """Both walks are read: the bookmark is the bound, the walk state is dropped."""
        extra = {**(self.live.finish_extra() or {}), KEY: None}
        self.stream.checkpoint(self.live.end + SECOND, extra=extra)
