"""The fast record path (writer.py, convert.py's row converter, export/batch.py) writes what
the SDK's own path writes: RECORD lines byte for byte as the SDK's msgspec writer encodes
them, batch files line for line the records the SDK's jsonl batcher would write, records
equal to the simulator's truth; with deselected properties, custom fields and stream maps."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import subprocess
import sys
import typing as t
from decimal import Decimal
from pathlib import Path

import pytest
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage
from singer_sdk.singerlib.json import serialize_json
from tapkit import ARRAY_CUSTOM_FIELDS, TAP, comparable, discover_catalog, sim_config

from tap_pardot.convert import RecordConverter
from tap_pardot.writer import append_line

KNOBS = {"visitor_activities": {"count": 400, "clump_size": 100},
         "prospects": {"count": 200, "clump_size": 50},
         "export_waiting_seconds": 0.0, "export_processing_seconds": 0.05,
         "export_rows_per_file": 150}
STREAMS = ("visitor_activities", "prospects")
DESELECTED = {"visitor_activities": "type_name", "prospects": "job_title"}
SDK_WRITER = MsgSpecWriter()


def sdk_line(line: str) -> str:
    """The line the SDK's msgspec writer makes for the same message (values parsed as it
    reads)."""
    message = json.loads(line, parse_float=Decimal)
    return SDK_WRITER.format_message(RecordMessage(
        stream=message["stream"], record=message["record"], version=message.get("version"),
        time_extracted=dt.datetime.fromisoformat(message["time_extracted"]))).decode()[:-1]


def cli(sim: t.Any, tmp_path: Path, name: str, **config: t.Any) -> list[str]:
    """The stdout lines of one CLI run of STREAMS, with DESELECTED deselected."""
    cfg = sim_config(sim, start_date="2025-09-15T00:00:00Z", end_date="2025-11-20T12:00:00Z",
                     export_poll_seconds=0.01, **config)
    catalog = discover_catalog(cfg, select=STREAMS)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == ["properties", DESELECTED.get(entry["tap_stream_id"])]:
                meta["metadata"]["selected"] = False
    (tmp_path / f"{name}-config.json").write_text(json.dumps(cfg))
    (tmp_path / f"{name}-catalog.json").write_text(json.dumps(catalog))
    run = subprocess.run([TAP, "--config", str(tmp_path / f"{name}-config.json"), "--catalog",
                          str(tmp_path / f"{name}-catalog.json")], capture_output=True,
                         text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout.splitlines()


def records_of(lines: list[str]) -> dict[str, dict[int, str]]:
    """RECORD lines by stream and id, the `time_extracted` cut off (it differs per run)."""
    out: dict[str, dict[int, str]] = {}
    for line in lines:
        if line.startswith('{"type":"RECORD"'):
            message = json.loads(line)
            out.setdefault(message["stream"], {})[message["record"]["id"]] = (
                line.rsplit(',"time_extracted":', 1)[0])
    return out


def final_bookmarks(messages: list[dict]) -> dict[str, t.Any]:
    """Each stream's replication_key_value in the last STATE message."""
    state = [m["value"] for m in messages if m["type"] == "STATE"][-1]
    return {name: value.get("replication_key_value")
            for name, value in state["bookmarks"].items()}


def parsed(cut: str) -> dict:
    """The record of a line cut by `records_of`."""
    return t.cast("dict", json.loads(cut + "}")["record"])


def assert_equals_truth(sim: t.Any, stream: str, records: dict[int, dict],
                        drop: frozenset[str] = frozenset()) -> None:
    """Records equal the truth, less the deselected property and `drop`."""
    gone = drop | {DESELECTED[stream]}
    want = {i: comparable({k: v for k, v in row.items() if k not in gone})
            for i, row in ((row["id"], row) for row in sim.truth(stream))}
    assert sorted(records) == sorted(want), stream
    diffs = [i for i in want if comparable(records[i]) != want[i]]
    assert not diffs, f"{stream} {diffs[:3]}: {records[diffs[0]]} != {want[diffs[0]]}"


