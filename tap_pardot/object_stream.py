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
from tap_pardot.export.sync import ExportSync, FieldsRefused
from tap_pardot.limits import StopRun
from tap_pardot.query import QueryStream
from tap_pardot.retry import MAX_TRIES
from tap_pardot.settings import ConfigError
from tap_pardot.state import StateError
from tap_pardot.strategy import AUTO, QUERY, choose_sync_mode, has_pending, requested_mode

# Retried errors that outlasted every try.
GAVE_UP = (RetriableAPIError, requests.exceptions.ConnectionError, requests.exceptions.Timeout)


class PardotObjectStream(QueryStream):
    """A Pardot object; subclasses only declare names, paths and export procedures."""

    def export_records(self, context: t.Any, mode: str) -> t.Iterable[dict[str, t.Any]]:
        """Records through the export path's windows (`mode` export or auto); in `auto`, a
        field the export refuses sends the stream to the query path instead, which can
        deliver it (never a null for it)."""
        auto = requested_mode(self) == AUTO
        try:
            yield from ExportSync(self, context, fallback=auto, sleep=self.run.pause,
                                  mode=mode).records()
        except FieldsRefused as exc:
            self.logger.info("Stream %s: query mode instead (the export refused a selected "
                             "field: %s)", self.name, exc.pardot_message)
            yield from self.windowed_query(context)

    def prefetch_export(self) -> None:
        """Create this stream's first export ahead of its turn, while the previous stream's
        last files download, so Pardot's one-at-a-time queue does not idle; recorded in
        state, its sync resumes it. Only where its sync would make it (export or auto)."""
        if self.api_version != 5 and not self.v3_object:
            return
        try:
            mode = choose_sync_mode(self, None, quiet=True)
            if mode != QUERY:
                # What the SDK does first when the stream's sync begins (it does it again
                # then): the starting value its `get_starting_timestamp` reads.
                self._write_starting_replication_value(None)
                auto = requested_mode(self) == AUTO
                ExportSync(self, None, sleep=self.run.pause, mode=mode,
                           fallback=auto).prefetch()
        except (AuthError, ConfigError, StateError, PardotAPIError, *GAVE_UP) as exc:
            # Its own sync meets the problem again, and says so: not the current stream's.
            self.logger.info("Stream %s: no export created ahead of its turn: %s",
                             self.name, exc)

    def windowed_query(self, context: t.Any) -> t.Iterable[dict[str, t.Any]]:
        """The query path; ranges pending in state (a backfill left by an export run) are
        read first, each window queried."""
        if has_pending(self, context):
            yield from ExportSync(self, context, sleep=self.run.pause, mode=QUERY).records()
        else:
            yield from self.query_records(context)

    @override
    def get_records(self, context: t.Any) -> t.Iterable[dict[str, t.Any]]:
        if self.api_version != 5 and not self.v3_object:
            # Skipped, not failed: Singer and Meltano select every stream by default, and a
            # v3/v4 account should still get the streams its API version serves.
            self.logger.warning("Stream %s skipped: Pardot serves it on API version 5 only "
                                "(api_version is %s)", self.name, self.api_version)
            return
        self.begin_sync()
        # The SDK's connection test (`--test`) is a dry run of one record per stream:
        # always a query then, never an export that would take minutes.
        dry_run = self.ABORT_AT_RECORD_COUNT is not None
        try:
            if dry_run:  # stop at the limit, before the SDK aborts the stream with an error
                self.authenticator.update_access_token()  # a test checks credentials always
                records: t.Iterable[dict[str, t.Any]] = itertools.islice(
                    self.query_records(context), self.ABORT_AT_RECORD_COUNT)
            else:
                mode = choose_sync_mode(self, context)
                records = (self.windowed_query(context) if mode == QUERY
                           else self.export_records(context, mode))
            for record in records:
                self.run.records += 1
                yield record
        except StopRun as stop:
            # A clean stop: the last checkpoint is the resumable state the SDK writes now.
            self.stop_run(stop)
        except (AuthError, ConfigError, StateError, PardotAPIError, *GAVE_UP) as exc:
            self.hold_bookmark()
            prefix = "Connection test failed" if dry_run else f"Stream {self.name} failed"
            if isinstance(exc, GAVE_UP):
                prefix += f" after {MAX_TRIES} tries"
            raise StreamFailed(f"{prefix}: {exc}") from None
        except BaseException:
            self.hold_bookmark()
            raise


class StreamFailed(Exception):
    """A stream stopped on an error; the message is one line (the CLI prints it, exits 1)."""
