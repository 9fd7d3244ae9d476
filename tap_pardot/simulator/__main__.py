"""`python -m tap_pardot.simulator --port 8899 --seed 1 [--config knobs.json] [--clock now]`."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import time
from typing import Any

from .app import Simulator
from .knobs import DEFAULT_KNOBS
from .timefmt import iso_utc, parse_iso


def clock_knobs(clock: str, knobs: dict[str, Any]) -> dict[str, Any]:
    """The knobs `--clock` sets: `clock_start` (`now`: the machine's, to the second; or an
    ISO 8601 instant) and `data_start`, moved with it so the data keeps its span before the
    clock (unless the knobs set `data_start`)."""
    start = int(time.time()) if clock == "now" else parse_iso(clock)
    out = {**knobs, "clock_start": iso_utc(start)}
    if "data_start" not in knobs:
        span = (parse_iso(knobs.get("clock_start", DEFAULT_KNOBS["clock_start"]))
                - parse_iso(DEFAULT_KNOBS["data_start"]))
        out["data_start"] = iso_utc(start - span)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tap-pardot-simulator",
        description="Serve a simulated Pardot API on 127.0.0.1 (see docs/simulator.md).")
    parser.add_argument("--port", type=int, default=8899, help="port (0 = any free port)")
    parser.add_argument("--seed", type=int, default=1, help="data seed")
    parser.add_argument("--config", help="JSON file of knobs, merged over the defaults")
    parser.add_argument(
        "--clock", metavar="now|ISO8601",
        help="the clock at start, the data generated up to it: `now` (the machine's) or an "
        "instant; default: knob clock_start (2025-11-20T12:00:00+00:00)")
    args = parser.parse_args(argv)
    knobs = {}
    if args.config:
        try:
            with open(args.config, encoding="utf-8") as fh:
                knobs = json.load(fh)
        except (OSError, ValueError) as exc:
            print(f"tap-pardot-simulator: cannot read --config: {exc}", file=sys.stderr)
            return 2
    if args.clock:
        try:
            knobs = clock_knobs(args.clock, knobs)
        except ValueError as exc:
            print(f"tap-pardot-simulator: --clock: {exc}", file=sys.stderr)
            return 2
    try:
        sim = Simulator(knobs=knobs, seed=args.seed, port=args.port)
    except KeyError as exc:
        print(f"tap-pardot-simulator: {exc.args[0]}", file=sys.stderr)
        return 2
    try:
        url = sim.start()
    except OSError as exc:
        print(f"tap-pardot-simulator: cannot listen on 127.0.0.1:{args.port}: {exc}",
              file=sys.stderr)
        return 2
    print(f"Pardot API simulator listening on {url}", flush=True)
    print("Credentials: " + json.dumps(sim.credentials), flush=True)
    print(f"Clock: {iso_utc(sim.clock.now())}; data from {sim.knobs['data_start']}", flush=True)
    print(f"Admin (not part of Pardot): {url}/_sim/", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
