"""The real Meltano (`make test` installs it; MELTANO_BIN) on a copy of this project: what a
user types (`meltano config set`, TAP_PARDOT_* variables, `meltano run`) reaches the tap as
the types its schema takes, and a run into DuckDB loads the simulator's truth, value by value.
"""

import json
import os
import re
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from meltanokit import MELTANO, NO_MELTANO, ROOT, copy_project, meltano

from tap_pardot.settings import Settings
from tap_pardot.streams import STREAM_TYPES
from tap_pardot.tap import TapPardot

TARGET_PYTHON = ROOT / ".meltano/loaders/target-duckdb/venv/bin/python"

pytestmark = pytest.mark.skipif(not MELTANO, reason=NO_MELTANO)

BATCH = {"encoding": {"format": "jsonl", "compression": "gzip"},
         "storage": {"root": "file:///tmp/batches", "prefix": "pardot-"}}
MAPS = {"tags": {"name_upper": "name.upper()"}}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def tap_config(project: Path, env: dict[str, str] | None = None) -> dict:
    """The config file Meltano writes for the tap (the demo environment's credentials and
    hosts, what was set), as `meltano invoke` would pass it."""
    return json.loads(meltano(project, "invoke", "--dump=config", "tap-pardot", env=env))


def tap_settings(config: dict) -> Settings:
    """The config through the tap's own checks (schema, then check_config), as parsed; less
    `stream_maps`, which need the streams' schemas (the `meltano run` test applies one)."""
    config = {k: v for k, v in config.items() if k != "stream_maps"}
    tap = TapPardot(config=config, catalog={"streams": []}, parse_env_config=False)
    return Settings.parse(tap.config)


def test_config_set_stores_each_kind_as_the_tap_takes_it(project: Path) -> None:
    """`meltano config set tap-pardot NAME VALUE` (Meltano 4's syntax, as the README says)."""
    typed = {
        "api_version": "4",  # integer, one of 3, 4, 5 ("'4' is not a valid choice" before)
        "export_timeout_hours": "0.5",  # a decimal
        "include_deleted": "false",  # boolean
        "batch_config": json.dumps(BATCH),  # objects (stored as strings before)
        "stream_maps": json.dumps(MAPS),
        "sync_mode": "query",  # options of strings
        "jwt_audience": "https://test.salesforce.com",  # string
    }
    for name, value in typed.items():
        meltano(project, "config", "set", "tap-pardot", name, value)
    project_file = yaml.safe_load((project / "meltano.yml").read_text())
    stored = next(p for p in project_file["plugins"]["extractors"]
                  if p["name"] == "tap-pardot")["config"]
    assert stored["api_version"] == 4
    assert stored["include_deleted"] is False
    assert stored["batch_config"] == BATCH
    assert stored["stream_maps"] == MAPS

    config = tap_config(project)
    assert config["api_version"] == 4
    assert config["batch_config"] == BATCH
    assert config["stream_maps"] == MAPS
    assert config["include_deleted"] is False
    settings = tap_settings(config)
    assert settings.api_version == 4
    assert settings.export_timeout_hours == 0.5
    assert settings.include_deleted is False
    assert settings.sync_mode == "query"
    assert settings.jwt_audience == "https://test.salesforce.com"


def test_environment_variables_of_each_kind_reach_the_tap(project: Path) -> None:
    """TAP_PARDOT_* variables; a decimal one crashed Meltano's serialisation before."""
    env = {
        "TAP_PARDOT_API_VERSION": "3",
        "TAP_PARDOT_EXPORT_POLL_SECONDS": "0.5",
        "TAP_PARDOT_MAX_CONCURRENCY": "2",
        "TAP_PARDOT_INCLUDE_DELETED": "false",
        "TAP_PARDOT_FLATTENING_ENABLED": "true",
        "TAP_PARDOT_FLATTENING_MAX_DEPTH": "1",
        "TAP_PARDOT_BATCH_CONFIG": json.dumps(BATCH),
        "TAP_PARDOT_STREAM_SYNC_MODES": '{"prospects": "query"}',
        "TAP_PARDOT_TIMEZONE": "America/Chicago",
    }
    config = tap_config(project, env)
    assert config["api_version"] == 3
    assert config["max_concurrency"] == 2
    assert config["include_deleted"] is False
    assert (config["flattening_enabled"], config["flattening_max_depth"]) == (True, 1)
    assert config["batch_config"] == BATCH
    assert config["stream_sync_modes"] == {"prospects": "query"}
    settings = tap_settings(config)
    assert (settings.api_version, settings.export_poll_seconds) == (3, 0.5)
    assert settings.stream_sync_modes == {"prospects": "query"}
    assert settings.timezone.key == "America/Chicago"


