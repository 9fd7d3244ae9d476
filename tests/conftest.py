"""Shared fixtures: a Pardot API simulator on 127.0.0.1 (tap_pardot.simulator)."""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tapkit import extracted_truth

from tap_pardot.simulator import Simulator

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to 127.0.0.1 only: resolving any other host fails the test at once."""
    resolve = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK and not str(host).startswith("127."):
            msg = f"a test tried to reach {host}: tests use 127.0.0.1 only"
            raise AssertionError(msg)
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., Simulator]]:
    """`sim_factory(knobs=None, seed=1)` -> a started Simulator, stopped at teardown."""
    started: list[Simulator] = []

    def make(knobs: dict[str, Any] | None = None, seed: int = 1) -> Simulator:
        sim = Simulator(knobs=knobs, seed=seed)
        sim.start()
        started.append(sim)
        sim.truth = functools.partial(extracted_truth, sim.truth)  # type: ignore[method-assign]
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def simulator(sim_factory: Callable[..., Simulator]) -> Simulator:
    """A started Simulator with the default knobs."""
    return sim_factory()
