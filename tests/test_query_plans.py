"""Paging plans against a tiny in-memory API: ties, page ends, the 100k cap, DST on v3/v4."""

from __future__ import annotations

import datetime as dt
import json
import random
import typing as t
from types import SimpleNamespace

import pytest
import requests

from tap_pardot.client import PardotAPIError
from tap_pardot.convert import RecordConverter
from tap_pardot.query.idwalk import IdWalkPlan
from tap_pardot.query.v3 import V3SortedPlan
from tap_pardot.query.v5 import V5SortedPlan
from tap_pardot.settings import Settings
from tap_pardot.times import parse_utc

UTC = dt.timezone.utc
T0 = dt.datetime(2025, 11, 1, tzinfo=UTC)
SCHEMA = {"properties": {"id": {"type": ["integer"]},
                         "updated_at": {"type": ["string", "null"], "format": "date-time"}}}


def make_rows(n: int, clump: int, seed: int = 3) -> list[tuple[dt.datetime, int]]:
    """n records; `clump` of them share one second; ids not in time order."""
    rnd = random.Random(seed)
    ids = list(range(1, n + 1))
    rnd.shuffle(ids)
    times = [T0 + dt.timedelta(seconds=rnd.randrange(0, 5000)) for _ in range(n - clump)]
    times += [T0 + dt.timedelta(seconds=2500)] * clump
    return sorted(zip(times, ids, strict=True))


def response(body: dict, headers: dict | None = None) -> requests.Response:
    reply = requests.Response()
    reply.status_code = 200
    reply._content = json.dumps(body).encode()
    reply.headers.update(headers or {})
    return reply


class FakeV5:
    """Filters, orderBy and nextPageToken with a record cap per token sequence."""

    def __init__(self, rows: list[tuple[dt.datetime, int]], cap: int) -> None:
        self.rows, self.cap, self.calls = rows, cap, 0
        self.tokens: dict[str, tuple[list[tuple[dt.datetime, int]], int, int]] = {}

    def __call__(self, params: dict[str, t.Any]) -> requests.Response:
        self.calls += 1
        if "nextPageToken" in params:
            hits, limit, count = self.tokens.pop(params["nextPageToken"])
        else:
            lo = parse_utc(params["updatedAtAfterOrEqualTo"])
            hi = params.get("updatedAtBeforeOrEqualTo")
            after_id = int(params.get("idGreaterThan", 0))
            hits = [r for r in self.rows if r[0] >= lo and r[1] > after_id
                    and (hi is None or r[0] <= parse_utc(hi))]
            if params["orderBy"] == "id ASC":
                hits.sort(key=lambda r: r[1])
            limit, count = int(params["limit"]), 0
        take = min(limit, self.cap - count)
        page, rest = hits[:take], hits[take:]
        body: dict[str, t.Any] = {"values": [{"id": i, "updatedAt": ts.isoformat()}
                                             for ts, i in page]}
        headers = {}
        if rest and count + take >= self.cap:
            headers["Pardot-Warning"] = "203;Record count for nextPageToken sequence exceeded"
        elif rest:
            token = f"t{self.calls}"
            self.tokens[token] = (rest, limit, count + take)
            body["nextPageToken"] = token
        return response(body, headers)


BOUND = dt.datetime(2026, 1, 1, tzinfo=UTC)  # Pardot's clock less the settle time


def fake_stream(page_size: int, version: int = 5, tz: str = "UTC") -> t.Any:
    converter = RecordConverter(SCHEMA, tz)
    return SimpleNamespace(
        name="s", settings=Settings.parse({"page_size": page_size, "api_version": version}),
        read_bound=lambda: BOUND, deletable=False, v5_fields="id,updatedAt", v3_params={},
        v3_collection="thing", v3_object="thing", v3_deleted=False, api_version=version,
        stream_state={}, replication_key="updated_at",
        converter=converter, fetch_converter=lambda: converter,
        check_timezone=lambda *a: None,
        logger=SimpleNamespace(info=lambda *a: None),
        checkpoint=lambda *a, **k: None,
    )


def drive(plan: t.Any, api: t.Callable) -> list[dict]:
    out, token = [], plan.first()
    while token:
        reply = api(token["params"])
        out.extend(plan.records(reply))
        token = plan.next(reply)
    return out


@pytest.mark.parametrize(("page", "cap", "clump"), [(50, 10**6, 120), (50, 120, 120),
                                                   (50, 100, 300), (40, 1000, 0)])
