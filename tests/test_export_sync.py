"""ExportSync against an in-memory Export API: windows, edges, DST, schedule, state, resume."""

from __future__ import annotations

import copy
import csv
import io
import itertools
import logging
import random
import types
import typing as t
import zoneinfo
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import pytest
from tapkit import comparable

from tap_pardot.client import PardotAPIError
from tap_pardot.convert import RecordConverter, snake_to_camel
from tap_pardot.export.sync import CLOCK_MARGIN, MAX_ATTEMPTS, ExportError, ExportSync
from tap_pardot.export.windows import plan_windows, poll_wait
from tap_pardot.limits import StopRun
from tap_pardot.settings import Settings
from tap_pardot.state import Checkpoints
from tap_pardot.times import iso

UTC = timezone.utc
NY = zoneinfo.ZoneInfo("America/New_York")
START = datetime(2025, 10, 1, tzinfo=UTC)
END = datetime(2025, 11, 19, tzinfo=UTC)
FIELDS = ["id", "name", "visits", "is_deleted", "created_at", "updated_at"]
SCHEMA = {
    "properties": {
        "id": {"type": ["integer"]},
        "name": {"type": ["string", "null"]},
        "visits": {"type": ["integer", "null"]},
        "is_deleted": {"type": ["boolean", "null"]},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
    }
}


def camel_to_snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def make_records(seed: int = 3) -> list[dict]:
    """Records spread over the range, piled on likely window edges and the repeated hour."""
    rng = random.Random(seed)
    stamps = [START + timedelta(seconds=rng.randrange(int((END - START).total_seconds())))
              for _ in range(400)]
    fall_back = datetime(2025, 11, 2, 5, 0, tzinfo=UTC)
    stamps += [fall_back + timedelta(seconds=s) for s in range(0, 7200, 97)]
    for days in range(0, 50, 7):  # 7-day window edges, +-1 s
        edge = START + timedelta(days=days)
        stamps += [edge - timedelta(seconds=1), edge, edge, edge + timedelta(seconds=1)]
    stamps += [fall_back + timedelta(minutes=m) for m in (30, 60, 90)]
    records = []
    for i, stamp in enumerate(stamps, start=1):
        records.append({
            "id": i, "name": f"n,\"{i}\"\nx" if i % 5 == 0 else (None if i % 7 == 0 else f"n{i}"),
            "visits": i % 11, "is_deleted": i % 13 == 0,
            "created_at": iso(stamp - timedelta(days=2)), "updated_at": iso(stamp),
        })
    return records


class Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def iter_content(self, size: int):
        for i in range(0, len(self.data), 50):
            yield self.data[i : i + 50]

    def close(self) -> None:
        pass


class Reply:
    def __init__(self, payload: dict) -> None:
        self.payload = payload

    def json(self) -> dict:
        return self.payload


