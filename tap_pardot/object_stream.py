"""PardotObjectStream: picks the sync path (export or query) per stream and run, and turns
failures into one line (StreamFailed, which the CLI prints and exits 1 on)."""

from __future__ import annotations

import itertools
import typing as t

import requests
from singer_sdk.exceptions import RetriableAPIError
from typing_extensions import override

from tap_pardot.auth import AuthError
from tap_pardot.client import PardotAPIError
from tap_pardot.export.sync import ExportSync, FieldsRefused, release_exports
from tap_pardot.limits import StopRun
from tap_pardot.progress import DUE_EVERY, StreamProgress, quiet_sdk_lines
from tap_pardot.query import QueryStream
from tap_pardot.retry import MAX_TRIES
from tap_pardot.settings import ConfigError
from tap_pardot.state import StateError
from tap_pardot.strategy import AUTO, QUERY, choose_sync_mode, has_pending, requested_mode

# Retried errors that outlasted every try.
GAVE_UP = (RetriableAPIError, requests.exceptions.ConnectionError, requests.exceptions.Timeout)


class PardotObjectStream(QueryStream):
    """A Pardot object; subclasses only declare names, paths and export procedures."""

    progress: StreamProgress  # this run's log lines (progress.py); the export path's too
    _prefetched = False  # its first export was tried ahead of its turn (once a run)
    _skip_noted = False  # the skip for an unserved API version was said

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        quiet_sdk_lines(self.logger)

    def export_records(self, context: t.Any, mode: str) -> t.Iterable[dict[str, t.Any]]:
        """Records through the export path's windows (`mode` export or auto); in `auto`, a
        field the export refuses sends the stream to the query path instead, which can
        deliver it (never a null for it)."""
        try:
            yield from self.export_sync(context, mode).records()
        except FieldsRefused as exc:
            self.logger.info("Stream %s: query mode instead (the export refused a selected "
                             "field: %s)", self.name, exc.pardot_message)
            yield from self.windowed_query(context)

    def prefetch_export(self) -> bool:
        """Create this stream's first export ahead of its turn, while an earlier stream's
        files download, so Pardot's one-at-a-time queue does not idle; recorded in
        state, its sync resumes it. Only where its sync would make it (export or auto), and
        once a run. False if that spent a call and queued no export (a small first window,
        a fault)."""
        if not self.served or self._prefetched:
            return True
        self._prefetched = True
        try:
            mode = choose_sync_mode(self)[0]
            if mode == QUERY:
                return True
            # What the SDK does first when the stream's sync begins (it does it again
            # then): the starting value its `get_starting_timestamp` reads.
            self._write_starting_replication_value(None)
            return self.export_sync(None, mode).prefetch()
        except (AuthError, ConfigError, StateError, PardotAPIError, *GAVE_UP) as exc:
            # Its own sync meets the problem again, and says so: not the current stream's.
            self.logger.info("Stream %s: no export created ahead of its turn: %s",
                             self.name, exc)
            return False

    def windowed_query(self, context: t.Any) -> t.Iterable[dict[str, t.Any]]:
        """The query path; ranges pending in state (a backfill left by an export run) are
        read first, each window queried."""
        if has_pending(self, context):
            yield from self.export_sync(context, QUERY).records()
        else:
            yield from self.query_records(context)

    def export_sync(self, context: t.Any, mode: str) -> ExportSync:
        """The export path's sync of this stream in `mode`; in `auto` requested, a field the
        export refuses ends it (FieldsRefused: the query path delivers the field)."""
        return ExportSync(self, context, sleep=self.run.pause, mode=mode,
                          fallback=requested_mode(self) == AUTO)

    @property
    def served(self) -> bool:
        """Whether this run's API version serves the object (v5: a `v5_path`; v3/v4: a
        `v3_object`)."""
        return bool(self.v5_path if self.api_version == 5 else self.v3_object)

    @property
    @override
    def selected(self) -> bool:
        # Skipped, not failed: Singer and Meltano select every stream by default, and an
        # account should still get the streams its API version serves. Unselected, the
        # stream sends no SCHEMA either, so no target creates an empty table for it.
        if not super().selected:
            return False
        self.note_skip()
        return self.served

    @selected.setter
    def selected(self, value: bool | None) -> None:
        t.cast("t.Any", QueryStream.selected).fset(self, value)  # the SDK's setter

    def note_skip(self) -> None:
        """Say once that this run's API version does not serve the stream."""
        if not self.served and not self._skip_noted:
            self._skip_noted = True
            versions = "version 5" if self.v5_path else "versions 3 and 4"
            self.logger.warning("Stream %s skipped: Pardot serves it on API %s only "
                                "(api_version is %s)", self.name, versions, self.api_version)

    @override
    def get_records(self, context: t.Any) -> t.Iterable[dict[str, t.Any]]:
        if not self.served:  # synced although unselected (the SDK's standard tests)
            self.note_skip()
            return
        self.begin_sync()
        # A child stream is read once per parent record: one start line and one count for
        # all of them; its end line only if a read fails (the run's summary counts it).
        child, again = bool(self.parent_stream_type), "progress" in self.__dict__
        if not (child and again):
            self.progress = StreamProgress(self.name, self.logger, lambda: self.run.gate.calls)
            self.run.streams += 1
        progress = self.progress
        outcome, told, untold = "failed", progress.records, 0
        # The SDK's connection test (`--test`) is a dry run of one record per stream:
        # always a query then, never an export that would take minutes.
        dry_run = self.ABORT_AT_RECORD_COUNT is not None
        try:
            if dry_run:  # stop at the limit, before the SDK aborts the stream with an error
                self.authenticator.update_access_token()  # a test checks credentials always
                mode, why = "query", "connection test: one record"
            elif child:  # read per parent record: never an export
                mode, why = "query", "read for each record of its parent stream"
            else:
                mode, why = choose_sync_mode(self)
            if not (child and again):
                self.start_line(progress, mode, why, context)
            if dry_run:
                records: t.Iterable[dict[str, t.Any]] = itertools.islice(
                    self.query_records(context), self.ABORT_AT_RECORD_COUNT)
            elif mode == QUERY:
                records = self.windowed_query(context)
            else:
                records = self.export_records(context, mode)
            key = self.replication_key or ""
            for record in records:
                untold += 1
                if untold == DUE_EVERY:
                    progress.record(record.get(key), untold)
                    untold = 0
                yield record
            outcome = "done"
        except StopRun as stop:
            # A clean stop: the last checkpoint is the resumable state the SDK writes now.
            outcome = "stopped early"
            self.stop_run(stop)
        except (AuthError, ConfigError, StateError, PardotAPIError, *GAVE_UP) as exc:
            self.hold_bookmark()
            prefix = "Connection test failed" if dry_run else f"Stream {self.name} failed"
            if isinstance(exc, GAVE_UP):
                prefix += f" after {MAX_TRIES} tries"
            raise StreamFailed(f"{prefix}: {exc}") from None
        except GeneratorExit:  # the SDK's connection test stops reading: not a failure
            outcome = "done"
            raise
        except BaseException:
            self.hold_bookmark()
            raise
        finally:
            progress.record(None, untold)
            self.run.records += progress.records - told
            release_exports(self.run, self.name)
            if not child or outcome != "done":
                progress.end(outcome)

    def start_line(self, progress: StreamProgress, mode: str, why: str, context: t.Any) -> None:
        """The stream's start line: mode and why, the range from the bookmark (or
        start_date) to this run's bound."""
        if not self.replication_key:
            progress.start(mode, f"{why}; full table, read whole every run")
            return
        start = self.resume_point(context)[0].replace(microsecond=0)
        bound = self.read_bound()
        end_date = self.settings.end_date
        order = self.v5_order if self.api_version == 5 else self.v3_sort_by
        progress.start(mode, why, start, bound,
                       end_date=end_date is not None and bound == end_date.replace(microsecond=0),
                       ordered=mode == "query" and order == self.replication_key)


class StreamFailed(Exception):
    """A stream stopped on an error; the message is one line (the CLI prints it, exits 1)."""
