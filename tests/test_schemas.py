"""The streams' JSON schemas are generated from the simulator's field definitions
(scripts/gen_schemas.py, `make schemas`): one source for both, checked here."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import gen_schemas  # noqa: E402

from tap_pardot.simulator.schema import STREAMS  # noqa: E402


@pytest.mark.parametrize("stream", sorted(STREAMS))
def test_schema_file_is_generated(stream: str) -> None:
    path = gen_schemas.SCHEMAS / f"{stream}.json"
    assert path.read_text() == gen_schemas.rendered(STREAMS[stream]), "run `make schemas`"


# Records nested in other objects' v3/v4 rows or read per list email (pardot-v5-objects.md
# Appendix B): no object of their own in the simulator, so their schemas are written by hand.
NESTED = {"opportunity_prospects", "visitor_referrers", "visitor_identified_companies",
          "list_email_stats"}


def test_no_schema_without_a_definition() -> None:
    files = {p.stem for p in gen_schemas.SCHEMAS.glob("*.json")}
    assert files == set(STREAMS) | NESTED