class FakeExportApi:
    """Exports queue and complete after `reads` reads; files are shuffled and uneven."""

    def __init__(self, records: list[dict], *, reads: int = 2, files: int = 3,
                 fail: int = 0, stall: int = 0, wrapped: bool = False, seed: int = 1,
                 clock: datetime | None = None, naive_clock: bool = False) -> None:
        self.records, self.reads, self.files, self.fail = records, reads, files, fail
        self.stall = stall  # the next N exports stay Waiting (a queue held by others)
        self.cancel_refused = False  # cancels answer 178, as for a finished export
        self.wrapped = wrapped
        # Pardot's clock: exports hold data up to it and reply `createdAt` (naive in NY
        # or ISO with an offset); None = no createdAt in replies, every record served.
        self.clock, self.naive_clock = clock, naive_clock
        self.rng = random.Random(seed)
        self.exports: dict[int, dict] = {}
        self.calls: list[tuple[str, str]] = []
        self.next_id = 100

    def request(self, method: str, url: str, *, params=None, json=None, stream=False):
        path = urlparse(url).path
        if "/api/v5/objects/" in path and "/exports" not in path:
            self.calls.append(("query", path))
            return Reply({"values": self._query(params)})
        if path.endswith(("/exports", "/do/create")):
            self.calls.append(("create", path))
            if "/v5/" in path:
                assert params == {"fields": "id,status,isExpired,createdAt,updatedAt"}
                assert "object" not in json
            return self._reply(self._create(json, path))
        if "/do/cancel" in path:
            self.calls.append(("cancel", path))
            export = self.exports.get(int(path.split("/exports/")[1].split("/")[0]))
            if export is None:
                raise PardotAPIError("Pardot error 16 (HTTP 404): Invalid ID", 16)
            if self.cancel_refused:
                raise PardotAPIError("Pardot error 178 (HTTP 400): already completed", 178)
            export["state"] = "Canceled"
            return self._reply(export)
        if "/files/" in path:
            self.calls.append(("download", path))
            export_id, index = path.rsplit("/files/", 1)
            return Body(self.exports[int(export_id.rsplit("/", 1)[1])]["data"][int(index)])
        self.calls.append(("read", path))
        export = self.exports.get(int(path.rsplit("/", 1)[1]))
        if export is None:
            raise PardotAPIError("Pardot error 16 (HTTP 404): Invalid ID", 16)
        export["reads_left"] -= 1
        if export["stalled"]:
            pass
        elif export["reads_left"] <= 0 and export["state"] in {"Waiting", "Processing"}:
            if self.fail:
                self.fail -= 1
                export["state"] = "Failed"
            else:
                export["state"] = "Complete"
        elif export["state"] == "Waiting":
            export["state"] = "Processing"
        return self._reply(export)

    def _query(self, params: dict) -> list[dict]:
        """A v5 query of the records (export/dst.py re-reads a DST hour): id and date
        filters, times with their New York offset, one page."""
        fields = params["fields"].split(",")
        out = []
        for record in self.records:
            row = {f: record[camel_to_snake(f)] for f in fields}
            keep = True
            for name, value in params.items():
                field, _, op = name.partition("OrEqualTo")[0].rpartition(
                    "After" if "After" in name else "Before" if "Before" in name else
                    "GreaterThan" if "GreaterThan" in name else "LessThan")
                if not op or not field:
                    continue
                have = record[camel_to_snake(field)]
                if field != "id":
                    have, value = datetime.fromisoformat(have), datetime.fromisoformat(value)
                keep = keep and (have >= value if op in ("After", "GreaterThan") else
                                 have <= value)
            if keep:
                out.append({k: datetime.fromisoformat(v).astimezone(NY).isoformat()
                            if k.endswith("At") and v else v for k, v in row.items()})
        return out

    def _reply(self, export: dict) -> Reply:
        state = "status" if export["v5"] else "state"  # pardot-api.md §4b
        body = {"id": export["id"], state: export["state"], "isExpired": export["expired"]}
        if export["created"] is not None:
            local = export["created"].astimezone(NY)
            body["createdAt"] = (local.strftime("%Y-%m-%d %H:%M:%S") if self.naive_clock
                                 else local.isoformat())
        if export["state"] == "Complete" and export["refs"]:
            refs = export["refs"]
            body["resultRefs"] = refs[0] if len(refs) == 1 else refs
        return Reply({"export": body} if self.wrapped else body)

    def _create(self, body: dict, path: str) -> dict:
        v5 = "/v5/" in path
        args = body["procedure"]["arguments"]
        after = datetime.fromisoformat(args["updatedAfter" if v5 else "updated_after"])
        before = datetime.fromisoformat(args["updatedBefore" if v5 else "updated_before"])
        assert before - after <= timedelta(days=365)
        names = {snake_to_camel(f) if v5 else f: f for f in FIELDS}
        assert body["fields"] == list(names)
        if self.clock is not None:
            before = min(before, self.clock + timedelta(seconds=1))  # data up to createdAt
        rows = [r for r in self.records
                if after < datetime.fromisoformat(r["updated_at"]) < before]
        self.rng.shuffle(rows)
        cuts = sorted(self.rng.randrange(len(rows) + 1) for _ in range(self.files - 1))
        parts = [rows[a:b] for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True)]
        export_id = self.next_id
        self.next_id += 1
        stalled, self.stall = self.stall > 0, max(0, self.stall - 1)
        data = [self._csv(part, body["fields"], names) for part in parts if part]
        self.exports[export_id] = {
            "id": export_id, "v5": v5, "state": "Waiting", "expired": False,
            "reads_left": self.reads, "stalled": stalled,
            "data": data, "body": body, "created": self.clock,
            "refs": [f"http://sim/api/v5/exports/{export_id}/files/{k}" for k in range(len(data))],
        }
        self.rng.shuffle(self.exports[export_id]["refs"])
        return self.exports[export_id]

    @staticmethod
    def _csv(rows: list[dict], header: list[str], names: dict[str, str]) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            values = []
            for api_name in header:
                value = row[names[api_name]]
                if value is None:
                    values.append("")
                elif isinstance(value, bool):
                    values.append("true" if value else "false")
                elif api_name in {"createdAt", "updatedAt", "created_at", "updated_at"}:
                    local = datetime.fromisoformat(value).astimezone(NY)
                    values.append(local.strftime("%Y-%m-%d %H:%M:%S"))
                else:
                    values.append(str(value))
            writer.writerow(values)
        return out.getvalue().encode()


