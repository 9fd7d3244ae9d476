#!/usr/bin/env bash
# The main job: the bundled Pardot simulator -> tap-pardot via Meltano -> a DuckDB file, then
# every loaded value compared with the simulator's truth. Exits non-zero if any step fails.
# SIM_PORT (8899) is the simulator's port; SIM_CLOCK (now) its clock at start: `now`, or an
# ISO 8601 instant such as 2025-11-20T12:00:00+00:00 for the same data on every run.
set -euo pipefail
port="${SIM_PORT:-8899}"
clock="${SIM_CLOCK:-now}"
url="http://127.0.0.1:$port"
mkdir -p output
rm -f output/demo.duckdb output/demo.duckdb.wal
tap-pardot-simulator --port "$port" --seed 1 --clock "$clock" > output/simulator.log 2>&1 &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true' EXIT
# Ready when this simulator says it listens (not when something answers on the port: another
# server there must not stand in for it); failed if it exits first.
for _ in $(seq 150); do
    grep -q "listening on $url" output/simulator.log && break
    if ! kill -0 "$sim_pid" 2>/dev/null; then
        cat output/simulator.log >&2
        echo "demo: the simulator did not start on port $port (taken? try SIM_PORT=8900 make demo)" >&2
        exit 1
    fi
    sleep 0.2
done
grep -q "listening on $url" output/simulator.log \
    || { cat output/simulator.log >&2; echo "demo: the simulator did not start in 30 s" >&2; exit 1; }
cat output/simulator.log
sim_get() {  # sim_get PATH KEY: one value of the simulator's admin JSON
    python -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1], timeout=30))[sys.argv[2]])' "$url$1" "$2"
}
# The tap reads this simulator, from the first day of its data (meltano.yml's demo environment
# has the defaults: port 8899, the fixed clock's data).
export TAP_PARDOT_API_BASE_URL="$url" TAP_PARDOT_AUTH_BASE_URL="$url"
TAP_PARDOT_START_DATE=$(sim_get /_sim/knobs data_start)
export TAP_PARDOT_START_DATE
run_start=$(sim_get /_sim/clock now)
# --full-refresh, not --no-state-update: every demo reads everything into its new DuckDB file,
# and Meltano keeps a job (a stateless run logs "No active environment" although one is).
meltano run --full-refresh tap-pardot target-duckdb
.meltano/loaders/target-duckdb/venv/bin/python scripts/demo_summary.py output/demo.duckdb "$url" \
    "$run_start"
