"""BATCH output (the SDK's batch_config): the real CLI writes gzipped JSONL files that hold
exactly the records, on the export path and the query path."""

from __future__ import annotations

import gzip
import json
import subprocess
import typing as t
from pathlib import Path

import pytest
from tapkit import TAP, sim_config, truth

KNOBS = {"visitor_activities": {"count": 300, "clump_size": 50},
         "prospects": {"count": 120, "clump_size": 30}}


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
        files = [Path(uri.removeprefix("file://"))
                 for m in messages if m["type"] == "BATCH" and m["stream"] == stream
                 for uri in m["manifest"]]
        ids = []
        for path in files:
            with gzip.open(path, "rt") as lines:
                ids += [json.loads(line)["id"] for line in lines]
        assert sorted(ids) == sorted(truth(sim, stream)), stream
