"""BATCH mode's files (the SDK's `batch_config`, jsonl): records straight into gzipped JSON
lines, compressed on a second thread while the next records are made, by ISA-L (python-isal:
the same gzip format, a third of zlib's time).

The files hold what the SDK's own jsonl batcher writes (one record per line, the same JSON
values, encoded as the SDK's msgspec writer encodes them: writer.py), named as it names
them. A file is closed before its manifest is yielded, and no record of the next file is
read before: the SDK writes the BATCH message and then the stream's state, which therefore
never covers a record that no announced file holds (state.py).
"""

from __future__ import annotations

import typing as t
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from isal import isal_zlib

from tap_pardot.writer import append_line

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers._batch import BatchConfig

CHUNK_BYTES = 256 * 1024  # lines handed to the compressing thread at once
CHUNKS_AHEAD = 4  # at most this many chunks wait for it: memory stays flat
LEVEL = 1  # fast: JSON lines still shrink about tenfold
GZIP = 31  # wbits for a gzip member


class _File:
    """One batch file being written: chunks compressed in order on the pool's thread."""

    def __init__(self, config: BatchConfig, filename: str, pool: ThreadPoolExecutor) -> None:
        self._context = config.storage.open(filename, "wb")
        self._out = self._context.__enter__()
        self._zip = isal_zlib.compressobj(LEVEL, isal_zlib.DEFLATED, GZIP)
        self._pool = pool
        self._ahead: deque[Future[None]] = deque()

    def _compress(self, chunk: bytes, *, last: bool = False) -> None:
        data = self._zip.compress(chunk)
        if last:
            data += self._zip.flush()
        if data:
            self._out.write(data)

    def add(self, chunk: bytes) -> None:
        """Queue a chunk of lines; waits while too many are queued."""
        while len(self._ahead) >= CHUNKS_AHEAD:
            self._ahead.popleft().result()
        self._ahead.append(self._pool.submit(self._compress, chunk))

    def close(self, tail: bytes) -> None:
        """Compress the last chunk and close the file (raises what the thread raised)."""
        self._ahead.append(self._pool.submit(self._compress, tail, last=True))
        try:
            while self._ahead:
                self._ahead.popleft().result()
        finally:
            self._context.__exit__(None, None, None)

    def abandon(self) -> None:
        """Stop writing (the run failed): wait for the thread, close what was written."""
        for future in self._ahead:
            future.cancel()
        for future in self._ahead:
            if not future.cancelled():
                future.exception()
        self._context.__exit__(None, None, None)


def batch_files(
    records: Iterable[dict[str, t.Any]],
    config: BatchConfig,
    *,
    tap_name: str,
    stream_name: str,
) -> Iterator[list[str]]:
    """Write `records` into files of `config.batch_size` lines; yield each file's manifest
    once it is whole."""
    sync_id = f"{tap_name}--{stream_name}-{uuid.uuid4()}"
    prefix = config.storage.prefix or ""
    size = config.batch_size
    with ThreadPoolExecutor(1, thread_name_prefix="batch-gzip") as pool:
        number = 0
        current: _File | None = None
        pending = bytearray()
        count = 0
        try:
            for record in records:
                if current is None:
                    number += 1
                    filename = f"{prefix}{sync_id}-{number}.json.gz"
                    current = _File(config, filename, pool)
                append_line(record, pending)
                count += 1
                if count >= size:
                    current.close(bytes(pending))
                    pending.clear()
                    current, count = None, 0
                    yield [config.storage.get_url(filename)]
                elif len(pending) >= CHUNK_BYTES:
                    current.add(bytes(pending))
                    pending.clear()
            if current is not None:
                current.close(bytes(pending))
                current = None
                yield [config.storage.get_url(filename)]
        finally:
            if current is not None:
                current.abandon()
