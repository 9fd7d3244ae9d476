"""Query-based sync: the stream that picks a paging plan, and the paginator that drives it.

Plans (one module each) yield records in an order that makes a safe bookmark at each page
end, and restart from the high-water mark instead of trusting a page token or an offset:
`V5SortedPlan` (v5, nextPageToken paging sorted by updatedAt), `V3SortedPlan` (v3/v4
`output=bulk`, one query per page from the hwm second, DST fall-backs walked in segments),
`IdWalkPlan` (objects that cannot be filtered or sorted by `updated_at`), `FullTablePlan`
(objects without timestamps: v3/v4 `v3_full_table`, v5 streams without a replication key) and
`SingletonPlan` (the v5 account). On v3/v4, deleted prospects and list
memberships are a second walk of the same plan (`RecycleBinThenLive`).
"""

from __future__ import annotations

import typing as t

from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

from tap_pardot.client import PardotAPIError, PardotStream
from tap_pardot.convert import snake_to_camel
from tap_pardot.query.deleted import KEY as DELETED_WALK
from tap_pardot.query.deleted import RecycleBinThenLive
from tap_pardot.query.idwalk import FullTablePlan, IdWalkPlan
from tap_pardot.query.plan import Plan, v3_recycle_bin, wants_deleted
from tap_pardot.query.singleton import SingletonPlan
from tap_pardot.query.split import RangeTimedOut, Splitter, checkpointed, timed_out
from tap_pardot.query.v3 import V3SortedPlan
from tap_pardot.query.v5 import V5SortedPlan
from tap_pardot.times import EPOCH, SECOND, iso

if t.TYPE_CHECKING:
    import datetime as dt

    import requests


class PlanPaginator(BaseAPIPaginator[dict[str, t.Any]]):
    """Drives a Plan from the SDK's request loop; checkpoints once a page is consumed."""

    def __init__(self, plan: Plan | RecycleBinThenLive) -> None:
        super().__init__(plan.first())
        self.plan = plan

    @override
    def get_next(self, response: requests.Response) -> dict[str, t.Any] | None:
        return self.plan.next(response)

    @override
    def advance(self, response: requests.Response) -> None:
        # Runs after the SDK has written every record of the page.
        super().advance(response)
        if self.finished:
            self.plan.finish()
        else:
            self.plan.checkpoint()

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        return True  # a page may hold only already-emitted ties; get_next decides