def test_v5_ties_and_cap_neither_lose_nor_repeat(page: int, cap: int, clump: int) -> None:
    rows = make_rows(700, clump)
    api = FakeV5(rows, cap)
    out = drive(V5SortedPlan(fake_stream(page), T0, None), api)
    assert [r["id"] for r in out] == [i for _, i in rows]


def test_v5_resume_from_tie_break_skips_emitted() -> None:
    rows = make_rows(300, 100)
    clump_time = T0 + dt.timedelta(seconds=2500)
    at_clump = sorted(i for ts, i in rows if ts == clump_time)
    tie = at_clump[40]
    plan = V5SortedPlan(fake_stream(30), clump_time, tie)
    out = drive(plan, FakeV5(rows, 10**6))
    expected = [i for ts, i in rows if ts > clump_time or (ts == clump_time and i > tie)]
    assert sorted(r["id"] for r in out) == sorted(expected)
    assert plan.hwm == rows[-1][0]


def test_v5_restart_without_progress_is_an_error() -> None:
    plan = V5SortedPlan(fake_stream(10), T0, None)
    full_page = response({"values": []}, {"Pardot-Warning": "203;cap"})
    plan.page_rows = 10
    with pytest.raises(PardotAPIError, match="no progress"):
        plan.next(full_page)


class FakeV3:
    """v3/v4 bulk: exclusive bounds (or inclusive), sort by updated_at (ties shuffled) or id."""

    def __init__(self, rows: list[tuple[dt.datetime, int]], tz: str = "UTC",
                 inclusive: bool = False) -> None:
        self.rows, self.tz, self.inclusive, self.calls = rows, tz, inclusive, 0

    def __call__(self, params: dict[str, t.Any]) -> requests.Response:
        self.calls += 1
        lo = parse_utc(params["updated_after"])
        hi = parse_utc(params["updated_before"]) if "updated_before" in params else None
        after_id = int(params.get("id_greater_than", 0))
        if self.inclusive:
            hits = [r for r in self.rows if r[0] >= lo and (hi is None or r[0] <= hi)]
        else:
            hits = [r for r in self.rows if r[0] > lo and (hi is None or r[0] < hi)]
        hits = [r for r in hits if r[1] > after_id]
        rnd = random.Random(self.calls)
        if params["sort_by"] == "id":
            hits.sort(key=lambda r: r[1])
        else:
            hits.sort(key=lambda r: (r[0], rnd.random()))  # ties in no defined order
        page = hits[: int(params["limit"])]
        zone = __import__("zoneinfo").ZoneInfo(self.tz)
        rows = [{"id": i, "updated_at": ts.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")}
                for ts, i in page]
        result: t.Any = {"thing": rows[0] if len(rows) == 1 else rows} if rows else None
        return response({"@attributes": {"stat": "ok", "version": 1}, "result": result})


@pytest.mark.parametrize("inclusive", [False, True])
@pytest.mark.parametrize(("page", "clump"), [(20, 0), (20, 45), (200, 250)])
def test_v3_ties_neither_lose_nor_repeat(page: int, clump: int, inclusive: bool) -> None:
    rows = make_rows(600, clump)
    out = drive(V3SortedPlan(fake_stream(page, 4), T0, None), FakeV3(rows, inclusive=inclusive))
    ids = [r["id"] for r in out]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(i for _, i in rows)


def test_v3_dst_fall_back_keeps_time_order() -> None:
    ny = "America/New_York"
    base = dt.datetime(2025, 11, 2, 4, 30, tzinfo=UTC)  # 00:30 EDT
    rows = [(base + dt.timedelta(minutes=7 * k), k + 1) for k in range(40)]  # across 06:00Z
    plan = V3SortedPlan(fake_stream(7, 4, ny), base, None)
    out = drive(plan, FakeV3(rows, ny))
    assert [r["id"] for r in out] == [i for _, i in rows]
    assert [parse_utc(r["updated_at"]) for r in out] == [ts for ts, _ in rows]


def test_id_walk_filters_client_side_and_completes() -> None:
    rows = make_rows(250, 0)
    start = T0 + dt.timedelta(seconds=2000)
    calls = []

    def api(params: dict) -> requests.Response:
        calls.append(params)
        after = int(params.get("idGreaterThan", 0))
        hits = sorted((r for r in rows if r[1] > after), key=lambda r: r[1])
        page = hits[: int(params["limit"])]
        return response({"values": [{"id": i, "updatedAt": ts.isoformat()} for ts, i in page]})

    plan = IdWalkPlan(fake_stream(40), start, None)
    out = drive(plan, api)
    assert sorted(r["id"] for r in out) == sorted(i for ts, i in rows if ts >= start)
    assert len(calls) == 250 // 40 + 1  # every id once, then the walk ends