if t.TYPE_CHECKING:  # Checkpoints is typed as a Stream mixin; this fake is not a Stream
    _StateWriter = object
else:
    _StateWriter = Checkpoints


class FakeStream(_StateWriter):
    """The parts of PardotStream the export path uses; its state is written by the real
    state writer (state.py Checkpoints)."""

    name = "visitors"
    url_base = "http://sim"
    v5_path = "visitors"
    deletable = False
    replication_key = "updated_at"
    primary_keys = ("id",)
    export_object = "visitor"
    export_procedure = "filter_by_updated_at"
    export_deleted_argument = "deleted"

    def __init__(self, api: FakeExportApi, state: dict | None = None, *,
                 queried_less: bool = False, **config: object) -> None:
        """`queried_less`: `visits` is not queried (as v5 array custom fields)."""
        self.config = {"start_date": iso(START), "end_date": iso(END),
                       "timezone": "America/New_York", "api_version": 5,
                       "export_window_days": 7, "export_poll_seconds": 1,
                       "max_concurrency": 3, "api_base_url": "http://sim", **config}
        self.settings = Settings.parse(self.config)
        self.logger = logging.getLogger("tap-pardot.test")
        self.schema = SCHEMA
        self.fetched_properties = FIELDS
        self.converter = RecordConverter(SCHEMA, NY)
        self.pardot_request = api.request
        self.state: dict = state or {}
        self.states: list[dict] = []
        self.refused_fields: set[str] = set()
        self.query_properties = [f for f in FIELDS if f != "visits"] if queried_less else FIELDS
        self.records = api.records  # what the query API serves
        self.queried: list[tuple[datetime, datetime]] = []
        self.state_manager = types.SimpleNamespace(is_flushed=True)

    def resume_point(self, context: object) -> tuple[datetime, None]:
        value = self.state.get("replication_key_value") or self.config["start_date"]
        return datetime.fromisoformat(str(value)), None

    def read_bound(self) -> datetime:
        return datetime.fromisoformat(str(self.config["end_date"]))

    def wire_name(self, prop: str, api_version: int) -> str:
        return snake_to_camel(prop) if api_version >= 5 else prop

    def refuse(self, error: PardotAPIError, api_version: int) -> list[str]:
        return []

    def check_timezone(self, raw: object, where: str) -> None:
        pass

    def warn_queried(self, start: datetime, end: datetime) -> None:
        pass

    def query_window(self, context: object, start: datetime, end: datetime, *,
                     quiet: bool = False) -> Iterable[dict]:
        """The query path for `[start, end)`: records in time order, a checkpoint per 50,
        the bookmark at `end` once read (as QueryStream.query_window)."""
        self.queried.append((start, end))
        rows = sorted((r for r in self.records
                       if start <= datetime.fromisoformat(r["updated_at"]) < end),
                      key=lambda r: (r["updated_at"], r["id"]))
        convert = self.converter.for_fields(self.query_properties).convert
        for k, row in enumerate(rows, start=1):
            yield convert(row)
            if k % 50 == 0:
                self.checkpoint(row["updated_at"])  # type: ignore[attr-defined]
        self.checkpoint(iso(end))  # type: ignore[attr-defined]  # Checkpoints' (above)

    def get_context_state(self, context: object) -> dict:
        return self.state

    @property
    def stream_state(self) -> dict:
        return self.state

    def get_batch_config(self, config: object) -> None:
        return None

    def _write_state_message(self) -> None:
        self.states.append(copy.deepcopy(self.state))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def export_sync(stream: FakeStream, **options: t.Any) -> ExportSync:
    """An ExportSync over the fake: it has the parts of a PardotStream it uses, not its type."""
    return ExportSync(stream, None, **options)  # type: ignore[arg-type]


