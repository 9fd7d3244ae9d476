"""The real path end to end: simulator -> `meltano run tap-pardot target-duckdb` -> DuckDB."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MELTANO = os.environ.get("MELTANO_BIN")
TARGET_PYTHON = ROOT / ".meltano/loaders/target-duckdb/venv/bin/python"


@pytest.mark.skipif(not MELTANO, reason="MELTANO_BIN is set by `make test`")
def test_meltano_run_loads_every_record_into_duckdb(sim_factory, tmp_path: Path) -> None:
    sim = sim_factory()
    db_file = tmp_path / "pardot.duckdb"
    env = {
        **os.environ,
        "MELTANO_ENVIRONMENT": "demo",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_PARDOT_API_BASE_URL": sim.url,
        "TAP_PARDOT_AUTH_BASE_URL": sim.url,
        "TARGET_DUCKDB_FILEPATH": str(db_file),
    }
    run = subprocess.run(
        [MELTANO, "run", "--no-state-update", "tap-pardot", "target-duckdb"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    summary = subprocess.run(
        [str(TARGET_PYTHON), str(ROOT / "scripts/demo_summary.py"), str(db_file), sim.url],
        capture_output=True, text=True, timeout=120,
    )
    assert summary.returncode == 0, summary.stdout + summary.stderr
    for table in ("visitor_activities", "prospects", "list_memberships", "visitors",
                  "prospect_accounts"):
        assert f"pardot.{table}" in summary.stdout
