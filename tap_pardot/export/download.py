"""Parallel, streamed, retried downloads of an export's CSV files.

Worker threads (at most ``max_concurrency``) each stream one file at a time and hand parsed
rows to the caller's thread through a bounded queue, so memory stays flat however large the
export. A file whose transfer drops part-way is fetched again from its start; the rows already
handed over are skipped (counted, the last one's id checked), so nothing is lost or
repeated.
"""

from __future__ import annotations

import csv
import ctypes
import ctypes.util
import io
import logging
import queue
import threading
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor

import requests

from tap_pardot.retry import retrying

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator

LOGGER = logging.getLogger(__name__)
CHUNK_BYTES = 64 * 1024
BATCH_ROWS = 100  # rows handed over at once (a queue item per row costs more than a row)
QUEUE_BATCHES = 4  # at most this many batches wait for the consumer: memory stays flat
TRIM_EVERY = 50  # batches between two returns of freed memory to the system
# A queue item: ("rows", header, rows), ("file", url, n) or ("error", exception, None).
Item: t.TypeAlias = tuple[str, t.Any, t.Any]


class TruncatedFileError(Exception):
    """A CSV file ended part-way through a row."""


class DownloadError(Exception):
    """A file could not be downloaded whole after bounded retries."""


class _Stopped(Exception):
    """The consumer went away; the worker should end quietly."""


# Errors raised while a body streams: the transfer broke, fetch the file again.
STREAM_ERRORS: tuple[type[BaseException], ...] = (
    requests.RequestException,
    csv.Error,
    TruncatedFileError,
    UnicodeDecodeError,
    OSError,
)


class _Chunks(io.RawIOBase):
    """A byte stream over an iterable of chunks (a streamed response's `iter_content`)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = memoryview(chunk)
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


def iter_text_lines(chunks: Iterable[bytes]) -> t.TextIO:
    """The UTF-8 text of `chunks` (a BOM dropped), for `csv.reader`: lines split and decoded
    in C (the io module), line ends kept as they are (`newline=""`, as csv wants)."""
    raw = io.BufferedReader(_Chunks(chunks), CHUNK_BYTES)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def iter_csv(lines: Iterable[str]) -> Iterator[tuple[list[str], list[str]]]:
    """Yield ``(header, row)`` pairs; a short or unterminated row means truncation."""
    reader = csv.reader(lines, strict=True)
    header: list[str] | None = None
    for row in reader:
        if not row:
            continue
        if header is None:
            header = row
            continue
        if len(row) != len(header):
            msg = f"row {reader.line_num} has {len(row)} fields, header has {len(header)}"
            raise TruncatedFileError(msg)
        yield header, row


def _memory_trimmer() -> Callable[[], object]:
    """glibc's `malloc_trim(0)`: the pages of freed memory given back to the system. A long
    download frees as much as it allocates, across the worker threads' arenas, and glibc
    keeps those pages otherwise (measured: peak RSS +38% from 100,000 to 2,000,000 rows,
    +18% with it). A no-op where the C library has none (macOS, musl)."""
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):
        return lambda: None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0)


release_free_memory = _memory_trimmer()


class _Progress:
    """How far one file's rows have been handed over."""

    def __init__(self) -> None:
        self.rows = 0
        self.last_id: str | None = None


class Downloader:
    """Download files in parallel; yield ``("rows", header, rows)`` / ``("file", url, n)``."""

    def __init__(
        self,
        fetch: Callable[[str], requests.Response],
        *,
        workers: int,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._fetch = fetch
        self._workers = max(1, int(workers))
        self._retries = retries
        self._sleep = sleep

    def items(self, urls: list[str]) -> Generator[Item, None, None]:
        """Batches of rows of every file, in no particular order; a marker as each file ends."""
        if not urls:
            return
        out: queue.Queue[Item] = queue.Queue(maxsize=QUEUE_BATCHES)
        stop = threading.Event()
        pool = ThreadPoolExecutor(
            max_workers=min(self._workers, len(urls)), thread_name_prefix="export-download"
        )
        for url in urls:
            pool.submit(self._work, url, out, stop)
        remaining, handed = len(urls), 0
        try:
            while remaining:
                kind, first, second = out.get()
                handed += 1
                if handed % TRIM_EVERY == 0:
                    release_free_memory()
                if kind == "error":
                    raise first
                if kind == "file":
                    remaining -= 1
                yield kind, first, second
        finally:
            stop.set()  # workers still running end at their next row
            while True:
                try:
                    out.get_nowait()
                except queue.Empty:
                    break
            pool.shutdown(wait=not remaining, cancel_futures=True)

    def _put(self, out: queue.Queue[Item], item: Item, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped

    def _hand_over(self, out: queue.Queue[Item], header: list[str], batch: list[list[str]],
                   done: _Progress, key_at: int, stop: threading.Event) -> None:
        """Queue a batch; its rows count as handed over only once it is queued."""
        self._put(out, ("rows", header, batch), stop)
        done.rows += len(batch)
        done.last_id = batch[-1][key_at]

    def _work(self, url: str, out: queue.Queue[Item], stop: threading.Event) -> None:
        try:
            count = self._download(url, out, stop)
            self._put(out, ("file", url, count), stop)
        except _Stopped:
            return
        except BaseException as exc:  # handed to the consumer, which raises it
            try:
                self._put(out, ("error", exc, None), stop)
            except _Stopped:
                return

    def _download(self, url: str, out: queue.Queue[Item], stop: threading.Event) -> int:
        """Stream one file to the consumer; a broken transfer is fetched again from its start
        (the retry policy's waits, a quarter as long: a re-fetch is cheap), the rows already
        handed over skipped: the same file holds the same rows in the same order, which the
        id of the last row handed over checks (a count, not a set of ids: memory stays flat
        however large the file)."""
        done = _Progress()

        def transfer() -> int:
            response = self._fetch(url)
            try:
                key_at, batch, skip = -1, [], done.rows
                for header, row in iter_csv(iter_text_lines(response.iter_content(CHUNK_BYTES))):
                    if key_at < 0:  # the id column, which checks a re-fetch (else the first)
                        key_at = header.index("id") if "id" in header else 0
                    if skip:
                        skip -= 1
                        if not skip and row[key_at] != done.last_id:
                            msg = (f"{url} changed between two downloads: row {done.rows} "
                                   f"was id {done.last_id}, is now {row[key_at]}")
                            raise DownloadError(msg)
                        continue
                    batch.append(row)
                    if len(batch) >= BATCH_ROWS:
                        self._hand_over(out, header, batch, done, key_at, stop)
                        batch = []
                if batch:
                    self._hand_over(out, header, batch, done, key_at, stop)
                if skip:
                    raise TruncatedFileError(f"{url} has fewer rows than before")
                return done.rows
            finally:
                response.close()

        def broke(attempt: int, exc: object) -> None:
            LOGGER.warning("Download of %s broke after %d rows (%s); fetching it again "
                           "(%d of %d)", url, done.rows, exc, attempt, self._retries)

        try:
            return retrying(transfer, again=lambda outcome: isinstance(outcome, STREAM_ERRORS),
                            tries=self._retries + 1, factor=0.25, sleep=self._sleep,
                            on_retry=broke)
        except STREAM_ERRORS as exc:
            msg = f"download of {url} failed {self._retries + 1} times; last error: {exc}"
            raise DownloadError(msg) from exc
