"""Benchmark: tap-pardot against the bundled simulator, a first run over years of history.

Starts the simulator (its own process) with N visitor activities spread over `--years`, and
runs the real CLI on the `visitor_activities` stream, reading its output as a target would.

1. A first run, the Export API's queue and processing time scaled down from Pardot's
   minutes to seconds: the export path, the query path and `auto`: exports created, API
   calls, time until the newest month's first record, total time, records/s, peak memory.
2. Throughput, exports ready at once (so the time is the tap's own): the export path in
   RECORD and in BATCH mode (jsonl.gz), against, on the same CSV files (fetched once):
   - the ceiling: a bare loop turning those CSV files into RECORD lines (the tap's own row
     conversion, msgspec, no HTTP, no SDK, no threads);
   - a plain SDK stream: a minimal singer_sdk Stream emitting the same records (SDK
     defaults: simplejson writer, type conformance, deselection pass).
   The ratios compare records per second (wall time, start to end of each process) and
   records per CPU-second (user + system, all threads, less the process's fixed start-up,
   measured by a run with nothing to read) with the ceiling's. Each case runs `--repeat`
   times, round robin with the others, and keeps its least CPU: a shared machine's
   neighbours only ever add to a run's time.

Nothing here asserts a speed: the machine is shared, figures vary from run to run.

    python scripts/benchmark.py [--rows 300000] [--years 3] [--cases export,query,...]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
import typing as t
import urllib.request
from pathlib import Path

STREAM = "visitor_activities"
BIN = Path(sys.executable).parent
CLOCK_START = dt.datetime(2025, 11, 20, 12, tzinfo=dt.timezone.utc)  # the simulator's
FIRST_RUN = ("export", "query", "auto")
THROUGHPUT = ("ceiling", "plain_sdk", "export_records", "export_batch")
CASES = FIRST_RUN + THROUGHPUT
FIRST_HEADERS = ("path", "records", "exports", "API calls", "newest month at s", "total s",
                 "records/s", "peak MB")
THROUGHPUT_HEADERS = ("case", "records", "total s", "records/s", "CPU s", "fixed CPU s",
                      "µs/record", "peak MB", "vs ceiling (wall)", "vs ceiling (CPU)")


# -- the simulator -------------------------------------------------------------------------

def sim_call(url: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 (the simulator, on loopback)
        f"{url}{path}", data=data, method="POST" if data else "GET"
    )
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
        return json.load(response)


def start_simulator(args: argparse.Namespace, workdir: Path) -> tuple[subprocess.Popen, str]:
    knobs = {
        STREAM: {"count": args.rows, "clump_size": 1200},
        "data_start": (CLOCK_START - dt.timedelta(days=365 * args.years)).isoformat(),
        "prospects": {"count": 10}, "list_memberships": {"count": 10},
        "visitors": {"count": 10}, "prospect_accounts": {"count": 10},
        # Pardot takes minutes to queue and process an export, longer for more rows:
        # scaled here to seconds (and a rate per second), so a run takes minutes, not hours.
        "export_waiting_seconds": args.export_waiting, "export_processing_seconds":
        args.export_processing, "export_rows_per_second": args.export_rows_per_second,
        "export_rows_per_file": 50_000,
        **json.loads(args.knobs),
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


def tap_config(url: str, workdir: Path, args: argparse.Namespace, case: str) -> Path:
    sim_now = sim_call(url, "/_sim/clock")["now"]
    start = CLOCK_START - dt.timedelta(days=365 * args.years)
    config: dict = {
        "start_date": start.isoformat(), "end_date": sim_now,
        "api_base_url": url, "auth_base_url": url,
        "client_id": "sim-client-id", "client_secret": "sim-client-secret",
        "refresh_token": "sim-refresh-token", "pardot_business_unit_id": "0Uv000000000001AAA",
        "timezone": "America/New_York", "export_poll_seconds": args.export_poll,
        "sync_mode": case if case in FIRST_RUN else "export",
    }
    if case in ("export_records", "export_batch", "fixed"):
        config["export_window_days"] = 365  # as few exports as the API allows
        config["export_poll_seconds"] = 0.05
    if case == "fixed":  # next to nothing to read: the process's fixed cost
        config["start_date"] = (dt.datetime.fromisoformat(sim_now)
                                - dt.timedelta(minutes=1)).isoformat()
    if case == "export_batch":
        config["batch_config"] = {
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": (workdir / "batches").as_uri(), "prefix": "bench-"}}
    path = workdir / f"config-{case}.json"
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


# -- running a case ------------------------------------------------------------------------

def run_case(command: list[str], newest: str | None) -> dict:
    """Run one process, reading its stdout as a target would: records, seconds (to the
    first record of the newest month too), CPU seconds and peak RSS."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    records, newest_at, batches = 0, None, []
    mark = b'"updated_at":"'
    for line in proc.stdout:
        if line.startswith(b'{"type":"RECORD"'):
            records += 1
            if newest_at is None and newest is not None:
                at = line.find(mark)
                if at >= 0 and line[at + len(mark):at + len(mark) + 25].decode() >= newest:
                    newest_at = time.perf_counter() - started
        elif line.startswith(b'{"type":"BATCH"'):
            batches += json.loads(line)["manifest"]
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{command[0]} exited {os.waitstatus_to_exitcode(status)}")
    for uri in batches:  # BATCH mode: the records are in the files
        with gzip.open(Path(uri.removeprefix("file://")), "rb") as lines:
            records += sum(1 for _ in lines)
    return {"records": records, "seconds": seconds, "newest_at": newest_at,
            "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}


def run_tap(url: str, config: Path, catalog: Path, newest: str | None) -> dict:
    sim_call(url, "/_sim/stats/reset", {})
    result = run_case([str(BIN / "tap-pardot"), "--config", str(config), "--catalog",
                       str(catalog)], newest)
    stats = sim_call(url, "/_sim/stats")
    result["calls"] = stats["total_calls"]
    result["exports"] = stats["calls_by_kind"].get("export_create", 0)
    return result


# -- roles run in their own process: fetch the CSV files, the ceiling, a plain SDK stream --

def fetch_csv(config_path: str, catalog_path: str, outdir: str) -> None:
    """Export the stream's whole range (a year per export) and keep its CSV files."""
    from tap_pardot.export.api import ExportApi
    from tap_pardot.tap import TapPardot
    from tap_pardot.times import iso

    config = json.loads(Path(config_path).read_text())
    tap = TapPardot(config=config, catalog=json.loads(Path(catalog_path).read_text()),
                    parse_env_config=False)
    stream = tap.streams[STREAM]
    api = ExportApi(stream.pardot_request, config["api_base_url"], 5)
    fields = [stream.wire_name(name, 5) for name in stream.fetched_properties]
    start, end = (dt.datetime.fromisoformat(config[k]) for k in ("start_date", "end_date"))
    files = 0
    while start < end:
        stop = min(end, start + dt.timedelta(days=360))  # within a year
        body = {"fields": fields, "procedure": {
            "name": "VisitorActivity/FilterByUpdatedAt",
            "arguments": {"updatedAfter": iso(start - dt.timedelta(seconds=1)),
                          "updatedBefore": iso(stop)}}}
        status = api.read(api.create(body).id)  # a read lists the files
        while status.state != "Complete":
            time.sleep(0.5)
            status = api.read(status.id)
        for ref in status.files:
            files += 1
            with api.download(ref) as response, open(f"{outdir}/{files:04d}.csv", "wb") as out:
                for chunk in response.iter_content(1 << 16):
                    out.write(chunk)
        start = stop


def stream_schema() -> dict:
    """The benchmarked stream's JSON schema, as the tap ships it."""
    return t.cast("dict", json.loads((Path(__file__).parent.parent / "tap_pardot" / "schemas"
                                      / f"{STREAM}.json").read_text()))


def csv_records(directory: str) -> t.Iterator[dict]:
    """The stream's records from the fetched CSV files, by the tap's own row conversion."""
    from tap_pardot.convert import RecordConverter

    schema = stream_schema()
    converter = RecordConverter(schema, "America/New_York").for_fields(
        schema["properties"], csv=True)
    for path in sorted(Path(directory).glob("*.csv")):
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            convert = converter.for_header(next(reader))
            for row in reader:
                yield convert(row, None)


def ceiling(directory: str) -> None:
    """The bare loop: CSV rows -> RECORD lines with msgspec, to stdout in blocks."""
    import msgspec

    encode = msgspec.json.Encoder(decimal_format="number").encode
    out, block = sys.stdout.buffer, bytearray()
    tick, now = -1, ""
    for record in csv_records(directory):
        if time.monotonic_ns() // 1_000_000 != tick:  # the time, made once a millisecond
            tick = time.monotonic_ns() // 1_000_000
            now = dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
        block += encode({"type": "RECORD", "stream": STREAM, "record": record,
                         "time_extracted": now})
        block += b"\n"
        if len(block) >= 1 << 16:
            out.write(block)
            block.clear()
    out.write(block)
    out.flush()


def plain_sdk(directory: str) -> None:
    """A minimal singer_sdk tap whose one stream emits the same records, SDK defaults."""
    from singer_sdk import Stream, Tap

    schema = stream_schema()

    class PlainStream(Stream):
        name = STREAM
        primary_keys = ("id",)

        def get_records(self, context: t.Any) -> t.Iterable[dict]:
            return csv_records(directory)

    class PlainTap(Tap):
        name = "plain-sdk"
        config_jsonschema: t.ClassVar[dict] = {"type": "object", "properties": {}}

        def discover_streams(self) -> list[Stream]:
            return [PlainStream(self, schema=schema)]

    PlainTap(config={}, parse_env_config=False).sync_all()


# -- the tables ----------------------------------------------------------------------------

def print_table(headers: tuple[str, ...], rows: list[list[str]]) -> None:
    table = [list(headers), *rows]
    widths = [max(len(line[k]) for line in table) for k in range(len(headers))]
    for n, line in enumerate(table):
        print("  ".join(cell.ljust(w) if k == 0 else cell.rjust(w)
                        for k, (cell, w) in enumerate(zip(line, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def first_run_row(case: str, r: dict) -> list[str]:
    newest = r.get("newest_at")
    return [case, f"{r['records']:,}", str(r["exports"]), f"{r['calls']:,}",
            f"{newest:.1f}" if newest is not None else "-", f"{r['seconds']:.1f}",
            f"{r['records'] / r['seconds']:,.0f}", f"{r['peak_mb']:.0f}"]


def per_cpu_second(r: dict) -> float:
    return max(r["records"], 1) / max(r["cpu"] - r["fixed"], 1e-3)


def throughput_row(case: str, r: dict, base: dict | None) -> list[str]:
    wall = cpu = ""
    if base:
        wall = f"{(r['records'] / r['seconds']) / (base['records'] / base['seconds']):.0%}"
        cpu = f"{per_cpu_second(r) / per_cpu_second(base):.0%}"
    return [case, f"{r['records']:,}", f"{r['seconds']:.1f}",
            f"{r['records'] / r['seconds']:,.0f}", f"{r['cpu']:.1f}", f"{r['fixed']:.1f}",
            f"{1e6 / per_cpu_second(r):.1f}", f"{r['peak_mb']:.0f}", wall, cpu]


def report(results: dict[str, dict], truth: int, args: argparse.Namespace) -> None:
    print(f"\n{STREAM}: {truth:,} records over {args.years:g} years in the simulator\n")
    first = [first_run_row(case, results[case]) for case in FIRST_RUN if case in results]
    if first:
        print(f"First run (exports wait {args.export_waiting:g} s queued, then process "
              f"{args.export_processing:g} s + 1 s per {args.export_rows_per_second:,.0f} "
              "rows):")
        print_table(FIRST_HEADERS, first)
        print("newest month at s: seconds until the first record of the newest 30 days "
              "reached the output\n")
    base = results.get("ceiling")
    rows = [throughput_row(case, results[case], base) for case in THROUGHPUT
            if case in results]
    if rows:
        print(f"Throughput (exports ready at once, a year per export; each case's least CPU "
              f"of {args.repeat} runs):")
        print_table(THROUGHPUT_HEADERS, rows)
        print("µs/record: CPU less the fixed start-up, per record")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=300_000, help="visitor activities")
    parser.add_argument("--years", type=float, default=3, help="history the rows span")
    parser.add_argument("--cases", default=",".join(CASES), help="a comma list of " +
                        ", ".join(CASES))
    parser.add_argument("--export-waiting", type=float, default=0.5,
                        help="simulated seconds an export waits in Pardot's queue")
    parser.add_argument("--export-processing", type=float, default=1.0,
                        help="simulated seconds an export processes, plus rows at the rate")
    parser.add_argument("--export-rows-per-second", type=float, default=200_000)
    parser.add_argument("--export-poll", type=float, default=1.0,
                        help="the tap's export_poll_seconds")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each throughput case, the least CPU kept")
    parser.add_argument("--knobs", default="{}",
                        help="more simulator knobs, as JSON (docs/simulator.md)")
    parser.add_argument("--role", choices=("fetch", "ceiling", "plain_sdk"),
                        help=argparse.SUPPRESS)
    parser.add_argument("role_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "fetch":
        fetch_csv(*args.role_args)
        return 0
    if args.role in ("ceiling", "plain_sdk"):
        {"ceiling": ceiling, "plain_sdk": plain_sdk}[args.role](*args.role_args)
        return 0
    cases = [case for case in CASES if case in args.cases.split(",")]
    me = [str(BIN / "python"), str(Path(__file__).resolve())]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "csv").mkdir()
        (workdir / "empty").mkdir()
        sim, url = start_simulator(args, workdir)
        try:
            end = dt.datetime.fromisoformat(sim_call(url, "/_sim/clock")["now"])
            newest = (end - dt.timedelta(days=30)).astimezone(dt.timezone.utc).isoformat()
            catalog = catalog_for(tap_config(url, workdir, args, "export"), workdir)
            for case in FIRST_RUN:
                if case in cases:
                    print(f"running {case}...", file=sys.stderr)
                    config = tap_config(url, workdir, args, case)
                    results[case] = run_tap(url, config, catalog, newest)
            # Throughput: exports ready at once, so the time measured is the tap's own.
            sim_call(url, "/_sim/knobs", {"export_waiting_seconds": 0.0,
                                          "export_processing_seconds": 0.01,
                                          "export_rows_per_second": 0})
            throughput = [case for case in THROUGHPUT if case in cases]
            if {"ceiling", "plain_sdk"} & set(throughput):
                print("fetching the CSV files for the ceiling...", file=sys.stderr)
                subprocess.run([*me, "--role", "fetch", str(tap_config(
                    url, workdir, args, "fetch")), str(catalog), str(workdir / "csv")],
                    check=True)

            def run_throughput(case: str, source: str) -> dict:
                if case in ("ceiling", "plain_sdk"):
                    return run_case([*me, "--role", case, str(workdir / source)], None)
                config = tap_config(url, workdir, args, "fixed" if source == "empty" else case)
                return run_tap(url, config, catalog, None)

            # Each case (and its fixed start-up) run --repeat times, round robin, its least
            # CPU kept: the machine is shared, and a neighbour's load only ever adds.
            for n in range(args.repeat):
                for case in throughput:
                    print(f"running {case} ({n + 1} of {args.repeat})...", file=sys.stderr)
                    fixed = run_throughput(case, "empty")["cpu"]
                    run = {**run_throughput(case, "csv"), "fixed": fixed}
                    best = results.get(case)
                    if best is None or run["cpu"] - fixed < best["cpu"] - best["fixed"]:
                        results[case] = run
            truth = len(sim_call(url, f"/_sim/truth/{STREAM}")["records"])
        finally:
            sim.terminate()
            sim.wait(timeout=30)
    if os.environ.get("BENCH_DEBUG"):
        print(results, file=sys.stderr)
    report(results, truth, args)
    complete = all(r["records"] >= truth for r in results.values())
    print("every record reached the output" if complete else "RECORDS MISSING")
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
