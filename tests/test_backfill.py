"""Backfills newest first, `auto` by volume, the pending queue in state, generic exports, and
polls from experience: through the real CLI against the simulator, against its truth."""

from __future__ import annotations

import functools
import itertools
import re
import typing as t
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from tapkit import comparable, discover_catalog, run_cli, sim_config

from tap_pardot.export.windows import (
    QUICK_POLL,
    expected_seconds,
    plan_windows,
    poll_delays,
    poll_wait,
)
from tap_pardot.settings import Settings
from tap_pardot.streams import STREAM_TYPES

UTC = timezone.utc
DATA_START = "2025-09-15T00:00:00+00:00"
FAST = {"export_waiting_seconds": 0.0, "export_processing_seconds": 0.05,
        "export_rows_per_file": 150}
VISITORS = {"visitors": {"count": 1000, "clump_size": 0}}

config_for = functools.partial(sim_config, start_date=DATA_START, export_poll_seconds=0.01)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def sync(sim: t.Any, tmp_path: Path, streams: str | list[str], state: dict | None = None,
         env: dict[str, str] | None = None, **settings: t.Any) -> t.Any:
    """One CLI run; the simulator's stats count from its start (discovery aside)."""
    config = config_for(sim, **settings)
    catalog = discover_catalog(config, select=streams)
    sim.reset_stats()
    return run_cli(config, catalog=catalog, state=state, tmp_path=tmp_path, env=env)


def truth_in(sim: t.Any, stream: str, start: str | datetime,
             end: str | datetime | None = None, key: str = "updated_at") -> dict[int, dict]:
    lo = parse(start) if isinstance(start, str) else start
    hi = None if end is None else (parse(end) if isinstance(end, str) else end)
    return {r["id"]: comparable(r) for r in sim.truth(stream)
            if lo <= parse(r[key]) and (hi is None or parse(r[key]) < hi)}


def got(run: t.Any, stream: str) -> dict[int, dict]:
    records = run.records.get(stream, [])
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "a record was emitted twice in one run"
    return {r["id"]: comparable(r) for r in records}


def calls(sim: t.Any) -> dict[str, int]:
    return t.cast("dict[str, int]", sim.get_stats()["calls_by_kind"])


# -- auto by volume ------------------------------------------------------------------------


