"""PardotStream: the transport every stream uses (hosts, auth, gate, retries, error mapping)
and its declarations; state is in state.py. The query and export paths build on it; streams
only declare (streams.py).

Private Singer SDK touches, the only ones (singer-sdk is pinned to the release they were
checked against, see pyproject.toml):
- `Stream._write_state_message()` and `state_manager.is_flushed` (state.py): a STATE at a
  safe point mid-stream; the SDK's public route (`finalize_state_progress_markers`) would
  also write it in BATCH mode, ahead of the batch that holds the records it covers.
- `Stream._write_record_message()` (here) and `Stream._stream_version`: a record goes
  straight to the fast encoder (writer.py) where the stream's map is the identity; the
  SDK's pass would drop deselected properties (RecordConverter never makes them), conform
  types (TYPE_CONFORMANCE_LEVEL is NONE) and build a message object, for the same line.
- `Stream._increment_stream_state()` (here): the SDK's step for an unsorted stream, in
  fewer calls (a tenth of an export's CPU time otherwise), and skipped for a record without
  a replication value (v3/v4 campaigns), which the SDK would warn about record by record.
- `Stream._sync_records()` and `_write_starting_replication_value()` (here,
  `get_batches`): the SDK's record loop feeds the batch files, as in the SDK's own
  `get_batches`; for a stream without partitions or child streams, its per-record steps
  that apply (`_batch_records`), a tenth of BATCH mode's CPU time less. The latter also in
  object_stream.py `prefetch_export`: done early for the next stream, whose first export is
  created while the current stream's last files download.
- `Tap._validate_config()` and `Tap._config` (tap.py): the SDK's own schema check, extended
  with the rules a JSON schema cannot say (which credentials go together, dates), so a bad
  config is one line; and numbers that Meltano passes as strings ("0.5") made numbers first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
import typing as t
import urllib.parse
from functools import cached_property
from importlib import resources
from types import MappingProxyType

import requests
from singer_sdk import RESTStream, SchemaDirectory, Stream, StreamSchema
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib.catalog import REPLICATION_INCREMENTAL
from typing_extensions import override

from tap_pardot import retry, schemas
from tap_pardot.auth import AuthError, token_in
from tap_pardot.clock import SETTLE, PardotClock
from tap_pardot.convert import RecordConverter, snake_to_camel
from tap_pardot.export.batch import batch_files
from tap_pardot.limits import DailyLimitReached, Interrupted, RequestGate, StopRun
from tap_pardot.progress import duration
from tap_pardot.settings import ConfigError, Settings
from tap_pardot.state import MARKERS, Checkpoints
from tap_pardot.writer import PardotSingerWriter

if t.TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk import Tap
    from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig

from tap_pardot.auth import Authenticator

RETRIABLE_CODES = frozenset({66, 183, 202, 214})  # concurrency, internal, timeouts
TOKEN_CODES = frozenset({1, 184})  # legacy api key / OAuth token invalid or expired
COUNT_STEP = 256  # records counted at once in BATCH mode's record loop


class PardotAPIError(FatalAPIError):
    """A Pardot error that retrying will not fix; the message is one line."""

    def __init__(self, message: str, code: int | None = None,
                 pardot_message: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.pardot_message = pardot_message
        self.status = status  # the HTTP status, where a reply gave one


FIELD_ERRORS = frozenset({51, 180})  # an invalid or unknown field / invalid export fields


def refused_names(error: PardotAPIError) -> list[str]:
    """Field names a field error names (`...: grade.`, `...: a, b`); [] for other errors."""
    text = error.pardot_message.strip()
    if error.code not in FIELD_ERRORS or ":" not in text:
        return []
    tail = text.rsplit(":", 1)[1].strip().rstrip(".")
    return [name.strip() for name in tail.split(",") if name.strip()]


class TokenRejected(RetriableAPIError):
    """401 / 184 / legacy 1: refresh the credentials and send the request again once."""


_CODE_HINTS = {
    184: "the access token was refused after a refresh: the connected app needs the "
    "`pardot_api` scope and the user must be synced to the business unit",
    181: "a required header is missing: set `pardot_business_unit_id`",
    182: "invalid header value: check `pardot_business_unit_id` (18 chars, 0Uv…)",
    201: "business unit not found or inactive: check `pardot_business_unit_id`, and "
    "`is_sandbox` / `api_base_url` (sandbox business units live on pi.demo.pardot.com)",
    49: "access denied: check the API user's permissions and the business unit",
    46: "the API user lacks a required permission",
    1: "the api key was refused after a fresh login: check `email`, `password`, `user_key`",
    88: "this account must use API version 4: set `api_version: 4`",
    89: "this account cannot use API version 4: set `api_version: 3`",
    199: "api_key authentication is retired for this account: use OAuth "
    "(`client_id`, `client_secret`, `refresh_token`)",
}


def response_json(response: requests.Response) -> t.Any:
    """The parsed JSON body, cached on the response; None when it is not JSON."""
    cache = response.__dict__
    if "_pardot_json" not in cache:
        try:
            cache["_pardot_json"] = response.json()
        except ValueError:
            cache["_pardot_json"] = None
    return cache["_pardot_json"]


def is_json(response: requests.Response) -> bool:
    """True if the reply says it is JSON."""
    return "json" in response.headers.get("Content-Type", "").lower()


def pardot_error(response: requests.Response) -> tuple[int | None, str]:
    """(code, message) from a v5 `{"code","message"}` or v3/v4 `@attributes` envelope,
    whatever the HTTP status and Content-Type (both undocumented for v3/v4 errors)."""
    body = response_json(response)
    if not isinstance(body, dict):
        return None, ""
    if "code" in body and "message" in body:
        return _int(body["code"]), str(body["message"])
    attrs = body.get("@attributes")
    if isinstance(attrs, dict) and attrs.get("stat") == "fail":
        err = body.get("err")
        message = err if isinstance(err, str) else str(err)
        return _int(attrs.get("err_code")), message
    return None, ""


def _int(value: t.Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class GatedSession(requests.Session):
    """A session whose every request passes the run's gate (concurrency and budget).

    With `stream=True` the slot is held until the response is closed, so a download
    counts as in flight while its body is read.
    """

    def __init__(self, gate: RequestGate, clock: PardotClock) -> None:
        super().__init__()
        self.gate = gate
        self.clock = clock

    @override
    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
        release = self.gate.acquire()
        try:
            response = super().send(request, **kwargs)
        except BaseException:
            release()
            raise
        self.clock.observe(response)
        self.gate.observe(response.headers)  # `x-api-usage`: the account's daily usage
        if not kwargs.get("stream"):
            release()
            return response
        close = response.close

        def close_and_release() -> None:
            try:
                close()
            finally:
                release()

        response.close = close_and_release  # type: ignore[method-assign]  # frees the slot too
        return response


@dataclasses.dataclass
class RunContext:
    """What all streams of one run share: settings, gate, token, clock, stop reason."""

    settings: Settings
    gate: RequestGate
    authenticator: Authenticator
    flow: str
    clock: PardotClock
    backoff_factor: float = 1.0
    stopped: StopRun | None = None  # why the run stopped early (the first reason)
    records: int = 0  # records emitted
    streams: int = 0  # streams synced (started)
    started: float = dataclasses.field(default_factory=time.monotonic)
    generic_refused: bool = False  # the account refused a generic v5 export (174)
    # The selected stream synced after the named one (set by the tap): a stream's export
    # path creates the following streams' first exports while its own files download.
    next_stream: t.Callable[[str], t.Any] | None = None
    # Exports created (or resumed) and not yet wholly read, all streams: id -> stream name.
    # Exports are created ahead of their turn while fewer than max_concurrency (export/sync.py).
    exports_outstanding: dict[int, str] = dataclasses.field(default_factory=dict)
    # [seconds, hours] of this run's exports, all streams: the poll schedule of a stream
    # without its own recent exports in state.
    export_history: list[list[int]] = dataclasses.field(default_factory=list)
    stopping: threading.Event = dataclasses.field(default_factory=threading.Event)

    def note_stop(self, reason: StopRun) -> bool:
        """Remember why the run stopped early; True the first time."""
        first = self.stopped is None
        self.stopped = self.stopped or reason
        return first

    def interrupt(self, signum: int, _frame: object = None) -> None:
        """A signal handler: no new request is sent (each stream stops at its next safe
        point, state saved) and waits end now."""
        stop = Interrupted(signum)
        self.note_stop(stop)
        self.gate.stop(str(stop))
        self.stopping.set()

    def pause(self, seconds: float) -> None:
        """Wait, unless the run is being stopped."""
        self.stopping.wait(seconds)


class PardotStream(Checkpoints, RESTStream[t.Any]):
    """Base of every Pardot stream: declarations plus the transport."""

    # Declarations (plain data; the export path reads these too)
    v5_path: t.ClassVar[str] = ""  # under /api/v5/objects/, or a path from /api/v5/ ("/imports")
    v5_path_fallback: t.ClassVar[str] = ""  # another path to try if `v5_path` answers 404
    singleton: t.ClassVar[bool] = False  # one record, no query (v5 `account`): read whole
    v3_object: t.ClassVar[str] = ""
    v3_collection: t.ClassVar[str] = ""
    v3_sort_by: t.ClassVar[str] = "updated_at"  # or "id" where v3/v4 cannot sort by it
    v5_order: t.ClassVar[str] = "updated_at"  # or "id" where v5 cannot filter/sort by it
    # Objects whose date filter and sort no server definition confirms (added after 2023):
    # walked by id instead if Pardot refuses them.
    v5_order_unsure: t.ClassVar[bool] = False
    deletable: t.ClassVar[bool] = True
    export_object: t.ClassVar[str | None] = None
    export_procedure: t.ClassVar[str] = "filter_by_updated_at"
    export_deleted_argument: t.ClassVar[str | None] = None
    export_generic: t.ClassVar[str | None] = None  # v5 object type of a generic export
    v3_deleted: t.ClassVar[bool] = False  # v3/v4 take `deleted=true|false` (2 walks)
    v3_full_table: t.ClassVar[bool] = False  # v3/v4 records have no time: read whole
    # Property -> its v3/v4 name where that is not the property name (pardot-api.md §6):
    # the pre-v5 name, which v3/v4 exports take and write, and v3/v4 queries return...
    v3_names: t.ClassVar[t.Mapping[str, str]] = MappingProxyType({"is_deleted": "is_archived"})
    # ...unless the older v3/v4 query code returns yet another key (prospects' `crm_url`).
    v3_query_names: t.ClassVar[t.Mapping[str, str]] = MappingProxyType({})

    primary_keys: t.ClassVar[tuple[str, ...]] = ("id",)
    replication_key = "updated_at"
    schema = StreamSchema(SchemaDirectory(resources.files(schemas)))
    # Custom field property -> its v5 name, the custom field's `apiFieldId` (`Level__c`).
    custom_api_names: t.Mapping[str, str] = MappingProxyType({})
    # State is written at safe points only (page ends, whole export windows), by checkpoint().
    STATE_MSG_FREQUENCY = 10**15
    # RecordConverter already types every value from the schema; the SDK's second pass
    # (a third of an export's CPU time) would only repeat it.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: Tap, run: RunContext) -> None:
        """`run`: what every stream of the run shares (settings, gate, token, clock)."""
        super().__init__(tap)
        self.run = run
        self.settings: Settings = run.settings

    @property
    def api_version(self) -> int:
        """3, 4 or 5."""
        return self.settings.api_version

    @property
    @override
    def url_base(self) -> str:
        return self.settings.api_base_url

    @property
    @override
    def authenticator(self) -> Authenticator:
        return self.run.authenticator

    @cached_property
    def gated_session(self) -> GatedSession:
        """This stream's session: every request through the run's gate and clock."""
        return GatedSession(self.run.gate, self.run.clock)

    @property
    @override
    def requests_session(self) -> requests.Session:
        return self.gated_session

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        # Replies then carry `x-api-usage: used/max`, which the gate reads (limits.ApiUsage).
        return {**super().http_headers, "X-Return-Api-Usage": "1"}

    @property
    @override
    def timeout(self) -> int:
        return t.cast("int", self.settings.request_timeout_seconds)

    @cached_property
    def converter(self) -> RecordConverter:
        """Rows (v5 JSON, v3/v4 JSON, CSV) -> typed records of this stream's schema."""
        aliases = {**self.wire_names(3), **self.wire_names(5)}
        return RecordConverter(self.schema, self.settings.timezone,
                               replication_key=self.replication_key, aliases=aliases)

    def wire_names(self, api_version: int) -> dict[str, str]:
        """Every name `api_version` gives a property (requests, replies) -> the property."""
        return {self.wire_name(prop, api_version, query=query): prop
                for prop in self.schema["properties"] for query in (False, True)}

    @property
    def query_properties(self) -> list[str]:
        """What a query requests: the fetched properties, less, on v5, the array-valued
        custom fields, which Pardot's v5 query refuses (pardot-api.md §3e; exports take
        them)."""
        names = self.fetched_properties
        if self.api_version < 5:
            return names
        arrays = [name for name in names if name in self.custom_api_names
                  and "array" in self.schema["properties"][name].get("type", ())]
        if arrays and "_arrays_noted" not in self.__dict__:
            self.__dict__["_arrays_noted"] = True
            self.logger.info("Stream %s: %s not queried (Pardot's v5 query refuses array "
                             "custom fields; exports carry them)", self.name, ", ".join(arrays))
        return [name for name in names if name not in arrays]

    def fetch_converter(self) -> RecordConverter:
        """The converter for this run's query records: the properties queried only (made
        again only when that set changes: a field refused)."""
        props = tuple(self.query_properties)
        made = self.__dict__.get("_fetch_converter")
        if made is None or made[0] != props:
            made = self.__dict__["_fetch_converter"] = (props, self.converter.for_fields(props))
        return t.cast("RecordConverter", made[1])

    def wire_name(self, prop: str, api_version: int, *, query: bool = False) -> str:
        """A property's name in requests and replies: v5 camelCase (a custom field's
        apiFieldId, `Level__c`); v3/v4 its pre-v5 name (a custom field's bare fieldId,
        `Level`), or with `query` the key v3/v4 queries return."""
        custom = self.custom_api_names.get(prop)
        if custom:
            return custom if api_version >= 5 else custom.removesuffix("__c")
        if api_version >= 5:
            return snake_to_camel(prop)
        if query and prop in self.v3_query_names:
            return self.v3_query_names[prop]
        return self.v3_names.get(prop, prop)

    @cached_property
    def refused_fields(self) -> set[str]:
        """Properties this account refused this run (feature-flagged fields, array custom
        fields on a v5 query...): no longer requested, and left out of records."""
        return set()

    def refuse(self, error: PardotAPIError, api_version: int) -> list[str]:
        """The properties a field error names (51, 180), remembered as refused; [] if it
        names none of ours. Logs one warning per property."""
        names = refused_names(error)
        wire = self.wire_names(api_version)
        props = [wire[name] for name in names if name in wire]
        if len(props) != len(names) or set(props) & {"id", self.replication_key}:
            return []
        self.refused_fields.update(props)
        self.logger.warning("Stream %s: Pardot refused %s (error %s): left out of this run's "
                            "records", self.name, ", ".join(props), error.code)
        return props

    @property
    def selected_properties(self) -> list[str]:
        """Selected property names (snake_case), `id` and the replication key always included."""
        names = [name for name in self.schema["properties"]
                 if self.mask.get(("properties", name), True)]
        for must in (self.replication_key or "updated_at", "id"):
            if must not in names and must in self.schema["properties"]:
                names.insert(0, must)
        return names

    @property
    def fetched_properties(self) -> list[str]:
        """Selected properties less those refused: what is requested and emitted."""
        return [name for name in self.selected_properties if name not in self.refused_fields]

    # Records

    @cached_property
    def plain_records(self) -> bool:
        """True if this stream's records leave as they are made: one map, the identity (no
        stream map, alias or flattening configured for it)."""
        maps = self.stream_maps
        return (len(maps) == 1 and type(maps[0]) is SameRecordTransform
                and maps[0].stream_alias == self.name and not maps[0].flattening_enabled)

    @override
    def _write_record_message(self, record: dict[str, t.Any]) -> None:
        writer = self._tap.message_writer
        if not self.plain_records or not isinstance(writer, PardotSingerWriter):
            super()._write_record_message(record)
            return
        writer.write_record(self.name, record, self._stream_version)
        self.state_manager.is_flushed = False

    @cached_property
    def _marker_step(self) -> tuple[str, dict[str, t.Any]] | None:
        """(replication key, the stream's state) where `_increment_stream_state`'s shortcut
        applies, else None; the state is where the SDK's step writes: the stream's, in its
        state manager's."""
        eligible = (self.replication_key and not self.is_sorted and self.check_sorted
                    and self.replication_method == REPLICATION_INCREMENTAL)
        return (self.replication_key, self.state_manager.stream_state) if eligible else None

    @override
    def _increment_stream_state(self, latest_record: dict[str, t.Any], *,
                                context: t.Any = None) -> None:
        # The SDK's own step for an unsorted stream, in fewer calls: its progress markers
        # keep the highest replication value (an ISO string) seen since the last checkpoint.
        # A record without one (v3/v4 campaigns; a stream without a key) moves no marker:
        # the SDK would warn record by record.
        step = self._marker_step
        markers = None
        if step is not None and context is None:
            key, state = step
            value = latest_record.get(key)
            if value is None:
                return
            markers = state.get(MARKERS) if type(value) is str else None
        elif latest_record.get(self.replication_key or "") is None:
            return
        if type(markers) is not dict:
            super()._increment_stream_state(latest_record, context=context)
            return
        old = markers.get("replication_key_value")
        if old is None or (type(old) is str and t.cast("str", value) >= old):
            markers["replication_key"] = key
            markers["replication_key_value"] = value
        elif type(old) is not str:
            super()._increment_stream_state(latest_record, context=context)

    @override
    def generate_child_contexts(self, record: dict[str, t.Any], context: t.Any
                                ) -> t.Iterable[t.Any]:
        # No child streams (Pardot's streams have none): no context to make per record.
        return super().generate_child_contexts(record, context) if self.child_streams else ()

    @override
    def get_batches(self, batch_config: BatchConfig, context: t.Any = None
                    ) -> t.Iterable[tuple[BaseBatchFileEncoding, list[str]]]:
        if batch_config.encoding.format != "jsonl":
            yield from super().get_batches(batch_config, context)
            return
        plain = (context is None and not self.partitions and not self.child_streams
                 and self.ABORT_AT_RECORD_COUNT is None and self.selected)
        records = (self._batch_records() if plain
                   else self._sync_records(context, write_messages=False))
        for manifest in batch_files(records, batch_config, tap_name=self.tap_name,
                                    stream_name=self.name):
            yield batch_config.encoding, manifest

    def _batch_records(self) -> t.Iterator[dict[str, t.Any]]:
        """The SDK's record loop (`_sync_records`) with only the steps a stream without
        partitions, child streams or a dry-run limit takes per record: post_process, the
        progress-marker step, the record counter. (The stream's end is finalized by the
        tap, after the last batch.)"""
        with self.get_record_counter() as counter, self.get_sync_timer():
            self._write_starting_replication_value(None)
            uncounted = 0  # the counter is told in steps (a call per record costs more)
            # The SDK's own post_process returns the record as it is: not called then.
            post = None if type(self).post_process is Stream.post_process else self.post_process
            try:
                for raw in self.get_records(None):
                    record = raw if post is None else post(raw, None)
                    if record is None:
                        continue
                    self._increment_stream_state(record)
                    uncounted += 1
                    if uncounted == COUNT_STEP:
                        counter.increment(uncounted)
                        uncounted = 0
                    yield record
            finally:
                counter.increment(uncounted)

    # Requests

    def pardot_request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, t.Any] | None = None,
        json: t.Any = None,
        stream: bool = False,
    ) -> requests.Response:
        """One API call with auth, headers, gate, retries, error mapping, token refresh.

        Raises PardotAPIError (fatal), StopRun (daily limit / budget), AuthError.
        With `stream=True`, close the response (use `with`) to free the request slot.
        """
        prepared = self.build_prepared_request(
            method=method, url=url, params=params, json=json, headers=self.http_headers
        )

        def send(request: requests.PreparedRequest, _context: t.Any = None) -> requests.Response:
            request = self.authenticator(request)
            response = self.requests_session.send(request, timeout=self.timeout, stream=stream)
            if stream and response.status_code < 400 and not is_json(response):
                return response  # a file: its body is read as it streams
            try:
                self.validate_response(response)
            except Exception:
                response.close()
                raise
            return response

        return self.request_decorator(send)(prepared, None)

    @override
    def validate_response(self, response: requests.Response) -> None:
        code, message = pardot_error(response)
        status = response.status_code
        if code is None and status < 400:
            # Every API reply but a file is JSON: a body that does not parse (cut off, a
            # proxy's page) must not pass for an empty page.
            if response_json(response) is None:
                where = urllib.parse.urlparse(response.url).path
                raise RetriableAPIError(
                    f"malformed reply (not JSON) on {where}: {response.text[:80]!r}", response)
            return
        if code == 122:
            msg = (f"Pardot's daily API limit is used up (error 122, {message}); the state is "
                   "saved: run again after the account's day resets (midnight, account time)")
            self.run.gate.stop(msg)
            raise DailyLimitReached(msg)
        if code in TOKEN_CODES or status == 401:
            self._token_refused(response, code, message)
        if code in RETRIABLE_CODES or status >= 500 or status == 429:
            raise RetriableAPIError(self._error_line(response, code, message), response)
        raise PardotAPIError(self._error_line(response, code, message), code, message, status)

    def _token_refused(self, response: requests.Response, code: int | None, msg: str) -> None:
        """Refresh and resend once; refused again means a credentials problem."""
        auth = self.authenticator
        request = response.request
        used = token_in(request)
        if used is not None and auth.access_token is not None and used != auth.access_token:
            raise TokenRejected("credentials were replaced meanwhile", response)
        if getattr(request, "_pardot_refreshed", False):
            raise PardotAPIError(self._error_line(response, code or 184, msg), code)
        request._pardot_refreshed = True  # type: ignore[attr-defined]  # a marker on the request
        auth.invalidate(used)
        raise TokenRejected(f"token refused (error {code}); refreshing", response)

    def _error_line(self, response: requests.Response, code: int | None, message: str) -> str:
        where = urllib.parse.urlparse(response.url).path
        hint = _CODE_HINTS.get(code or 0)
        text = f"Pardot error {code} (HTTP {response.status_code}) on {where}: {message}"
        if code is None:
            text = f"HTTP {response.status_code} on {where}: {response.text[:200]!r}"
        if response.status_code == 404 and hint is None:
            hint = "no such endpoint: check `api_base_url` / `is_sandbox`"
        return f"{text}: {hint}" if hint else text

    @override
    def backoff_wait_generator(self) -> t.Generator[float, t.Any, None]:
        def waits() -> t.Generator[float, t.Any, None]:
            exc = yield  # type: ignore[misc]  # backoff primes it: send(None)
            tries = 0
            while True:
                tries += 1
                factor = 0.0 if isinstance(exc, TokenRejected) else self.run.backoff_factor
                exc = yield retry.wait(tries, factor)

        return waits()

    @override
    def backoff_max_tries(self) -> int:
        return retry.MAX_TRIES

    @override
    def backoff_jitter(self, value: float) -> float:
        return retry.jitter(value)

    @override
    def backoff_handler(self, details: Details) -> None:
        exc = details.get("exception")
        self.logger.warning(
            "Stream %s: retrying in %s after try %d: %s", self.name,
            duration(details.get("wait") or 0.0), details.get("tries"), exc,
        )

    @override
    def response_error_message(self, response: requests.Response) -> str:
        code, message = pardot_error(response)
        return self._error_line(response, code, message)

    def read_bound(self) -> dt.datetime:
        """The newest time this stream reads up to in this run (whole seconds, UTC).

        Pardot's clock (see clock.py) less `SETTLE`, as v5 reads may lag up to 60 s, or
        `end_date` if earlier. The same for every request of the stream's run (its start line
        says it).
        """
        bound = self.__dict__.get("_read_bound")
        if bound is not None:
            return t.cast("dt.datetime", bound)
        if not self.run.clock.observed:
            self.authenticator.update_access_token()  # its reply's `Date` sets the clock
        bound = self.run.clock.now() - SETTLE
        end = self.settings.end_date
        if end is not None and end < bound:
            bound = end.replace(microsecond=0)
        self.__dict__["_read_bound"] = bound
        return bound

    def check_timezone(self, raw: t.Any, where: str) -> None:
        """Stop if `timezone` is not the API user's: on v5 Pardot writes its times with that
        user's UTC offset, and a wrong zone would shift every naive time (export CSVs)."""
        if self.api_version < 5 or not isinstance(raw, str) or "_tz_checked" in self.__dict__:
            return
        try:
            stamp = dt.datetime.fromisoformat(raw)
        except ValueError:
            return
        if stamp.utcoffset() is None:
            return
        self.__dict__["_tz_checked"] = True
        tz = self.converter.tz
        expected = stamp.astimezone(tz).utcoffset()
        if expected != stamp.utcoffset():
            msg = (f"Setting `timezone` is {tz}, but Pardot "
                   f"wrote {where} as {raw}, in another zone (the API user's): set `timezone` "
                   "to the API user's IANA timezone")
            raise ConfigError(msg)

    def stop_run(self, exc: StopRun) -> None:
        """Stop cleanly: the SDK then writes the state with the last checkpoint."""
        self.hold_bookmark()
        if self.run.note_stop(exc):
            self.logger.warning("Run stopped early: %s", exc)


__all__ = ["AuthError", "PardotAPIError", "PardotStream", "StopRun", "TokenRejected"]