@pytest.mark.parametrize("mode", ["export", "query"])
def test_record_lines_are_the_sdk_writers(sim_factory: t.Any, tmp_path: Path,
                                          mode: str) -> None:
    """Through the real CLI: every RECORD line is byte for byte the SDK msgspec writer's
    line for the same message; records equal the truth, deselected properties left out, custom
    fields (prospects) in; and a stream map (the SDK's own record path) gives the same
    lines, less what it maps away."""
    sim = sim_factory(KNOBS)
    sim.advance(180)
    fast = cli(sim, tmp_path, "fast", sync_mode=mode)
    records = [line for line in fast if line.startswith('{"type":"RECORD"')]
    assert records
    assert any(not line.isascii() for line in records)  # non-ASCII text, in UTF-8
    for line in records:
        assert line == sdk_line(line)
    fast_records = records_of(fast)
    by_stream = {stream: {i: parsed(line) for i, line in lines.items()}
                 for stream, lines in fast_records.items()}
    for stream in STREAMS:
        assert DESELECTED[stream] not in next(iter(by_stream[stream].values()))
        # Pardot's v5 query refuses array custom fields (pardot-api.md §3e).
        assert_equals_truth(sim, stream, by_stream[stream],
                            ARRAY_CUSTOM_FIELDS if mode == "query" else frozenset())
    assert any(key.endswith("__c") for key in next(iter(by_stream["prospects"].values())))
    # The SDK's path: a map that keeps every property for visitor activities, and one that
    # drops `email` from prospects.
    maps = {"visitor_activities": {"id": "id"}, "prospects": {"email": None}}
    mapped = records_of(cli(sim, tmp_path, "mapped", sync_mode=mode, stream_maps=maps))
    assert {i: parsed(line) for i, line in mapped["visitor_activities"].items()} == by_stream[
        "visitor_activities"]
    want = {i: {k: v for k, v in parsed(line).items() if k != "email"}
            for i, line in fast_records["prospects"].items()}
    assert {i: parsed(line)
            for i, line in mapped["prospects"].items()} == want


@pytest.mark.parametrize("mode", ["export", "query"])
def test_batch_files_hold_the_sdk_batchers_lines(sim_factory: t.Any, tmp_path: Path,
                                                 mode: str) -> None:
    """Through the real CLI in BATCH mode: each file line is what the SDK's jsonl batcher
    writes for that record, files hold batch_size lines, and the records are the RECORD
    mode run's, so the truth's."""
    sim = sim_factory(KNOBS)
    sim.advance(180)
    batch = {"encoding": {"format": "jsonl", "compression": "gzip"},
             "storage": {"root": tmp_path.as_uri(), "prefix": "b-"}, "batch_size": 70}
    lines = cli(sim, tmp_path, "batch", sync_mode=mode, batch_config=batch)
    messages = [json.loads(line) for line in lines]
    assert not [m for m in messages if m["type"] == "RECORD"]
    plain_lines = cli(sim, tmp_path, "plain", sync_mode=mode)
    plain = records_of(plain_lines)
    for stream in STREAMS:
        files = [Path(uri.removeprefix("file://")) for m in messages
                 if m["type"] == "BATCH" and m["stream"] == stream for uri in m["manifest"]]
        got: dict[int, dict] = {}
        sizes = []
        for path in files:
            assert path.name.endswith(".json.gz")
            with gzip.open(path, "rt", encoding="utf-8") as file:
                text = file.read().splitlines()
            sizes.append(len(text))
            for line in text:
                record = json.loads(line, parse_float=Decimal)
                assert json.loads(serialize_json(record), parse_float=Decimal) == record
                record = json.loads(line)
                got[record["id"]] = record
        assert sizes[:-1] == [70] * (len(sizes) - 1)
        assert 0 < sizes[-1] <= 70
        assert got == {i: parsed(line)
                       for i, line in plain[stream].items()}
    # The run ends with the RECORD mode run's bookmarks (test_batch.py resumes from a
    # BATCH mode run's state part-way).
    assert final_bookmarks(messages) == final_bookmarks([json.loads(line) for line in plain_lines])


