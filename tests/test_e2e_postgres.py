"""End to end into a real warehouse (`make e2e`, and `make test`): `meltano run tap-pardot
target-postgres` (MeltanoLabs' target) from the simulator into a throwaway PostgreSQL
cluster (tests/pgcluster.py), every table compared value by value with the simulator's truth
(scripts/demo_summary.py), then changes in Pardot, an incremental run, and the same
comparison again."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pgcluster
import pytest
from meltanokit import MELTANO, NO_MELTANO, ROOT, copy_project, run_meltano
from tapkit import ARRAY_CUSTOM_FIELDS

from tap_pardot.streams import STREAM_TYPES

TARGET_PYTHON = ROOT / ".meltano/loaders/target-postgres/venv/bin/python"

pytestmark = [
    pytest.mark.skipif(not MELTANO, reason=NO_MELTANO),
    pytest.mark.skipif(pgcluster.why_not() is not None, reason=str(pgcluster.why_not())),
]


@pytest.fixture
def cluster() -> Iterator[pgcluster.Cluster]:
    started = pgcluster.start()
    yield started
    pgcluster.stop(started)


def sql(cluster: pgcluster.Cluster, query: str) -> list[tuple[Any, ...]]:
    """Rows of a query, through target-postgres's own driver (psycopg)."""
    script = ("import json, sys, psycopg\n"
              "with psycopg.connect(sys.argv[1]) as con:\n"
              "    print(json.dumps(con.execute(sys.argv[2]).fetchall(), default=str))\n")
    done = subprocess.run([str(TARGET_PYTHON), "-c", script, cluster.url, query],
                          capture_output=True, text=True, timeout=60, check=True)
    return [tuple(row) for row in json.loads(done.stdout)]


def compare(cluster: pgcluster.Cluster, sim: Any, run_start: str) -> str:
    """scripts/demo_summary.py on the cluster's `pardot` schema; its report."""
    summary = subprocess.run(
        [str(TARGET_PYTHON), str(ROOT / "scripts/demo_summary.py"), cluster.url, sim.url,
         run_start], capture_output=True, text=True, timeout=120)
    assert summary.returncode == 0, summary.stdout + summary.stderr
    assert "Every loaded value matches the simulator's truth." in summary.stdout
    return summary.stdout


def clock(sim: Any) -> str:
    return datetime.fromtimestamp(sim.clock.now(), timezone.utc).isoformat()


def load(project: Path, sim: Any, cluster: pgcluster.Cluster) -> str:
    """`meltano run tap-pardot target-postgres` (state kept, as a scheduled run would),
    then the comparison; its report."""
    env = {
        "TAP_PARDOT_API_BASE_URL": sim.url,
        "TAP_PARDOT_AUTH_BASE_URL": sim.url,
        "TAP_PARDOT_EXPORT_POLL_SECONDS": "0.2",
        "TARGET_POSTGRES_HOST": cluster.host,
        "TARGET_POSTGRES_PORT": str(cluster.port),
        "TARGET_POSTGRES_USER": cluster.user,
        "TARGET_POSTGRES_PASSWORD": "any",  # required by the target; trust ignores it
        "TARGET_POSTGRES_DATABASE": cluster.database,
    }
    run_start = clock(sim)
    run_meltano(project, "run", "tap-pardot", "target-postgres", env=env, timeout=600)
    return compare(cluster, sim, run_start)


def live_prospects(sim: Any, arrays: bool) -> list[int]:
    """Prospects not deleted, with (or without) a value in an array custom field."""
    return [r["id"] for r in sim.truth("prospects")
            if not r["is_deleted"] and any(r[k] for k in ARRAY_CUSTOM_FIELDS) == arrays]


def test_meltano_run_into_postgres_then_an_incremental_run(
        sim_factory: Any, tmp_path: Path, cluster: pgcluster.Cluster) -> None:
    """A catch-up after an export: Pardot's v5 query refuses array custom fields, so auto
    exports a window with records when they are selected; a query would leave them out and
    target-postgres's upsert would null what the first run loaded."""
    sim = sim_factory()
    project = copy_project(tmp_path / "project")
    report = load(project, sim, cluster)
    for table in ("visitor_activities", "prospects", "list_memberships", "visitors"):
        assert f"pardot.{table} " in report
    # As the README says: UTC times, stored without a zone.
    assert sql(cluster, "select data_type from information_schema.columns where table_schema"
               " = 'pardot' and table_name = 'prospects' and column_name = 'updated_at'"
               ) == [("timestamp without time zone",)]
    first_calls = sim.get_stats()["total_calls"]

    # A day's changes in Pardot: new, changed and deleted records on both paths' streams.
    # (Prospects with array custom fields: see the test below.)
    prospects = live_prospects(sim, arrays=False)
    visitors = [r["id"] for r in sim.truth("visitors") if not r["is_deleted"]]
    lists = [r["id"] for r in sim.truth("lists")]
    changes = {
        "prospects": {"create": [dict.fromkeys(ARRAY_CUSTOM_FIELDS)] * 3,
                      "update": [{"id": prospects[0], "job_title": "CFO"},
                                 {"id": prospects[1], "grade": "A+"}],
                      "delete": [prospects[2]]},
        "visitors": {"create": 2, "update": [{"id": visitors[0]}]},
        "visitor_activities": {"create": 4},
        "list_memberships": {"create": 2},
        "lists": {"update": [{"id": lists[0], "name": "Renamed list"}]},
        "tags": {"create": 1},
    }
    for stream, body in changes.items():
        sim.mutate(stream, body)
    sim.advance(180)  # past the tap's two-minute settle margin

    load(project, sim, cluster)
    assert sql(cluster, "select job_title from pardot.prospects where id = "  # noqa: S608
               f"{prospects[0]}") == [("CFO",)]
    assert sql(cluster, "select is_deleted from pardot.prospects where id = "  # noqa: S608
               f"{prospects[2]}") == [(True,)]
    # Incremental: about a query page per stream (and prospects' export: array custom
    # fields are selected), not the first run's again.
    streams = sum(bool(s.v5_path) and s.selected_by_default for s in STREAM_TYPES)
    assert sim.get_stats()["total_calls"] - first_calls <= streams + 12


def test_an_incremental_run_keeps_array_custom_fields(
        sim_factory: Any, tmp_path: Path, cluster: pgcluster.Cluster) -> None:
    sim = sim_factory()
    project = copy_project(tmp_path / "project")
    load(project, sim, cluster)
    changed = live_prospects(sim, arrays=True)[0]
    sim.mutate("prospects", {"update": [{"id": changed, "job_title": "CTO"}]})
    sim.advance(180)
    load(project, sim, cluster)
