"""Unit tests of the export path's pure parts: windows, DST, poll schedule, replies, CSV."""

from __future__ import annotations

import itertools
import sys
import threading
import time
import zoneinfo
from datetime import datetime, timedelta, timezone, tzinfo

import pytest
import requests

from tap_pardot.client import PardotAPIError
from tap_pardot.convert import RecordConverter
from tap_pardot.export.api import ExportApi, ExportStatus, normalise_refs
from tap_pardot.export.download import (
    Downloader,
    DownloadError,
    TruncatedFileError,
    iter_csv,
    iter_text_lines,
    release_free_memory,
)
from tap_pardot.export.spec import MAX_FIELDS, ExportSpec
from tap_pardot.export.windows import (
    MAX_WINDOW,
    SLACK,
    Window,
    plan_windows,
    poll_wait,
)
from tap_pardot.times import fall_backs, server_time

UTC = timezone.utc
NY = zoneinfo.ZoneInfo("America/New_York")
FALL_BACK = datetime(2025, 11, 2, 6, 0, tzinfo=UTC)  # 01:00 EST, the second 01:00


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# -- poll schedule ------------------------------------------------------------------------


def test_poll_schedule_follows_the_seed_formula() -> None:
    assert [poll_wait(n, 1) for n in range(10)] == [1, 2, 2, 3, 5, 6, 9, 11, 14, 18]
    assert poll_wait(0, 60) == 60
    assert poll_wait(3, 0.01) == pytest.approx(0.03)


# -- windows ------------------------------------------------------------------------------


def cut_windows(start: datetime, end: datetime, days: int, tz: tzinfo) -> list[Window]:
    """The windows of `[start, end)`, oldest first (the tap plans them newest first)."""
    return sorted(plan_windows([(start, end)], days, tz), key=lambda w: w.start)


def test_windows_are_contiguous_and_capped() -> None:
    start, end = utc("2025-01-01T00:00:00+00:00"), utc("2025-03-20T12:00:00+00:00")
    windows = cut_windows(start, end, 30, UTC)
    assert windows[0].start == start
    assert windows[-1].end == end
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))
    assert [w.end - w.start for w in windows[-2:]] == [timedelta(days=30)] * 2  # the newest
    assert plan_windows([(start, end)], 30, UTC)[0] == windows[-1]  # newest first
    assert cut_windows(end, end, 30, UTC) == []
    assert cut_windows(end, start, 30, UTC) == []


def test_windows_grow_newest_first() -> None:
    """Seed 000: the last month, the three months before, the eight before, then a year."""
    start, end = utc("2022-06-01T00:00:00+00:00"), utc("2025-06-01T00:00:00+00:00")
    windows = plan_windows([(start, end)], 365, UTC)
    days = [(w.end - w.start) for w in windows]
    assert days[:2] == [timedelta(days=31), timedelta(days=92)]
    # Eight months, and the day (plus slack seconds) three years hold over three of
    # MAX_WINDOW (a leap day): no export for a day's tail.
    assert days[2] == timedelta(days=243, seconds=4)
    assert days[3] == days[4] == MAX_WINDOW
    assert len(windows) == 5  # three years: five exports
    assert windows[0].end == end
    assert windows[-1].start == start
    assert all(a.start == b.end for a, b in itertools.pairwise(windows))
    # Pending ranges too: newest range first, the growth going on across them.
    two = plan_windows([(start, utc("2023-01-01T00:00:00+00:00")),
                        (utc("2025-05-01T00:00:00+00:00"), end)], 365, UTC)
    assert two[0] == Window(utc("2025-05-01T00:00:00+00:00"), end)
    assert two[1].end == utc("2023-01-01T00:00:00+00:00")
    assert two[1].end - two[1].start == timedelta(days=92)


def test_windows_never_exceed_one_year_with_their_slack() -> None:
    start, end = utc("2020-01-01T00:00:00+00:00"), utc("2025-06-01T00:00:00+00:00")
    windows = cut_windows(start, end, 365, UTC)
    assert len(windows) == 8  # a year in three, then four and a half years
    for window in windows:
        assert window.end - window.start <= MAX_WINDOW
        assert window.before - window.after <= timedelta(days=365)