@pytest.mark.parametrize("value", [
    "plain", "é", "🎉 launch", "a\x7fb", "tab\tnew\nline\"quote\\", "\u2028", "\x00\x1f",
    1, -7, 10**20, True, None, Decimal("1.50"), Decimal("1E+2"), 1.5, 1e16, 1e-05, 0.1,
    ["a", "b;c"], [],
])
def test_lines_are_the_sdk_msgspec_writers(value: t.Any) -> None:
    record = {"id": 1, "value": value, "nested": [value]}
    line = bytearray()
    append_line(record, line)
    assert bytes(line) == bytes(SDK_WRITER.serialize_message(RecordMessage("s", record)))[
        len(b'{"type":"RECORD","stream":"s","record":'):-2] + b"\n"
    assert json.loads(line) == json.loads(serialize_json(record))  # the same JSON values


def test_row_converter_equals_convert() -> None:
    """`for_header(header)(row, window)` is `convert(dict(zip(header, row)), window=window)`
    on CSV text: times around the DST fall-back, escapes, booleans, lists, numbers, an
    unknown column and a property given twice."""
    schema = {"properties": {
        "id": {"type": ["integer"]}, "updated_at": {"type": ["string"], "format": "date-time"},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "name": {"type": ["string", "null"]}, "flag": {"type": ["boolean", "null"]},
        "score": {"type": ["number", "null"]}, "tags": {"type": ["array", "null"]},
        "misc": {}}}
    converter = RecordConverter(schema, "America/New_York",
                                aliases={"Tags__c": "tags"}).for_fields(
        ["id", "updated_at", "created_at", "name", "flag", "score", "tags", "misc"], csv=True)
    rng = random.Random(7)
    base = dt.datetime(2025, 11, 2, 0, 30)
    window = (dt.datetime(2025, 11, 2, 5, 59, 59, tzinfo=dt.timezone.utc),
              dt.datetime(2025, 11, 2, 7, tzinfo=dt.timezone.utc))
    for header in (["id", "updatedAt", "createdAt", "name", "flag", "score", "Tags__c",
                    "misc", "unknown"],
                   ["updated_at", "id", "name", "name", "flag"],
                   ["id", "updatedAt", "updated_at"]):
        convert = converter.for_header(header)
        for _ in range(300):
            stamp = (base + dt.timedelta(minutes=rng.randrange(240))).isoformat(sep=" ")
            pool = {"id": str(rng.randrange(1, 10**6)), "updatedAt": stamp,
                    "updated_at": stamp, "createdAt": rng.choice([stamp, "", "2025-11-02"]),
                    "name": rng.choice(["", "x", "\\=SUM(1)", "\\x", "é"]),
                    "flag": rng.choice(["", "true", "false", "1", "0", "TRUE", "no"]),
                    "score": rng.choice(["", "1.50", "3"]),
                    "Tags__c": rng.choice(["", "a;b", '["x","y"]']),
                    "misc": "m", "unknown": "u"}
            row = [pool[key] for key in header]
            for bounds in (None, window):
                assert convert(row, bounds) == converter.convert(
                    dict(zip(header, row, strict=True)), window=bounds)


def test_benchmark_runs_small(tmp_path: Path) -> None:
    """`make bench`'s script end to end on a tiny history (its figures are not checked)."""
    script = Path(__file__).parent.parent / "scripts" / "benchmark.py"
    run = subprocess.run(
        [sys.executable, str(script), "--rows", "300", "--years", "0.1", "--export-waiting",
         "0", "--export-processing", "0.05", "--export-poll", "0.05"],
        capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "every record reached the output" in run.stdout
    cases = {line.split()[0] for line in run.stdout.splitlines() if line.strip()}
    assert {"export", "query", "auto", "ceiling", "plain_sdk", "export_records",
            "export_batch"} <= cases