def run(stream: FakeStream, clock: Clock | None = None) -> list[dict]:
    clock = clock or Clock()
    return list(export_sync(stream, sleep=clock.sleep, monotonic=clock.monotonic).records())


def by_id(records: Iterable[dict]) -> list[dict]:
    return sorted((comparable(r) for r in records), key=lambda r: r["id"])


def truth(records: list[dict], start: datetime = START, end: datetime = END) -> list[dict]:
    return by_id(r for r in records if start <= datetime.fromisoformat(r["updated_at"]) <= end)


def recorded_export(stream: FakeStream, end: datetime, **fields: t.Any) -> dict:
    """A state's record of export 100 of the window from START to `end`, then `fields`."""
    return {"id": 100, "window_start": iso(START),
            "window_end": iso(end + timedelta(seconds=1)), "api_version": 5,
            "signature": export_sync(stream).signature, "created_at": iso(START), **fields}


@pytest.mark.parametrize(
    ("version", "files", "wrapped"), [(5, 1, False), (5, 4, True), (4, 3, False)]
)
def test_full_export_equals_truth(version: int, files: int, wrapped: bool) -> None:
    records = make_records()
    api = FakeExportApi(records, files=files, wrapped=wrapped)
    stream = FakeStream(api, api_version=version)
    out = run(stream)
    ids = [r["id"] for r in out]
    assert len(ids) == len(set(ids)), "a record was emitted twice"
    assert by_id(out) == truth(records)
    if version < 5:
        assert all("/export/version/4/" in path for kind, path in api.calls if kind != "download")


def test_state_per_window_newest_first_with_pending_ranges() -> None:
    """The newest window first: the bookmark jumps to the end, the older range is pending
    and shrinks window by window; exports in flight are recorded."""
    api = FakeExportApi(make_records())
    stream = FakeStream(api)
    out = run(stream)
    end = END + timedelta(seconds=1)
    windows = plan_windows([(START, end)], 7, NY)
    assert creates(api) == len(windows) > 3
    first = stream.states[0]
    assert first["replication_key_value"] == iso(START)  # the first create: nothing read
    assert first["exports"][0]["id"] == 100
    assert first["exports"][0]["window_start"] == iso(windows[0].start)  # the newest
    moved = [s for a, s in itertools.pairwise(stream.states)
             if (a.get("replication_key_value"), a.get("pending"))
             != (s.get("replication_key_value"), s.get("pending"))]
    assert len(moved) == len(windows)  # once per window
    for k, state in enumerate(moved[:-1]):
        assert state["replication_key_value"] == iso(end)
        assert state["pending"] == [[START.isoformat(), windows[k].start.isoformat()]]
    assert stream.state["replication_key_value"] == iso(end)
    assert "pending" not in stream.state
    assert "exports" not in stream.state
    # The first records out are the newest window's.
    newest = [r for r in out if datetime.fromisoformat(r["updated_at"]) >= windows[0].start]
    assert out[: len(newest)] == newest


def test_pipelined_calls_and_count() -> None:
    """The next window's export is made before the current one is awaited (up to
    max_concurrency in flight); calls = creates + scheduled reads + files."""
    records = make_records()
    api = FakeExportApi(records, reads=3, files=2)
    stream = FakeStream(api, export_window_days=30,
                        end_date=iso(START + timedelta(days=20)))
    clock = Clock()
    run(stream, clock)
    kinds = [kind for kind, _ in api.calls]
    assert kinds == ["create", "read", "read", "read", "download", "download"]
    assert clock.sleeps == [poll_wait(n, 1) for n in range(3)]

    api = FakeExportApi(records, reads=2, files=2)
    stream = FakeStream(api, export_window_days=10, end_date=iso(START + timedelta(days=20)))
    run(stream)
    kinds = [kind for kind, _ in api.calls]
    assert kinds == ["create", "create", "read", "read", "download", "download",
                     "read", "read", "download", "download"]


