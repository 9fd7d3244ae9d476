"""Shared fixtures: a Pardot API simulator on 127.0.0.1 (tap_pardot.simulator)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tapkit import extracted_truth

from tap_pardot.simulator import Simulator


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