def test_bounds_sent_include_the_edges_under_either_reading() -> None:
    window = Window(utc("2025-10-01T00:00:00+00:00"), utc("2025-10-31T00:00:00+00:00"))
    assert window.after == window.start - SLACK
    assert window.before == window.end  # half-open: [start, end)
    spec = ExportSpec("prospect", "filter_by_updated_at", "deleted")
    args = spec.arguments(window, include_deleted=True, api_version=4)
    assert args == {
        "updated_after": "2025-09-30T23:59:59+00:00",
        "updated_before": "2025-10-31T00:00:00+00:00",
        "deleted": "all",
    }
    assert spec.arguments(window, include_deleted=False, api_version=4)["deleted"] is False
    assert spec.arguments(window, include_deleted=True, api_version=5) == {
        "updatedAfter": "2025-09-30T23:59:59+00:00",
        "updatedBefore": "2025-10-31T00:00:00+00:00",
        "deleted": "all",
    }
    activity = ExportSpec("visitorActivity", "filter_by_updated_at")
    assert "deleted" not in activity.arguments(window, include_deleted=True, api_version=5)
    created = ExportSpec("x", "filter_by_created_at")
    assert set(created.arguments(window, include_deleted=True, api_version=5)) == {
        "createdAfter",
        "createdBefore",
    }


def test_create_body_on_each_version_and_field_cap() -> None:
    spec = ExportSpec("visitor", "filter_by_prospect_updated_at", "prospect_deleted")
    window = Window(utc("2025-10-01T00:00:00+00:00"), utc("2025-10-02T00:00:00+00:00"))
    v5 = spec.body(["id", "updatedAt"], window, include_deleted=True, api_version=5)
    assert "object" not in v5  # v5 takes the object from the procedure's name
    assert v5["fields"] == ["id", "updatedAt"]
    assert v5["procedure"]["name"] == "Visitor/FilterByProspectUpdatedAt"
    assert set(v5["procedure"]["arguments"]) == {"updatedAfter", "updatedBefore",
                                                 "prospectDeleted"}
    v4 = spec.body(["id", "updated_at"], window, include_deleted=True, api_version=4)
    assert v4["object"] == "visitor"
    assert v4["procedure"]["name"] == "filter_by_prospect_updated_at"
    activity = ExportSpec("visitorActivity", "filter_by_created_at")
    assert activity.procedure_name(5) == "VisitorActivity/FilterByCreatedAt"
    with pytest.raises(PardotAPIError, match="at most 150"):
        spec.body([f"f{i}" for i in range(MAX_FIELDS + 1)], window, include_deleted=True,
                  api_version=5)


def test_fall_back_found_to_the_second() -> None:
    found = fall_backs(NY, utc("2025-10-01T00:00:00+00:00"), utc("2025-12-01T00:00:00+00:00"))
    assert found == [(FALL_BACK, timedelta(hours=1))]
    assert fall_backs(UTC, utc("2025-10-01T00:00:00+00:00"), utc("2026-01-01T00:00:00+00:00")) == []


def test_windows_are_cut_around_the_fall_back() -> None:
    start, end = utc("2025-10-15T00:00:00+00:00"), utc("2025-11-20T00:00:00+00:00")
    windows = cut_windows(start, end, 30, NY)
    edges = {w.end for w in windows}
    assert FALL_BACK - timedelta(minutes=30) in edges
    assert FALL_BACK + timedelta(minutes=30) - 3 * SLACK in edges
    assert windows[0].start == start
    assert windows[-1].end == end
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))


