"""Helpers the end-to-end tests share: a tap config for a simulator, discovery with a
selection, a sync through the real CLI or in-process with its messages parsed, and the
simulator's truth. Imported as `from tapkit import ...` (pytest puts tests/ on sys.path)."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import subprocess
import sys
import typing as t
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import requests

from tap_pardot.object_stream import PardotObjectStream
from tap_pardot.tap import TapPardot

TAP = str(Path(sys.executable).parent / "tap-pardot")
CREDENTIALS = ("client_id", "client_secret", "refresh_token", "pardot_business_unit_id")
# Fields Pardot serves that the tap does not extract, on purpose: a prospect's password,
# what only the read endpoint serves (one call per record: email bodies, dynamic content's
# base content, landing page layout CSS and script) and emails' nested sender and reply-to
# options.
NOT_EXTRACTED = frozenset({"password", "html_message", "text_message", "sender_options",
                           "reply_to_options", "base_content", "script_fragment",
                           "layout_css", "layout_css_generated"})
# The simulator's array-valued prospect custom fields, which Pardot's v5 query refuses
# (pardot-api.md §3e): the tap leaves them out of a v5 query's records.
ARRAY_CUSTOM_FIELDS = frozenset({"product_interests__c", "newsletter_topics__c",
                                 "event_sessions__c"})
# The DST fall-back hour in the simulator's account timezone (01:00-02:00 local twice), UTC.
REPEATED_HOUR = (datetime(2025, 11, 2, 5, tzinfo=timezone.utc),
                 datetime(2025, 11, 2, 7, tzinfo=timezone.utc))


class Run(t.NamedTuple):
    """One sync's output: records by stream, STATE values in order, stderr, exit code, and
    the streams a SCHEMA message was sent for."""

    records: dict[str, list[dict]]
    states: list[dict]
    stderr: str = ""
    returncode: int = 0
    schemas: frozenset[str] = frozenset()

    @property
    def state(self) -> dict:
        """The last STATE value ({} if there was none)."""
        return self.states[-1] if self.states else {}


def sim_config(sim: t.Any, **overrides: t.Any) -> dict:
    """The simulator's OAuth credentials, its URL (auth and API) and account timezone, then
    `overrides`; a None value drops the key."""
    config = {**{key: sim.credentials[key] for key in CREDENTIALS},
              "api_base_url": sim.url, "auth_base_url": sim.url,
              "timezone": "America/New_York", **overrides}
    return {key: value for key, value in config.items() if value is not None}


def tap_streams(tap: TapPardot) -> dict[str, PardotObjectStream]:
    """`tap.streams`, typed as the tap's own streams (the SDK's `Tap.streams` says `Stream`)."""
    return t.cast("dict[str, PardotObjectStream]", tap.streams)


def select_streams(catalog: dict, streams: str | Iterable[str]) -> dict:
    """A copy of `catalog` with exactly `streams` selected."""
    wanted = {streams} if isinstance(streams, str) else set(streams)
    catalog = copy.deepcopy(catalog)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return catalog


def discover_catalog(config: dict, select: str | Iterable[str] | None = None) -> dict:
    """The tap's catalog, discovered in-process; with `select`, only those streams selected."""
    catalog = TapPardot(config=config, parse_env_config=False).catalog_dict
    return catalog if select is None else select_streams(catalog, select)


def parse_output(stdout: str, stderr: str = "", returncode: int = 0) -> Run:
    """A tap's Singer output, read once: records by stream, STATE values, the streams a
    SCHEMA message was sent for."""
    records: dict[str, list[dict]] = {}
    states = []
    schemas = set()
    for line in stdout.splitlines():
        if not line.strip():
            continue
        message = json.loads(line)
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])
        elif message["type"] == "STATE":
            states.append(message["value"])
        elif message["type"] == "SCHEMA":
            schemas.add(message["stream"])
    return Run(records, states, stderr, returncode, frozenset(schemas))


