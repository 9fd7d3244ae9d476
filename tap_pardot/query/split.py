"""Query ranges that time out: read in halves, and remember the size that worked.

Pardot's query can time out on a long range (a far `start_date`, a busy account): v5 answers
504 (airbyte#56366, #74886), v3/v4 a timeout (pardot/api-docs#174), and Pardot's error list
has 214 `API request timed out.`. The same request would time out again, so a timed-out
query of a range longer than one second is not retried: the walk goes on from its last
checkpoint over the first half of the rest of its range (`RangeTimedOut`), then the next
range of that size, doubling after each one read while no larger size failed this run. A
one-second request (a walk inside one second) cannot be split: it gets the usual retries,
then the stream fails (exit 1) with its state saved, and the next run resumes there.

A v3/v4 walk by id (visitors, visitor activities) reads its range by id; split, it reads
the smaller range from its first id again, so records it sent from that range are sent again
(never lost).

State key `query_span_seconds` (per stream, an int): the length of the last range read whole
after a split; a run starts its ranges at that size (and doubles from there). Absent until a
query timed out.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_pardot.client import pardot_error
from tap_pardot.state import tie_id
from tap_pardot.times import SECOND, parse_utc

if t.TYPE_CHECKING:
    from tap_pardot.query.plan import PlanStream

KEY = "query_span_seconds"
TIMEOUT_CODES = frozenset({214})  # `API request timed out.`
TIMEOUT_STATUSES = frozenset({500, 502, 503, 504})


class RangeTimedOut(Exception):
    """A query of a splittable range timed out (not retried: the range is halved)."""


def timed_out(exc: BaseException) -> bool:
    """Whether a failed request is a timeout: 5xx, error 214, or no reply in time."""
    if isinstance(exc, requests.exceptions.Timeout):
        return True
    response = getattr(exc, "response", None)
    if not isinstance(exc, RetriableAPIError) or response is None:
        return False
    return (response.status_code in TIMEOUT_STATUSES
            or pardot_error(response)[0] in TIMEOUT_CODES)


def saved_size(stream: PlanStream) -> dt.timedelta | None:
    """The size kept in state, or None (absent or unreadable: ranges are read whole)."""
    value = stream.stream_state.get(KEY)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return dt.timedelta(seconds=value)
    return None


class Splitter:
    """The range size of one stream's query walks in this run."""

    def __init__(self, stream: PlanStream) -> None:
        self.stream = stream
        self.size = saved_size(stream)  # None: the whole rest of the range
        self.failed: dt.timedelta | None = None  # the smallest size that timed out

    def end(self, start: dt.datetime, bound: dt.datetime) -> dt.datetime:
        """The end (inclusive) of the range to read from `start` up to `bound`."""
        return bound if self.size is None else min(bound, start + self.size - SECOND)

    def halve(self, lo: dt.datetime, hi: dt.datetime, why: BaseException) -> None:
        """The request for [lo, hi] timed out: read half of it next."""
        whole = hi - lo + SECOND
        self.size = max(SECOND, dt.timedelta(seconds=whole.total_seconds() // 2))
        self.failed = whole if self.failed is None else min(self.failed, whole)
        self.stream.logger.warning(
            "Stream %s: a query of %s to %s timed out (%s); reading %d s at a time",
            self.stream.name, lo.isoformat(), hi.isoformat(), str(why)[:120],
            self.size.total_seconds())

    def read(self, start: dt.datetime, end: dt.datetime) -> None:
        """[start, end] was read whole after a split: keep its size, try twice that next."""
        if self.size is None:
            return
        worked = end - start + SECOND
        self.stream.checkpoint(extra={KEY: int(worked.total_seconds())})
        grown = 2 * worked if self.failed is None else min(2 * worked, self.failed / 2)
        self.size = max(worked, dt.timedelta(seconds=int(grown.total_seconds())))


def checkpointed(stream: PlanStream, floor: dt.datetime) -> tuple[dt.datetime, int | None]:
    """Where the walk stands by its last checkpoint in this run (not before `floor`, where
    the walk began): the bookmark, and the id of its second already emitted. (The SDK's
    starting value, which `resume_point` reads, is fixed when the stream starts.) Inside an
    export window read through the query API, the window's own last checkpoint: the
    stream's bookmark is then the backfill's, not the walk's."""
    inside, at = stream.window_progress()
    if inside:
        return (at if at is not None and at > floor else floor), None
    state = stream.stream_state
    value = state.get("replication_key_value")
    bookmark = parse_utc(value) if value else floor
    if bookmark < floor:
        return floor, None
    return bookmark, tie_id(state)
