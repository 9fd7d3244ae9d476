"""Error mapping (retry vs fatal vs clean stop) and the request gate, without a network."""

from __future__ import annotations

import functools
import json
import threading
import time
import typing as t

import pytest
import requests
import tapkit
from singer_sdk.exceptions import RetriableAPIError
from tapkit import tap_streams

from tap_pardot.auth import PardotOAuthAuthenticator
from tap_pardot.client import PardotAPIError, TokenRejected, pardot_error
from tap_pardot.custom_fields import CustomFieldsMixin
from tap_pardot.limits import DailyLimitReached, RequestGate, StopRun
from tap_pardot.tap import TapPardot


@pytest.fixture(autouse=True)
def _no_custom_field_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    """These taps have no API to ask (offline): discovery skips the custom fields."""
    monkeypatch.setattr(CustomFieldsMixin, "discover_custom_fields", lambda self: None)


CONFIG = {"client_id": "cid", "client_secret": "S3CRET", "refresh_token": "RT",
          "pardot_business_unit_id": "0Uv000000000001AAA",
          "start_date": "2025-01-01T00:00:00Z", "api_base_url": "http://127.0.0.1:9",
          "auth_base_url": "http://127.0.0.1:9"}


def reply(status: int, body: t.Any, headers: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers.update({"Content-Type": "application/json", **(headers or {})})
    response.url = "http://127.0.0.1:9/api/v5/objects/prospects"
    response.request = requests.Request("GET", response.url,
                                        headers={"Authorization": "Bearer T"}).prepare()
    return response


@pytest.fixture
def stream() -> t.Any:
    tap = TapPardot(config=CONFIG, validate_config=True, setup_mapper=False)
    stream = tap_streams(tap)["prospects"]
    authenticator = stream.authenticator
    assert isinstance(authenticator, PardotOAuthAuthenticator)
    authenticator.access_token = "T"
    return stream


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, {"code": 183, "message": "An internal error occurred"}, RetriableAPIError),
        (503, {}, RetriableAPIError),
        (429, {"code": 66, "message": "concurrent request limit"}, RetriableAPIError),
        (200, {"@attributes": {"stat": "fail", "version": 1, "err_code": 66},
               "err": "You have exceeded your concurrent request limit"}, RetriableAPIError),
        (400, {"code": 224, "message": "Invalid fields for request type"}, PardotAPIError),
        (400, {"@attributes": {"stat": "fail", "err_code": 5}, "err": "Invalid query"},
         PardotAPIError),
        (404, {"code": 201, "message": "Business Unit not found"}, PardotAPIError),
    ],
)
def test_errors_map_to_retry_or_fatal(stream: t.Any, status: int, body: dict,
                                      error: type) -> None:
    with pytest.raises(error):
        stream.validate_response(reply(status, body))


def test_ok_responses_pass(stream: t.Any) -> None:
    stream.validate_response(reply(200, {"values": []}))
    stream.validate_response(reply(200, {"@attributes": {"stat": "ok"}, "result": None}))


def test_business_unit_error_names_the_setting(stream: t.Any) -> None:
    with pytest.raises(PardotAPIError) as info:
        stream.validate_response(reply(404, {"code": 201, "message": "Business Unit not "
                                             "found or inactive"}))
    assert "`pardot_business_unit_id`" in str(info.value)
    assert "\n" not in str(info.value)


def test_token_refused_refreshes_once_then_fails(stream: t.Any) -> None:
    response = reply(401, {"code": 184, "message": "access_token is invalid"})
    with pytest.raises(TokenRejected):
        stream.validate_response(response)
    assert stream.authenticator.last_refreshed is None  # forces a refresh on resend
    stream.authenticator.access_token = "T"
    with pytest.raises(PardotAPIError, match="pardot_api"):
        stream.validate_response(response)  # the same request refused again


def test_daily_limit_stops_the_run(stream: t.Any) -> None:
    with pytest.raises(DailyLimitReached, match="run again"):
        stream.validate_response(reply(429, {"code": 122,
                                             "message": "Daily API rate limit met"}))
    with pytest.raises(StopRun):
        stream.run.gate.acquire()


def test_pardot_error_reads_both_envelopes() -> None:
    assert pardot_error(reply(400, {"code": 7, "message": "m"})) == (7, "m")
    v3 = {"@attributes": {"stat": "fail", "version": 1, "err_code": "49"}, "err": "Access"}
    assert pardot_error(reply(401, v3)) == (49, "Access")


def test_gate_caps_concurrency_across_threads() -> None:
    gate = RequestGate(max_concurrency=3)

    def work() -> None:
        release = gate.acquire()
        time.sleep(0.02)
        release()

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gate.peak_in_flight == 3
    assert gate.calls == 12


# tapkit's config for a simulator, queried, and without its `timezone` setting.
sim_config = functools.partial(tapkit.sim_config, sync_mode="query",
                               start_date="2025-01-01T00:00:00Z", page_size=100,
                               timezone=None)


def test_5xx_and_error_66_are_retried(sim_factory: t.Any, capsys: t.Any) -> None:
    sim = sim_factory(knobs={"prospects": {"count": 250, "clump_size": 0},
                             "fault_5xx_count": 3, "max_concurrent_requests": 1})
    tap = TapPardot(config=sim_config(sim, max_concurrency=2))
    tap.run.backoff_factor = 0.0
    stream = tap_streams(tap)["prospects"]
    url = stream.get_url(None)
    barrier = threading.Barrier(2)
    replies: list[int] = []

    def call() -> None:
        barrier.wait()
        params = {"fields": "id", "limit": 1, "orderBy": "id ASC"}
        replies.append(stream.pardot_request("GET", url, params=params).status_code)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert replies == [200, 200]
    counts = requests.get(f"{sim.url}/_sim/stats", timeout=5).json()
    assert counts["total_calls"] >= 5  # token + 2 calls + 3 faults (+ any 66)


def test_retries_are_bounded(sim_factory: t.Any) -> None:
    sim = sim_factory(knobs={"fault_5xx_count": 50})
    tap = TapPardot(config=sim_config(sim))
    tap.run.backoff_factor = 0.0
    stream = tap_streams(tap)["visitors"]
    with pytest.raises(RetriableAPIError):
        stream.pardot_request("GET", stream.get_url(None), params={"fields": "id"})
    assert tap.run.gate.calls <= 1 + 6  # the token call and six tries


def test_request_timeout_is_retried_then_reported(sim_factory: t.Any) -> None:
    sim = sim_factory()
    tap = TapPardot(config=sim_config(sim, request_timeout_seconds=0.1))
    tap.run.backoff_factor = 0.0
    stream = tap_streams(tap)["visitors"]
    stream.authenticator(requests.Request("GET", sim.url).prepare())  # token first
    requests.post(f"{sim.url}/_sim/knobs", json={"latency_ms": 400}, timeout=5)
    with pytest.raises(requests.exceptions.Timeout):
        stream.pardot_request("GET", stream.get_url(None), params={"fields": "id"})
    assert tap.run.gate.calls == 1 + 6