def killed_while_processing(stream: FakeStream, api: FakeExportApi) -> dict:
    """Run until the first poll of an export, kill the run there; the last state written."""
    served = api.request

    def serve(method: str, url: str, **kw: object) -> object:
        if api.calls and api.calls[-1][0] == "read":
            raise KeyboardInterrupt
        return served(method, url, **kw)

    stream.pardot_request = serve
    with pytest.raises(KeyboardInterrupt):
        run(stream)
    return copy.deepcopy(stream.states[-1])


def test_resume_uses_the_recorded_export() -> None:
    records = make_records()
    api = FakeExportApi(records, reads=5)
    stream = FakeStream(api, export_window_days=30, max_concurrency=1)  # one in flight
    saved = killed_while_processing(stream, api)
    assert saved["exports"][0]["id"] == 100

    api.calls.clear()
    out = run(FakeStream(api, state=saved, export_window_days=30))
    # Read first (the older window's export may be made before: Pardot's queue works).
    assert next(call for call in api.calls if call[0] != "create") == (
        "read", "/api/v5/exports/100")
    recorded = api.exports[100]["body"]["procedure"]["arguments"]["updatedAfter"]
    afters = [e["body"]["procedure"]["arguments"]["updatedAfter"]
              for i, e in api.exports.items() if i > 100]
    assert recorded not in afters  # the recorded window not again
    assert by_id(out) == truth(records)


def test_recorded_export_is_ignored_when_settings_changed() -> None:
    api = FakeExportApi(make_records())
    state = {"exports": [{"id": 55, "window_start": iso(START), "window_end": iso(END),
                          "api_version": 5, "signature": "other", "created_at": iso(START)}]}
    run(FakeStream(api, state=state))
    assert ("read", "/api/v5/exports/55") not in api.calls
    assert ("cancel", "/api/v5/exports/55/do/cancel") in api.calls  # frees Pardot's queue


def test_failed_export_is_retried_once_then_the_window_is_queried() -> None:
    records = make_records()
    api = FakeExportApi(records, fail=1)
    stream = FakeStream(api, end_date=iso(START + timedelta(days=3)))
    out = run(stream)
    assert by_id(out) == truth(records, end=START + timedelta(days=3))
    assert [kind for kind, _ in api.calls].count("create") == 2
    assert stream.queried == []

    # Both exports of the first (newest) window fail: it is queried, the next exported
    # (one export at a time: the next window's is made once the first window's are done).
    end = START + timedelta(days=10)
    api = FakeExportApi(records, fail=MAX_ATTEMPTS)
    stream = FakeStream(api, end_date=iso(end), max_concurrency=1)
    out = run(stream)
    assert MAX_ATTEMPTS == 2
    newest, older = plan_windows([(START, end + timedelta(seconds=1))], 7, NY)
    assert stream.queried == [(newest.start, newest.end)]
    assert creates(api) == 3  # two for the first window, one for the second
    assert [api.exports[i]["state"] for i in sorted(api.exports)] == [
        "Failed", "Failed", "Complete"]
    ids = [r["id"] for r in out]
    assert len(ids) == len(set(ids)), "a record was emitted twice"
    assert by_id(out) == truth(records, end=end)
    assert stream.state["replication_key_value"] == iso(end + timedelta(seconds=1))
    assert "exports" not in stream.state
    assert "pending" not in stream.state
    # The query's own checkpoints move the bookmark inside the newest window, and the
    # older range stays pending meanwhile, its export in state (queued meanwhile).
    during = [s for s in stream.states
              if newest.start < datetime.fromisoformat(s["replication_key_value"]) < newest.end]
    assert during
    for state in during:
        assert state["pending"] == [[START.isoformat(), newest.start.isoformat()]]
        assert state["exports"][0]["window_start"] == iso(older.start)


def test_a_queried_window_has_the_records_of_query_mode() -> None:
    """The query path's records leave out what it cannot read (v5 array custom fields)."""
    records = make_records()
    api = FakeExportApi(records, fail=MAX_ATTEMPTS)
    end = START + timedelta(days=10)
    stream = FakeStream(api, end_date=iso(end), queried_less=True)
    out = run(stream)
    newest = plan_windows([(START, end + timedelta(seconds=1))], 7, NY)[0]
    first = [r for r in out if datetime.fromisoformat(r["updated_at"]) >= newest.start]
    assert first
    assert all("visits" not in r for r in first)
    assert all("visits" in r for r in out if r not in first)


