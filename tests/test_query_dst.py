"""v3/v4 query sync across a DST fall-back: naive local times of the repeated hour.

The real CLI against the simulator on api_version 4 (account zone America/New_York, where
2025-11-02 01:00-02:00 local happens twice), compared with the truth record for record:
`updated_at` must be the exact instant; other times in the repeated hour cannot be placed
on v3/v4 (a documented Pardot limit) and may read as either occurrence. Then the plans
against a tiny fake API: exclusive and inclusive bounds, records on every cut, an empty fold
costing no call, and an interrupted id walk resuming its repeated spans.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import subprocess
import sys
import typing as t
import zoneinfo
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from tap_pardot.convert import RecordConverter
from tap_pardot.query.idwalk import IdWalkPlan
from tap_pardot.query.v3 import V3SortedPlan
from tap_pardot.settings import Settings
from tap_pardot.times import fold_cuts, parse_utc, segments

UTC = dt.timezone.utc
NY = zoneinfo.ZoneInfo("America/New_York")
TAP = str(Path(sys.executable).parent / "tap-pardot")
STREAMS = ("prospects", "visitor_activities", "list_memberships")
FOLD = (dt.datetime(2025, 11, 2, 5, tzinfo=UTC), dt.datetime(2025, 11, 2, 7, tzinfo=UTC))
# Seconds where a cut or a one-second slack of the bounds could go wrong.
EDGES = ("05:00:00", "05:00:01", "05:29:59", "05:30:00", "05:59:58", "05:59:59", "06:00:00",
         "06:00:01", "06:29:57", "06:29:58", "06:59:59")

SCENARIOS: dict[str, tuple[dict[str, t.Any], bool, int]] = {
    # the reported case: few records in the fold, so a second-occurrence time has no
    # first-occurrence neighbour to order it by
    "sparse": ({"prospects": {"count": 300, "clump_size": 60},
                "visitor_activities": {"count": 300, "clump_size": 40},
                "list_memberships": {"count": 300, "clump_size": 40}}, False, 200),
    # dense fold, records on every cut and slack second, small pages inside the fold
    "dense": ({"prospects": {"count": 400, "clump_size": 60},
               "visitor_activities": {"count": 500, "clump_size": 80},
               "list_memberships": {"count": 400, "clump_size": 40},
               "dst_fraction": 0.3}, True, 40),
    # the same with `*_after`/`*_before` read as inclusive bounds (pre-2020 Pardot)
    "dense_inclusive": ({"prospects": {"count": 400, "clump_size": 60},
                         "visitor_activities": {"count": 500, "clump_size": 80},
                         "list_memberships": {"count": 400, "clump_size": 40},
                         "dst_fraction": 0.3, "v3_bounds_inclusive": True}, True, 40),
}


def admin(sim: t.Any, path: str, body: dict | None = None) -> t.Any:
    url = f"{sim.url}/_sim/{path}"
    if body is None:
        return requests.get(url, timeout=10).json()
    return requests.post(url, json=body, timeout=10).json()


def put_records_on_edges(sim: t.Any) -> None:
    """Update and create records at the seconds around the fold's cuts."""
    now = admin(sim, "clock")["now"]
    for stream in STREAMS:
        ids = sorted(row["id"] for row in admin(sim, f"truth/{stream}")["records"])
        for k, edge in enumerate(EDGES):
            admin(sim, "clock", {"now": f"2025-11-02T{edge}+00:00"})
            admin(sim, f"records/{stream}", {"create": 1, "update": [{"id": ids[k]}]})
    admin(sim, "clock", {"now": now})


