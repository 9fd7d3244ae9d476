"""Limits and faults: concurrency (66), daily budget (122), 5xx, latency, dropped downloads."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .conftest import Api

PATH = "/api/v5/objects/prospects?fields=id&limit=1"


def test_more_than_five_in_flight_gets_66(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"latency_ms": 400})
    api.admin("stats/reset", {})

    def call(_: int) -> int:
        r = requests.get(api.url + PATH, headers=api.headers, timeout=30)
        return r.json().get("code", 0) if r.status_code != 200 else 0

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(call, range(8)))
    assert codes.count(66) == 3
    stats = api.admin("stats")
    assert stats["peak_in_flight"] == 8
    assert stats["errors_by_code"]["66"] == 3


def test_five_in_flight_is_fine(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"latency_ms": 200})
    with ThreadPoolExecutor(5) as pool:
        statuses = list(pool.map(
            lambda _: requests.get(api.url + PATH, headers=api.headers, timeout=30).status_code,
            range(5)))
    assert statuses == [200] * 5
    assert api.admin("stats")["peak_in_flight"] == 5


def test_daily_budget_gives_122_until_the_next_local_day(
        api_factory: Callable[..., Api]) -> None:
    api = api_factory({"daily_call_limit": 3, "token_ttl_seconds": 10**6})
    assert [api.get(PATH).status_code for _ in range(3)] == [200] * 3
    r = api.get(PATH)
    assert (r.status_code, r.json()) == (429, {"code": 122, "message": "Daily API rate limit met"})
    v3 = api.get("/api/prospect/version/4/do/query", params={"format": "json"})
    assert v3.json()["@attributes"]["err_code"] == 122
    api.sim.set_now("2025-11-21T05:00:01+00:00")  # 00:00:01 in New York
    assert api.get(PATH).status_code == 200


def test_forced_and_random_5xx(api: Api) -> None:
    api.sim.set_knobs({"fault_5xx_count": 2})
    statuses = [api.get(PATH).status_code for _ in range(3)]
    assert statuses[0] >= 500
    assert statuses[1] >= 500
    assert statuses[2] == 200
    api.sim.set_knobs({"fault_5xx_rate": 1.0, "fault_5xx_statuses": [503]})
    assert api.get(PATH).status_code == 503
    api.sim.set_knobs({"fault_5xx_rate": 0.0})
    assert api.get(PATH).ok


def test_latency(api: Api) -> None:
    api.sim.set_knobs({"latency_ms": 150})
    t = time.monotonic()
    api.get(PATH)
    assert time.monotonic() - t >= 0.15


def test_download_dropped_part_way(api: Api) -> None:
    body = {"object": "visitorActivity", "fields": ["id", "details"],
            "procedure": {"name": "filter_by_created_at",
                          "arguments": {"created_after": "2025-09-01 00:00:00"}}}
    eid = api.post("/api/export/version/4/do/create", json=body).json()["id"]
    api.sim.advance(5)
    rep = api.get(f"/api/export/version/4/do/read/id/{eid}").json()
    url = rep["resultRefs"][0]
    full = api.get(url).content
    api.sim.set_knobs({"download_drop_count": 1})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get(url).content  # noqa: B018
    assert api.get(url).content == full  # the retry gets the whole file
    assert api.admin("stats")["errors_by_code"]["download_dropped"] == 1


def test_slow_and_failing_exports(api: Api) -> None:
    api.sim.set_knobs({"export_rows_per_second": 100, "export_failure_rate": 0.0})
    body = {"object": "visitorActivity", "fields": ["id"],
            "procedure": {"name": "filter_by_created_at",
                          "arguments": {"created_after": "2025-09-01 00:00:00"}}}
    eid = api.post("/api/export/version/4/do/create", json=body).json()["id"]
    api.sim.advance(10)
    assert api.get(f"/api/export/version/4/do/read/id/{eid}").json()["state"] == "Processing"
    api.sim.advance(30)
    assert api.get(f"/api/export/version/4/do/read/id/{eid}").json()["state"] == "Complete"
    api.sim.set_knobs({"export_failure_rate": 1.0, "export_rows_per_second": 0})
    eid = api.post("/api/export/version/4/do/create", json=body).json()["id"]
    api.sim.advance(5)
    assert api.get(f"/api/export/version/4/do/read/id/{eid}").json()["state"] == "Failed"


def test_api_usage_header(api: Api) -> None:
    api.get(PATH)
    r = api.get(PATH, headers={"X-Return-Api-Usage": "1"})
    assert r.headers["x-api-usage"] == "2/100000"


def test_five_clients_back_to_back_never_see_66(api: Api) -> None:
    """A client's next request may start the instant the previous response ends."""

    def worker(_: int) -> list[int]:
        s = requests.Session()
        return [s.get(api.url + PATH, headers=api.headers, timeout=30).status_code
                for _ in range(30)]

    with ThreadPoolExecutor(5) as pool:
        statuses = [c for batch in pool.map(worker, range(5)) for c in batch]
    assert set(statuses) == {200}


def test_the_account_object_and_usage_header_follow_the_counters(
        api_factory: Callable[..., Api]) -> None:
    api = api_factory({"daily_call_limit": 50})
    api.get(PATH)
    r = api.get("/api/v5/objects/account?fields=id,maximumDailyApiCalls,apiCallsUsed",
                headers={"X-Return-Api-Usage": "1"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": 1, "maximumDailyApiCalls": 50, "apiCallsUsed": 2}
    assert r.headers["x-api-usage"] == "2/50"
    bad = api.get("/api/v5/objects/account?fields=nope")
    assert (bad.status_code, bad.json()["code"]) == (400, 51)


def test_a_long_range_or_many_matches_time_out(api: Api) -> None:
    """timeouts.py: the range reading, the rows reading, and both replies, v5 and v4."""
    v5 = "/api/v5/objects/visitors"
    v4 = "/api/visitor/version/4/do/query"
    wide = {"fields": "id", "updatedAtAfterOrEqualTo": "2025-09-15T00:00:00+00:00",
            "updatedAtBeforeOrEqualTo": "2025-11-15T00:00:00+00:00"}
    narrow = {**wide, "updatedAtBeforeOrEqualTo": "2025-09-16T00:00:00+00:00"}
    v4_wide = {"format": "json", "output": "bulk", "updated_after": "2025-09-15 00:00:00"}
    v4_narrow = {**v4_wide, "updated_before": "2025-09-16 00:00:00"}
    api.sim.set_knobs({"query_timeout_range_days": 10})
    r = api.get(v5, params=wide)
    assert (r.status_code, r.headers["Content-Type"].split(";")[0]) == (504, "text/html")
    assert api.get(v5, params=narrow).ok
    assert api.get(v4, params=v4_wide).status_code == 504
    assert api.get(v4, params=v4_narrow).ok
    api.sim.set_knobs({"query_timeout_range_days": 0, "query_timeout_rows": 20,
                       "query_timeout_reply": "214"})
    r = api.get(v5, params=wide)
    assert r.json() == {"code": 214, "message": "API request timed out."}
    assert api.get(v5, params=narrow).ok  # a day holds fewer than 20 visitors
    assert api.get(v4, params=v4_wide).json()["@attributes"]["err_code"] == 214
    assert api.get(v4, params=v4_narrow).ok