@pytest.mark.parametrize("days", [1, 7, 30])
def test_every_instant_near_a_fall_back_is_read_back_exactly(days: int) -> None:
    """Each UTC second, written naive in New York and read in its window, comes back."""
    start, end = utc("2025-10-20T00:00:00+00:00"), utc("2025-11-12T00:00:00+00:00")
    windows = cut_windows(start, end, days, NY)
    converter = RecordConverter({"properties": {}}, NY)
    lo, hi = FALL_BACK - timedelta(hours=2, seconds=5), FALL_BACK + timedelta(hours=2)
    for window in windows:
        if window.before < lo or window.after > hi:
            continue
        instant = max(window.after, lo)
        while instant <= min(window.before, hi):
            naive = instant.astimezone(NY).replace(tzinfo=None)
            assert converter.to_utc(naive, window=(window.after, window.before)) == instant
            instant += timedelta(seconds=7) if instant.second % 60 else SLACK


# -- replies ------------------------------------------------------------------------------


def test_reply_shapes_and_refs() -> None:
    plain = {"id": 7, "state": "Complete", "isExpired": False, "resultRefs": "https://x/a"}
    assert ExportStatus.from_payload(plain).files == ["https://x/a"]
    v5 = {"id": 7, "status": "Complete", "isExpired": False, "resultRefs": []}
    assert ExportStatus.from_payload(v5).state == "Complete"
    id_only = ExportStatus.from_payload({"id": 7})  # a reply without `fields`: polled
    assert (id_only.state, id_only.finished) == ("", False)
    wrapped = {"export": {"id": "7", "state": "Processing", "isExpired": "false"}}
    status = ExportStatus.from_payload(wrapped)
    assert (status.id, status.state, status.is_expired, status.files) == (
        7,
        "Processing",
        False,
        [],
    )
    assert not status.finished
    docs_spelling = {"id": 1, "state": "Complete", "resultsRef": ["b", "a", "b"]}
    assert ExportStatus.from_payload(docs_spelling).files == ["b", "a"]
    assert ExportStatus.from_payload({"id": 2, "state": "Failed"}).finished
    assert normalise_refs(None) == []
    assert normalise_refs([]) == []
    with pytest.raises(PardotAPIError, match="resultRefs"):
        normalise_refs([1])
    with pytest.raises(PardotAPIError, match="Malformed"):
        ExportStatus.from_payload({"state": "Complete"})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-11-20 07:00:00", "2025-11-20T12:00:00+00:00"),  # naive, in the user's zone
        ("2025-11-20T07:00:00", "2025-11-20T12:00:00+00:00"),
        ("2025-07-01 08:00:00", "2025-07-01T12:00:00+00:00"),  # EDT
        ("2025-11-20T07:00:00-05:00", "2025-11-20T12:00:00+00:00"),  # ISO with an offset
        ("2025-11-20T12:00:00Z", "2025-11-20T12:00:00+00:00"),
        ("2025-11-20T07:00:00.250-0500", "2025-11-20T12:00:00.250000+00:00"),
        ("2025-11-02T01:30:00-04:00", "2025-11-02T05:30:00+00:00"),  # offset settles it
        ("2025-11-02T01:30:00-05:00", "2025-11-02T06:30:00+00:00"),
        ("2025-11-02 01:30:00", "2025-11-02T05:30:00+00:00"),  # repeated hour: the earlier
        ("2025-11-02 01:00:00", "2025-11-02T05:00:00+00:00"),
        ("2025-11-02 00:59:59", "2025-11-02T04:59:59+00:00"),
        ("2025-11-02 02:00:00", "2025-11-02T07:00:00+00:00"),  # after the fold: one reading
        ("2025-03-09 02:30:00", "2025-03-09T06:30:00+00:00"),  # skipped hour: the earlier
    ],
)
def test_server_time_reads_every_spelling(raw: str, expected: str) -> None:
    assert server_time(raw, NY) == utc(expected)


def test_server_time_absent_or_malformed() -> None:
    assert server_time(None, NY) is None
    assert server_time("", NY) is None
    assert server_time("2025-11-20 07:00:00", UTC) == utc("2025-11-20T07:00:00+00:00")
    with pytest.raises(ValueError, match="Invalid isoformat"):
        server_time("20 Nov 2025", NY)
    with pytest.raises(TypeError, match="not a time"):
        server_time(1763640000, NY)


