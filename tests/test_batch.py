"""BATCH output (the SDK's batch_config): the real CLI writes gzipped JSONL files that hold
exactly the records, on the export path and the query path."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import subprocess
import typing as t
from pathlib import Path

import pytest
from tapkit import TAP, discover_catalog, sim_config, truth

from tap_pardot.object_stream import StreamFailed
from tap_pardot.tap import TapPardot

KNOBS = {"visitor_activities": {"count": 300, "clump_size": 50},
         "prospects": {"count": 120, "clump_size": 30}}


def batch_ids(messages: list[dict], stream: str) -> list[int]:
    """The record ids in the files `stream`'s BATCH messages announced, in order."""
    ids = []
    for m in messages:
        if m["type"] == "BATCH" and m["stream"] == stream:
            for uri in m["manifest"]:
                with gzip.open(Path(uri.removeprefix("file://")), "rt") as lines:
                    ids += [json.loads(line)["id"] for line in lines]
    return ids


@pytest.mark.parametrize("mode", ["export", "query"])
def test_batch_files_hold_every_record(sim_factory: t.Any, tmp_path: Path, mode: str) -> None:
    sim = sim_factory(KNOBS)
    config = sim_config(
        sim, start_date="2025-09-15T00:00:00Z", end_date="2025-11-20T12:00:00Z",
        sync_mode=mode, export_poll_seconds=0.01,
        stream_maps={stream: None for stream in (
            "campaigns", "custom_fields", "emails", "forms", "lifecycle_histories",
            "list_memberships", "lists", "opportunities", "prospect_accounts", "tags",
            "users", "visitor_page_views", "visitors", "visits")},
        batch_config={"encoding": {"format": "jsonl", "compression": "gzip"},
                      "storage": {"root": tmp_path.as_uri(), "prefix": "batch-"}},
    )
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    run = subprocess.run([TAP, "--config", str(config_file)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    messages = [json.loads(line) for line in run.stdout.splitlines()]
    assert not [m for m in messages if m["type"] == "RECORD"]
    for stream in ("visitor_activities", "prospects"):
        ids = batch_ids(messages, stream)
        assert sorted(ids) == sorted(truth(sim, stream)), stream


def batch_run(sim: t.Any, tmp_path: Path, name: str, state: dict | None = None,
              **config: t.Any) -> tuple[list[int], dict, int]:
    """A BATCH-mode run of visitors by a TapPardot in this process (retries without waits):
    (ids in its announced batch files, its last STATE, exit code)."""
    cfg = sim_config(sim, start_date="2025-09-15T00:00:00Z", page_size=50,
                     export_poll_seconds=0.01,
                     batch_config={"encoding": {"format": "jsonl", "compression": "gzip"},
                                   "storage": {"root": tmp_path.as_uri(), "prefix": name},
                                   "batch_size": 60},
                     **config)
    catalog = discover_catalog(cfg, select="visitors")
    tap = TapPardot(config=cfg, catalog=catalog, state=state or {}, parse_env_config=False)
    tap.run.backoff_factor = 0
    out, code = io.StringIO(), 0
    with contextlib.redirect_stdout(out):
        try:
            tap.sync_all()
        except StreamFailed:
            code = 1
    messages = [json.loads(line) for line in out.getvalue().splitlines()]
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    return batch_ids(messages, "visitors"), states[-1] if states else {}, code


@pytest.mark.parametrize(("mode", "stop"), [("query", "5xx"), ("query", "daily limit"),
                                            ("export", "5xx")])
def test_state_never_overtakes_the_batches(sim_factory: t.Any, tmp_path: Path, mode: str,
                                           stop: str) -> None:
    """A BATCH-mode run stopped part-way, then resumed: both runs' batch files together hold
    every record; the STATE of the first covers only what its BATCH messages announced."""
    sim = sim_factory({"visitors": {"count": 150, "clump_size": 0}})
    sim.advance(180)  # past the settle margin: every record is due
    calls = {"query": 3, "export": 9}[mode]  # discovery, then a few pages or export calls
    if stop == "5xx":
        sim.set_knobs({"fault_5xx_after_calls": calls})
    else:
        sim.set_knobs({"daily_call_limit": calls, "return_api_usage": False})  # a 122
    first, state, code = batch_run(sim, tmp_path, "first", sync_mode=mode,
                                   export_window_days=7)
    assert code == (1 if stop == "5xx" else 0)
    assert len(first) < 150  # stopped part-way
    sim.set_knobs({"fault_5xx_after_calls": 0, "daily_call_limit": 0})
    second, _, code = batch_run(sim, tmp_path, "second", state=state, sync_mode=mode,
                                export_window_days=7)
    assert code == 0
    assert set(first) | set(second) == set(truth(sim, "visitors"))
