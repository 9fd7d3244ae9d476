"""Export-based sync: windows, create, poll on the schedule, pipelined downloads, state.

For each window (see windows.py) one export is created; the next window's export is
created as soon as the current one is Complete (or given up, below), so Pardot processes it
(one export at a time per account, in creation order) while this one's files download. The
bookmark moves only when a window's files are all downloaded, and a STATE message follows
each window. Exports in flight are recorded in the stream's state, so an interrupted run
resumes them:

    {"replication_key": "updated_at", "replication_key_value": "<last window's bookmark>",
     "exports": [{"id": 123, "window_start": "...", "window_end": "...", "api_version": 5,
                  "signature": "...", "created_at": "<Pardot's createdAt, UTC>",
                  "attempt": 1}]}

Windows are half-open, `[start, end)`, and the bookmark is the end of the last whole one:
every record stamped before it was emitted. Pardot's clock, not this machine's, bounds the
range: windows are planned up to the stream's read bound (Pardot's clock from the `Date`
header less `SETTLE`, see clock.py). An export also holds only "data up until the creation
date of the export", its `createdAt`: a window reaching past `createdAt` less `CLOCK_MARGIN`
(a resumed export, or no `Date` header seen) stops there, and is the run's last window.
A resumed export's `createdAt` comes from its read reply, else from state.

A window whose export does not come is read through the query API instead, and the run goes
on with the next windows: an export that ends Failed or Canceled (by Pardot), or expires
before its files are read, is created again once (MAX_ATTEMPTS exports per window); one still
Waiting (queued, not started) after WAITING_SHARE of `export_timeout_hours` is canceled, so
it does not hold the account's one-at-a-time queue, and counts as failed. When a window's
last export fails too, `stream.query_window(context, start, end)` (query/__init__.py) reads
exactly `[start, end)` of the window field, whatever the bookmark; its checkpoints stay in the
window, and the window's end is the bookmark once it is read, as for an export. An export
still Processing after `export_timeout_hours` is an error that keeps it in state, for the
next run to resume.

Naive CSV times are read in `timezone`. The replication key's value is placed by the window
(so a DST fall-back's repeated hour is read right); other naive times in a repeated hour are
read as the first occurrence, a Pardot limitation (set the API user's timezone to UTC to
avoid it).
"""

from __future__ import annotations

import hashlib
import math
import time
import typing as t
from dataclasses import dataclass
from datetime import datetime

from singer_sdk.exceptions import FatalAPIError

from tap_pardot.client import PardotAPIError, refused_names
from tap_pardot.clock import SETTLE
from tap_pardot.export.api import ExportApi, ExportStatus
from tap_pardot.export.download import Downloader
from tap_pardot.export.spec import export_spec, run_range
from tap_pardot.export.windows import SLACK, Window, cut_windows, poll_wait
from tap_pardot.times import iso, parse_utc

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tap_pardot.query import QueryStream as Stream

MAX_ATTEMPTS = 2  # exports created per window before the window is queried instead
# An export still Waiting (queued behind others, not started) after this share of
# `export_timeout_hours` (6 h of the default 24) is canceled and counts as failed: two such
# tries take at most half the timeout before the window is queried.
WAITING_SHARE = 0.25
PROGRESS_SECONDS = 30.0
RESUMED = "recorded in state"  # the state of an export resumed from state, until read
# What an export holds for sure: changes stamped up to its `createdAt` less this, as a
# change stamped just before may become visible to the export's reader a little later.
CLOCK_MARGIN = SETTLE


class ExportError(PardotAPIError):
    """An export could not be completed; the state keeps what is needed to resume."""


class FieldsRefused(PardotAPIError):
    """The export refused a selected field: the query path can deliver it instead."""


