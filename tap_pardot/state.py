"""The one writer of a stream's state: checkpoints at safe points, and where a run resumes.

A STATE is a promise: every record stamped before the bookmark (and, with `tie_break`, those
at the bookmark with an id up to its id) is already out. So it is written only at safe points
(a page consumed, an export window downloaded, a walk finished) and only once the records it
covers are out: right away when records are RECORD lines, and in BATCH mode by the SDK right
after the BATCH message that announces them.

A backfill goes newest first (export/sync.py), so older ranges can be pending below a
bookmark: they are kept in state, and the bookmark stays a high-water mark with them:

    {"replication_key": "updated_at", "replication_key_value": "2025-11-20T11:58:01+00:00",
     "pending": [["2022-11-20T12:00:00+00:00", "2025-04-02T05:30:00+00:00"]]}

means: every record stamped before the bookmark was emitted, except those stamped in a
pending range `[start, end)`. A run fetches the pending ranges too (ExportSync), and an
incremental run starts from the bookmark. `Ranges` is that bookkeeping; while a run reads
one window of it, the query path's own checkpoints move only that window's part
(`reading`).

The SDK keeps "progress markers" too (the highest replication value emitted) and promotes them
to the bookmark when a stream ends. Rows arrive unsorted (export files, id walks), so the
markers follow the checkpoints instead, and a run that stops early drops them: its bookmark
stays at its last checkpoint.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import typing as t

from tap_pardot.times import EPOCH, parse_utc

if t.TYPE_CHECKING:
    from singer_sdk import Stream

    _Base = Stream
else:
    _Base = object

MARKERS = "progress_markers"
PENDING = "pending"

Span = tuple[dt.datetime, dt.datetime]


class Ranges:
    """What a run still has to fetch: half-open UTC ranges below `top` (the run's end)."""

    def __init__(self, todo: t.Iterable[Span], top: dt.datetime) -> None:
        self.top = top
        self.todo = sorted((lo, hi) for lo, hi in todo if lo < hi)

    def done(self, start: dt.datetime, end: dt.datetime) -> None:
        """`[start, end)` was emitted."""
        if start >= end:
            return
        left: list[Span] = []
        for lo, hi in self.todo:
            if end <= lo or hi <= start:
                left.append((lo, hi))
                continue
            if lo < start:
                left.append((lo, start))
            if end < hi:
                left.append((end, hi))
        self.todo = left

    def state(self) -> tuple[dt.datetime, list[Span]]:
        """(bookmark, pending): the bookmark is the start of what is left up to `top`."""
        if self.todo and self.todo[-1][1] >= self.top:
            return self.todo[-1][0], self.todo[:-1]
        return self.top, list(self.todo)


def pending_spans(state: t.Mapping[str, t.Any]) -> list[Span]:
    """The pending ranges a state holds (unreadable entries are an error: StateError)."""
    spans = []
    for item in state.get(PENDING) or []:
        try:
            lo, hi = parse_utc(item[0]), parse_utc(item[1])
        except (TypeError, ValueError, IndexError, KeyError):
            msg = f"The state's pending range {item!r} is not a pair of dates"
            raise StateError(msg) from None
        spans.append((lo, hi))
    return spans


class RangeReader(t.Protocol):
    """A run reading one window of its Ranges (see Checkpoints.reading)."""

    ranges: Ranges
    start: dt.datetime
    at: dt.datetime | None  # the window's last checkpoint so far (None: none yet)

    def on_checkpoint(self, bookmark: dt.datetime | None) -> None:
        """Called before a checkpoint inside the window is written (may raise)."""


class StateError(ValueError):
    """The state cannot be used (no start date, an unreadable bookmark)."""


def tie_id(state: t.Mapping[str, t.Any]) -> int | None:
    """The id already emitted at the state's bookmark (`tie_break`), if it is that
    bookmark's."""
    tie = state.get("tie_break") or {}
    same = tie.get("updated_at") and tie["updated_at"] == state.get("replication_key_value")
    return int(tie["id"]) if same else None


class Checkpoints(_Base):
    """State for PardotStream: `checkpoint()` at safe points, `resume_point()` to start."""

    _range_reader: RangeReader | None = None  # the window being read (see reading)

    def begin_sync(self) -> None:
        """Mark progress as checkpointed (the SDK would warn "not resumable" otherwise)."""
        self.stream_state.setdefault(
            MARKERS, {"Note": "The bookmark moves at checkpoints: page ends, whole export "
                              "windows."})

    def checkpoint(
        self, bookmark: str | dt.datetime | None = None, *, tie_id: int | None = None,
        extra: dict[str, t.Any] | None = None,
    ) -> None:
        """Record a resumable point and emit STATE once what it covers is out.

        `bookmark`: every record with a replication value before it has been emitted (and,
        with `tie_id`, those at it with id <= tie_id). `extra` keys are merged into this
        stream's state (None deletes a key): exports in flight, a walk's progress.
        """
        reader = self._range_reader
        if reader is not None:
            # Inside a window of a run with pending ranges: the window's part before the
            # bookmark is done, and the state is what the run's ranges leave.
            at = None if bookmark is None else parse_utc(bookmark)
            reader.on_checkpoint(at)
            if at is not None:
                reader.at = at
            if at is not None and at > reader.start:
                reader.ranges.done(reader.start, at)
            self.checkpoint_ranges(reader.ranges, extra=extra)
            return
        self._write(bookmark, tie_id, extra)

    def _write(self, bookmark: str | dt.datetime | None, tie_id: int | None,
               extra: dict[str, t.Any] | None) -> None:
        state = self.stream_state
        if bookmark is not None:
            value = bookmark.isoformat() if isinstance(bookmark, dt.datetime) else bookmark
            state["replication_key"] = self.replication_key
            state["replication_key_value"] = value
            markers = state.get(MARKERS)
            if isinstance(markers, dict):
                markers.update(replication_key=self.replication_key,
                               replication_key_value=value)
            if tie_id is None:
                state.pop("tie_break", None)
            else:
                state["tie_break"] = {"updated_at": value, "id": tie_id}
        for key, val in (extra or {}).items():
            if val is None:
                state.pop(key, None)
            else:
                state[key] = val
        self.state_manager.is_flushed = False
        if self.get_batch_config(self.config) is None:  # else the SDK, after each BATCH
            self._write_state_message()

    def checkpoint_ranges(self, ranges: Ranges, *,
                          extra: dict[str, t.Any] | None = None) -> None:
        """Checkpoint what `ranges` leave: the bookmark and the pending ranges."""
        bookmark, pending = ranges.state()
        spans = [[lo.isoformat(), hi.isoformat()] for lo, hi in pending]
        self._write(bookmark, None, {**(extra or {}), PENDING: spans or None})

    @contextlib.contextmanager
    def reading(self, reader: RangeReader) -> t.Iterator[None]:
        """While the body runs, checkpoints (the query path's) move only `reader`'s window."""
        self._range_reader = reader
        try:
            yield
        finally:
            self._range_reader = None

    def window_progress(self) -> tuple[bool, dt.datetime | None]:
        """(whether a window is being read (see reading), its last checkpoint so far)."""
        reader = self._range_reader
        return reader is not None, None if reader is None else reader.at

    def hold_bookmark(self) -> None:
        """The run stops early: the bookmark stays at the last checkpoint (the SDK would
        promote the highest value emitted since, past records not yet read)."""
        markers = self.stream_state.get(MARKERS)
        if isinstance(markers, dict):
            markers.pop("replication_key", None)
            markers.pop("replication_key_value", None)

    def compare_start_date(self, value: str, start_date_value: str) -> str:
        """The SDK's choice of bookmark or start date, with an unreadable bookmark named in
        one line (StateError) instead of a traceback."""
        try:
            return super().compare_start_date(value, start_date_value)
        except ValueError:
            msg = f"The state's bookmark for stream {self.name} is not a date: {value!r}"
            raise StateError(msg) from None

    def resume_point(self, context: t.Any) -> tuple[dt.datetime, int | None]:
        """(start, tie_id): the bookmark (or `start_date`) and the id already emitted at it;
        the epoch for a stream read whole every run (no replication key)."""
        if not self.replication_key:
            return EPOCH, None
        try:
            start = self.get_starting_timestamp(context)
        except ValueError as exc:
            msg = f"The state's bookmark for stream {self.name} is not a date: {exc}"
            raise StateError(msg) from None
        if start is None:
            msg = "Setting `start_date` is required"
            raise StateError(msg)
        start = start.astimezone(dt.timezone.utc)
        tie = tie_id(self.stream_state)
        if tie is not None and parse_utc(self.stream_state["replication_key_value"]) == start:
            return start, tie
        return start, None