def parse_messages(stdout: str) -> tuple[dict[str, list[dict]], list[dict]]:
    """(records by stream, STATE values) of a tap's Singer output."""
    run = parse_output(stdout)
    return run.records, run.states


def run_cli(config: dict, *, catalog: dict | None = None, state: dict | None = None,
            args: Iterable[str] = (), tmp_path: Path, check: bool = False,
            env: dict[str, str] | None = None) -> Run:
    """Run `tap-pardot` as a subprocess, its config (catalog, state) written to `tmp_path`,
    with `env` added to this process's environment; `check` asserts it exits 0."""
    cmd = [TAP, "--config", _write(tmp_path / "config.json", config)]
    if catalog is not None:
        cmd += ["--catalog", _write(tmp_path / "catalog.json", catalog)]
    if state is not None:
        cmd += ["--state", _write(tmp_path / "state.json", state)]
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120,
                          check=False, env={**os.environ, **env} if env else None)
    if check:
        assert proc.returncode == 0, proc.stderr[-2000:]
    return parse_output(proc.stdout, proc.stderr, proc.returncode)


def visitors_run(sim: t.Any, tmp_path: Path, state: dict | None = None,
                 **config: t.Any) -> Run:
    """One CLI run of the visitors stream alone, queried from the simulator's first day in
    pages of 20, `config` added (not checked: the caller looks at the exit code)."""
    cfg = sim_config(sim, start_date="2025-09-15T00:00:00Z", sync_mode="query", page_size=20,
                     **config)
    return run_cli(cfg, catalog=discover_catalog(cfg, select="visitors"), state=state,
                   tmp_path=tmp_path)


def discover_cli(config: dict, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`tap-pardot --discover` as a subprocess (not checked: the caller looks at it)."""
    cmd = [TAP, "--config", _write(tmp_path / "config.json", config), "--discover"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def run_in_process(config: dict, *, catalog: dict, state: dict | None = None,
                   backoff_factor: float | None = None) -> Run:
    """One sync by a TapPardot in this process (faster than the CLI), stdout parsed;
    `backoff_factor` 0 makes retries immediate."""
    tap = TapPardot(config=config, catalog=catalog, state=state or {}, parse_env_config=False)
    if backoff_factor is not None:
        tap.run.backoff_factor = backoff_factor
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    return parse_output(out.getvalue())


def truth(sim: t.Any, stream: str) -> dict[int, dict]:
    """The simulator's truth for `stream` (over HTTP), by id, as the tap extracts it."""
    rows = requests.get(f"{sim.url}/_sim/truth/{stream}", timeout=10).json()["records"]
    return {row["id"]: row for row in extracted_truth(lambda _: rows, stream)}


def sim_now(sim: t.Any) -> str:
    """The simulator's clock (over HTTP), ISO UTC."""
    return t.cast("str", requests.get(f"{sim.url}/_sim/clock", timeout=10).json()["now"])


def extracted_truth(read: t.Callable[[str], list[dict]], stream: str) -> list[dict]:
    """`read(stream)`, the simulator's truth, less the fields the tap does not extract."""
    return [{k: v for k, v in row.items() if k not in NOT_EXTRACTED} for row in read(stream)]


def in_repeated_hour(value: t.Any) -> bool:
    """Whether `value` is an ISO date-time inside the DST fall-back hour."""
    try:
        instant = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return REPEATED_HOUR[0] <= instant < REPEATED_HOUR[1]


def comparable(record: dict, drop: Iterable[str] = ()) -> dict:
    """`record` without the fields in `drop`, and with date-times other than updated_at in
    the repeated DST hour nulled: naive times there read as its first occurrence."""
    dropped = set(drop)
    out = {key: value for key, value in record.items() if key not in dropped}
    for key, value in record.items():
        if (key != "updated_at" and key.endswith(("_at", "_sync")) and isinstance(value, str)
                and in_repeated_hour(value)):
            out[key] = None
    return out


def _write(path: Path, data: dict) -> str:
    path.write_text(json.dumps(data))
    return str(path)
