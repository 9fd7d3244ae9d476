#!/usr/bin/env bash
# The main job: the bundled Pardot simulator -> tap-pardot via Meltano -> a DuckDB file.
set -euo pipefail
port="${SIM_PORT:-8899}"
mkdir -p output
rm -f output/demo.duckdb output/demo.duckdb.wal
tap-pardot-simulator --port "$port" --seed 1 > output/simulator.log 2>&1 &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true' EXIT
python - "$port" <<'PY' || { cat output/simulator.log; exit 1; }
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_sim/clock", timeout=1)
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit("the simulator did not start")
PY
head -n 20 output/simulator.log
meltano run --no-state-update tap-pardot target-duckdb
.meltano/loaders/target-duckdb/venv/bin/python scripts/demo_summary.py output/demo.duckdb "http://127.0.0.1:$port"
