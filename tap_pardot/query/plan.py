"""The query-sync plan: the base every paging plan shares, and the helpers they use.

A plan yields records in an order that makes a safe bookmark at each page end, and
restarts from the high-water mark (hwm) instead of trusting a page token or an offset.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from tap_pardot.client import PardotAPIError, response_json
from tap_pardot.convert import snake_to_camel
from tap_pardot.times import SECOND, parse_utc

if t.TYPE_CHECKING:
    import logging

    import requests

    from tap_pardot.convert import RecordConverter
    from tap_pardot.settings import Settings


class PlanStream(t.Protocol):
    """What a plan reads of its stream (QueryStream provides it)."""

    @property
    def name(self) -> str: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def logger(self) -> logging.Logger: ...
    @property
    def stream_state(self) -> dict[str, t.Any]: ...
    @property
    def converter(self) -> RecordConverter: ...
    def fetch_converter(self) -> RecordConverter: ...
    def check_timezone(self, raw: t.Any, where: str) -> None: ...
    def read_bound(self) -> dt.datetime: ...
    @property
    def api_version(self) -> int: ...
    @property
    def deletable(self) -> bool: ...
    @property
    def v5_fields(self) -> str: ...
    @property
    def v3_params(self) -> t.Mapping[str, t.Any]: ...
    @property
    def v3_collection(self) -> str: ...
    @property
    def v3_deleted(self) -> bool: ...
    @property
    def replication_key(self) -> str | None: ...

    def checkpoint(
        self, bookmark: str | dt.datetime | None = None, *, tie_id: int | None = None,
        extra: dict[str, t.Any] | None = None,
    ) -> None: ...

    def window_progress(self) -> tuple[bool, dt.datetime | None]: ...


def replication_key(stream: t.Any) -> str:
    """`updated_at`, or `created_at` / `sent_at` for objects that are never updated."""
    return getattr(stream, "replication_key", None) or "updated_at"


def wants_deleted(stream: PlanStream) -> bool:
    """Whether deleted (recycle-bin) records are to be read for this stream."""
    return stream.deletable and stream.settings.include_deleted


def v3_recycle_bin(stream: PlanStream) -> bool:
    """Whether a v3/v4 stream reads its recycle bin (a second walk, `deleted=true`)."""
    return stream.v3_deleted and wants_deleted(stream)


def v5_rows(body: t.Any) -> list[dict[str, t.Any]]:
    """The records of a v5 reply: `values`, absent or null on an empty one."""
    if not isinstance(body, dict):
        raise PardotAPIError(f"unexpected v5 reply, not an object: {str(body)[:80]!r}")
    return list(body.get("values") or [])


def v3_rows(body: t.Any, collection: str) -> list[dict[str, t.Any]]:
    """The records of a v3/v4 bulk reply: a list, one object, an absent key or null."""
    if not isinstance(body, dict) or not ({"result", "@attributes"} & body.keys()):
        raise PardotAPIError(f"unexpected v3/v4 reply, no `result`: {str(body)[:80]!r}")
    result = body.get("result")
    if not isinstance(result, dict):
        return []
    rows = result.get(collection)
    if rows is None:
        return []
    return [rows] if isinstance(rows, dict) else list(rows)


class Plan:
    """The requests of one query sync and the high-water mark of what it emitted.

    `recycle_bin`: this walk reads only deleted records (v3/v4 `deleted=true`; see
    query_deleted). `end`: a bound kept from an earlier run (no later than this run's).
    The plans a recycle-bin walk uses (V3SortedPlan, IdWalkPlan) also take `saved`: what
    `progress()` returned, to resume a walk that does not move the bookmark.
    """

    v5: bool  # v5 JSON replies (`values`), else v3/v4 bulk ones

    def __init__(self, stream: PlanStream, start: dt.datetime, tie_id: int | None, *,
                 recycle_bin: bool = False, end: dt.datetime | None = None) -> None:
        self.stream = stream
        self.start = start
        self.end = stream.read_bound() if end is None else min(end, stream.read_bound())
        self.recycle_bin = recycle_bin
        self.limit = stream.settings.page_size
        self.hwm = start
        self.hwm_id = tie_id
        self.emitted_since_restart = 0
        self.seq = 0
        self.page_rows = 0
        self.last_raw_id: int | None = None
        # Fixed for the plan: a refused field fails the first request, and a new plan starts.
        self.convert = stream.fetch_converter().convert

    # Called by the paginator
    def first(self) -> dict[str, t.Any]:
        """The first request's token."""
        return self.token(self.plan_params())

    def next(self, response: requests.Response) -> dict[str, t.Any] | None:
        """The next request's token after `response`, or None when done."""
        raise NotImplementedError

    def checkpoint(self) -> None:
        """Write a resumable bookmark for everything emitted so far."""
        self.stream.checkpoint(self.hwm, tie_id=self.hwm_id)

    def finish(self) -> None:
        """The whole range is read: the bookmark is its bound, so the next run starts right
        after it (no record sent twice, none stamped later missed). A stream without a
        replication key (read whole every run) keeps no bookmark."""
        if self.stream.replication_key:
            self.stream.checkpoint(self.end + SECOND, extra=self.finish_extra())

    def finish_extra(self) -> dict[str, t.Any] | None:
        """State keys to clear when the range is read."""
        return None

    def token(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        self.seq += 1
        return {"params": params, "seq": self.seq}

    # The requests
    def plan_params(self) -> dict[str, t.Any]:
        """Params of the request for where the plan stands."""
        raise NotImplementedError

    def base_params(self) -> dict[str, t.Any]:
        """What every request of the walk sends: v5 the selected fields, v3/v4 bulk output
        and the stream's own params; the page size, and `deleted` (with_deleted)."""
        if self.v5:
            return self.with_deleted({"fields": self.stream.v5_fields, "limit": self.limit})
        return self.with_deleted({"format": "json", "output": "bulk", "limit": self.limit,
                                  **self.stream.v3_params})

    def request_span(self) -> tuple[dt.datetime, dt.datetime] | None:
        """[lo, hi]: the rest of the time range the next request reads, for a split when it
        times out (query/split.py); None where the plan walks no time range (by id)."""
        return None

    def progress(self) -> dict[str, t.Any]:
        """The resumable state of this walk when it does not move the bookmark."""
        raise NotImplementedError

    def with_deleted(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        """`deleted`: v5 `all` where the object has a recycle bin and deleted records are
        wanted; v3/v4 `true` on a recycle-bin walk, else nothing (v3/v4 take no `all`)."""
        if self.recycle_bin:
            params["deleted"] = "true"
        elif self.v5 and wants_deleted(self.stream):
            params["deleted"] = "all"
        return params

    # Called per response
    def rows(self, response: requests.Response) -> list[dict[str, t.Any]]:
        body = response_json(response)
        return v5_rows(body) if self.v5 else v3_rows(body, self.stream.v3_collection)

    def records(self, response: requests.Response) -> t.Iterator[dict[str, t.Any]]:
        rows = self.rows(response)
        self.page_rows = len(rows)
        self.last_raw_id = None
        convert, window = self.convert, self.window()  # the same for the whole page
        rkey = replication_key(self.stream)
        if rows and self.v5:
            self.stream.check_timezone(rows[0].get(snake_to_camel(rkey)), f"a record's {rkey}")
        # v3/v4 rows carry no deleted flag: the walk a record came from is its flag.
        flag = not self.v5 and self.stream.v3_deleted
        for row in rows:
            record = convert(row, window=window)
            if flag and "is_deleted" in record:  # a fetched property
                record["is_deleted"] = self.recycle_bin
            self.last_raw_id = record["id"]
            updated = parse_utc(record[rkey]) if record.get(rkey) else None
            if self.keep(record, updated):
                self.emitted_since_restart += 1
                yield record

    def window(self) -> tuple[dt.datetime | None, dt.datetime | None] | None:
        return None

    def keep(self, record: dict[str, t.Any], updated: dt.datetime | None) -> bool:
        raise NotImplementedError
