"""The query-sync plan: the base every paging plan shares, and the helpers they use.

A plan yields records in an order that makes a safe bookmark at each page end, and
restarts from the high-water mark (hwm) instead of trusting a page token or an offset.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from tap_pardot.client import PardotAPIError, response_json
from tap_pardot.convert import parse_utc
from tap_pardot.settings import page_size

if t.TYPE_CHECKING:
    import logging

    import requests

    from tap_pardot.convert import RecordConverter

SECOND = dt.timedelta(seconds=1)
SETTLE = dt.timedelta(minutes=2)


class PlanStream(t.Protocol):
    """What a plan reads of its stream (QueryStream provides it)."""

    @property
    def name(self) -> str: ...
    @property
    def config(self) -> t.Mapping[str, t.Any]: ...
    @property
    def logger(self) -> logging.Logger: ...
    @property
    def stream_state(self) -> dict: ...
    @property
    def converter(self) -> RecordConverter: ...
    @property
    def end_date(self) -> dt.datetime | None: ...
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

    def checkpoint(
        self, bookmark: str | dt.datetime | None = None, *, tie_id: int | None = None,
        extra: dict[str, t.Any] | None = None,
    ) -> None: ...


def iso(value: dt.datetime) -> str:
    """ISO 8601 with offset: unambiguous whatever the account's timezone."""
    return value.astimezone(dt.timezone.utc).isoformat()


def replication_key(stream: t.Any) -> str:
    """`updated_at`, or `created_at` / `sent_at` for objects that are never updated."""
    return getattr(stream, "replication_key", None) or "updated_at"


def v5_rows(body: t.Any) -> list[dict]:
    """The records of a v5 reply: `values`, absent or null on an empty one."""
    if not isinstance(body, dict):
        raise PardotAPIError(f"unexpected v5 reply, not an object: {str(body)[:80]!r}")
    return list(body.get("values") or [])


def v3_rows(body: t.Any, collection: str) -> list[dict]:
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
    """The requests of one query sync and the high-water mark of what it emitted."""

    v5: bool  # v5 JSON replies (`values`), else v3/v4 bulk ones

    def __init__(self, stream: PlanStream, start: dt.datetime, tie_id: int | None) -> None:
        self.stream = stream
        self.start = start
        # v5 reads may come from a cache up to 60 s behind: never read (nor bookmark) the
        # last moments, or a record committed late with an earlier updated_at would be lost.
        settled = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - SETTLE
        self.end = min(stream.end_date or settled, settled)
        self.limit = page_size(stream.config)
        self.hwm = start
        self.hwm_id = tie_id
        self.emitted_since_restart = 0
        self.seq = 0
        self.page_rows = 0
        self.last_raw_id: int | None = None

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

    def token(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        self.seq += 1
        return {"params": params, "seq": self.seq}

    # The requests
    def plan_params(self) -> dict[str, t.Any]:
        """Params of the request for where the plan stands."""
        raise NotImplementedError

    def with_deleted(self, params: dict[str, t.Any]) -> dict[str, t.Any]:
        """Ask for deleted records too, where the object has them and they are wanted."""
        if self.stream.deletable and self.stream.config.get("include_deleted", True):
            params["deleted"] = "all"
        return params

    # Called per response
    def rows(self, response: requests.Response) -> list[dict]:
        body = response_json(response)
        return v5_rows(body) if self.v5 else v3_rows(body, self.stream.v3_collection)

    def records(self, response: requests.Response) -> t.Iterator[dict]:
        rows = self.rows(response)
        self.page_rows = len(rows)
        self.last_raw_id = None
        convert = self.stream.converter.convert
        rkey = replication_key(self.stream)
        for row in rows:
            record = convert(row, window=self.window())
            self.last_raw_id = record["id"]
            updated = parse_utc(record[rkey]) if record.get(rkey) else None
            if self.keep(record, updated):
                self.emitted_since_restart += 1
                yield record

    def window(self) -> tuple[dt.datetime | None, dt.datetime | None] | None:
        return None

    def keep(self, record: dict, updated: dt.datetime | None) -> bool:
        raise NotImplementedError