def test_a_resumed_export_on_its_last_try_that_failed_is_queried() -> None:
    records = make_records()
    api = FakeExportApi(records)
    end = START + timedelta(days=3)
    stream = FakeStream(api, end_date=iso(end))
    run(stream)
    api.exports[100]["state"] = "Failed"
    recorded = recorded_export(stream, end, created_at=None, attempt=MAX_ATTEMPTS)
    api.calls.clear()
    resumed = FakeStream(api, state={"exports": [recorded]}, end_date=iso(end))
    out = run(resumed)
    assert [kind for kind, _ in api.calls] == ["read"]
    assert resumed.queried == [(START, end + timedelta(seconds=1))]
    assert by_id(out) == truth(records, end=end)
    assert "exports" not in resumed.state


@pytest.mark.parametrize("refused", [False, True])
def test_an_export_waiting_too_long_is_canceled_then_the_window_queried(refused: bool) -> None:
    """Waiting past a quarter of export_timeout_hours (here 9 s of 36): canceled, made
    again once, then queried; a cancel Pardot refuses (178, finished meanwhile) is fine."""
    records = make_records()
    api = FakeExportApi(records, stall=2)
    api.cancel_refused = refused
    end = START + timedelta(days=10)
    stream = FakeStream(api, end_date=iso(end), export_timeout_hours=0.01, max_concurrency=1)
    clock = Clock()
    out = run(stream, clock)
    kinds = [kind for kind, _ in api.calls]
    # Polls at 1, 3, 5 and 8 s, then one at the 9 s limit (not at 13 s): canceled.
    assert kinds[:8] == ["create", "read", "read", "read", "read", "read", "cancel", "create"]
    assert clock.sleeps[:5] == [1, 2, 2, 3, 1]
    assert ("cancel", "/api/v5/exports/100/do/cancel") in api.calls
    assert ("cancel", "/api/v5/exports/101/do/cancel") in api.calls
    assert kinds.count("cancel") == 2
    if not refused:
        assert api.exports[100]["state"] == api.exports[101]["state"] == "Canceled"
    newest = plan_windows([(START, end + timedelta(seconds=1))], 7, NY)[0]
    assert stream.queried == [(newest.start, newest.end)]
    assert by_id(out) == truth(records, end=end)
    assert stream.state["replication_key_value"] == iso(end + timedelta(seconds=1))
    assert "exports" not in stream.state


def test_an_export_waiting_less_than_the_limit_is_waited_for() -> None:
    records = make_records()
    api = FakeExportApi(records, stall=1)
    end = START + timedelta(days=3)
    stream = FakeStream(api, end_date=iso(end), export_timeout_hours=0.01)
    out = run(stream)
    assert [kind for kind, _ in api.calls].count("cancel") == 1
    assert creates(api) == 2  # the second one is not held: it completes
    assert stream.queried == []
    assert by_id(out) == truth(records, end=end)


def test_timeout_keeps_the_export_for_the_next_run() -> None:
    api = FakeExportApi(make_records(), reads=10**6)
    stream = FakeStream(api, export_timeout_hours=0.01, export_poll_seconds=5)
    with pytest.raises(ExportError, match="export_timeout_hours"):
        run(stream)
    assert 100 in [e["id"] for e in stream.state["exports"]]
    reads = [kind for kind, _ in api.calls].count("read")
    # A first look at 3 s, then the schedule: 8, 18, 28 and 43 s, past the 36 s timeout.
    assert reads == 5


def test_expired_export_in_state_is_created_again() -> None:
    records = make_records()
    api = FakeExportApi(records)
    end = START + timedelta(days=3)
    stream = FakeStream(api, end_date=iso(end))
    run(stream)
    recorded = recorded_export(stream, end)
    api.exports[100]["expired"] = True
    api.calls.clear()
    out = run(FakeStream(api, state={"exports": [recorded]}, end_date=iso(end)))
    assert [kind for kind, _ in api.calls][:2] == ["read", "create"]
    assert by_id(out) == truth(records, end=end)


