"""The Singer message writer, and the fast encoder of record lines.

RECORD lines and batch-file lines are encoded with msgspec, byte for byte as the SDK's
simplejson writer would (`ensure_ascii`, compact separators): a tenth of what simplejson
costs per record. Other messages (SCHEMA, STATE, BATCH: a few per run) go the SDK's way.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import re
import sys
import time
import typing as t
import weakref

import msgspec
from singer_sdk.singerlib.encoding import SimpleSingerWriter, SingerMessageType
from singer_sdk.singerlib.json import serialize_json
from singer_sdk.singerlib.messages import Message
from typing_extensions import override

# RECORD lines are written in blocks of this size: with PYTHONUNBUFFERED (which Meltano
# may set) stdout has no buffer of its own, and a write per record costs a tenth of a run.
PENDING_BYTES = 64 * 1024
_ENCODER = msgspec.json.Encoder(decimal_format="number")
# What simplejson's `ensure_ascii` escapes and msgspec writes as is: DEL and non-ASCII.
_UNESCAPED = re.compile("[\x7f-\U0010ffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"


def holds_floats(record: t.Mapping[str, t.Any], numbers: tuple[str, ...]) -> bool:
    """Whether any of `numbers` (the properties that may hold one) is a float in `record`:
    such a line goes through the SDK's encoder (`LineEncoder.append`'s `floats`)."""
    return bool(numbers) and any(type(record.get(name)) is float for name in numbers)


class LineEncoder:
    """`obj` as one JSON line (`\\n` included), as the SDK writes it.

    For dicts of str, int, bool, None, Decimal and str lists (what RecordConverter makes);
    floats go through simplejson, whose exponent form (`1e+16`) msgspec does not share.
    """

    def __init__(self) -> None:
        self._scratch = bytearray()

    def append(self, obj: t.Any, out: bytearray, *, floats: bool = False) -> None:
        """Add the line to `out`; `floats`: `obj` may hold floats (the SDK's encoder then)."""
        if floats:
            out += (serialize_json(obj) + "\n").encode()
            return
        scratch = self._scratch
        _ENCODER.encode_into(obj, scratch)
        if scratch.isascii() and b"\x7f" not in scratch:
            out += scratch
        else:
            out += _UNESCAPED.sub(_escape, scratch.decode()).encode()
        out += b"\n"

    def line(self, obj: t.Any, *, floats: bool = False) -> bytes:
        """The line alone."""
        out = bytearray()
        self.append(obj, out, floats=floats)
        return bytes(out)


class PardotSingerWriter(SimpleSingerWriter):
    """Writes RECORD lines in blocks, and every other message (SCHEMA, STATE, BATCH) at
    once, after the records before it; records go through `write_record` (the fast
    encoder) where the stream allows it.

    A STATE message is written after the records it covers, so flushing with it keeps the
    target's view consistent.
    """

    def __init__(self) -> None:
        super().__init__()
        self.encoder = LineEncoder()
        self._pending = bytearray()  # RECORD lines not yet written
        self._tick, self._now = -1, ""
        _WRITERS.add(self)

    @override
    def write_message(self, message: Message) -> None:
        line = self.format_message(message) + "\n"
        if message.type == SingerMessageType.RECORD:
            self._add(line.encode())
        else:
            self.flush_records()
            sys.stdout.write(line)
            sys.stdout.flush()

    def write_record(self, stream: str, record: dict[str, t.Any], version: int | None = None,
                     *, floats: bool = False) -> None:
        """A RECORD message, the same line as `write_message(RecordMessage(...))` writes."""
        envelope: dict[str, t.Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            envelope["version"] = version
        envelope["time_extracted"] = self.now()
        self.encoder.append(envelope, self._pending, floats=floats)
        self._flush_if_due()

    def now(self) -> str:
        """The time, UTC ISO, made at most once a millisecond (as often it cost a tenth of
        a record's time)."""
        tick = time.monotonic_ns() // 1_000_000
        if tick != self._tick:
            self._tick, self._now = tick, dt.datetime.now(dt.timezone.utc).isoformat()
        return self._now

    def _add(self, line: bytes) -> None:
        self._pending += line
        self._flush_if_due()

    def _flush_if_due(self) -> None:
        if len(self._pending) >= PENDING_BYTES or not hasattr(sys.stdout, "buffer"):
            self.flush_records()

    def flush_records(self) -> None:
        """Write the pending RECORD lines to stdout's byte layer (the text layer is flushed
        after every other message, so the order holds)."""
        if not self._pending:
            return
        out = sys.stdout
        raw = getattr(out, "buffer", None)
        if raw is None:  # a text stream only (a test's StringIO): lines are not held
            out.write(self._pending.decode())
        else:
            raw.write(self._pending)
        self._pending.clear()


_WRITERS: weakref.WeakSet[PardotSingerWriter] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    """Records written after the last STATE (a run that failed) still reach stdout."""
    for writer in list(_WRITERS):
        with contextlib.suppress(OSError, ValueError):
            writer.flush_records()
