"""The /_sim/ admin endpoints (not part of Pardot): stats, truth, records, clock, knobs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from .http import Request, Response, json_response
from .knobs import DATA_KNOBS
from .legacy_extras import DERIVED
from .schema import STREAMS
from .timefmt import iso_utc, parse_iso


class AdminError(Exception):
    pass


def safe(fn: Callable[[Request], Response], req: Request) -> Response:
    try:
        return fn(req)
    except (AdminError, KeyError, ValueError, TypeError) as exc:
        return json_response({"error": str(exc).strip("'\"")}, 400)


def _body(req: Request) -> dict[str, Any]:
    if not req.body:
        return {}
    obj = json.loads(req.body)
    if not isinstance(obj, dict):
        raise AdminError("body must be a JSON object")
    return obj


def _stream(name: str) -> str:
    if name not in STREAMS:
        raise AdminError(f"unknown stream: {name}")
    return name


def truth_records(sim: Any, stream: str) -> list[dict[str, Any]]:
    table = sim.store.tables[_stream(stream)]
    with sim.store.lock:
        return [sim.store.truth(stream, table.row(i)) for i in range(len(table))]


def _truth_stream(sim: Any, stream: str) -> Iterator[bytes]:
    table = sim.store.tables[stream]
    n = len(table)
    yield b'{"records":['
    for start in range(0, n, 2000):
        parts = [json.dumps(sim.store.truth(stream, table.row(i)), ensure_ascii=False)
                 for i in range(start, min(n, start + 2000))]
        yield ((b"," if start else b"") + ",".join(parts).encode())
    yield b"]}"


def apply_knobs(sim: Any, changes: dict[str, Any]) -> dict[str, Any]:
    fixed = [k for k in changes if k in DATA_KNOBS]
    if fixed:
        raise AdminError(f"data knobs are read at start only: {fixed}")
    values: dict[str, Any] = sim.knobs.update(changes)
    if "clock_rate" in changes:
        sim.clock.set_rate(float(changes["clock_rate"]))
    if "clock_start" in changes:
        sim.clock.set(parse_iso(changes["clock_start"]))
    return values


def register(sim: Any, r: Callable[..., None]) -> None:
    def stats(req: Request) -> Response:
        return json_response(sim.stats.snapshot())

    def stats_reset(req: Request) -> Response:
        sim.stats.reset()
        return json_response(sim.stats.snapshot())

    def truth(req: Request) -> Response:
        name = req.params["stream"]
        if name in DERIVED:
            build, key, _ = DERIVED[name]
            return json_response({"records": build(sim), "key": list(key)})
        name = _stream(name)
        return Response(200, _truth_stream(sim, name), "application/json; charset=utf-8")

    def records(req: Request) -> Response:
        return json_response(sim.store.mutate(_stream(req.params["stream"]), _body(req),
                                              sim.clock.now()))

    def clock(req: Request) -> Response:
        if req.method == "POST":
            body = _body(req)
            if "now" in body:
                sim.clock.set(parse_iso(body["now"]))
            if "advance_seconds" in body:
                sim.clock.advance(float(body["advance_seconds"]))
        now = sim.clock.now()
        return json_response({"now": iso_utc(now), "local": sim.tf.iso_local(now),
                              "timezone": sim.knobs["timezone"]})

    def knobs(req: Request) -> Response:
        if req.method == "POST":
            return json_response(apply_knobs(sim, _body(req)))
        return json_response(sim.knobs.snapshot())

    def expire(req: Request) -> Response:
        body = _body(req)
        return json_response({"expired": sim.exports.expire(body.get("id"))})

    def exports(req: Request) -> Response:
        return json_response({"exports": sim.exports.describe_all()})

    def index(req: Request) -> Response:
        return json_response({
            "simulator": "tap-pardot Pardot API simulator (the /_sim/ paths are not Pardot)",
            "url": sim.url, "seed": sim.seed, "credentials": sim.credentials,
            "streams": {n: len(t) for n, t in sim.store.tables.items()},
            # the API versions that serve each stream (a stream not served is not loaded)
            "versions": {**{n: [*((3, 4) if spec.v3_object else ()),
                                *((5,) if spec.v5_path or spec.v5_url else ())]
                            for n, spec in STREAMS.items()},
                         **{n: list(d[2]) for n, d in DERIVED.items()}},
            "keys": {n: list(d[1]) for n, d in DERIVED.items()},
        })

    r("GET", r"/_sim", index, "admin", "admin")
    r("GET", r"/_sim/stats", stats, "admin", "admin")
    r("POST", r"/_sim/stats/reset", stats_reset, "admin", "admin")
    r("GET", r"/_sim/truth/(?P<stream>\w+)", truth, "admin", "admin")
    r("POST", r"/_sim/records/(?P<stream>\w+)", records, "admin", "admin")
    r("GET,POST", r"/_sim/clock", clock, "admin", "admin")
    r("GET,POST", r"/_sim/knobs", knobs, "admin", "admin")
    r("POST", r"/_sim/exports/expire", expire, "admin", "admin")
    r("GET", r"/_sim/exports", exports, "admin", "admin")
