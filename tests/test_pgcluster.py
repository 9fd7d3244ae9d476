"""tests/pgcluster.py says plainly why the end-to-end test skips when it cannot run."""

from __future__ import annotations

from pathlib import Path

import pgcluster
import pytest


def test_missing_binaries_are_named_with_the_way_to_install_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_BINDIR", str(tmp_path))  # no initdb there
    why = pgcluster.why_not()
    assert why is not None
    assert why.startswith("PostgreSQL server binaries not found")
    assert "`make e2e` installs them with apt-get" in why
    with pytest.raises(RuntimeError, match="binaries not found"):
        pgcluster.start()
