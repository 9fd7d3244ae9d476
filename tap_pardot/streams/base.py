"""PardotObjectStream: picks the sync path (export or query) per stream and run."""

from __future__ import annotations

import typing as t

from typing_extensions import override

from tap_pardot.export import ExportSync
from tap_pardot.limits import StopRun
from tap_pardot.query import QueryStream
from tap_pardot.strategy import choose_sync_mode


class PardotObjectStream(QueryStream):
    """A Pardot object; subclasses only declare names, paths and export procedures."""

    @override
    def get_records(self, context: t.Any) -> t.Iterable[dict[str, t.Any]]:
        self.begin_sync()
        try:
            if choose_sync_mode(self, context) == "export":
                yield from ExportSync(self, context).records()
            else:
                yield from self.query_records(context)
        except StopRun as stop:
            # A clean stop: the last checkpoint is the resumable state the SDK writes now.
            self.stop_run(stop)
