"""Export-based sync: newest-first growing windows, probe, create, poll, download, state.

The run fetches its ranges (the pending ones in state, and the bookmark, or `start_date`,
to Pardot's clock) in windows newest first, growing (windows.py `plan_windows`: a month,
three, eight, then a year each), so the newest data lands first. Each window is read one of
three ways (`mode`):

- `export`: an export per window;
- `auto`: a probe first, one query page of the window (`_probe`): a window that fits in a
  few pages (AUTO_QUERY_PAGES, estimated from the time the first page covers) is queried,
  that page reused; an empty one costs that one call; a larger one is exported. A range of
  several windows is probed whole first: a small one is queried whole, without windows;
- `query`: queried (a run in query mode with ranges pending from an export run).

Pardot's queue is kept busy (one export at a time per account, in creation order): while a
window's export is awaited and its files download, the next windows are probed and their
exports created, newest first (so Pardot still finishes the newest first), then the
following streams' first exports (`prefetch`, chained in sync order), as long as fewer
than `max_concurrency` exports of the run are outstanding (created, not yet wholly read:
RunContext `exports_outstanding`). An export's poll schedule runs from its creation.

Each window's end moves the state (state.py `Ranges`): the bookmark is
a high-water mark, with the older ranges still to fetch kept as `pending`, and the exports
in flight recorded, so an interrupted run resumes them:

    {"replication_key": "updated_at", "replication_key_value": "<high-water mark>",
     "pending": [["<start>", "<end>"]],
     "exports": [{"id": 123, "window_start": "...", "window_end": "...", "api_version": 5,
                  "signature": "...", "created_at": "<Pardot's createdAt, UTC>",
                  "attempt": 1}],
     "export_history": [[<seconds>, <hours>], ...]}

`export_history` holds the durations of the stream's recent exports (Pardot's createdAt to
updatedAt) and their windows' hours, whole numbers (a Singer target reads a float in state
as a Decimal, which some cannot write back): the poll schedule starts near the expected duration
(windows.py `poll_delays`).

Windows are half-open, `[start, end)`. Pardot's clock, not this machine's, bounds the
range: windows are planned up to the stream's read bound (Pardot's clock from the `Date`
header less `SETTLE`, see clock.py). An export also holds only "data up until the creation
date of the export", its `createdAt`: a window reaching past `createdAt` less `CLOCK_MARGIN`
is done up to there only, and the rest stays to fetch (the next run's).

A window whose export does not come is read through the query API instead, and the run goes
on with the next windows: an export that ends Failed or Canceled (by Pardot), or expires
before its files are read, is created again once (MAX_ATTEMPTS exports per window); one still
Waiting (queued, not started) after WAITING_SHARE of `export_timeout_hours` is canceled, so
it does not hold the account's one-at-a-time queue, and counts as failed. When a window's
last export fails too, `stream.query_window(context, start, end)` (query/__init__.py) reads
exactly `[start, end)` of the window field, whatever the bookmark. An export still
Processing after `export_timeout_hours` is an error that keeps it in state, for the next run
to resume. A generic v5 export procedure the account refuses (174: the flag is off) sends
every stream that needs one to the query path for the rest of the run, logged once.

Naive CSV times are read in `timezone`. The replication key's value is placed by the window
(so a DST fall-back's repeated hour is read right); other naive times in a repeated hour are
re-read through a v5 query on v5 (dst.py), and read as the first occurrence on v3/v4, a
Pardot limitation (set the API user's timezone to UTC to avoid it).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
import typing as t
from dataclasses import dataclass, field
from datetime import datetime

from singer_sdk.exceptions import FatalAPIError

from tap_pardot.client import PardotAPIError, refused_names
from tap_pardot.clock import SETTLE
from tap_pardot.export.api import ExportApi, ExportStatus
from tap_pardot.export.download import Downloader
from tap_pardot.export.dst import exact_times
from tap_pardot.export.spec import ExportSpec, export_spec, run_range
from tap_pardot.export.windows import (
    SLACK,
    Window,
    expected_seconds,
    plan_windows,
    poll_delays,
)
from tap_pardot.progress import StreamProgress, duration, span
from tap_pardot.state import Ranges, pending_spans
from tap_pardot.times import iso, parse_utc

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tap_pardot.client import RunContext
    from tap_pardot.query import QueryStream as Stream

EXPORT, QUERY, AUTO = "export", "query", "auto"
MAX_ATTEMPTS = 2  # exports created per window before the window is queried instead
# An export still Waiting (queued behind others, not started) after this share of
# `export_timeout_hours` (6 h of the default 24) is canceled and counts as failed: two such
# tries take at most half the timeout before the window is queried.
WAITING_SHARE = 0.25
RESUMED = "recorded in state"  # the state of an export resumed from state, until read
# What an export holds for sure: changes stamped up to its `createdAt` less this, as a
# change stamped just before may become visible to the export's reader a little later.
CLOCK_MARGIN = SETTLE
# `auto`: a window estimated at more query pages than this is exported. An export costs a
# create, a few reads and a call per file, and minutes; a query page is one call, at once.
AUTO_QUERY_PAGES = 10
HISTORY = 5  # recent export durations kept in state
UNKNOWN_PROCEDURE = 174  # a flagged procedure off for the account answers this


class ExportError(PardotAPIError):
    """An export could not be completed; the state keeps what is needed to resume."""


class FieldsRefused(PardotAPIError):
    """The export refused a selected field: the query path can deliver it instead."""


class _ProbeDone(Exception):  # control flow, not an error
    """The probe's first page is in: stop the query before its next request."""