def test_reply_created_at_on_every_version() -> None:
    v5 = {"id": 1, "state": "Waiting", "createdAt": "2025-11-02T01:30:00-05:00"}
    assert ExportStatus.from_payload(v5, NY).created_at == utc("2025-11-02T06:30:00+00:00")
    v4 = {"export": {"id": 1, "state": "Waiting", "createdAt": "2025-11-02 01:30:00"}}
    assert ExportStatus.from_payload(v4, NY).created_at == utc("2025-11-02T05:30:00+00:00")
    assert ExportStatus.from_payload({"id": 1, "state": "Waiting"}, NY).created_at is None
    odd = {"id": 1, "state": "Waiting", "createdAt": "yesterday"}
    assert ExportStatus.from_payload(odd, NY).created_at is None  # logged, then ignored


def test_endpoints_per_version() -> None:
    calls: list[tuple] = []

    class Reply:
        def json(self) -> dict:
            return {"id": 5, "state": "Waiting"}

    def request(method: str, url: str, **kwargs: object) -> Reply:
        calls.append((method, url, kwargs.get("params")))
        return Reply()

    ExportApi(request, "http://h/", 5).create({})  # type: ignore[arg-type]
    ExportApi(request, "http://h", 5).read(5)  # type: ignore[arg-type]
    ExportApi(request, "http://h", 5).cancel(5)  # type: ignore[arg-type]
    ExportApi(request, "http://h", 4).create({})  # type: ignore[arg-type]
    ExportApi(request, "http://h", 3).read(5)  # type: ignore[arg-type]
    ExportApi(request, "http://h", 4).cancel(5)  # type: ignore[arg-type]
    fields = {"fields": "id,status,isExpired,createdAt,updatedAt"}
    assert calls == [
        ("POST", "http://h/api/v5/exports", fields),
        ("GET", "http://h/api/v5/exports/5", {"fields": fields["fields"] + ",resultRefs"}),
        ("POST", "http://h/api/v5/exports/5/do/cancel", fields),
        ("POST", "http://h/api/export/version/4/do/create", {"format": "json"}),
        ("GET", "http://h/api/export/version/3/do/read/id/5", {"format": "json"}),
        ("POST", "http://h/api/export/version/4/do/cancel/id/5", {"format": "json"}),
    ]


# -- CSV ----------------------------------------------------------------------------------

CSV_TEXT = (
    'id,details,typeName\r\n1,"two\nlines, and a ""quote""",Visit\r\n'
    "2,,Café\r\n3,\"x\ry\",Form\r\n"
)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 100000])
def test_csv_rows_survive_any_chunking(chunk: int) -> None:
    data = ("\ufeff" + CSV_TEXT).encode()
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    rows = [row for _, row in iter_csv(iter_text_lines(chunks))]
    assert rows == [
        ["1", 'two\nlines, and a "quote"', "Visit"],
        ["2", "", "Café"],
        ["3", "x\ry", "Form"],
    ]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_memory_is_given_back_on_linux() -> None:
    # The binding resolves to glibc's malloc_trim, which says 1 if it gave pages back, else 0.
    assert release_free_memory() in (0, 1)


def test_csv_truncation_is_detected() -> None:
    with pytest.raises(TruncatedFileError):
        list(iter_csv(iter_text_lines([b"id,a,b\n1,2,3\n4,5"])))
    with pytest.raises(Exception, match="unexpected end of data"):
        list(iter_csv(iter_text_lines([b'id,a\n1,"open'])))
    assert list(iter_csv(iter_text_lines([]))) == []
    assert list(iter_csv(iter_text_lines([b"id,a\n"]))) == []


# -- downloads ----------------------------------------------------------------------------


class FakeBody:
    """A streamed response whose transfer can break after `break_after` bytes."""

    def __init__(self, data: bytes, break_after: int | None = None) -> None:
        self.data, self.break_after, self.closed = data, break_after, False

    def iter_content(self, size: int) -> object:
        limit = len(self.data) if self.break_after is None else self.break_after
        for i in range(0, limit, 5):
            yield self.data[i : min(i + 5, limit)]
            time.sleep(0)
        if self.break_after is not None:
            raise requests.exceptions.ChunkedEncodingError("connection broken")

    def close(self) -> None:
        self.closed = True


