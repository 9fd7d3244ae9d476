"""Compares what the demo loaded with the simulator's ground truth, value by value.

Run with the target's Python (target-duckdb's has duckdb, target-postgres's psycopg):
demo_summary.py DB_FILE|POSTGRES_URL SIM_URL [RUN_START], RUN_START being the simulator's
clock when the run started. Per table: rows loaded and expected, then the rows missing,
unexpected or with different values, and the columns that differ. Exit status 1 if anything differs.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import typing as t
import urllib.request
import zoneinfo
from dataclasses import dataclass, field

# Truth fields the tap leaves out on purpose: a credential, the email bodies and options the
# export and query paths do not serve, and (on the v5 query path, which refuses them) the
# prospects' array custom fields. Absent (or all null) in a table, they are "not extracted";
# loaded, they are compared like any other column.
NOT_EXTRACTED = {
    "prospects": {"password", "product_interests__c", "newsletter_topics__c",
                  "event_sessions__c"},
    "emails": {"html_message", "text_message", "sender_options", "reply_to_options"},
    "email_templates": {"html_message", "text_message", "sender_options", "reply_to_options"},
    "list_emails": {"html_message", "text_message", "sender_options", "reply_to_options"},
    "dynamic_contents": {"base_content"},
    "landing_pages": {"script_fragment", "layout_css", "layout_css_generated"},
}
# Live counters, which move with every API call after the tap read them: not compared.
LIVE = {"account": {"api_calls_used"}}
# Streams the tap does not select by default (an export of them takes minutes): absent
# unless selected.
NOT_SELECTED_BY_DEFAULT = {"external_activities"}
EXAMPLES = 3  # differing values shown per table
# A run reads the changes stamped up to Pardot's clock less two minutes (README): newer ones
# are the next run's.
SETTLE = dt.timedelta(minutes=2)


@dataclass
class TableReport:
    """One table beside the truth: what is missing, unexpected or different."""

    rows: int
    expected: int
    missing_ids: list[t.Any] = field(default_factory=list)  # in the truth, not loaded
    next_run_ids: list[t.Any] = field(default_factory=list)  # not loaded, changed too late
    unexpected_ids: list[t.Any] = field(default_factory=list)  # loaded, not in the truth
    differing_rows: int = 0
    differing_columns: dict[str, int] = field(default_factory=dict)  # column -> rows
    missing_columns: list[str] = field(default_factory=list)
    # times loaded one fall-back earlier than the truth: the same local time, read as the
    # repeated hour's first occurrence (naive times cannot tell them apart; README)
    ambiguous: int = 0
    not_extracted: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing_ids or self.unexpected_ids or self.differing_rows
                    or self.missing_columns)


def instant(value: t.Any) -> dt.datetime | None:
    """A UTC instant from a datetime (naive = UTC, as target-duckdb's TIMESTAMP) or an
    ISO 8601 string; None if it is neither."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def same(expected: t.Any, loaded: t.Any) -> bool:
    """Whether a loaded value is the truth's: times as UTC instants, numbers as numbers,
    arrays and objects parsed from their JSON text."""
    if expected is None or loaded is None:
        return expected is None and loaded is None
    if isinstance(expected, bool) or isinstance(loaded, bool):
        return type(expected) is type(loaded) and expected == loaded
    if isinstance(expected, (list, dict)):
        if isinstance(loaded, str):
            try:
                loaded = json.loads(loaded)
            except ValueError:
                return False
        return bool(expected == loaded)
    if isinstance(expected, (int, float)):
        if not isinstance(loaded, (int, float)) and type(loaded).__name__ != "Decimal":
            return False
        if isinstance(expected, int) and isinstance(loaded, int):
            return expected == loaded
        return math.isclose(float(expected), float(loaded), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(loaded, (dt.datetime, dt.date)) or expected != loaded:
        a, b = instant(expected), instant(loaded)
        return a is not None and a == b
    return True


def same_local_time(expected: t.Any, loaded: t.Any, zone: zoneinfo.ZoneInfo | None) -> bool:
    """Two instants that read the same in `zone`: the two occurrences of a local time in
    the repeated hour of a DST fall-back."""
    a, b = instant(expected), instant(loaded)
    if zone is None or a is None or b is None:
        return False
    return a.astimezone(zone).replace(tzinfo=None) == b.astimezone(zone).replace(tzinfo=None)


def stamp(record: dict[str, t.Any]) -> dt.datetime | None:
    """When a record last changed: `updated_at`, else (records never updated) its creation."""
    return instant(record.get("updated_at") or record.get("created_at")
                   or record.get("sent_at"))


def compare_table(stream: str, truth: list[dict[str, t.Any]], columns: list[str],
                  rows: list[tuple[t.Any, ...]], zone: zoneinfo.ZoneInfo | None = None,
                  run_start: dt.datetime | None = None,
                  key: t.Sequence[str] = ("id",)) -> TableReport:
    """The loaded rows (tuples in `columns` order) against the truth's records, by `key`;
    `zone` is the account's timezone, in which Pardot writes naive times; a record not loaded
    that changed less than two minutes before `run_start` (Pardot's clock) is the next
    run's."""
    def key_of(record: dict[str, t.Any]) -> t.Any:
        return record[key[0]] if len(key) == 1 else tuple(record[k] for k in key)

    loaded = {key_of(r): r for r in (dict(zip(columns, row, strict=True)) for row in rows)}
    report = TableReport(rows=len(rows), expected=len(truth))
    left_out = NOT_EXTRACTED.get(stream, set())
    compared = []
    for column in dict.fromkeys(k for record in truth for k in record):
        if column in LIVE.get(stream, ()):
            continue
        if column in columns and not (column in left_out
                                      and all(r[column] is None for r in loaded.values())):
            compared.append(column)
        elif column in left_out:
            report.not_extracted.append(column)
        else:
            report.missing_columns.append(column)
    bound = None if run_start is None else run_start.astimezone(dt.timezone.utc) - SETTLE
    expected_ids = set()
    for record in truth:
        rid = key_of(record)
        expected_ids.add(rid)
        got = loaded.get(rid)
        if got is None:
            changed = stamp(record)
            late = bound is not None and changed is not None and changed >= bound
            (report.next_run_ids if late else report.missing_ids).append(rid)
            continue
        bad = [c for c in compared if not same(record.get(c), got[c])]
        folded = [c for c in bad if same_local_time(record.get(c), got[c], zone)]
        report.ambiguous += len(folded)
        bad = [c for c in bad if c not in folded]
        if bad:
            report.differing_rows += 1
            for column in bad:
                report.differing_columns[column] = report.differing_columns.get(column, 0) + 1
                if len(report.examples) < EXAMPLES:
                    report.examples.append(
                        f"id {rid} {column}: loaded {got[column]!r}, truth {record.get(column)!r}")
    report.unexpected_ids = [rid for rid in loaded if rid not in expected_ids]
    return report


def render(table: str, report: TableReport) -> list[str]:
    """The table's line, then one indented line per kind of difference."""
    status = "values match" if report.ok else "DIFFERS"
    lines = [f"  {table:<32}{report.rows:>8}{report.expected:>10}  {status}"]
    if report.missing_ids:
        lines.append(f"      {len(report.missing_ids)} rows missing, e.g. id "
                     f"{report.missing_ids[0]}")
    if report.unexpected_ids:
        lines.append(f"      {len(report.unexpected_ids)} rows not in the truth, e.g. id "
                     f"{report.unexpected_ids[0]}")
    if report.missing_columns:
        lines.append(f"      columns missing: {', '.join(report.missing_columns)}")
    if report.differing_rows:
        columns = ", ".join(f"{c} ({n})" for c, n in sorted(report.differing_columns.items()))
        lines.append(f"      {report.differing_rows} rows differ; columns (rows): {columns}")
        lines.extend(f"        {example}" for example in report.examples)
    if report.next_run_ids:
        lines.append(f"      {len(report.next_run_ids)} rows changed in the two minutes before "
                     "the run: the next run reads them (README, Pardot's clock)")
    if report.ambiguous:
        lines.append(f"      {report.ambiguous} times in a DST fall-back's repeated hour read as "
                     "its first occurrence (naive times cannot tell; README)")
    if report.not_extracted:
        lines.append(f"      not extracted (on purpose): {', '.join(report.not_extracted)}")
    return lines


def sim_get(base_url: str, path: str) -> dict[str, t.Any]:
    with urllib.request.urlopen(f"{base_url}{path}", timeout=30) as response:  # noqa: S310
        return t.cast("dict[str, t.Any]", json.load(response))


Table = tuple[str, list[str], list[tuple[t.Any, ...]]]  # schema, columns, rows


def duckdb_tables(db_file: str) -> dict[str, Table]:
    """Every table of a DuckDB file (target-duckdb's), by name."""
    import duckdb  # the target's Python has it; the functions above need only the stdlib

    con = duckdb.connect(db_file, read_only=True)
    found = con.execute(
        "select table_catalog, table_schema, table_name from information_schema.tables"
        " where table_catalog = current_database() order by 2, 3").fetchall()
    tables: dict[str, Table] = {}
    for catalog, schema, table in found:
        cursor = con.execute(f'select * from "{catalog}"."{schema}"."{table}"')  # noqa: S608
        tables[table] = (schema, [d[0] for d in cursor.description], cursor.fetchall())
    return tables


def postgres_tables(url: str, schema: str = "pardot") -> dict[str, Table]:
    """Every table of a PostgreSQL schema (target-postgres's), by name; JSONB comes back
    parsed, `timestamp without time zone` naive (UTC, as target-postgres writes it)."""
    import psycopg  # target-postgres's Python has it

    tables: dict[str, Table] = {}
    with psycopg.connect(url) as con:
        names = [row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_schema = %s"
            " order by 1", (schema,)).fetchall()]
        for table in names:
            cursor = con.execute(f'select * from "{schema}"."{table}"')  # noqa: S608
            columns = [d.name for d in cursor.description or []]
            tables[table] = (schema, columns, cursor.fetchall())
    return tables


def main(target: str, base_url: str, run_start: str | None = None, api_version: str = "5"
         ) -> int:
    """`target`: a DuckDB file, or a postgresql:// URL (its `pardot` schema); `api_version`:
    the run's (a stream that version does not serve is not loaded)."""
    postgres = target.startswith(("postgresql://", "postgres://"))
    tables = postgres_tables(target) if postgres else duckdb_tables(target)
    index = sim_get(base_url, "/_sim")
    counts, versions, keys = index["streams"], index["versions"], index["keys"]
    zone = zoneinfo.ZoneInfo(sim_get(base_url, "/_sim/clock")["timezone"])
    print(f"\nLoaded into {target}, compared value by value with the simulator's truth:")
    print(f"  {'table':<32}{'rows':>8}{'truth':>10}")
    failures = 0
    for stream in sorted(set(versions) | set(tables)):
        served = int(api_version) in versions.get(stream, ())
        truth = (sim_get(base_url, f"/_sim/truth/{stream}")["records"]
                 if stream in versions and served else [])
        count = counts.get(stream, len(truth))
        if stream not in tables and not served:
            print(f"  {stream:<32}{'-':>8}{count:>10}  not on API version {api_version}")
            continue
        if stream not in tables and stream in NOT_SELECTED_BY_DEFAULT:
            print(f"  {stream:<32}{'-':>8}{count:>10}  not selected (by default)")
            continue
        if stream not in tables:
            failures += bool(count)
            print(f"  {stream:<32}{'-':>8}{count:>10}  NOT LOADED")
            continue
        schema, columns, rows = tables[stream]
        report = compare_table(stream, truth, columns, rows, zone,
                               instant(run_start) if run_start else None,
                               keys.get(stream, ("id",)))
        failures += not report.ok
        print("\n".join(render(f"{schema}.{stream}", report)))
    stats = sim_get(base_url, "/_sim/stats")
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(stats.get("calls_by_kind", {}).items()) if v)
    print(f"\nPardot API calls: {stats.get('total_calls')} ({kinds})")
    if failures or not tables:
        print(f"{failures} table(s) differ from the simulator's truth"
              if failures else "Nothing was loaded", file=sys.stderr)
        return 1
    print("Every loaded value matches the simulator's truth.")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