@dataclass
class _Job:
    """One export of one window, as this run tracks it."""

    window: Window
    status: ExportStatus
    created_at: datetime | None  # Pardot's clock at the export's creation, once known
    attempt: int = 1
    next_poll: float = 0.0
    waiting_since: float = 0.0
    delays: Iterator[float] = field(default_factory=lambda: iter(()))
    # Read at least once: a v5 create reply has no `resultRefs`, so its files are not known
    # even when it says Complete.
    read: bool = False

    def update(self, status: ExportStatus) -> None:
        """Take a new reply about this export; its `createdAt` beats the one in state."""
        self.status = status
        if status.created_at is not None:
            self.created_at = status.created_at.replace(microsecond=0)

    @property
    def covered_until(self) -> datetime:
        """The end of what the window's export holds for sure: the window's end, or what
        settled before Pardot's clock at the export's creation, if earlier."""
        if self.created_at is None:
            return self.window.end
        settled = self.created_at - CLOCK_MARGIN + SLACK
        return min(self.window.end, max(self.window.start, settled))

    def to_state(self, signature: str, api_version: int) -> dict[str, t.Any]:
        return {
            "id": self.status.id,
            "window_start": iso(self.window.start),
            "window_end": iso(self.window.end),
            "api_version": api_version,
            "signature": signature,
            "created_at": iso(self.created_at) if self.created_at else None,
            "attempt": self.attempt,
        }


@dataclass
class _Step:
    """How one window is read: its export (`job`), or the query API, after `first`: the
    records a probe already read, up to `after` (the window's end if it read it all)."""

    window: Window
    job: _Job | None = None
    first: list[dict[str, t.Any]] = field(default_factory=list)
    after: datetime | None = None
    skip: bool = False  # past Pardot's clock: left for the next run


class _Reader:
    """Checkpoints inside one window move only its part (state.py `Checkpoints.reading`)."""

    def __init__(self, ranges: Ranges, start: datetime, *, probe: bool = False) -> None:
        self.ranges, self.start, self.probe = ranges, start, probe
        self.first: datetime | None = None  # the probe's first page reaches here
        self.at: datetime | None = None  # the window's last checkpoint (state.py)
        self.stopped = False

    def on_checkpoint(self, bookmark: datetime | None) -> None:
        if self.probe:
            self.first, self.stopped = bookmark, True
            raise _ProbeDone