def test_a_stop_part_way_keeps_the_state_at_the_last_whole_window() -> None:
    """Budget or daily limit mid-window: the state stays at the last whole window, the
    newest (the stream drops the SDK's progress markers then: see state.hold_bookmark), and
    the next run resumes the older range's export and reads the rest, nothing twice."""
    records = make_records()
    api = FakeExportApi(records, files=3)
    stream = FakeStream(api)
    served = api.request

    def budget_spent(method: str, url: str, **kw: object) -> object:
        if len([kind for kind, _ in api.calls if kind == "download"]) >= 4:
            raise StopRun("max_api_calls")
        return served(method, url, **kw)

    stream.pardot_request = budget_spent
    first: list[dict] = []
    sync = export_sync(stream, sleep=Clock().sleep)
    with pytest.raises(StopRun):
        first.extend(sync.records())
    end = END + timedelta(seconds=1)
    windows = plan_windows([(START, end)], 7, NY)
    saved = copy.deepcopy(stream.states[-1])
    assert saved["replication_key_value"] == iso(end)
    assert saved["pending"] == [[START.isoformat(), windows[0].start.isoformat()]]
    # The window being downloaded and the next ones' (queued meanwhile, max_concurrency
    # in all) are in flight.
    assert [e["window_start"] for e in saved["exports"]] == [
        iso(windows[3].start), iso(windows[2].start), iso(windows[1].start)]
    emitted = [r for r in first if datetime.fromisoformat(r["updated_at"]) >= windows[0].start]
    assert by_id(emitted) == truth(records, start=windows[0].start)

    api.calls.clear()
    again = run(FakeStream(api, state=copy.deepcopy(saved)))
    reads = [call for call in api.calls if call[0] == "read"]
    assert reads[0] == ("read", f"/api/v5/exports/{saved['exports'][-1]['id']}")
    for export in saved["exports"]:
        assert ("read", f"/api/v5/exports/{export['id']}") in reads
    assert by_id(again) == truth(records, end=windows[0].start - timedelta(seconds=1))


def test_a_window_without_rows_still_moves_the_bookmark() -> None:
    api = FakeExportApi(make_records())
    early = START - timedelta(days=30)
    stream = FakeStream(api, start_date=iso(early), end_date=iso(START - timedelta(days=1)))
    assert run(stream) == []
    assert stream.state["replication_key_value"] == iso(START - timedelta(days=1, seconds=-1))
    assert [kind for kind, _ in api.calls].count("download") == 0


def test_a_recorded_export_pardot_no_longer_knows_is_made_again() -> None:
    records = make_records()
    api = FakeExportApi(records)
    end = START + timedelta(days=3)
    stream = FakeStream(api, end_date=iso(end))
    recorded = recorded_export(stream, end, id=999)
    out = run(FakeStream(api, state={"exports": [recorded]}, end_date=iso(end)))
    assert [kind for kind, _ in api.calls][:2] == ["read", "create"]
    assert by_id(out) == truth(records, end=end)


def test_an_export_expired_before_its_files_were_read_is_made_again() -> None:
    records = make_records()
    api = FakeExportApi(records)
    end = START + timedelta(days=3)
    stream = FakeStream(api, end_date=iso(end))
    served = api.request

    def expire_first_download(method: str, url: str, **kw: object) -> object:
        if "/files/" in url and 100 in api.exports and not api.exports[100]["expired"]:
            api.exports[100]["expired"] = True
            raise PardotAPIError("Pardot error 178 (HTTP 400): expired", 178)
        return served(method, url, **kw)

    stream.pardot_request = expire_first_download
    out = run(stream)
    assert [kind for kind, _ in api.calls].count("create") == 2
    assert by_id(out) == truth(records, end=end)


# -- Pardot's clock behind this machine's ----------------------------------------------------


def creates(api: FakeExportApi) -> int:
    return [kind for kind, _ in api.calls].count("create")