def run_tap(sim: t.Any, tmp_path: Path, page_size: int) -> list[dict]:
    c = sim.credentials
    config = {"client_id": c["client_id"], "client_secret": c["client_secret"],
              "refresh_token": c["refresh_token"],
              "pardot_business_unit_id": c["pardot_business_unit_id"],
              "api_base_url": sim.url, "auth_base_url": sim.url,
              "start_date": "2025-09-15T00:00:00Z", "sync_mode": "query", "api_version": 4,
              "timezone": "America/New_York", "page_size": page_size}
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    found = subprocess.run([TAP, "--config", str(config_file), "--discover"],
                           capture_output=True, text=True, timeout=60, check=True)
    catalog = json.loads(found.stdout)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in STREAMS
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps(catalog))
    proc = subprocess.run([TAP, "--config", str(config_file), "--catalog", str(catalog_file)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]


def same_local_time(got: t.Any, want: t.Any) -> bool:
    """Both readings of one naive time in the repeated hour (the documented v3/v4 limit)."""
    if not (isinstance(got, str) and isinstance(want, str)):
        return False
    a, b = parse_utc(got), parse_utc(want)
    in_fold = all(FOLD[0] <= x < FOLD[1] for x in (a, b))
    naive = a.astimezone(NY).replace(tzinfo=None) == b.astimezone(NY).replace(tzinfo=None)
    return in_fold and naive


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_v4_query_across_fall_back_matches_truth(sim_factory: t.Any, tmp_path: Path,
                                                 scenario: str) -> None:
    knobs, edges, page_size = SCENARIOS[scenario]
    sim = sim_factory(knobs={**knobs, "clock_rate": 0})
    if edges:
        put_records_on_edges(sim)
    messages = run_tap(sim, tmp_path, page_size)
    for stream in STREAMS:
        records = [m["record"] for m in messages
                   if m["type"] == "RECORD" and m["stream"] == stream]
        got = {r["id"]: r for r in records}
        assert len(got) == len(records), f"{stream}: duplicates"
        want = {r["id"]: r for r in admin(sim, f"truth/{stream}")["records"]}
        assert got.keys() == want.keys(), stream
        in_fold = [r for r in want.values() if FOLD[0] <= parse_utc(r["updated_at"]) < FOLD[1]]
        assert len(in_fold) >= 3, f"{stream}: the scenario needs records in the fold"
        wrong = [(i, got[i]["updated_at"], row["updated_at"]) for i, row in want.items()
                 if got[i]["updated_at"] != row["updated_at"]]
        assert not wrong, f"{stream}: {len(wrong)} updated_at differ, e.g. {wrong[:3]}"
        carried = {k for r in records for k, v in r.items() if v is not None}
        for rid, row in want.items():  # on the columns a v3/v4 reply carries
            bad = {k for k in row.keys() & carried if got[rid][k] != row[k]
                   and not same_local_time(got[rid][k], row[k])}
            assert not bad, (stream, rid, bad)
        if stream != "list_memberships":  # sorted by updated_at on v3/v4 (not by id)
            for walk in ({True}, {False, None}):  # prospects: the recycle bin, then live
                times = [parse_utc(r["updated_at"]) for r in records
                         if r.get("is_deleted") in walk]
                assert times == sorted(times), f"{stream}: out of time order"
    bookmarks = [m["value"]["bookmarks"] for m in messages if m["type"] == "STATE"][-1]
    now = parse_utc(admin(sim, "clock")["now"])
    for stream in STREAMS:
        # Read up to Pardot's clock (less a settle time): the bookmark is past every record.
        top = max(parse_utc(r["updated_at"]) for r in admin(sim, f"truth/{stream}")["records"])
        assert top < parse_utc(bookmarks[stream]["replication_key_value"]) <= now, stream


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London", "Australia/Lord_Howe",
                                  "America/St_Johns", "UTC"])
def test_fold_segments_never_hold_two_instants_of_one_local_time(zone: str) -> None:
    tz = zoneinfo.ZoneInfo(zone)
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    end = dt.datetime(2026, 1, 1, tzinfo=UTC)
    parts = segments(start, end, fold_cuts(tz, start, end))
    assert parts[0][0] == start
    assert parts[-1][1] == end
    for (_, hi), (lo, _) in itertools.pairwise(parts):
        assert lo - hi == dt.timedelta(seconds=1)  # contiguous, whole seconds
    second = dt.timedelta(seconds=1)
    for lo, hi in parts:
        # What a request for [lo, hi] can return, bounds read either way: [lo - 1s, hi + 1s].
        a, b = lo - second, hi + second
        for fold_at in (c for c in fold_cuts(tz, a - dt.timedelta(days=1), b)):
            near = [fold_at + k * second for k in range(-4000, 4000)]
            seen: dict[dt.datetime, dt.datetime] = {}
            for instant in (x for x in near if a <= x <= b):
                local = instant.astimezone(tz).replace(tzinfo=None)
                assert local not in seen, (zone, lo, hi, instant, seen.get(local))
                seen[local] = instant
    if zone == "UTC":
        assert len(parts) == 1


# Plan level: a tiny v3/v4 API holding (instant, id) rows, answering naive local times.

SCHEMA = {"properties": {"id": {"type": ["integer"]},
                         "updated_at": {"type": ["string", "null"], "format": "date-time"}}}
T = dt.datetime(2025, 11, 2, 6, tzinfo=UTC)  # the fall-back: 02:00 EDT -> 01:00 EST


