"""Prints what the demo loaded: rows per DuckDB table beside the simulator's ground truth.

Run with the target-duckdb plugin's Python (it has duckdb): demo_summary.py DB_FILE SIM_URL
"""

import json
import sys
import urllib.request

import duckdb


def sim_get(base_url: str, path: str) -> dict:
    with urllib.request.urlopen(f"{base_url}{path}", timeout=30) as response:  # noqa: S310
        return json.load(response)


def main(db_file: str, base_url: str) -> int:
    con = duckdb.connect(db_file, read_only=True)
    tables = con.execute(
        "select table_catalog, table_schema, table_name from information_schema.tables"
        " where table_catalog = current_database() order by 2, 3"
    ).fetchall()
    print(f"\nLoaded into {db_file}:")
    print(f"  {'table':<32}{'rows':>10}{'simulator':>12}")
    mismatches = 0
    for catalog, schema, table in tables:
        query = f'select count(*) from "{catalog}"."{schema}"."{table}"'  # noqa: S608
        rows = con.execute(query).fetchone()[0]
        try:
            truth = len(sim_get(base_url, f"/_sim/truth/{table}")["records"])
        except OSError:
            truth = None
        mark = "" if truth in (None, rows) else "  <- differs"
        mismatches += bool(mark)
        shown = "-" if truth is None else truth
        print(f"  {schema + '.' + table:<32}{rows:>10}{shown:>12}{mark}")
    stats = sim_get(base_url, "/_sim/stats")
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(stats.get("calls_by_kind", {}).items()) if v)
    print(f"\nPardot API calls: {stats.get('total_calls')} ({kinds})")
    return 1 if mismatches or not tables else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