@pytest.mark.parametrize(("version", "naive"), [(5, False), (4, True)])
def test_bookmark_and_plan_stop_at_pardots_clock(version: int, naive: bool) -> None:
    """end_date (or now) past Pardot's clock, which the replies' Date did not tell: the
    newest window's export tells it (createdAt); the later windows past it are skipped,
    left for the next run, and the bookmark stays below it."""
    records = make_records()
    server_now = START + timedelta(days=17, hours=12, seconds=7)
    api = FakeExportApi(records, clock=server_now, naive_clock=naive, wrapped=version < 5)
    stream = FakeStream(api, api_version=version)  # 7-day windows to END, 49 days on
    out = run(stream)
    # The newest window's export (empty: made before it), then [14, 21), [7, 14), [0, 7)
    # days: the first of them holds Pardot's now.
    assert creates(api) == 4
    settled = server_now - CLOCK_MARGIN  # what the export holds for sure
    bookmark = settled + timedelta(seconds=1)
    assert stream.state["replication_key_value"] == iso(bookmark)
    assert "exports" not in stream.state
    assert by_id(out) == truth(records, end=settled)

    # Later, Pardot's clock has moved on; the next run starts at the bookmark, so records
    # changed meanwhile (stamped after the first run's end) are not lost.
    api.clock = server_now + timedelta(days=12)
    changed = [dict(r, updated_at=iso(server_now + timedelta(days=k + 1)), name=f"new{k}")
               for k, r in enumerate(records[:5])]
    api.records = [*changed, *records[5:]]
    api.calls.clear()
    out = run(FakeStream(api, state=copy.deepcopy(stream.state), api_version=version))
    cap = api.clock - CLOCK_MARGIN + timedelta(seconds=1)
    windows = plan_windows([(bookmark, END + timedelta(seconds=1))], 7, NY)
    assert creates(api) == 1 + len([w for w in windows[1:] if w.start < cap])
    assert {r["id"] for r in changed} <= {r["id"] for r in out}
    assert by_id(out) == truth(api.records, start=bookmark, end=api.clock - CLOCK_MARGIN)
    assert stream.state["replication_key_value"] == iso(bookmark)  # the first run's copy


def test_a_window_ending_well_before_pardots_clock_keeps_its_end() -> None:
    records = make_records()
    api = FakeExportApi(records, clock=END + CLOCK_MARGIN)  # the edge: a full margin
    stream = FakeStream(api)
    run(stream)
    end = END + timedelta(seconds=1)  # the read bound is END: [START, END + 1 s)
    assert stream.state["replication_key_value"] == iso(end)
    assert creates(api) == len(plan_windows([(START, end)], 7, NY))


def test_resumed_export_is_bounded_by_its_own_creation_time() -> None:
    """An interrupted run's last export, resumed after Pardot's clock moved on."""
    records = make_records()
    server_now = START + timedelta(days=3)
    api = FakeExportApi(records, reads=5, clock=server_now, naive_clock=True)
    stream = FakeStream(api, max_concurrency=1)  # one export in flight
    saved = killed_while_processing(stream, api)
    assert saved["exports"][0]["created_at"] == iso(server_now)

    api.clock = server_now + timedelta(days=2)  # later exports would see more
    api.calls.clear()
    resumed = FakeStream(api, state=copy.deepcopy(saved))
    out = run(resumed)
    # The recorded export (the newest window's, empty: it holds data up to its createdAt),
    # and the window holding that clock, whose export, made now, holds it whole; none past.
    assert creates(api) == 1
    settled = server_now - CLOCK_MARGIN
    windows = plan_windows([(START, END + timedelta(seconds=1))], 7, NY)
    holding = next(w for w in windows if w.start <= settled < w.end)
    assert resumed.state["replication_key_value"] == iso(holding.end)
    assert "pending" not in resumed.state
    assert by_id(out) == truth(records, end=holding.end - timedelta(seconds=1))

    # A read reply without createdAt: the time recorded in state still bounds the bookmark.
    api.clock, api.calls = None, []
    for export in api.exports.values():
        export.update(created=None, state="Complete", reads_left=0)
    resumed = FakeStream(api, state=copy.deepcopy(saved))
    run(resumed)
    assert resumed.state["replication_key_value"] == iso(settled + timedelta(seconds=1))


def test_without_createdat_the_bookmark_follows_the_plan() -> None:
    api = FakeExportApi(make_records())  # replies carry no createdAt
    stream = FakeStream(api)
    run(stream)
    assert stream.state["replication_key_value"] == iso(END + timedelta(seconds=1))
