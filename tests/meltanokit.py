"""Helpers the tests through a real Meltano share (`make test` installs it; MELTANO_BIN): a
copy of this project, and `meltano` run in it with only the variables a test gives."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MELTANO = os.environ.get("MELTANO_BIN", "")
NO_MELTANO = "MELTANO_BIN is set by `make test`"


def copy_project(root: Path) -> Path:
    """A copy of this Meltano project in `root`: meltano.yml, and the plugins `make test`
    installed (linked, not copied)."""
    (root / ".meltano").mkdir(parents=True)
    (root / "output").mkdir()
    shutil.copy(ROOT / "meltano.yml", root)
    for kind in ("extractors", "loaders"):
        (root / ".meltano" / kind).symlink_to(ROOT / ".meltano" / kind)
    return root


def run_meltano(project: Path, *args: str, env: dict[str, str] | None = None,
                timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """Meltano in `project`, with no TAP_PARDOT_*/TARGET_*/MELTANO_* variable but `env`'s;
    fails the test unless it exits 0."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("TAP_PARDOT_", "TARGET_", "MELTANO_"))}
    run = subprocess.run(
        [MELTANO, *args], cwd=project, capture_output=True, text=True, timeout=timeout,
        env={**clean, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})})
    if run.returncode:
        # The first error a plugin logged, then the end (Meltano's traceback).
        lines = run.stderr.splitlines()
        first = next((k for k, line in enumerate(lines)
                      if "error" in line.lower() or "Traceback" in line), 0)
        detail = "\n".join(lines[max(0, first - 3):first + 30])
        pytest.fail(f"meltano {' '.join(args)} exited {run.returncode}:\n{detail}\n...\n"
                    f"{run.stderr[-1500:]}")
    return run


def meltano(project: Path, *args: str, env: dict[str, str] | None = None,
            timeout: int = 120) -> str:
    """`run_meltano`'s stdout."""
    return run_meltano(project, *args, env=env, timeout=timeout).stdout