@pytest.mark.parametrize(("page_size", "exported"), [(20, 1), (100, 0)])
def test_auto_probes_a_window_and_exports_only_a_large_one(
        sim_factory: t.Any, tmp_path: Path, page_size: int, exported: int) -> None:
    """25 days of a few hundred visitors: pages of 20 are too many, the window is exported
    (the probe's one query aside); pages of 100 are few, it is queried, the probe's page
    reused (no query call more than the pages)."""
    sim = sim_factory({**FAST, **VISITORS})
    end = "2025-10-10T00:00:00+00:00"
    run = sync(sim, tmp_path, "visitors", sync_mode="auto", end_date=end, page_size=page_size)
    assert run.returncode == 0, run.stderr[-2000:]
    want = truth_in(sim, "visitors", DATA_START, "2025-10-10T00:00:01Z")
    assert got(run, "visitors") == want
    assert calls(sim).get("export_create", 0) == exported
    pages = -(-(len(want) + 1) // page_size)  # the probe's last second is read again
    assert calls(sim)["query"] == (1 if exported else pages)
    figure = re.search(r"reaches [0-9.]+ \w+ of 25 days: about (\d+) pages, (.*): (\w+)",
                       run.stderr)
    assert figure is not None, run.stderr[-2000:]
    assert (int(figure[1]) > 10) == bool(exported)
    assert figure[3] == ("exporting" if exported else "querying")
    assert "pending" not in run.state["bookmarks"]["visitors"]


@pytest.mark.parametrize("start", ["2024-05-01T00:00:00Z", "2022-01-01T00:00:00Z"])
def test_auto_an_empty_range_costs_one_call(sim_factory: t.Any, tmp_path: Path,
                                            start: str) -> None:
    """A month (one window), or two and a half years (windows, probed whole first)."""
    sim = sim_factory({**FAST, **VISITORS})
    run = sync(sim, tmp_path, "visitors", sync_mode="auto", start_date=start,
               end_date="2024-06-01T00:00:00Z")
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.records.get("visitors", []) == []
    assert "export_create" not in calls(sim)
    assert calls(sim)["query"] == 1
    final = run.state["bookmarks"]["visitors"]
    assert final["replication_key_value"] == "2024-06-01T00:00:01+00:00"
    assert "pending" not in final


def test_auto_a_small_accounts_backfill_is_a_few_query_pages(sim_factory: t.Any,
                                                              tmp_path: Path) -> None:
    """A year back, a thousand visitors: the whole range probed, then queried (the probe's
    page reused), no export, no window."""
    sim = sim_factory({**FAST, **VISITORS})
    sim.advance(180)
    run = sync(sim, tmp_path, "visitors", sync_mode="auto", start_date="2024-11-20T00:00:00Z",
               page_size=200)
    assert run.returncode == 0, run.stderr[-2000:]
    assert got(run, "visitors") == truth_in(sim, "visitors", DATA_START)
    assert "export_create" not in calls(sim)
    assert calls(sim)["query"] <= 6  # 1,000 visitors in pages of 200, the probe's reused
    assert "the whole range" in run.stderr
    final = run.state["bookmarks"]["visitors"]
    assert "pending" not in final


# -- newest first, the pending queue, a resumed backfill -----------------------------------


def test_export_backfill_is_newest_first(sim_factory: t.Any, tmp_path: Path) -> None:
    """The first records out are the newest window's (about a month); the state keeps the
    older range pending until it is read; everything equals the truth."""
    sim = sim_factory({**FAST, **VISITORS})
    sim.advance(180)
    run = sync(sim, tmp_path, "visitors", sync_mode="export")
    assert run.returncode == 0, run.stderr[-2000:]
    records = run.records["visitors"]
    assert got(run, "visitors") == truth_in(sim, "visitors", DATA_START)
    exports = sim.exports.describe_all()
    newest = parse(exports[0]["procedure"]["arguments"]["updatedAfter"])
    assert parse(exports[0]["createdAt"]) - newest < timedelta(days=31)
    assert all(parse(e["procedure"]["arguments"]["updatedAfter"]) < newest for e in exports[1:])
    first = [r for r in records if parse(r["updated_at"]) > newest]
    assert first, "no record in the newest window"
    assert records[: len(first)] == first  # the newest window's records came first
    pending = [s["bookmarks"]["visitors"].get("pending") for s in run.states]
    assert any(pending), "the older range was never pending"
    assert "pending" not in run.state["bookmarks"]["visitors"]


def test_an_interrupted_backfill_resumes_its_queue(sim_factory: t.Any, tmp_path: Path) -> None:
    """A planned stop (max_api_calls) after the newest window: the state holds the bookmark
    at the end, the older range pending and its export in flight; the next run resumes
    that export and reads the rest: together, the truth, nothing twice."""
    sim = sim_factory({**FAST, **VISITORS})
    sim.advance(180)
    first = None
    for budget in range(6, 30, 2):
        first = sync(sim, tmp_path, "visitors", sync_mode="export", max_api_calls=budget)
        assert first.returncode == 0, first.stderr[-2000:]
        if first.state["bookmarks"]["visitors"].get("pending"):
            break
    assert first is not None
    saved = first.state["bookmarks"]["visitors"]
    assert saved.get("pending"), "no run stopped with a pending range"
    assert saved.get("exports"), "no export in flight was recorded"
    recorded = {e["id"] for e in saved["exports"]}
    end = parse(saved["replication_key_value"])
    assert parse(saved["pending"][-1][1]) < end
    creates = len(sim.exports.describe_all())

    second = sync(sim, tmp_path, "visitors", state=first.state, sync_mode="export")
    assert second.returncode == 0, second.stderr[-2000:]
    for export_id in recorded:
        assert f"resuming export {export_id}" in second.stderr
    made = sim.exports.describe_all()[creates:]
    windows = {e["procedure"]["arguments"]["updatedAfter"] for e in made}
    assert not windows & {e["window_start"] for e in saved["exports"]}
    one, two = got(first, "visitors"), got(second, "visitors")
    assert not set(one) & set(two), "a record was fetched twice"
    assert {**one, **two} == truth_in(sim, "visitors", DATA_START)
    final = second.state["bookmarks"]["visitors"]
    assert "pending" not in final
    assert "exports" not in final


def test_query_mode_reads_the_pending_ranges_an_export_run_left(
        sim_factory: t.Any, tmp_path: Path) -> None:
    sim = sim_factory({**FAST, **VISITORS})
    sim.advance(180)
    top = "2025-11-01T00:00:00+00:00"
    state = {"bookmarks": {"visitors": {
        "replication_key": "updated_at", "replication_key_value": top,
        "pending": [["2025-09-20T00:00:00+00:00", "2025-10-01T00:00:00+00:00"]]}}}
    run = sync(sim, tmp_path, "visitors", state=state, sync_mode="query")
    assert run.returncode == 0, run.stderr[-2000:]
    want = {**truth_in(sim, "visitors", "2025-09-20T00:00:00Z", "2025-10-01T00:00:00Z"),
            **truth_in(sim, "visitors", top)}
    assert got(run, "visitors") == want
    assert "export_create" not in calls(sim)
    assert "pending" not in run.state["bookmarks"]["visitors"]


def test_three_years_take_about_five_exports(sim_factory: t.Any, tmp_path: Path) -> None:
    """A first run over three years: a month, three, eight, then a year per export; the
    hour around each DST fall-back is a window of its own, which the probe queries."""
    start = "2022-11-20T12:00:00+00:00"
    # No records planted in the 2025 fall-back hour: here they would make its window large.
    sim = sim_factory({**FAST, "data_start": start, "dst_fraction": 0.0,
                       "visitors": {"count": 20000, "clump_size": 0}})
    sim.advance(180)
    run = sync(sim, tmp_path, "visitors", sync_mode="auto", start_date=start, page_size=10)
    assert run.returncode == 0, run.stderr[-2000:]
    assert got(run, "visitors") == truth_in(sim, "visitors", start)
    made = sim.exports.describe_all()
    assert 5 <= len(made) <= 6
    spans = [parse(e["procedure"]["arguments"]["updatedBefore"])
             - parse(e["procedure"]["arguments"]["updatedAfter"]) for e in made]
    assert spans[0] <= timedelta(days=31, seconds=2)
    assert max(spans) > timedelta(days=300)
    counts = set(re.findall(r"window \d+ of (\d+)", run.stderr))
    assert len(counts) == 1, f"the window count changed in the run: {counts}"


def test_the_next_streams_first_export_queues_while_files_download(
        sim_factory: t.Any, tmp_path: Path) -> None:
    """Two streams: while the first one's last files download, the second one's first
    export is made (Pardot's queue does not idle); the second stream resumes it."""
    sim = sim_factory({**FAST, **VISITORS, "prospect_accounts": {"count": 300, "clump_size": 0}})
    sim.advance(180)
    run = sync(sim, tmp_path, ["prospect_accounts", "visitors"], sync_mode="export",
               env={"LOGLEVEL": "DEBUG"})  # the per-window download lines
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stderr.splitlines()
    windows = len(sim.exports.describe_all())
    early = next(k for k, line in enumerate(lines)
                 if "creating its first export ahead of its turn" in line)
    first, second = ("prospect_accounts", "visitors") if "visitors" in lines[early] else (
        "visitors", "prospect_accounts")
    last = max(k for k, line in enumerate(lines)
               if f"Stream {first}: window" in line and "downloading" in line)
    assert early < last + 2  # made before the first stream's last files are read
    made = re.search(r"created export (\d+)", "\n".join(lines[early:]))
    assert made is not None
    assert f"Stream {second}: resuming export {made[1]}" in run.stderr
    assert calls(sim)["export_create"] == windows  # nothing made twice
    for stream in (first, second):
        assert got(run, stream) == truth_in(sim, stream, DATA_START)


def record_export_ends(sim: t.Any, monkeypatch: pytest.MonkeyPatch) -> dict[int, float]:
    """Export id -> the simulator's time of its last read reply or last file served whole:
    the tap counts an export outstanding (created, not yet wholly read) at least until then."""
    exports, ends = sim.exports, dict[int, float]()
    read, download = exports.read, exports.download

    def note(export_id: int) -> None:
        ends[export_id] = max(ends.get(export_id, 0.0), sim.clock.now_f())

    def reading(req: t.Any, version: int) -> t.Any:
        reply = read(req, version)
        note(int(req.params["id"]))
        return reply

    def downloading(req: t.Any) -> t.Any:
        reply = download(req)
        body = reply.body

        def served() -> t.Iterator[bytes]:
            yield from [body] if isinstance(body, bytes) else body
            note(int(req.params["id"]))

        reply.body = served()
        return reply

    monkeypatch.setattr(exports, "read", reading)
    monkeypatch.setattr(exports, "download", downloading)
    return ends


def test_the_next_windows_exports_queue_while_one_is_awaited(
        sim_factory: t.Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several windows, exports queued and processed for a while: each window's export is
    made before the previous one is Complete (Pardot's queue does not idle between them),
    never more than max_concurrency outstanding; each window made once; the truth."""
    sim = sim_factory({**VISITORS, "export_waiting_seconds": 0.1,
                       "export_processing_seconds": 1.0, "export_rows_per_file": 150})
    sim.advance(180)
    ends = record_export_ends(sim, monkeypatch)
    run = sync(sim, tmp_path, "visitors", sync_mode="export", export_window_days=15,
               max_concurrency=2)
    assert run.returncode == 0, run.stderr[-2000:]
    assert got(run, "visitors") == truth_in(sim, "visitors", DATA_START)
    made = sorted(sim.exports.items.values(), key=lambda e: e.created)
    assert len(made) >= 6
    windows = [e.args["updated_after"] for e in made]  # epoch seconds
    assert len(set(windows)) == len(made) == calls(sim)["export_create"]  # each made once
    assert windows == sorted(windows, reverse=True)  # newest first: Pardot runs it first
    for before, after in itertools.pairwise(made):
        assert after.created < before.finish, "the queue idled between two windows"
    for export in made:
        outstanding = [e for e in made
                       if e.created < export.created and ends[e.id] > export.created]
        assert len(outstanding) < 2, "more than max_concurrency exports outstanding"
    assert "pending" not in run.state["bookmarks"]["visitors"]


def test_the_following_streams_first_exports_queue_ahead_of_their_turn(
        sim_factory: t.Any, tmp_path: Path) -> None:
    """Three streams, max_concurrency 5: the first stream's windows are all made at once,
    then the second AND third streams' first exports, before the first stream is done; each
    is resumed at its stream's turn, nothing made twice; each stream equals the truth."""
    sim = sim_factory({**FAST, **VISITORS, "prospect_accounts": {"count": 300, "clump_size": 0},
                       "list_memberships": {"count": 600, "clump_size": 0}})
    sim.advance(180)
    names = ["list_memberships", "prospect_accounts", "visitors"]
    run = sync(sim, tmp_path, names, sync_mode="export", max_concurrency=5)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stderr.splitlines()
    ahead = {name: k for k, line in enumerate(lines) for name in names
             if f"Stream {name}: creating its first export ahead of its turn" in line}
    assert len(ahead) == 2, "the second and third streams' first exports were not made ahead"
    (first,) = set(names) - set(ahead)
    done = next(k for k, line in enumerate(lines) if f"Stream {first}: done" in line)
    for name, k in ahead.items():
        assert k < done  # ahead of its turn: while the first stream was read
        made = next(re.search(rf"Stream {name}: created export (\d+)", line)
                    for line in lines[k:] if f"Stream {name}: created export" in line)
        assert made is not None
        assert f"Stream {name}: resuming export {made[1]}" in run.stderr
    windows = {(e.obj, e.args.get("updated_after"), e.args.get("updated_before"))
               for e in sim.exports.items.values()}
    assert calls(sim)["export_create"] == len(windows)  # each window's export made once
    for name in names:
        assert got(run, name) == truth_in(sim, name, DATA_START)
        assert "exports" not in run.state["bookmarks"][name]


# -- generic v5 exports --------------------------------------------------------------------

GENERIC_DATA = {**FAST, "campaigns": {"count": 600, "clump_size": 0},
                "lists": {"count": 600, "clump_size": 0}}


def test_generic_exports_serve_more_streams(sim_factory: t.Any, tmp_path: Path) -> None:
    sim = sim_factory({**GENERIC_DATA, "export_generic_procedures": True})
    sim.advance(180)
    run = sync(sim, tmp_path, ["campaigns", "lists"], sync_mode="auto", page_size=20)
    assert run.returncode == 0, run.stderr[-2000:]
    names = {e["procedure"]["name"] for e in sim.exports.describe_all()}
    assert {"Campaign/FilterByUpdatedAt", "List/FilterByUpdatedAt"} <= names
    for stream in ("campaigns", "lists"):
        assert got(run, stream) == truth_in(sim, stream, DATA_START)


def test_an_export_complete_at_creation_is_read_for_its_files(sim_factory: t.Any,
                                                              tmp_path: Path) -> None:
    """An export done by the time Pardot answers its creation says Complete, but a v5 create
    reply has no `resultRefs`: the export is read once for its files, no window lost."""
    sim = sim_factory({**VISITORS, "export_waiting_seconds": 0.0,
                       "export_processing_seconds": 0.0})
    sim.advance(180)
    run = sync(sim, tmp_path, "visitors", sync_mode="export")
    assert run.returncode == 0, run.stderr[-2000:]
    assert calls(sim)["export_read"] == calls(sim)["export_create"] > 0  # one read each
    assert calls(sim).get("query", 0) <= 3  # at most the v5 re-reads of a DST repeated hour
    assert got(run, "visitors") == truth_in(sim, "visitors", DATA_START)


GENERIC = {str(vars(s)["name"]): s for s in STREAM_TYPES if s.export_generic}


@pytest.mark.parametrize("name", sorted(GENERIC))
def test_every_generic_stream_exports_its_records(name: str, sim_factory: t.Any,
                                                  tmp_path: Path) -> None:
    """`sync_mode: export` with the generic procedures on: a stream declaring one is read
    through exports (the procedure named after its replication key) and equals the truth."""
    stream = GENERIC[name]
    sim = sim_factory({**FAST, "export_generic_procedures": True})
    sim.advance(180)
    run = sync(sim, tmp_path, name, sync_mode="export")
    assert run.returncode == 0, run.stderr[-2000:]
    key = stream.replication_key
    procedure = f"{stream.export_generic}/FilterBy{key.title().replace('_', '')}"
    assert {e["procedure"]["name"] for e in sim.exports.describe_all()} == {procedure}
    assert calls(sim).get("query", 0) <= 3  # at most the v5 re-reads of a DST repeated hour
    assert got(run, name) == truth_in(sim, name, DATA_START, key=key)


def test_refused_generic_exports_fall_back_to_queries_once(sim_factory: t.Any,
                                                           tmp_path: Path) -> None:
    sim = sim_factory({**GENERIC_DATA, "export_generic_procedures": False})
    sim.advance(180)
    run = sync(sim, tmp_path, ["campaigns", "lists"], sync_mode="auto", page_size=20)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stderr.count("refused the generic v5 export procedure") == 1
    assert calls(sim)["export_create"] == 1  # the refused one: no other stream tries
    assert sim.get_stats()["errors_by_code"].get("174") == 1
    for stream in ("campaigns", "lists"):
        assert got(run, stream) == truth_in(sim, stream, DATA_START)


# -- polls ---------------------------------------------------------------------------------


def test_poll_schedule_from_experience() -> None:
    """A quick first look; without history the seed's schedule; with it, a wait to about
    the expected end and a unit that fits it."""
    plain = poll_delays(60)
    assert [next(plain) for _ in range(4)] == [QUICK_POLL, *(poll_wait(n, 60) for n in range(3))]
    unit = poll_delays(1)  # a unit below the quick poll: the plain schedule
    assert [next(unit) for _ in range(3)] == [poll_wait(n, 1) for n in range(3)]
    # Exports of a year took about an hour: a month's is expected in about 5 minutes.
    history = [[3600, 365 * 24], [3000, 365 * 24], [4200, 365 * 24]]  # [seconds, hours]
    expected = expected_seconds(history, 31)
    assert expected is not None
    assert 250 < expected < 350
    hour = poll_delays(60, expected_seconds(history, 365))
    waits = [next(hour) for _ in range(4)]
    assert waits[0] == QUICK_POLL
    assert 3600 < sum(waits[:2]) < 4200  # the second poll comes near the expected end
    assert waits[2:] == [poll_wait(1, 60), poll_wait(2, 60)]
    # Small exports (10 s): polled within seconds, not every minute.
    small = poll_delays(60, expected_seconds([[8, 31 * 24], [12, 31 * 24]], 31))
    assert sum(next(small) for _ in range(3)) < 30
    # Exports of an hour (a DST window) and of a month, each 2 s: the queue, not the size.
    # A year's is not expected to take 24 x 365 times the hour's.
    quick = expected_seconds([[2, 1], [2, 31 * 24], [3, 92 * 24]], 365)
    assert quick is not None
    assert quick < 10
    # Sizes that differ, times that grow with them: a fixed part and a rate per day.
    grown = expected_seconds([[60, 24], [600, 30 * 24]], 90)
    assert grown is not None
    assert 1500 < grown < 2000
    assert expected_seconds([], 10) is None
    assert expected_seconds([["x", 1]], 10) is None


def test_a_small_export_is_read_at_the_first_poll(sim_factory: t.Any, tmp_path: Path) -> None:
    """The default unit (60 s): the export, done in a fraction of a second, is read at the
    quick first poll, and its duration is kept in state for the next runs."""
    sim = sim_factory({**FAST, **VISITORS})
    run = sync(sim, tmp_path, "visitors", sync_mode="export",
               end_date="2025-09-25T00:00:00+00:00", export_poll_seconds=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert calls(sim)["export_create"] == 1
    assert calls(sim)["export_read"] == 1
    assert got(run, "visitors") == truth_in(sim, "visitors", DATA_START, "2025-09-25T00:00:01Z")
    history = run.state["bookmarks"]["visitors"]["export_history"]
    assert len(history) == 1
    assert 0 <= history[0][0] < 60
    # Whole numbers: a Singer target reads a float in state as a Decimal, and some
    # (target-postgres) then fail to write the state back.
    assert all(isinstance(value, int) for value in history[0])


def test_export_window_days_defaults_to_a_year() -> None:
    settings = Settings.parse({"start_date": DATA_START})
    assert settings.export_window_days == 365
    windows = plan_windows([(parse("2022-11-20T00:00:00Z"), parse("2025-11-20T00:00:00Z"))],
                           365, UTC)
    assert [(w.end - w.start).days for w in windows] == [31, 92, 243, 364, 364]
