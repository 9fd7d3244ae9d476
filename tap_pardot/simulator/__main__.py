"""`python -m tap_pardot.simulator --port 8899 --seed 1 [--config knobs.json]`."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading

from .app import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tap-pardot-simulator",
        description="Serve a simulated Pardot API on 127.0.0.1 (see docs/simulator.md).")
    parser.add_argument("--port", type=int, default=8899, help="port (0 = any free port)")
    parser.add_argument("--seed", type=int, default=1, help="data seed")
    parser.add_argument("--config", help="JSON file of knobs, merged over the defaults")
    args = parser.parse_args(argv)
    knobs = {}
    if args.config:
        try:
            with open(args.config, encoding="utf-8") as fh:
                knobs = json.load(fh)
        except (OSError, ValueError) as exc:
            print(f"tap-pardot-simulator: cannot read --config: {exc}", file=sys.stderr)
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
    print(f"Admin (not part of Pardot): {url}/_sim/", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