def test_meltano_run_loads_every_record_into_duckdb(sim_factory, project: Path) -> None:
    """`meltano run tap-pardot target-duckdb` with settings set both ways, then every loaded
    value compared with the simulator's truth (scripts/demo_summary.py)."""
    sim = sim_factory()
    db_file = project / "load.duckdb"
    meltano(project, "config", "set", "tap-pardot", "stream_maps", json.dumps(MAPS))
    run_start = datetime.fromtimestamp(sim.clock.now(), timezone.utc).isoformat()
    meltano(project, "run", "--no-state-update", "tap-pardot", "target-duckdb", timeout=600,
            env={
                "TAP_PARDOT_API_BASE_URL": sim.url,
                "TAP_PARDOT_AUTH_BASE_URL": sim.url,
                "TAP_PARDOT_API_VERSION": "5",
                "TAP_PARDOT_EXPORT_POLL_SECONDS": "0.2",
                "TAP_PARDOT_MAX_CONCURRENCY": "5",
                "TAP_PARDOT_FLATTENING_ENABLED": "false",
                "TAP_PARDOT_STREAM_MAP_CONFIG": '{"demo": "yes"}',
                "TARGET_DUCKDB_FILEPATH": str(db_file),
            })
    summary = subprocess.run(
        [str(TARGET_PYTHON), str(ROOT / "scripts/demo_summary.py"), str(db_file), sim.url,
         run_start],
        capture_output=True, text=True, timeout=120,
    )
    assert summary.returncode == 0, summary.stdout + summary.stderr
    assert "Every loaded value matches the simulator's truth." in summary.stdout
    for table in ("visitor_activities", "prospects", "list_memberships", "visitors",
                  "prospect_accounts"):
        assert f"pardot.{table} " in summary.stdout
    mapped = subprocess.run(
        [str(TARGET_PYTHON), "-c", "import duckdb, sys; print(duckdb.connect(sys.argv[1])"
         ".execute('select count(*) from pardot.tags where name_upper = upper(name)')"
         ".fetchone()[0])", str(db_file)],
        capture_output=True, text=True, timeout=60, check=True)
    assert int(mapped.stdout) == len(sim.truth("tags"))  # the stream map, an object, applied


def test_demo_reads_its_own_simulator_on_sim_port(project: Path) -> None:
    """scripts/demo.sh (what `make demo` runs) on a port that is not meltano.yml's 8899, with
    the simulator's clock at the machine's now: every value it loads matches."""
    (project / "scripts").symlink_to(ROOT / "scripts")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    path = os.pathsep.join([str(Path(sys.executable).parent), str(Path(MELTANO).parent),
                            os.environ["PATH"]])
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("TAP_PARDOT_", "TARGET_", "MELTANO_", "SIM_"))}
    run = subprocess.run(
        ["bash", str(ROOT / "scripts/demo.sh")], cwd=project, capture_output=True, text=True,
        timeout=600, env={**clean, "PATH": path, "SIM_PORT": str(port),
                          "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"listening on http://127.0.0.1:{port}" in run.stdout
    assert "Every loaded value matches the simulator's truth." in run.stdout
    assert "pardot.visitor_activities " in run.stdout
    # Meltano said "Environment 'demo' is active", then "No active environment" (a stateless
    # run's warning) before; and the tap's log is the readable one (progress.py).
    assert "Environment 'demo' is active" in run.stderr
    assert "No active environment" not in run.stdout + run.stderr
    assert "Stream visitor_activities: auto mode (auto: " in run.stderr
    assert "METRIC" not in run.stderr
    served = sum(bool(s.v5_path) and s.selected_by_default for s in STREAM_TYPES)
    assert re.search(rf"Run done in .*: {served} streams, [\d,]+ records, [\d,]+ API calls",
                     run.stderr)
