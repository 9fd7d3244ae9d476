"""v3/v4 deleted records and campaigns, through the real CLI against the simulator.

v3/v4 `deleted` is a boolean on prospects and list memberships only, and their rows carry
no deleted flag: the tap walks the recycle bin (`deleted=true`), then the live records, and
sets `is_deleted` from the walk. It never sends `deleted=all`, whatever Pardot would make of
it (knob `v3_deleted_all`: error 27, read as `true`, or ignored). v3/v4 campaigns carry only
`id, name, cost`: read whole, by id, every run. Then the plans' requests, without a server.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import typing as t
import zoneinfo
from types import SimpleNamespace

import pytest
import requests
from tapkit import discover_catalog, run_cli, sim_config, sim_now, truth

from tap_pardot.convert import RecordConverter
from tap_pardot.query.deleted import KEY, RecycleBinThenLive
from tap_pardot.query.idwalk import FullTablePlan, IdWalkPlan
from tap_pardot.query.v3 import V3SortedPlan
from tap_pardot.query.v5 import V5SortedPlan
from tap_pardot.settings import Settings
from tap_pardot.times import iso, parse_utc

if t.TYPE_CHECKING:
    from pathlib import Path

STREAMS = ("prospects", "list_memberships")
KNOBS = {"prospects": {"count": 60, "clump_size": 15},
         "list_memberships": {"count": 60, "clump_size": 15},
         "campaigns": {"count": 25, "clump_size": 0}, "deleted_fraction": 0.3}
READINGS = ("error", "true", "ignored")  # what Pardot makes of v3/v4 `deleted=all`
# Columns both a v3/v4 reply and the truth hold, besides id, is_deleted and updated_at.
COLUMNS = {"prospects": ("email", "first_name", "score"),
           "list_memberships": ("list_id", "prospect_id", "opted_out")}


def config_for(sim: t.Any, **overrides: t.Any) -> dict:
    return sim_config(sim, start_date="2025-09-15T00:00:00Z", sync_mode="query",
                      api_version=4, page_size=10, **overrides)


def assert_matches_truth(sim: t.Any, stream: str, records: list[dict],
                         *, deleted: bool = True) -> None:
    """`records` are the truth's (live ones only without `deleted`), each once, on the
    columns a v3/v4 reply carries; `is_deleted` told by the walk."""
    want = {i: row for i, row in truth(sim, stream).items() if deleted or not row["is_deleted"]}
    got = {r["id"]: r for r in records}
    assert len(got) == len(records), f"{stream}: a record emitted twice"
    assert got.keys() == want.keys(), stream
    assert any(row["is_deleted"] for row in want.values()) == deleted
    for rid, row in want.items():
        for name in ("is_deleted", "updated_at", *COLUMNS[stream]):
            assert got[rid][name] == row[name], (stream, rid, name)


def sim_errors(sim: t.Any) -> dict:
    return sim.stats.snapshot()["errors_by_code"]


@pytest.mark.parametrize("reading", READINGS)
def test_v4_sync_reads_the_recycle_bin_in_a_second_walk(reading: str, sim_factory: t.Any,
                                                         tmp_path: Path) -> None:
    sim = sim_factory(knobs={**KNOBS, "v3_deleted_all": reading})
    config = config_for(sim)
    run = run_cli(config, catalog=discover_catalog(config, STREAMS), tmp_path=tmp_path,
                  check=True)
    now = sim_now(sim)
    for stream in STREAMS:
        records = run.records[stream]
        assert_matches_truth(sim, stream, records)
        flags = [r["is_deleted"] for r in records]
        assert flags == sorted(flags, reverse=True), "the recycle bin first, then live"
        state = run.state["bookmarks"][stream]
        assert KEY not in state
        top = max(r["updated_at"] for r in records)
        assert top < state["replication_key_value"] <= now  # the bound + 1 s
    assert "27" not in sim_errors(sim)


def test_v4_sync_without_deleted_reads_live_records_only(sim_factory: t.Any,
                                                          tmp_path: Path) -> None:
    sim = sim_factory(knobs=KNOBS)
    config = config_for(sim, include_deleted=False)
    run = run_cli(config, catalog=discover_catalog(config, STREAMS), tmp_path=tmp_path,
                  check=True)
    for stream in STREAMS:
        assert_matches_truth(sim, stream, run.records[stream], deleted=False)


@pytest.mark.parametrize("reading", READINGS)
def test_interrupted_runs_resume_both_walks_without_loss(reading: str, sim_factory: t.Any,
                                                         tmp_path: Path) -> None:
    """Runs stopped by a small call budget, each resumed from the last one's state, until
    one completes: together they emit the truth, and every run emits a record at most once.
    The stops fall inside the recycle-bin walk and inside the live walk. Pardot's clock
    stands still, so a stream read to the end has nothing new to read in the later runs."""
    sim = sim_factory(knobs={**KNOBS, "v3_deleted_all": reading, "clock_rate": 0})
    catalog = discover_catalog(config_for(sim), STREAMS)
    config = config_for(sim, max_api_calls=6)
    state: dict = {}
    seen: dict[str, list[dict]] = {stream: [] for stream in STREAMS}
    walks = set()
    for _ in range(20):
        run = run_cli(config, catalog=catalog, state=state, tmp_path=tmp_path, check=True)
        for stream in STREAMS:
            records = run.records.get(stream, [])
            assert len({r["id"] for r in records}) == len(records), "emitted twice in a run"
            seen[stream] += records
            walk = run.state.get("bookmarks", {}).get(stream, {}).get(KEY)
            if walk:
                walks.add((stream, walk["done"]))
        state = run.state
        if "Run stopped early" not in run.stderr:
            break
    else:
        pytest.fail("the runs never completed")
    assert walks == {(s, done) for s in STREAMS for done in (False, True)}
    for stream in STREAMS:
        latest = {r["id"]: r for r in seen[stream]}  # a resumed walk re-reads its hwm second
        assert_matches_truth(sim, stream, list(latest.values()))
        assert KEY not in state["bookmarks"][stream]


def test_a_record_deleted_between_runs_is_read_as_deleted(sim_factory: t.Any,
                                                          tmp_path: Path) -> None:
    sim = sim_factory(knobs=KNOBS)
    config = config_for(sim)
    catalog = discover_catalog(config, "prospects")
    first = run_cli(config, catalog=catalog, tmp_path=tmp_path, check=True)
    live = sorted(r["id"] for r in first.records["prospects"] if not r["is_deleted"])
    sim.advance(60)
    sim.mutate("prospects", {"delete": [live[0]], "update": [{"id": live[1]}]})
    sim.advance(300)  # past the settle time
    second = run_cli(config, catalog=catalog, state=first.state, tmp_path=tmp_path,
                     check=True)
    got = {r["id"]: r["is_deleted"] for r in second.records["prospects"]}
    assert got == {live[0]: True, live[1]: False}


def test_v4_campaigns_are_read_whole_by_id(sim_factory: t.Any, tmp_path: Path) -> None:
    """v3/v4 campaigns hold `id, name, cost` (cost an integer): every live campaign, each
    run, whatever the bookmark; the bookmark is the run's bound, not a record's time."""
    sim = sim_factory(knobs=KNOBS)
    config = config_for(sim)
    catalog = discover_catalog(config, "campaigns")
    first = run_cli(config, catalog=catalog, tmp_path=tmp_path, check=True)
    want = {i: row for i, row in truth(sim, "campaigns").items() if not row["is_deleted"]}
    assert_campaigns(first.records["campaigns"], want)
    bookmark = first.state["bookmarks"]["campaigns"]["replication_key_value"]
    assert parse_utc(bookmark) > max(parse_utc(r["updated_at"]) for r in want.values())
    sim.advance(60)
    renamed = sorted(want)[0]
    sim.mutate("campaigns", {"update": [{"id": renamed, "name": "Renamed"}]})
    sim.advance(300)
    second = run_cli(config, catalog=catalog, state=first.state, tmp_path=tmp_path,
                     check=True)
    want[renamed]["name"] = "Renamed"
    assert_campaigns(second.records["campaigns"], want)
    assert second.state["bookmarks"]["campaigns"]["replication_key_value"] > bookmark


def assert_campaigns(records: list[dict], want: dict[int, dict]) -> None:
    got = {r["id"]: r for r in records}
    assert len(got) == len(records)
    assert got.keys() == want.keys()
    for rid, row in want.items():
        assert got[rid]["name"] == row["name"]
        assert abs(got[rid]["cost"] - row["cost"]) < 1  # v3/v4: an integer


# The plans' requests, against a stream stub.

UTC = dt.timezone.utc
START = dt.datetime(2025, 10, 1, tzinfo=UTC)
FOLD = dt.datetime(2025, 11, 2, 6, tzinfo=UTC)  # New York falls back: 02:00 EDT -> 01:00 EST
SCHEMA = {"properties": {"id": {"type": ["integer"]}, "is_deleted": {"type": ["boolean"]},
                         "updated_at": {"type": ["string", "null"], "format": "date-time"}}}


def stub(v3_object: str, version: int = 4, zone: str = "UTC", **config: t.Any) -> t.Any:
    converter = RecordConverter(SCHEMA, zone)
    return SimpleNamespace(
        name="s", settings=Settings.parse({"page_size": 50, "api_version": version, **config}),
        deletable=True, api_version=version,
        read_bound=lambda: dt.datetime(2025, 12, 1, tzinfo=UTC), v5_fields="id,updatedAt",
        v3_params={}, v3_collection="thing", v3_object=v3_object, stream_state={},
        replication_key="updated_at",
        v3_deleted=v3_object in ("prospect", "listMembership"),
        converter=converter, fetch_converter=lambda: converter, checkpoint=lambda **k: None)


@pytest.mark.parametrize("kind", [V3SortedPlan, IdWalkPlan])
def test_recycle_bin_walk_then_live_walk_params(kind: type) -> None:
    plan = RecycleBinThenLive(kind, stub("prospect"), START, None)
    assert plan.first()["params"]["deleted"] == "true"
    assert plan.bin is not None
    assert plan.live.first()["params"].get("deleted") is None
    assert plan.bin.end == plan.live.end == plan.end


@pytest.mark.parametrize("v3_object", ["prospect", "campaign", "visitor"])
def test_v3_never_sends_deleted_all(v3_object: str) -> None:
    for kind in (V3SortedPlan, IdWalkPlan):
        assert "deleted" not in kind(stub(v3_object), START, None).first()["params"]
    assert "deleted" not in FullTablePlan(stub(v3_object), START, None).first()["params"]
    assert V5SortedPlan(stub(v3_object, 5), START, None).first()["params"]["deleted"] == "all"


def test_full_table_walk_sends_no_time_filter() -> None:
    params = FullTablePlan(stub("campaign"), START, None).first()["params"]
    assert params["sort_by"] == "id"
    assert not {key for key in params if key.startswith(("updated_", "created_"))}


def test_a_read_recycle_bin_walk_is_skipped_by_a_resumed_run() -> None:
    stream = stub("prospect")
    end = dt.datetime(2025, 10, 20, tzinfo=UTC)
    stream.stream_state[KEY] = {"start": START.isoformat(), "end": end.isoformat(),
                                "done": True, "walk": {}}
    plan = RecycleBinThenLive(V3SortedPlan, stream, START + dt.timedelta(days=3), None)
    assert plan.bin is None
    assert plan.end == end  # the range both walks share
    assert "deleted" not in plan.first()["params"]
    stream.stream_state[KEY]["done"] = False  # in progress, from another start: begun again
    plan = RecycleBinThenLive(V3SortedPlan, stream, START + dt.timedelta(days=3), None)
    assert plan.bin is not None
    assert plan.end == stream.read_bound()


class FakeV4:
    """v3/v4 bulk query over (instant, id, deleted) rows: exclusive bounds, `deleted=true`
    reads the recycle bin only, sorted by id or by time (ties in no defined order)."""

    def __init__(self, rows: list[tuple[dt.datetime, int, bool]], zone: str) -> None:
        self.rows, self.shuffle, self.tz = rows, random.Random(0), zoneinfo.ZoneInfo(zone)

    def __call__(self, params: dict[str, t.Any]) -> requests.Response:
        lo, hi = parse_utc(params["updated_after"]), parse_utc(params["updated_before"])
        after = int(params.get("id_greater_than", 0))
        in_bin = params.get("deleted") == "true"
        hits = sorted((r for r in self.rows if r[2] == in_bin and lo < r[0] < hi and r[1] > after),
                      key=(lambda r: r[1]) if params["sort_by"] == "id"
                      else (lambda r: (r[0], self.shuffle.random())))
        rows = [{"id": i, "updated_at": ts.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")}
                for ts, i, _ in hits[: int(params["limit"])]]
        reply = requests.Response()
        reply.status_code = 200
        reply._content = json.dumps({"result": {"thing": rows}}).encode()
        return reply


def stateful_stub(state: dict, zone: str) -> t.Any:
    """A stream stub whose checkpoints write `state` as PardotStream.checkpoint does."""
    stream = stub("prospect", zone=zone, page_size=7)
    stream.stream_state = state

    def checkpoint(bookmark: t.Any = None, *, tie_id: t.Any = None, extra: t.Any = None) -> None:
        if bookmark is not None:
            state["replication_key_value"] = iso(bookmark)
            state["tie_id"] = tie_id
        for key, value in (extra or {}).items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value

    stream.checkpoint = checkpoint
    return stream


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("pages", [3, 4, 6])
@pytest.mark.parametrize("kind", [V3SortedPlan, IdWalkPlan])
def test_walks_stopped_every_few_pages_resume_without_loss(kind: type, pages: int,
                                                           zone: str) -> None:
    """Both walks, stopped every few pages, across a clump larger than a page and the
    repeated hour of a DST fall-back (2025-11-02 05:00-07:00 UTC in New York)."""
    rnd = random.Random(pages)
    first = dt.datetime(2025, 11, 1, 12, tzinfo=UTC)
    times = [first + dt.timedelta(seconds=rnd.randrange(36 * 3600)) for _ in range(40)]
    times += [FOLD + dt.timedelta(seconds=rnd.randrange(-3600, 3600)) for _ in range(15)]
    times += [FOLD + dt.timedelta(minutes=20)] * 9  # a clump larger than a page
    rows = [(ts, i, rnd.random() < 0.3) for i, ts in enumerate(times, start=1)]
    api, emitted = FakeV4(rows, zone), []
    state: dict[str, t.Any] = {}
    for _ in range(100):
        stream = stateful_stub(state, zone)
        start = parse_utc(state.get("replication_key_value") or first)
        plan = RecycleBinThenLive(kind, stream, start, state.get("tie_id"))
        if plan.start > plan.end:
            break
        run: list[dict[str, t.Any]] = []
        token = plan.first()
        for _ in range(pages):  # then the run stops, its last checkpoint saved
            reply = api(token["params"])
            run += plan.records(reply)
            following = plan.next(reply)
            if following is None:
                plan.finish()
                break
            token = following
            plan.checkpoint()
        assert len({r["id"] for r in run}) == len(run), "emitted twice in a run"
        emitted += run
    else:
        pytest.fail("the runs never completed")
    assert KEY not in state
    assert {(r["id"], r["is_deleted"], parse_utc(r["updated_at"])) for r in emitted} == {
        (i, d, ts) for ts, i, d in rows}