class ExportSync:
    """Fetch one stream's records through the Export API: `yield from ExportSync(...).records()`."""

    def __init__(
        self,
        stream: Stream,
        context: dict[str, t.Any] | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        fallback: bool = False,
        mode: str = EXPORT,
    ) -> None:
        """`fallback`: a field the export refuses ends the export path with FieldsRefused
        (the caller queries instead); otherwise the field is dropped and the export retried.
        `mode`: export, auto or query (the module doc)."""
        settings = stream.settings
        spec = export_spec(stream)
        if spec is None and mode != QUERY:
            msg = f"Stream {stream.name} cannot be exported: the Export API does not serve it"
            raise ExportError(msg)
        self.stream, self.context, self.spec, self.mode = stream, context, spec, mode
        self.log = stream.logger
        self.sleep, self.monotonic = sleep, monotonic
        self.api_version = settings.api_version
        self.tz = settings.timezone
        self.include_deleted = settings.include_deleted
        self.window_days = settings.export_window_days
        self.poll_unit = settings.export_poll_seconds
        self.timeout = settings.export_timeout_hours * 3600
        self.waiting_limit = self.timeout * WAITING_SHARE
        self.workers = settings.max_concurrency
        self.api = ExportApi(stream.pardot_request, settings.api_base_url, self.api_version,
                             self.tz)
        self.fallback = fallback
        # Without include_deleted, ask for `deleted: all` anyway and drop the recycle bin's
        # rows here: the 2020 docs say prospects accept only `all`, so this reads every way.
        self.drop_deleted = (
            not self.include_deleted
            and spec is not None
            and spec.deleted_argument is not None
            and "is_deleted" in stream.schema.get("properties", {})
        )
        self.signature = ""
        if spec is not None:
            self._use_fields()
        self._inflight: dict[datetime, _Job] = {}  # the current export of each window
        self._resumable: dict[datetime, dict[str, t.Any]] = {}
        self._rows = 0
        state = stream.get_context_state(context)
        self.history: list[t.Any] = list(state.get("export_history") or [])[-HISTORY:]
        self.ranges = Ranges([], datetime.now().astimezone())
        # What the run's streams share (none for a unit test's stream).
        self.run: RunContext | None = getattr(stream, "run", None)
        # The run's exports created (or resumed) and not yet wholly read, all streams: id ->
        # stream name. Exports are created ahead while there are fewer than max_concurrency.
        self._outstanding = self.run.exports_outstanding if self.run is not None else {}
        self.clock_cap: datetime | None = None  # what Pardot's clock has settled, once known

    @property
    def xspec(self) -> ExportSpec:
        """The export's spec (export and auto modes have one)."""
        assert self.spec is not None
        return self.spec

    def _use_fields(self) -> None:
        """The fields to export (all fetched properties) and what follows from them."""
        stream, spec = self.stream, self.spec
        assert spec is not None
        self.props = stream.fetched_properties
        if self.drop_deleted and "is_deleted" not in self.props:
            self.props.append("is_deleted")
        self.fields = [stream.wire_name(p, self.api_version) for p in self.props]
        self.converter = stream.converter.for_fields(self.props, csv=True)
        # A recorded export is resumed only by a run that would have made the same one.
        text = "|".join([spec.object, spec.procedure, str(self.include_deleted),
                         str(self.tz), *sorted(self.fields)])
        self.signature = hashlib.sha256(text.encode()).hexdigest()[:16]

    # -- planning -------------------------------------------------------------------------

    def plan(self) -> list[Window]:
        """Windows over what is left to fetch (pending ranges, and the bookmark to end_date
        or Pardot's clock), newest first, reusing the exports left in state."""
        start, end = run_range(self.stream, self.context)
        state = self.stream.get_context_state(self.context)
        self.ranges = Ranges([*pending_spans(state), (start, end)], end)
        kept: list[Window] = []
        for record in state.get("exports") or []:
            window = self._recorded_window(record)
            if window is None or any(window.start < w.end and w.start < window.end
                                     for w in kept):
                self._cancel_stale(record)
                continue
            kept.append(window)
            self._resumable[window.start] = record
        rest = Ranges(self.ranges.todo, end)
        for window in kept:
            rest.done(window.start, window.end)
        windows = kept + plan_windows(rest.todo, self.window_days, self.tz)
        return sorted(windows, key=lambda w: w.start, reverse=True)

    def _cancel_stale(self, record: dict[str, t.Any]) -> None:
        """Cancel an export an earlier run left that this run will not use, so it does not
        hold the account's one-at-a-time queue (a finished one cannot be: that is fine)."""
        try:
            export_id = int(record["id"])
            same_api = int(record.get("api_version", 0)) == self.api_version
        except (KeyError, TypeError, ValueError):
            return
        self.log.info("Stream %s: export %d recorded in state does not match this run's "
                      "window or settings: %s", self.stream.name, export_id,
                      "canceling it" if same_api else "left alone (another API version)")
        if same_api:
            try:
                self.api.cancel(export_id)
            except PardotAPIError as exc:
                self.log.info("Stream %s: export %d not canceled: %s", self.stream.name,
                              export_id, exc)

    def _recorded_window(self, record: dict[str, t.Any]) -> Window | None:
        """A recorded export's window, if this run would make that export: same settings,
        and a window inside what is left to fetch."""
        try:
            window = Window(parse_utc(record["window_start"]), parse_utc(record["window_end"]))
            ok = (
                self.spec is not None
                and self.mode != QUERY  # query mode cancels them: the queue is freed
                and int(record["api_version"]) == self.api_version
                and record.get("signature") == self.signature
                and any(lo <= window.start < window.end <= hi for lo, hi in self.ranges.todo)
            )
        except (KeyError, TypeError, ValueError):
            return None
        return window if ok else None

    # -- the run --------------------------------------------------------------------------

    def records(self) -> Iterator[dict[str, t.Any]]:
        """Every record of every window, newest window first; the state moves as each
        window completes."""
        windows = self.plan()
        name = self.stream.name
        if not windows:
            self.log.debug("Stream %s: nothing to fetch (bookmark is at the end)", name)
            return
        spans = ", ".join(f"{iso(lo)} to {iso(hi)}" for lo, hi in reversed(self.ranges.todo))
        fields = f", {len(self.fields)} fields" if self.spec is not None else ""
        self.log.info(
            "Stream %s: fetching %s in %d window(s), newest first, of up to %d days (%s "
            "mode%s, API v%d)", name, spans, len(windows), self.window_days, self.mode,
            fields, self.api_version,
        )
        if self.mode == AUTO and len(windows) > 1 and len(self.ranges.todo) == 1 and not (
                self._resumable):
            # One probe of the whole range first: a small account's backfill (or an empty
            # range) is a few query pages, and needs no window at all.
            whole = Window(*self.ranges.todo[0])
            step = self._probe(whole, -1, len(windows))
            if step is not None:
                yield from self._read_step(step, -1, len(windows))
                self._complete(step)
                return
        yield from self._run(windows)

    def _run(self, windows: list[Window]) -> Iterator[dict[str, t.Any]]:
        n = len(windows)
        steps: dict[int, _Step] = {}  # windows prepared ahead (their exports created)
        for k, window in enumerate(windows):
            step = steps.pop(k) if k in steps else self._prepare(window, k, n)
            self.log.debug("Stream %s: %s: %s", self.stream.name, _tag(k, n), window.label())
            self._ahead(windows, steps, k)
            if step.job is not None:
                step.job = self._wait(step.job, k, n)  # None: the window is queried
                self._ahead(windows, steps, k)  # room again if it is
            if step.skip:
                continue
            if step.job is not None:
                yield from self._download_window(step.job, k, n)
            else:
                yield from self._read_step(step, k, n)
            self._complete(step)

    def _ahead(self, windows: list[Window], steps: dict[int, _Step], k: int) -> None:
        """Keep Pardot's queue busy: while window k is awaited (and read), the next windows'
        exports are created (Pardot runs them in creation order: the newer first), then the
        next streams' first exports, as long as fewer than `max_concurrency` exports of the
        run are outstanding (created, not yet wholly read). The next streams only while
        this one has an export of its own: else no files download, and the queue is idle
        only as long as their turn takes to come."""
        n, j = len(windows), k + 1
        while j < n and (j in steps or self._room()):
            if j not in steps:
                steps[j] = self._prepare(windows[j], j, n)
            j += 1
        mine = self.stream.name in self._outstanding.values()
        if j == n and mine and self._room():
            self._prefetch_next_streams()

    def _room(self) -> bool:
        """Whether another export may be created ahead (module doc)."""
        return len(self._outstanding) < self.workers

    def _release(self, job: _Job | None) -> None:
        if job is not None:
            self._outstanding.pop(job.status.id, None)

    def prefetch(self) -> bool:
        """Create the first window's export now, ahead of this stream's turn (an earlier
        stream's files download meanwhile): recorded in state, the sync resumes it. False
        if the window is queried instead (a probe found it small: its turn probes again)."""
        windows = self.plan()
        if not windows:
            return True
        record = self._resumable.get(windows[0].start)
        if record is not None:  # outstanding already: its sync resumes it
            with contextlib.suppress(KeyError, TypeError, ValueError):
                self._outstanding[int(record["id"])] = self.stream.name
            return True
        self.log.info("Stream %s: creating its first export ahead of its turn (an "
                      "earlier stream's files download meanwhile)", self.stream.name)
        step = self._prepare(windows[0], 0, len(windows))
        if step.job is None:
            self.log.info("Stream %s: its first window is small: read at its turn",
                          self.stream.name)
        return step.job is not None

    def _prefetch_next_streams(self) -> None:
        """Have the following streams of the run, in sync order, create their first exports
        while there is room (RunContext `next_stream`; each stream tries once a run), up to
        the first whose probe found its window small (so a run of small streams is not
        probed twice each)."""
        finder = self.run.next_stream if self.run is not None else None
        name = self.stream.name
        while finder is not None and self._room():
            following = finder(name)
            if following is None:
                return
            prefetch = getattr(following, "prefetch_export", None)
            if prefetch is not None and not prefetch():
                return  # a call spent on a small window: the streams after it wait
            name = following.name

    def _prepare(self, window: Window, k: int, n: int) -> _Step:
        """Resume the window's recorded export, or probe (auto) and create one; or query."""
        if window.start in self._resumable:
            return _Step(window, self._start(window))
        if self.clock_cap is not None and window.start >= self.clock_cap:
            self.log.info("Stream %s: %s: %s starts past what Pardot's clock (an export's "
                          "createdAt) has settled: left for the next run",
                          self.stream.name, _tag(k, n), window.label())
            return _Step(window, skip=True)
        if self.mode == QUERY or self._generic_refused():
            return _Step(window)
        if self.mode == AUTO:
            step = self._probe(window, k, n)
            if step is not None:
                return step
        try:
            return _Step(window, self._create(window, attempt=1))
        except PardotAPIError as exc:
            if not self._refuses_generic(exc):
                raise
            return _Step(window)

    def _generic_refused(self) -> bool:
        return bool(self.spec and self.spec.generic and self.run and self.run.generic_refused)

    def _refuses_generic(self, exc: PardotAPIError) -> bool:
        """174 on a generic procedure: the account's flag is off. Every stream that needs
        one queries for the rest of the run; logged once."""
        if self.spec is None or not self.spec.generic or exc.code != UNKNOWN_PROCEDURE:
            return False
        run = self.run
        if run is None or not run.generic_refused:
            self.log.warning(
                "Pardot refused the generic v5 export procedure %s (error 174: this account "
                "lacks the flag): streams that need one are read through the query API for "
                "the rest of the run", self.spec.procedure_name(self.api_version))
            if run is not None:
                run.generic_refused = True
        return True

    def _probe(self, window: Window, k: int, n: int) -> _Step | None:
        """One query page of the window: a _Step that queries it (that page reused), or None
        (export it). The page's reach estimates the window's pages."""
        name, length = self.stream.name, span(window.end - window.start)
        reader = _Reader(self.ranges, window.start, probe=True)
        first: list[dict[str, t.Any]] = []
        with self.stream.reading(reader), contextlib.suppress(_ProbeDone):
            # quiet: what a query lacks next to an export is said if the window is queried
            first.extend(self.stream.query_window(self.context, window.start, window.end,
                                                  quiet=True))
        reach = reader.first if reader.stopped else window.end
        where = f"Stream {name}: {_tag(k, n)} ({length})"
        stream = self.stream
        lacks = [f for f in stream.fetched_properties if f not in stream.query_properties]
        if first and lacks:
            # A query would leave them out, and a target that upserts whole rows would null
            # the values an earlier export loaded.
            self.log.info("%s: %d selected field(s) a query cannot read (%s): exporting",
                          where, len(lacks), ", ".join(lacks))
            return None
        if reach is not None and reach >= window.end:
            self.log.info("%s: the probe read it whole, %d record(s) in one query page%s",
                          where, len(first), ": no export" if k >= 0 else "")
            if first:
                stream.warn_queried(window.start, window.end)
            return _Step(window, first=first, after=window.end)
        if reach is None or reach <= window.start:
            self.log.info("%s: the probe's first page (%d records) tells no reach in time: "
                          "%s", where, len(first), "exporting" if k >= 0 else "windows")
            return None
        pages = math.ceil((window.end - window.start) / (reach - window.start))
        figure = (f"the first query page ({len(first)} records) reaches "
                  f"{span(reach - window.start)} of {length}: about {pages} pages")
        if pages > AUTO_QUERY_PAGES:
            self.log.info("%s: %s, more than %d: %s", where, figure, AUTO_QUERY_PAGES,
                          "exporting" if k >= 0 else "in windows, newest first")
            return None
        self.log.info("%s: %s, at most %d: querying", where, figure, AUTO_QUERY_PAGES)
        return _Step(window, first=first, after=reach)

    def _read_step(self, step: _Step, k: int, n: int) -> Iterator[dict[str, t.Any]]:
        """A window through the query API: the probe's records first, then the rest."""
        window = step.window
        if step.after is None:
            yield from self._query_window(window, k, n)
            return
        key, at = self._window_field(), iso(step.after)
        seen = {r["id"] for r in step.first if r.get(key) == at}
        for record in step.first:
            self._rows += 1
            yield record
        if step.after >= window.end:
            return
        self.ranges.done(window.start, step.after)
        self._emit_state()
        rest = Window(step.after, window.end)
        for record in self._query_window(rest, k, n):
            if record["id"] not in seen or record.get(key) != at:
                yield record

    def _window_field(self) -> str:
        return self.spec.window_field if self.spec else (
            self.stream.replication_key or "updated_at")

    def _start(self, window: Window) -> _Job:
        """Resume the export recorded for this window."""
        record = self._resumable.pop(window.start)
        now = self.monotonic()
        job = _Job(window, ExportStatus(int(record["id"]), RESUMED),
                   _recorded_time(record.get("created_at")),
                   attempt=int(record.get("attempt", 1)), next_poll=now, waiting_since=now,
                   delays=self._delays(window))
        self.log.info("Stream %s: resuming export %d for %s (recorded in state)",
                      self.stream.name, job.status.id, window.label())
        self._track(job)
        return job

    def _track(self, job: _Job) -> None:
        """The window's current export: in flight (state), outstanding (the run), and its
        createdAt bounds the run."""
        self._inflight[job.window.start] = job
        self._outstanding[job.status.id] = self.stream.name
        self._note_clock(job)

    def _note_clock(self, job: _Job) -> None:
        """An export's createdAt is Pardot's clock (the latest known bounds the run): windows
        past it are skipped, and an export without a createdAt holds data up to it only."""
        if job.created_at is not None:
            cap = job.created_at - CLOCK_MARGIN + SLACK
            self.clock_cap = cap if self.clock_cap is None else max(cap, self.clock_cap)

    def _delays(self, window: Window) -> Iterator[float]:
        """The poll waits: from this stream's recent exports, else this run's (the account's
        other streams)."""
        history = self.history or (list(self.run.export_history) if self.run else [])
        days = (window.end - window.start).total_seconds() / 86400
        return poll_delays(self.poll_unit, expected_seconds(history, days))

    def _create(self, window: Window, *, attempt: int) -> _Job:
        while True:
            body = self.xspec.body(self.fields, window, api_version=self.api_version,
                                  include_deleted=self.include_deleted or self.drop_deleted)
            try:
                status = self.api.create(body)
                break
            except PardotAPIError as exc:
                if self.fallback and refused_names(exc):
                    raise FieldsRefused(str(exc), exc.code, exc.pardot_message) from None
                if not self.stream.refuse(exc, self.api_version):
                    raise
                self._use_fields()
        self.stream.check_timezone(status.raw_created_at, "an export's createdAt")
        now = self.monotonic()
        delays = self._delays(window)
        job = _Job(window, status, None, attempt=attempt, next_poll=now + next(delays),
                   waiting_since=now, delays=delays)
        job.update(status)
        self.log.info("Stream %s: created export %d (%s) for %s", self.stream.name,
                      status.id, status.state or "?", window.label())
        self._track(job)
        self._emit_state()  # an interrupted run resumes this export
        return job

    def _wait(self, job: _Job | None, k: int, n: int) -> _Job | None:
        """Poll on the schedule until Complete; recreate a Failed, Canceled or expired one,
        or one Waiting too long (canceled). None: no more tries, the window is queried."""
        while job is not None:
            status = job.status
            done = status.state == "Complete" and not status.is_expired
            if done and job.read:
                self.log.debug("Stream %s: export %d complete with %d file(s)",
                               self.stream.name, status.id, len(status.files))
                self._note(None)
                return job
            if not done and (status.finished or status.is_expired):
                why = "expired" if status.is_expired else f"ended {status.state}"
                job = self._recreate(job, why)
                continue
            now = self.monotonic()
            waited = now - job.waiting_since
            at_limit = waited >= self.waiting_limit or math.isclose(waited, self.waiting_limit)
            if status.state == "Waiting" and at_limit:
                self._cancel(job, waited)
                job = self._recreate(job, f"stayed Waiting for {duration(waited)} (canceled)")
                continue
            if waited > self.timeout:
                msg = (
                    f"Stream {self.stream.name}: export {status.id} for {job.window.label()} "
                    f"is still {status.state} after {self.timeout / 3600:g} h "
                    "(export_timeout_hours); state is kept: run again to resume it"
                )
                raise ExportError(msg)
            delay = job.next_poll - now
            if status.state == "Waiting":  # a read at the limit tells whether it is stalled
                delay = min(delay, job.waiting_since + self.waiting_limit - now)
            self._note(f"{_tag(k, n)}: export {status.id} is {status.state or 'queued'}")
            if delay > 0:
                self.log.debug(
                    "Stream %s: %s: export %d is %s; next poll in %s",
                    self.stream.name, _tag(k, n), status.id, status.state or "queued",
                    duration(delay),
                )
                self.sleep(delay)
            try:
                job.update(self.api.read(status.id))
                job.read = True
            except PardotAPIError as exc:
                if status.state != RESUMED:
                    raise
                # An export recorded by an earlier run that Pardot no longer knows.
                job = self._recreate(job, f"could not be read ({exc})")
                continue
            # The schedule runs from the export's creation: polls missed while an earlier
            # window was awaited (an export created ahead) are not made up, one read is.
            now = self.monotonic()
            while job.next_poll <= now:
                job.next_poll += next(job.delays)
        return None

    def _cancel(self, job: _Job, waited: float) -> None:
        """Cancel an export stalled in the queue, so it does not hold the account's queue;
        one that finished meanwhile cannot be (178): that is fine."""
        self.log.warning(
            "Stream %s: export %d for %s is still Waiting (not started) after %s, over %g "
            "h (a share of export_timeout_hours): canceling it", self.stream.name,
            job.status.id, job.window.label(), duration(waited), self.waiting_limit / 3600)
        try:
            self.api.cancel(job.status.id)
        except PardotAPIError as exc:
            self.log.info("Stream %s: export %d not canceled: %s", self.stream.name,
                          job.status.id, exc)

    def _recreate(self, job: _Job, why: str) -> _Job | None:
        """Create the window's export again, or None (its last try: the window is queried)."""
        self._release(job)
        if job.attempt < MAX_ATTEMPTS:
            self.log.warning("Stream %s: export %d for %s %s; creating it again "
                             "(%d of %d)", self.stream.name, job.status.id,
                             job.window.label(), why, job.attempt + 1, MAX_ATTEMPTS)
            return self._create(job.window, attempt=job.attempt + 1)
        if self.xspec.window_field != (self.stream.replication_key or "updated_at"):
            msg = (f"Stream {self.stream.name}: export {job.status.id} for "
                   f"{job.window.label()} {why} after {job.attempt} attempts, and the "
                   "query API cannot read its window. Run again to retry")
            raise ExportError(msg)
        self._inflight.pop(job.window.start, None)
        self._emit_state()  # no export for this window in state any more
        self.log.warning(
            "Stream %s: export %d for %s %s after %d attempts (Pardot advises retrying "
            "later or contacting support): the window is read through the query API instead",
            self.stream.name, job.status.id, job.window.label(), why, job.attempt)
        return None

    # -- downloads ------------------------------------------------------------------------

    def _download_window(self, job: _Job, k: int, n: int) -> Iterator[dict[str, t.Any]]:
        """Download a window; an export that expired before any row came is made again
        (and once out of tries, the window is queried)."""
        while True:
            before = self._rows
            try:
                rows = self._download(job, k, n)
                yield from (exact_times(self.stream, rows, self.converter)
                           if self.api_version == 5 else rows)
                return
            except FatalAPIError:
                if self._rows != before or not self.api.read(job.status.id).is_expired:
                    raise
            again = self._wait(self._recreate(job, "expired before its files were read"), k, n)
            if again is None:
                yield from self._query_window(job.window, k, n)
                return
            job = again

    def _query_window(self, window: Window, k: int, n: int) -> Iterator[dict[str, t.Any]]:
        """The window through the query API (query/__init__.py `query_window`, which logs
        what its records lack next to an export's); its checkpoints move this window only."""
        name = self.stream.name
        self.log.debug("Stream %s: %s: reading %s through the query API", name, _tag(k, n),
                       window.label())
        rows = 0
        with self.stream.reading(_Reader(self.ranges, window.start)):
            for record in self.stream.query_window(self.context, window.start, window.end):
                rows += 1
                self._rows += 1
                yield record
        self.log.debug("Stream %s: %s done: %d rows through the query API", name,
                       _tag(k, n), rows)

    def _download(self, job: _Job, k: int, n: int) -> Iterator[dict[str, t.Any]]:
        window, files = job.window, job.status.files
        name, field_name = self.stream.name, self.xspec.window_field
        # Rows outside the window (bounds read inclusively) belong to a neighbour, and rows
        # past what settled before the export was created to the next run.
        low, high = iso(window.start), iso(job.covered_until)
        bounds = (window.after, window.before)
        for_header, drop_deleted = self.converter.for_header, self.drop_deleted
        done = rows = 0
        progress = self._progress
        if progress is not None:
            progress.files(k + 1, n, 0, len(files))
        self.log.debug("Stream %s: %s: downloading %d file(s), %d at a time", name,
                       _tag(k, n), len(files), min(self.workers, len(files) or 1))
        downloader = Downloader(self.api.download, workers=self.workers, sleep=self.sleep)
        for kind, first, second in downloader.items(files):
            if kind == "file":
                done += 1
                self.log.debug("Stream %s: %s: file %d of %d downloaded (%d rows)", name,
                               _tag(k, n), done, len(files), second)
                if progress is not None:
                    progress.files(k + 1, n, done, len(files))
                continue
            convert = for_header(first)  # per header, cached
            kept = 0
            for row in second:
                record = convert(row, bounds)
                stamp = record.get(field_name)
                if ((stamp is not None and not low <= stamp < high)
                        or (drop_deleted and record.get("is_deleted"))):
                    continue
                kept += 1
                yield record
            rows += kept
            self._rows += kept  # (a download fails between batches, not in one)
        self.log.debug("Stream %s: %s done: %d rows from %d file(s)", name, _tag(k, n),
                       rows, len(files))

    @property
    def _progress(self) -> StreamProgress | None:
        """The stream's progress lines (progress.py); none in unit tests."""
        return getattr(self.stream, "progress", None)

    def _note(self, activity: str | None) -> None:
        """What the stream waits on, for its progress lines."""
        if self._progress is not None:
            self._progress.note(activity)

    # -- state ----------------------------------------------------------------------------

    def _complete(self, step: _Step) -> None:
        """The window is read (its export's up to Pardot's clock at its creation): the
        state moves, and the export's duration joins the history."""
        window = step.window
        job = self._inflight.pop(window.start, None)
        self._release(job)
        covered = window.end if job is None else job.covered_until
        if job is not None and job.created_at is None and self.clock_cap is not None:
            covered = max(window.start, min(covered, self.clock_cap))
        if job is not None and job.created_at is not None and covered != window.end:
            self.log.info(
                "Stream %s: export %d was created at %s by Pardot's clock, before the "
                "window's end, and holds data up to then: %s to %s is left for the next run",
                self.stream.name, job.status.id, iso(job.created_at), iso(covered),
                iso(window.end),
            )
        self.ranges.done(window.start, covered)
        status = job.status if job is not None else None
        if status is not None and status.created_at and status.updated_at:
            seconds = max(0, round((status.updated_at - status.created_at).total_seconds()))
            hours = max(1, round((window.end - window.start).total_seconds() / 3600))
            self.history = [*self.history, [seconds, hours]][-HISTORY:]
            if self.run is not None:
                shared = self.run.export_history
                shared[:] = [*shared, [seconds, hours]][-HISTORY:]
        self._emit_state()

    def _emit_state(self) -> None:
        """STATE with the bookmark and pending ranges so far, and the exports in flight."""
        jobs = sorted(self._inflight.values(), key=lambda job: job.window.start)
        exports = [job.to_state(self.signature, self.api_version) for job in jobs]
        self.stream.checkpoint_ranges(self.ranges, extra={
            "exports": exports or None, "export_history": self.history or None})


def release_exports(run: RunContext, stream_name: str) -> None:
    """A stream's sync ended: its exports not read by now are not this run's any more (kept
    in state), and leave RunContext `exports_outstanding` (the module doc)."""
    outstanding = run.exports_outstanding
    for export_id in [k for k, name in outstanding.items() if name == stream_name]:
        del outstanding[export_id]


def _recorded_time(value: t.Any) -> datetime | None:
    """A `created_at` recorded in state (UTC ISO), or None if absent or unreadable."""
    try:
        return parse_utc(value).replace(microsecond=0) if value else None
    except (TypeError, ValueError):
        return None


def _tag(k: int, n: int) -> str:
    """`window 3 of 7`, or (k = -1) `the whole range`, in logs."""
    return "the whole range" if k < 0 else f"window {k + 1} of {n}"
