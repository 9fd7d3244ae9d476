"""Benchmark: tap-pardot against the bundled simulator, export path versus query path.

Starts the simulator (its own process) with N visitor activities, then runs the real CLI on the
`visitor_activities` stream, once per case, and prints records/s, API calls by kind and the
tap's peak memory, with the ratios measured in this same run. Nothing here asserts a speed:
these machines are shared, so read the figures, don't gate on them.

    python scripts/benchmark.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

STREAM = "visitor_activities"
BIN = Path(sys.executable).parent


def sim_call(url: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 (the simulator, on loopback)
        f"{url}{path}", data=data, method="POST" if data else "GET"
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return json.load(response)


def start_simulator(rows: int, workdir: Path) -> tuple[subprocess.Popen, str]:
    knobs = {
        STREAM: {"count": rows, "clump_size": 1200},
        "prospects": {"count": 10}, "list_memberships": {"count": 10},
        "visitors": {"count": 10}, "prospect_accounts": {"count": 10},
        "export_waiting_seconds": 0.5, "export_processing_seconds": 1.0,
        "export_rows_per_file": 50_000,
    }
    knobs_file = workdir / "knobs.json"
    knobs_file.write_text(json.dumps(knobs))
    sim = subprocess.Popen(
        [str(BIN / "python"), "-m", "tap_pardot.simulator", "--port", "0", "--seed", "1",
         "--config", str(knobs_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert sim.stdout is not None
    for line in sim.stdout:
        if "http://127.0.0.1:" in line:
            url = "http://127.0.0.1:" + line.split("http://127.0.0.1:", 1)[1].split()[0]
            # Past the tap's settle margin (it reads up to Pardot's clock less 2 min): every
            # generated record is due.
            sim_call(url.rstrip("/"), "/_sim/clock", {"advance_seconds": 180})
            return sim, url.rstrip("/")
    raise SystemExit("the simulator did not print its URL")


def tap_config(url: str, workdir: Path, mode: str) -> Path:
    sim_now = sim_call(url, "/_sim/clock")["now"]
    config = {
        "start_date": "2025-09-01T00:00:00Z", "end_date": sim_now,
        "api_base_url": url, "auth_base_url": url,
        "client_id": "sim-client-id", "client_secret": "sim-client-secret",
        "refresh_token": "sim-refresh-token", "pardot_business_unit_id": "0Uv000000000001AAA",
        "timezone": "America/New_York", "sync_mode": mode, "export_poll_seconds": 0.5,
    }
    path = workdir / f"config-{mode}.json"
    path.write_text(json.dumps(config))
    return path


def catalog_for(config: Path, workdir: Path) -> Path:
    """The discovered catalog with only the benchmarked stream selected."""
    discovered = subprocess.run(
        [str(BIN / "tap-pardot"), "--config", str(config), "--discover"],
        check=True, capture_output=True, text=True,
    ).stdout
    catalog = json.loads(discovered)
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] == STREAM
    path = workdir / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def run_tap(url: str, config: Path, catalog: Path) -> dict:
    """One sync; returns records, seconds, API calls by kind and the tap's peak RSS."""
    sim_call(url, "/_sim/stats/reset", {})
    started = time.perf_counter()
    tap = subprocess.Popen(
        [str(BIN / "tap-pardot"), "--config", str(config), "--catalog", str(catalog)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    assert tap.stdout is not None
    records = sum(1 for line in tap.stdout if b'"RECORD"' in line[:32])
    _, status, usage = os.wait4(tap.pid, 0)
    tap.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if tap.returncode:
        raise SystemExit(f"tap-pardot exited {tap.returncode}")
    stats = sim_call(url, "/_sim/stats")
    return {
        "records": records, "seconds": seconds, "calls": stats["total_calls"],
        "by_kind": {k: v for k, v in stats["calls_by_kind"].items() if v},
        "peak_mb": usage.ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sim, url = start_simulator(args.rows, workdir)
        try:
            catalog = catalog_for(tap_config(url, workdir, "export"), workdir)
            results = {
                mode: run_tap(url, tap_config(url, workdir, mode), catalog)
                for mode in ("export", "query")
            }
            # Fetched last: a big parent process would inflate the taps' measured peak memory.
            truth = len(sim_call(url, f"/_sim/truth/{STREAM}")["records"])
        finally:
            sim.terminate()
            sim.wait(timeout=30)
    print(f"\n{STREAM}: {truth:,} records in the simulator\n")
    print(f"{'path':<8}{'records':>11}{'seconds':>9}{'records/s':>11}{'API calls':>11}"
          f"{'peak MB':>9}  calls by kind")
    for mode, r in results.items():
        rate = r["records"] / r["seconds"]
        print(f"{mode:<8}{r['records']:>11,}{r['seconds']:>9.1f}{rate:>11,.0f}"
              f"{r['calls']:>11,}{r['peak_mb']:>9.0f}  {r['by_kind']}")
    export, query = results["export"], results["query"]
    print(f"\nquery/export API calls: {query['calls'] / export['calls']:.1f}x; "
          f"export/query wall time: {export['seconds'] / query['seconds']:.2f}x; "
          f"records per API call: export {export['records'] / export['calls']:,.0f}, "
          f"query {query['records'] / query['calls']:,.0f}")
    complete = all(r["records"] >= truth for r in results.values())
    print("every record reached the output" if complete else "RECORDS MISSING")
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