class FakeV3:
    """Exclusive or inclusive bounds; sorted by time (ties in no order) or id; pages."""

    def __init__(self, rows: list[tuple[dt.datetime, int]], inclusive: bool,
                 zone: str = "America/New_York") -> None:
        self.rows, self.inclusive, self.calls = rows, inclusive, 0
        self.tz = zoneinfo.ZoneInfo(zone)

    def __call__(self, params: dict[str, t.Any]) -> dict:
        self.calls += 1
        lo, hi = parse_utc(params["updated_after"]), parse_utc(params["updated_before"])
        after_id = int(params.get("id_greater_than", 0))
        hits = [r for r in self.rows if r[1] > after_id and (
            lo <= r[0] <= hi if self.inclusive else lo < r[0] < hi)]
        shuffle = random.Random(self.calls)
        hits.sort(key=(lambda r: r[1]) if params["sort_by"] == "id"
                  else (lambda r: (r[0], shuffle.random())))
        page = hits[: int(params["limit"])]
        return {"result": {"thing": [
            {"id": i, "updated_at": ts.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")}
            for ts, i in page]}}


def drive(plan: t.Any, api: FakeV3) -> list[dict]:
    out, token = [], plan.first()
    while token:
        reply = requests.Response()
        reply.status_code, reply._content = 200, json.dumps(api(token["params"])).encode()
        out.extend(plan.records(reply))
        token = plan.next(reply)
    return out


def plan_for(kind: type, rows_start: dt.datetime, page: int, zone: str = "America/New_York",
             end: dt.datetime | None = None, state: dict | None = None) -> t.Any:
    state = {} if state is None else state

    def checkpoint(*_: t.Any, extra: dict | None = None, **__: t.Any) -> None:
        for key, value in (extra or {}).items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value

    converter = RecordConverter(SCHEMA, zone)
    stream = SimpleNamespace(
        name="things", settings=Settings.parse({"page_size": page, "api_version": 4}),
        deletable=False,
        read_bound=lambda: end or dt.datetime(2026, 1, 1, tzinfo=UTC),
        v3_params={}, v3_collection="thing", v3_object="thing", v3_deleted=False, api_version=4,
        replication_key="updated_at",
        stream_state=state, converter=converter, fetch_converter=lambda: converter,
        logger=SimpleNamespace(info=print), checkpoint=checkpoint)
    return kind(stream, rows_start, None)


def fold_rows(seed: int, n: int, only_second: bool) -> list[tuple[dt.datetime, int]]:
    rnd = random.Random(seed)
    lo = T if only_second else T - dt.timedelta(hours=1)
    times = [lo + dt.timedelta(seconds=rnd.randrange(3600 if only_second else 7200))
             for _ in range(n)]
    times += [T - dt.timedelta(hours=3), T + dt.timedelta(hours=3)]  # outside the fold
    times += [T + dt.timedelta(seconds=s) for s in (-3600, -1800, -1, 0, 1798, 3599)
              if not only_second or s >= 0]
    times += [T + dt.timedelta(seconds=1798 if only_second else -1800)] * 7  # a clump on a cut
    ids = list(range(1, len(times) + 1))
    rnd.shuffle(ids)
    return sorted(zip(times, ids, strict=True))


@pytest.mark.parametrize("inclusive", [False, True])
@pytest.mark.parametrize(("only_second", "page"), [(True, 3), (False, 4), (False, 50)])
@pytest.mark.parametrize("kind", [V3SortedPlan, IdWalkPlan])
def test_plans_read_each_repeated_time_as_its_instant(kind: type, only_second: bool,
                                                      page: int, inclusive: bool) -> None:
    rows = fold_rows(7, 40, only_second)
    start = T - dt.timedelta(hours=5)
    out = drive(plan_for(kind, start, page), FakeV3(rows, inclusive))
    got = sorted((parse_utc(r["updated_at"]), r["id"]) for r in out)
    assert len(out) == len({r["id"] for r in out})
    assert got == rows
    if kind is V3SortedPlan:
        assert [parse_utc(r["updated_at"]) for r in out] == [ts for ts, _ in rows]


@pytest.mark.parametrize("kind", [V3SortedPlan, IdWalkPlan])
def test_an_empty_fold_costs_no_call(kind: type) -> None:
    rnd = random.Random(5)
    start = T - dt.timedelta(days=3)
    rows = sorted((start + dt.timedelta(seconds=rnd.randrange(6 * 86400)), i)
                  for i in range(1, 60))
    rows = [r for r in rows if not T - dt.timedelta(hours=1) <= r[0] < T + dt.timedelta(hours=1)]
    calls = {}
    for zone in ("UTC", "America/New_York"):
        api = FakeV3(rows, inclusive=False, zone=zone)
        out = drive(plan_for(kind, start, 25, zone), api)
        assert sorted((parse_utc(r["updated_at"]), r["id"]) for r in out) == rows
        calls[zone] = api.calls
    assert calls["America/New_York"] == calls["UTC"]


@pytest.mark.parametrize("stop_after", [1, 2, 3, 4, 5])
def test_interrupted_id_walk_resumes_its_repeated_spans(stop_after: int) -> None:
    # Repeated local times on the lowest ids only: the first page meets them all.
    repeated = [T + dt.timedelta(seconds=s) for s in (-3600, -1800, -1, 0, 1798, 3599)]
    others = [T + dt.timedelta(minutes=m) for m in range(-240, 240, 7) if abs(m) > 60]
    rows = sorted((ts, i) for i, ts in enumerate(repeated + others, start=1))
    start = T - dt.timedelta(hours=5)
    state: dict[str, t.Any] = {}
    out: list[dict] = []
    api = FakeV3(rows, inclusive=True)
    for budget in (stop_after, 10**6):
        plan = plan_for(IdWalkPlan, start, 8, state=state)
        token = plan.first()
        for _ in range(budget):
            if not token:
                break
            reply = requests.Response()
            reply.status_code, reply._content = 200, json.dumps(api(token["params"])).encode()
            out.extend(plan.records(reply))
            token = plan.next(reply)
            if token:
                plan.checkpoint()
            else:
                plan.finish()
    assert {(parse_utc(r["updated_at"]), r["id"]) for r in out} == set(rows)
    assert "id_walk" not in state
    assert api.calls > stop_after + 1  # it did resume a walk
