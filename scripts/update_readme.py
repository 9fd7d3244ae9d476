"""Rewrites the README's settings table from `tap-pardot --about --format=markdown`."""

import re
import subprocess
import sys
from pathlib import Path

BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"
README = Path(__file__).resolve().parent.parent / "README.md"


def settings_table() -> str:
    """The settings section of the tap's --about markdown, without its heading."""
    about = subprocess.run(
        [sys.executable, "-m", "tap_pardot", "--about", "--format=markdown"],
        check=True, capture_output=True, text=True,
    ).stdout
    match = re.search(r"^## Settings\n(.*?)(?=^## |\Z)", about, re.M | re.S)
    if not match:
        raise SystemExit("no '## Settings' section in tap-pardot --about --format=markdown")
    return match.group(1).strip()


def render(readme: str) -> str:
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{settings_table()}\n{END}{tail}"


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
    print(f"updated {README.name}")
