"""Which path fetches a stream's records this run: the Export API, the query API, or both
by volume (`auto`).

`sync_mode` (and its per-stream override `stream_sync_modes`) is `export`, `query` or
`auto`. In `auto`, a stream the Export API serves goes through the export path's windows
(newest first), and each window is probed with one query page before any export is made
(export/sync.py): a window of a few pages is queried, that page reused, an empty one costs
that call, a larger one is exported (a range of several windows is probed whole first). So
the choice rests on volume, not on the span of time:

- An export costs a create, a few reads on the poll schedule and one call per file, whatever
  the row count, and it takes Pardot seconds to minutes.
- A query costs one call per page (1,000 rows on v5, 200 on v3/v4), with no wait.

A stream with more fields selected than an export takes (150) is queried in `auto`. A
stream in query mode with ranges pending in state (an interrupted export backfill) reads
them through the export path's windows, each queried.
"""

from __future__ import annotations

import typing as t

from tap_pardot.export.spec import MAX_FIELDS, export_spec
from tap_pardot.export.sync import AUTO, EXPORT, QUERY
from tap_pardot.state import PENDING

if t.TYPE_CHECKING:
    from tap_pardot.client import PardotStream as Stream

__all__ = ["AUTO", "EXPORT", "QUERY", "choose_sync_mode", "has_pending", "requested_mode"]


def requested_mode(stream: Stream) -> str:
    """`stream_sync_modes[stream]`, else `sync_mode`, else auto."""
    settings = stream.settings
    return str(settings.stream_sync_modes.get(stream.name) or settings.sync_mode)


def choose_sync_mode(stream: Stream) -> tuple[str, str]:
    """("export", "auto" (windows, each probed) or "query", why) for this stream and run; the
    stream's start line says both (progress.py)."""
    requested = requested_mode(stream)
    if export_spec(stream) is None:
        if requested == EXPORT:
            return QUERY, "export was requested but the Export API does not serve this object"
        return QUERY, "the Export API does not serve this object"
    if requested == QUERY:
        return QUERY, "sync_mode query requested"
    fields = stream.fetched_properties
    if len(fields) > MAX_FIELDS:
        why = f"{len(fields)} fields selected, the Export API takes at most {MAX_FIELDS}"
        if requested == EXPORT:
            return EXPORT, f"sync_mode export requested although {why}"
        return QUERY, why
    if requested == EXPORT:
        return EXPORT, "sync_mode export requested"
    return AUTO, ("auto: each window newest first is probed with one query page, and "
                  "exported only if it holds more than a few pages")


def has_pending(stream: Stream, context: dict[str, t.Any] | None) -> bool:
    """Whether the state holds ranges still to fetch below the bookmark."""
    return bool(stream.get_context_state(context).get(PENDING))
