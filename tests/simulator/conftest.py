"""Helpers for the simulator's own tests: an authenticated HTTP client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tap_pardot.simulator import Simulator


class Api:
    """requests.Session bound to one simulator, with an OAuth token and BU header."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.url = sim.url
        self.s = requests.Session()
        c = sim.credentials
        r = self.s.post(f"{self.url}/services/oauth2/token", data={
            "grant_type": "refresh_token", "refresh_token": c["refresh_token"],
            "client_id": c["client_id"], "client_secret": c["client_secret"]})
        r.raise_for_status()
        self.token = r.json()["access_token"]
        self.headers = {"Authorization": f"Bearer {self.token}",
                        "Pardot-Business-Unit-Id": c["pardot_business_unit_id"]}

    def get(self, path: str, **kw: Any) -> requests.Response:
        url = path if path.startswith("http") else self.url + path
        return self.s.get(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        url = path if path.startswith("http") else self.url + path
        return self.s.post(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def admin(self, path: str, body: Any = None) -> Any:
        if body is None:
            r = self.s.get(f"{self.url}/_sim/{path}")
        else:
            r = self.s.post(f"{self.url}/_sim/{path}", json=body)
        r.raise_for_status()
        return r.json()


FROZEN = {"clock_rate": 0}


@pytest.fixture
def api_factory(sim_factory: Callable[..., Simulator]) -> Callable[..., Api]:
    def make(knobs: dict[str, Any] | None = None, seed: int = 1) -> Api:
        return Api(sim_factory({**FROZEN, **(knobs or {})}, seed))

    return make


@pytest.fixture
def api(api_factory: Callable[..., Api]) -> Api:
    return api_factory()