class QueryStream(PardotStream):
    """Query API paging for one stream (v5 or v3/v4 by `api_version`)."""

    v3_params: t.ClassVar[dict[str, t.Any]] = {}
    _splitting = False  # a query plan's requests are under way (see request_decorator)
    _order_refused = False  # Pardot refused the v5 date filter or sort (see refuse_order)
    _path_refused = False  # the v5 path answered 404: the fallback path (see refuse_path)

    @property
    def v5_fields(self) -> str:
        """`fields` for v5: the selected properties, camelCase (custom fields: fieldId)."""
        return ",".join(self.wire_name(name, 5) for name in self.query_properties)

    def new_plan(self, start: dt.datetime, tie_id: int | None,
                 end: dt.datetime) -> Plan | RecycleBinThenLive:
        """The paging plan for this stream and API version over `[start, end]` (inclusive;
        `tie_id`: the ids of `start`'s second already emitted)."""
        if not self.replication_key:  # read whole every run: no bookmark
            return (SingletonPlan if self.singleton else FullTablePlan)(self, EPOCH, None, end=end)
        if self.api_version == 5:
            kind: type[Plan] = IdWalkPlan if self.v5_walks_by_id else V5SortedPlan
            return kind(self, start, tie_id, end=end)
        if self.v3_full_table:
            return FullTablePlan(self, start, tie_id, end=end)
        kind = IdWalkPlan if self.v3_sort_by == "id" else V3SortedPlan
        if v3_recycle_bin(self):
            return RecycleBinThenLive(kind, self, start, tie_id, end=end)
        return kind(self, start, tie_id, end=end)

    def splits(self) -> bool:
        """Whether this stream's plan reads a time range it can split: not a v5 id walk
        (no time filter) nor a full table."""
        if not self.replication_key:
            return False
        if self.api_version == 5:
            return not self.v5_walks_by_id
        return not self.v3_full_table

    @property
    def v5_walks_by_id(self) -> bool:
        """Whether the v5 query walks ids (no date filter and sort, or one refused)."""
        return self.v5_order == "id" or self._order_refused

    def refuse_order(self, error: PardotAPIError) -> bool:
        """For an object whose date filter and sort are unsure: True, and an id walk from
        now on, if `error` refuses them (51 naming `orderBy` or the date)."""
        key = snake_to_camel(self.replication_key or "")
        text = error.pardot_message
        if (self.api_version != 5 or not self.v5_order_unsure or self.v5_walks_by_id
                or error.code != 51 or ("orderBy" not in text and key not in text)):
            return False
        self._order_refused = True
        self.logger.warning("Stream %s: Pardot refused its %s filter or sort (%s): walked by "
                            "id instead, filtered on %s by the tap", self.name, key, text,
                            self.replication_key)
        return True

    def refuse_path(self, error: PardotAPIError) -> bool:
        """True, and the fallback path from now on, if the v5 path answered 404 and the
        stream declares another (external activities: today's docs and Pardot's 2023
        framework disagree)."""
        if (self.api_version != 5 or not self.v5_path_fallback or error.status != 404
                or self._path_refused):
            return False
        self._path_refused = True
        self.logger.warning("Stream %s: %s answered 404: reading %s instead", self.name,
                            self.v5_url_path(self.v5_path),
                            self.v5_url_path(self.v5_path_fallback))
        return True

    @staticmethod
    def v5_url_path(v5_path: str) -> str:
        """`/api/v5/objects/<v5_path>`, or `/api/v5<v5_path>` for one that starts with `/`."""
        return f"/api/v5{v5_path}" if v5_path.startswith("/") else f"/api/v5/objects/{v5_path}"

    @property
    def path(self) -> str:  # type: ignore[override]  # the SDK has an attribute
        """The query endpoint's path for this API version."""
        if self.api_version == 5:
            return self.v5_url_path(self.v5_path_fallback if self._path_refused
                                    else self.v5_path)
        return f"/api/{self.v3_object}/version/{self.api_version}/do/query"

    @override
    def get_url(self, context: t.Any) -> str:
        return f"{self.url_base}{self.path}"

    @override
    def get_new_paginator(self) -> PlanPaginator:
        return PlanPaginator(self._plan)

    @override
    def get_url_params(self, context: t.Any,
                       next_page_token: dict[str, t.Any] | None) -> dict[str, t.Any]:
        return dict(next_page_token["params"]) if next_page_token else {}

    @override
    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        return self._plan.records(response)

    def query_records(self, context: t.Any, span: tuple[dt.datetime, dt.datetime] | None = None
                      ) -> t.Iterable[dict[str, t.Any]]:
        """All records from the bookmark on, through the query API; with `span`, those of
        exactly that inclusive range, from its start whatever the bookmark (see
        query_window). A range whose query times out is read in parts (query/split.py)."""
        splitter = Splitter(self)
        first: tuple[dt.datetime, int | None] | None = None if span is None else (span[0], None)
        cap: dt.datetime | None = None  # the end a split chose for the next plan
        while True:
            start, tie_id = first or self.resume_point(context)
            bound = self.read_bound() if span is None else min(span[1], self.read_bound())
            end = bound
            if self.splits():
                end = min(bound, cap) if cap is not None else splitter.end(start, bound)
            self._plan = self.new_plan(start, tie_id, end)
            if self._plan.start > self._plan.end:
                self.logger.info("%s: nothing settled to read since %s", self.name,
                                 self._plan.start)
                return
            self._splitting = True
            try:
                yield from self.request_records(context)
            except RangeTimedOut as exc:
                lo, hi = exc.args
                splitter.halve(lo, hi, exc.__cause__ or exc)
                cap = splitter.end(lo, bound)  # half the timed-out rest, from its start
                first = checkpointed(self, self._plan.start)
                if isinstance(self._plan, IdWalkPlan):  # its ids so far were for the range
                    self.checkpoint(extra=self._plan.finish_extra())
                continue
            except PardotAPIError as exc:
                # A field this account lacks (or a date filter or sort the object lacks)
                # fails the whole request, before any row: drop it and start again.
                if not (self.refuse(exc, self.api_version) or self.refuse_order(exc)
                        or self.refuse_path(exc)):
                    raise
                continue
            finally:
                self._splitting = False
            if self._plan.end >= bound:
                return
            splitter.read(self._plan.start, self._plan.end)  # a part: on to the next
            cap, first = None, (self._plan.end + SECOND, None)

    @override
    def request_decorator(self, func: t.Callable[..., requests.Response]
                          ) -> t.Callable[..., requests.Response]:
        """The SDK's retries, except for a query of a range that can be split: a timeout
        there is not retried but raised as RangeTimedOut (query_records halves the range)."""
        def send(request: requests.PreparedRequest, context: t.Any = None) -> requests.Response:
            try:
                return func(request, context)
            except Exception as exc:
                span = self.splittable_span(request)
                if span is not None and timed_out(exc):
                    raise RangeTimedOut(*span) from exc
                raise

        return super().request_decorator(send)

    def splittable_span(self, request: requests.PreparedRequest
                        ) -> tuple[dt.datetime, dt.datetime] | None:
        """[lo, hi] of the rest of the range a query request reads, if longer than one
        second and the request is this stream's query (not an export or a token call)."""
        if not self._splitting or not (request.path_url or "").startswith(self.path):
            return None
        span = self._plan.request_span()
        return span if span is not None and span[1] > span[0] else None

    def query_window(self, context: t.Any, start: dt.datetime, end: dt.datetime, *,
                     quiet: bool = False) -> t.Iterable[dict[str, t.Any]]:
        """The records with `start <= replication value < end`, through the query API: an
        export window the Export API could not deliver (export/sync.py), whatever the
        bookmark. Records are those of query mode (`fetch_converter()`), with a warning: on v5
        without array custom fields, which Pardot's query refuses; on v3/v4 with the fields
        a v3/v4 query returns, and live ones only where it takes no `deleted` (visitors,
        prospect accounts).

        The stream's plan reads the inclusive range `[start, end - 1 s]` (times are whole
        seconds) from `start`, with no tie id. Its checkpoints stay inside the window: a
        page's bookmark is a time it emitted up to (never before `start`, the bookmark the
        export path left), and once the range is read `finish()` writes `end - 1 s + 1 s`,
        the window's end, which the caller then writes again with its own state. A walk saved
        in state (`id_walk`, `deleted_walk`) may be for another range: dropped, the window is
        read whole.
        """
        if end - SECOND > self.read_bound():  # the plan would stop short of the window's end
            msg = f"{self.name}: {iso(end)} is past this run's read bound"
            raise PardotAPIError(msg)
        for key in ("id_walk", DELETED_WALK):
            self.stream_state.pop(key, None)
        if not quiet:
            self.warn_queried(start, end)
        yield from self.query_records(context, (start, end - SECOND))

    def warn_queried(self, start: dt.datetime, end: dt.datetime) -> None:
        """Say what records of an export window read through the query API lack next to an
        export's."""
        span = f"{iso(start)} to {iso(end)}"
        lacks = [name for name in self.fetched_properties if name not in self.query_properties]
        if lacks:
            self.logger.warning("Stream %s: the records of %s are queried, without %s "
                                "(Pardot's v5 query refuses array custom fields)", self.name,
                                span, ", ".join(lacks))
        if self.api_version < 5:
            live = (", and without deleted records (its v3/v4 query reads live ones only)"
                    if wants_deleted(self) and not self.v3_deleted else "")
            self.logger.warning("Stream %s: the records of %s are queried, with the fields a "
                                "v3/v4 query returns (the others null)%s", self.name, span,
                                live)
