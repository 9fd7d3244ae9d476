"""docs/simulator.md documents every knob."""

from __future__ import annotations

from pathlib import Path

from tap_pardot.simulator import DEFAULT_KNOBS

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def test_every_knob_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [k for k in DEFAULT_KNOBS if f"`{k}`" not in text]
    assert not missing
