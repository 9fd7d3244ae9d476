"""Rewrites the README's generated tables: the settings (from `tap-pardot --about --format=
markdown`) and the streams (from the stream declarations, tap_pardot/streams.py)."""

import re
import subprocess
import sys
from pathlib import Path

from tap_pardot.streams import STREAM_TYPES

BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"
STREAMS_BEGIN, STREAMS_END = "<!-- streams:begin -->", "<!-- streams:end -->"
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


def _v5_read(stream: type) -> str:
    if not stream.v5_path:
        return "skipped"
    if stream.parent_stream_type:
        return f"one read per {stream.parent_stream_type.name} record"
    if stream.singleton:
        return "one record"
    if not stream.replication_key:
        return "whole, by id"
    if stream.v5_order == "id":
        return "id walk"
    if stream.v5_order_unsure:
        return f"sorted by {stream.replication_key}, else id walk"
    return f"sorted by {stream.replication_key}"


def _v3_read(stream: type) -> str:
    if not stream.v3_object:
        return "skipped"
    if getattr(stream, "v3_output", None):  # nested in another object's rows
        how = "whole, by id" if stream.v3_full_table else "id walk"
        return f"{how} of {stream.v3_object} rows"
    if stream.v3_full_table:
        return "whole, by id"
    return "id walk" if stream.v3_sort_by == "id" else f"sorted by {stream.replication_key}"


def stream_rows() -> list[list[str]]:
    """One row per stream: name, key, replication key (or full table), how v5 and v3/v4
    read it, the sync modes and whether deleted records come with `is_deleted`."""
    rows = []
    for stream in STREAM_TYPES:
        modes = ("export, query" if stream.export_object else
                 "query; export where the account has generic v5 exports"
                 if stream.export_generic else "query")
        rows.append([stream.name, ",".join(stream.primary_keys),
                     stream.replication_key or "full table", _v5_read(stream),
                     _v3_read(stream), modes, "yes" if stream.deletable else "no"])
    return rows


def streams_table() -> str:
    head = ["stream", "primary key", "replication key", "v5 query", "v3/v4 query",
            "sync modes", "deleted"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in stream_rows()]
    return "\n".join(lines)


def _replace(text: str, begin: str, end: str, body: str) -> str:
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def render(readme: str) -> str:
    readme = _replace(readme, BEGIN, END, settings_table())
    return _replace(readme, STREAMS_BEGIN, STREAMS_END, streams_table())


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
    print(f"updated {README.name}")