@dataclass
class _Job:
    """One export of one window, as this run tracks it."""

    window: Window
    status: ExportStatus
    created_at: datetime | None  # Pardot's clock at the export's creation, once known
    attempt: int = 1
    polls: int = 0
    next_poll: float = 0.0
    waiting_since: float = 0.0

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
    ) -> None:
        """`fallback`: a field the export refuses ends the export path with FieldsRefused
        (the caller queries instead); otherwise the field is dropped and the export retried."""
        settings = stream.settings
        spec = export_spec(stream)
        if spec is None:
            msg = f"Stream {stream.name} cannot be exported: the Export API does not serve it"
            raise ExportError(msg)
        self.stream, self.context, self.spec = stream, context, spec
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
            and spec.deleted_argument is not None
            and "is_deleted" in stream.schema.get("properties", {})
        )
        self._use_fields()
        self._inflight: dict[datetime, _Job] = {}  # the current export of each window
        self._windows: list[Window] = []
        self._resumable: dict[datetime, dict[str, t.Any]] = {}
        self._rows = 0

    def _use_fields(self) -> None:
        """The fields to export (all fetched properties) and what follows from them."""
        stream = self.stream
        self.props = stream.fetched_properties
        if self.drop_deleted and "is_deleted" not in self.props:
            self.props.append("is_deleted")
        self.fields = [stream.wire_name(p, self.api_version) for p in self.props]
        self.converter = stream.converter.for_fields(self.props, csv=True)
        # A recorded export is resumed only by a run that would have made the same one.
        text = "|".join([self.spec.object, self.spec.procedure, str(self.include_deleted),
                         str(self.tz), *sorted(self.fields)])
        self.signature = hashlib.sha256(text.encode()).hexdigest()[:16]

    # -- planning -------------------------------------------------------------------------

    def plan(self) -> list[Window]:
        """Windows from the bookmark to end_date (or now), reusing exports left in state."""
        start, end = run_range(self.stream, self.context)
        windows: list[Window] = []
        cursor = start
        recorded = self.stream.get_context_state(self.context).get("exports") or []
        for k, record in enumerate(recorded):
            window = self._recorded_window(record, cursor, end)
            if window is None:
                for stale in recorded[k:]:
                    self._cancel_stale(stale)
                break
            windows.append(window)
            self._resumable[window.start] = record
            cursor = window.end
        windows += cut_windows(cursor, end, self.window_days, self.tz)
        return windows

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

    def _recorded_window(self, record: dict[str, t.Any], cursor: datetime,
                         end: datetime) -> Window | None:
        try:
            window = Window(parse_utc(record["window_start"]), parse_utc(record["window_end"]))
            ok = (
                int(record["api_version"]) == self.api_version
                and record.get("signature") == self.signature
                and window.start == cursor
                and cursor < window.end <= end
            )
        except (KeyError, TypeError, ValueError):
            return None
        return window if ok else None

    # -- the run --------------------------------------------------------------------------

    def records(self) -> Iterator[dict[str, t.Any]]:
        """Every record of every window; the bookmark moves as each window completes."""
        windows = self.plan()
        name = self.stream.name
        if not windows:
            self.log.info("Stream %s: nothing to export (bookmark is at the end)", name)
            return
        self.log.info(
            "Stream %s: exporting %s in %d window(s) of up to %d days, %d fields, API v%d",
            name, Window(windows[0].start, windows[-1].end).label(), len(windows),
            self.window_days, len(self.fields), self.api_version,
        )
        yield from self._run(windows)

    def _run(self, windows: list[Window]) -> Iterator[dict[str, t.Any]]:
        name, self._windows = self.stream.name, windows  # the plan may be cut (_cut_plan)
        nxt: _Job | None = self._start(windows[0])
        k = 0
        while k < len(windows):
            window = windows[k]
            self.log.info("Stream %s: window %d of %d: %s", name, k + 1, len(windows),
                          window.label())
            assert nxt is not None  # created for each window but after the last one
            job = self._wait(nxt, k, len(windows))  # None: the window is queried
            if job is not None:
                self._cut_plan(k, job)
            # The next export queues while this window downloads (or is queried).
            nxt = self._start(windows[k + 1]) if k + 1 < len(windows) else None
            if job is None:
                yield from self._query_window(window, k, len(windows))
            else:
                yield from self._download_window(job, k, len(windows))
            self._complete(window)
            k += 1

    def _cut_plan(self, k: int, job: _Job) -> None:
        """End the run with window k if it reaches past Pardot's clock at its export."""
        later = len(self._windows) - k - 1
        if job.created_at is None or job.covered_until == job.window.end or not later:
            return
        self.log.info(
            "Stream %s: Pardot's clock read %s when export %d was created (this machine "
            "planned to %s): %d later window(s) dropped, the run ends at %s",
            self.stream.name, iso(job.created_at), job.status.id, iso(self._windows[-1].end),
            later, iso(job.covered_until),
        )
        del self._windows[k + 1 :]

    def _start(self, window: Window) -> _Job:
        """Resume the export recorded for this window, or create one."""
        record = self._resumable.pop(window.start, None)
        if record is None:
            return self._create(window, attempt=1)
        now = self.monotonic()
        job = _Job(window, ExportStatus(int(record["id"]), RESUMED),
                   _recorded_time(record.get("created_at")),
                   attempt=int(record.get("attempt", 1)), next_poll=now, waiting_since=now)
        self.log.info("Stream %s: resuming export %d for %s (recorded in state)",
                      self.stream.name, job.status.id, window.label())
        self._inflight[window.start] = job
        return job

    def _create(self, window: Window, *, attempt: int) -> _Job:
        while True:
            body = self.spec.body(self.fields, window, api_version=self.api_version,
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
        job = _Job(window, status, None, attempt=attempt,
                   next_poll=now + poll_wait(0, self.poll_unit), waiting_since=now)
        job.update(status)
        self.log.info("Stream %s: created export %d (%s) for %s", self.stream.name,
                      status.id, status.state or "?", window.label())
        self._inflight[window.start] = job
        self._emit_state()  # an interrupted run resumes this export
        return job

    def _wait(self, job: _Job | None, k: int, n: int) -> _Job | None:
        """Poll on the schedule until Complete; recreate a Failed, Canceled or expired one,
        or one Waiting too long (canceled). None: no more tries, the window is queried."""
        while job is not None:
            status = job.status
            if status.state == "Complete" and not status.is_expired:
                self.log.info("Stream %s: export %d complete with %d file(s)",
                              self.stream.name, status.id, len(status.files))
                return job
            if status.finished or status.is_expired:
                why = "expired" if status.is_expired else f"ended {status.state}"
                job = self._recreate(job, why)
                continue
            now = self.monotonic()
            waited = now - job.waiting_since
            at_limit = waited >= self.waiting_limit or math.isclose(waited, self.waiting_limit)
            if status.state == "Waiting" and at_limit:
                self._cancel(job, waited)
                job = self._recreate(job, f"stayed Waiting for {_duration(waited)} (canceled)")
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
            if delay > 0:
                self.log.info(
                    "Stream %s: window %d of %d: export %d is %s; next poll in %s",
                    self.stream.name, k + 1, n, status.id, status.state or "queued",
                    _duration(delay),
                )
                self.sleep(delay)
            try:
                job.update(self.api.read(status.id))
            except PardotAPIError as exc:
                if status.state != RESUMED:
                    raise
                # An export recorded by an earlier run that Pardot no longer knows.
                job = self._recreate(job, f"could not be read ({exc})")
                continue
            job.polls += 1
            job.next_poll = self.monotonic() + poll_wait(job.polls, self.poll_unit)
        return None

    def _cancel(self, job: _Job, waited: float) -> None:
        """Cancel an export stalled in the queue, so it does not hold the account's queue;
        one that finished meanwhile cannot be (178): that is fine."""
        self.log.warning(
            "Stream %s: export %d for %s is still Waiting (not started) after %s, over %g "
            "h (a share of export_timeout_hours): canceling it", self.stream.name,
            job.status.id, job.window.label(), _duration(waited), self.waiting_limit / 3600)
        try:
            self.api.cancel(job.status.id)
        except PardotAPIError as exc:
            self.log.info("Stream %s: export %d not canceled: %s", self.stream.name,
                          job.status.id, exc)

    def _recreate(self, job: _Job, why: str) -> _Job | None:
        """Create the window's export again, or None (its last try: the window is queried)."""
        if job.attempt < MAX_ATTEMPTS:
            self.log.warning("Stream %s: export %d for %s %s; creating it again "
                             "(%d of %d)", self.stream.name, job.status.id,
                             job.window.label(), why, job.attempt + 1, MAX_ATTEMPTS)
            return self._create(job.window, attempt=job.attempt + 1)
        if self.spec.window_field != (self.stream.replication_key or "updated_at"):
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
                yield from self._download(job, k, n)
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
        what its records lack next to an export's)."""
        name = self.stream.name
        self.log.info("Stream %s: window %d of %d: reading %s through the query API", name,
                      k + 1, n, window.label())
        rows = 0
        for record in self.stream.query_window(self.context, window.start, window.end):
            rows += 1
            self._rows += 1
            yield record
        self.log.info("Stream %s: window %d of %d done: %d rows through the query API",
                      name, k + 1, n, rows)

    def _download(self, job: _Job, k: int, n: int) -> Iterator[dict[str, t.Any]]:
        window, files = job.window, job.status.files
        name, field_name = self.stream.name, self.spec.window_field
        # Rows outside the window (bounds read inclusively) belong to a neighbour, and rows
        # past what settled before the export was created to the next run.
        low, high = iso(window.start), iso(job.covered_until)
        bounds = (window.after, window.before)
        for_header = self.converter.for_header
        done = rows = 0
        last_log = began = self.monotonic()
        self.log.info("Stream %s: window %d of %d: downloading %d file(s), %d at a time",
                      name, k + 1, n, len(files), min(self.workers, len(files) or 1))
        downloader = Downloader(self.api.download, workers=self.workers, sleep=self.sleep)
        for kind, first, second in downloader.items(files):
            if kind == "file":
                done += 1
                self.log.info("Stream %s: window %d of %d: file %d of %d downloaded (%d rows)",
                              name, k + 1, n, done, len(files), second)
                continue
            convert = for_header(first)  # per header, cached
            for row in second:
                record = convert(row, bounds)
                stamp = record.get(field_name)
                if stamp is not None and not low <= stamp < high:
                    continue
                if self.drop_deleted and record.get("is_deleted"):
                    continue
                rows += 1
                self._rows += 1
                yield record
            if self.monotonic() - last_log >= PROGRESS_SECONDS:
                last_log = self.monotonic()
                self._log_rate(k, n, rows, began)
        self.log.info("Stream %s: window %d of %d done: %d rows from %d file(s)",
                      name, k + 1, n, rows, len(files))
        self._log_rate(k, n, rows, began)

    def _log_rate(self, k: int, n: int, rows: int, began: float) -> None:
        elapsed = max(self.monotonic() - began, 1e-6)
        self.log.info("Stream %s: window %d of %d: %d rows so far in the run, %.0f rows/s",
                      self.stream.name, k + 1, n, self._rows, rows / elapsed)

    # -- state ----------------------------------------------------------------------------

    def _complete(self, window: Window) -> None:
        """Move the bookmark to the window's end (or Pardot's clock) and emit STATE."""
        job = self._inflight.pop(window.start, None)
        covered = window.end if job is None else job.covered_until
        if job is not None and job.created_at is not None and covered != window.end:
            self.log.info(
                "Stream %s: export %d was created at %s by Pardot's clock, before the "
                "window's end, and holds data up to then: the bookmark stops at %s",
                self.stream.name, job.status.id, iso(job.created_at), iso(covered),
            )
        self._emit_state(iso(covered))

    def _emit_state(self, bookmark: str | None = None) -> None:
        """STATE with the exports in flight (and the new bookmark, at a window's end)."""
        jobs = sorted(self._inflight.values(), key=lambda job: job.window.start)
        exports = [job.to_state(self.signature, self.api_version) for job in jobs]
        self.stream.checkpoint(bookmark, extra={"exports": exports or None})


def _recorded_time(value: t.Any) -> datetime | None:
    """A `created_at` recorded in state (UTC ISO), or None if absent or unreadable."""
    try:
        return parse_utc(value).replace(microsecond=0) if value else None
    except (TypeError, ValueError):
        return None


def _duration(seconds: float) -> str:
    """`0.05 s`, `42 s`, `3.5 min`, `2.1 h`."""
    if seconds < 10:
        return f"{seconds:.2g} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