def make_file(ids: range) -> bytes:
    return ("id,name\n" + "".join(f'{i},"n\n{i}"\n' for i in ids)).encode()


def test_downloads_parallel_bounded_and_retried() -> None:
    files = {f"u{k}": make_file(range(k * 100, k * 100 + 60)) for k in range(6)}
    drops = {"u2": 2, "u4": 1}  # breaks before a good transfer
    lock = threading.Lock()
    active = {"now": 0, "peak": 0, "calls": 0}

    def fetch(url: str) -> FakeBody:
        with lock:
            active["calls"] += 1
            active["now"] += 1
            active["peak"] = max(active["peak"], active["now"])
            broken = drops.get(url, 0) > 0
            if broken:
                drops[url] -= 1
        body = FakeBody(files[url], break_after=len(files[url]) // 2 if broken else None)
        original = body.close

        def close() -> None:
            with lock:
                active["now"] -= 1
            original()

        body.close = close  # type: ignore[method-assign]
        return body

    sleeps: list[float] = []
    downloader = Downloader(fetch, workers=3, sleep=sleeps.append)  # type: ignore[arg-type]
    items = list(downloader.items(list(files)))
    ids = [int(row[0]) for kind, _, rows in items if kind == "rows" for row in rows]
    assert sorted(ids) == sorted(i for k in range(6) for i in range(k * 100, k * 100 + 60))
    assert len(ids) == len(set(ids))
    assert sorted(url for kind, url, _ in items if kind == "file") == sorted(files)
    assert active["peak"] <= 3
    assert active["now"] == 0
    assert active["calls"] == 6 + 3
    assert len(sleeps) == 3


def test_download_gives_up_after_bounded_retries() -> None:
    def fetch(url: str) -> FakeBody:
        return FakeBody(make_file(range(10)), break_after=20)

    downloader = Downloader(fetch, workers=2, retries=2)  # type: ignore[arg-type]
    with pytest.raises(DownloadError, match="failed 3 times"):
        list(downloader.items(["a"]))


def test_consumer_can_stop_early() -> None:
    def fetch(url: str) -> FakeBody:
        return FakeBody(make_file(range(5000)))

    downloader = Downloader(fetch, workers=2)  # type: ignore[arg-type]
    items = downloader.items(["a", "b", "c"])
    for _ in range(10):
        next(items)
    items.close()  # must not hang on workers blocked on the full queue
    # ...and the workers end (else they would hold the interpreter open at exit)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
            th.name.startswith("export-download") for th in threading.enumerate()):
        time.sleep(0.02)
    assert not [th.name for th in threading.enumerate() if th.name.startswith("export-download")]


def test_a_file_broken_after_some_batches_is_resumed_without_repeats() -> None:
    data = make_file(range(1300))
    attempts = []

    def fetch(url: str) -> FakeBody:
        attempts.append(url)
        return FakeBody(data, break_after=int(len(data) * 0.7) if len(attempts) == 1 else None)

    items = list(Downloader(fetch, workers=1).items(["f"]))  # type: ignore[arg-type]
    ids = [int(row[0]) for kind, _, rows in items if kind == "rows" for row in rows]
    assert len(attempts) == 2
    assert sorted(ids) == list(range(1300))
    assert items[-1] == ("file", "f", 1300)


def test_a_file_that_changed_between_downloads_is_an_error() -> None:
    """Rows handed over are skipped by count on a re-fetch, the last one's id checked: a
    file whose rows moved fails the download rather than losing or repeating rows."""
    first, second = make_file(range(1300)), make_file(range(5000, 6300))
    attempts = []

    def fetch(url: str) -> FakeBody:
        attempts.append(url)
        if len(attempts) == 1:
            return FakeBody(first, break_after=int(len(first) * 0.7))
        return FakeBody(second)

    with pytest.raises(DownloadError, match="changed between two downloads"):
        list(Downloader(fetch, workers=1, sleep=lambda _: None).items(["f"]))  # type: ignore[arg-type]
