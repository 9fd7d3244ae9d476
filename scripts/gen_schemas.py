"""Writes tap_pardot/schemas/<stream>.json from the field definitions in
tap_pardot/simulator/schema.py (pardot-v5-objects.md), the one source of both: `make schemas`.

A stream's properties are its object's fields, snake_case, typed (integer, number, boolean,
date-time string, string, array of integers; `id` never null), less what the tap does not
extract: fields the v5 query refuses (read endpoint only: bodies, layout CSS), nested option
arrays and a prospect's password. Prospects' custom fields are added at discovery
(custom_fields.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tap_pardot.simulator.schema import STREAMS, StreamSpec

SCHEMAS = Path(__file__).resolve().parent.parent / "tap_pardot" / "schemas"
NOT_EXTRACTED = frozenset({"password"})
_TYPES = {"int": "integer", "num": "number", "bool": "boolean", "str": "string", "dt": "string",
          "ints": "array"}


def schema_for(spec: StreamSpec) -> dict:
    """The JSON schema of `spec`'s stream."""
    props: dict[str, dict] = {}
    for name, kind in spec.fields:
        if kind not in _TYPES or name in spec.read_only or name in NOT_EXTRACTED:
            continue
        prop: dict = {"type": [_TYPES[kind]] if name == "id" else [_TYPES[kind], "null"]}
        if kind == "ints":
            prop["items"] = {"type": ["integer"]}
        if kind == "dt":
            prop["format"] = "date-time"
        props[name] = prop
    return {"type": "object", "properties": props, "required": ["id"]}


def rendered(spec: StreamSpec) -> str:
    return json.dumps(schema_for(spec), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    for name, spec in STREAMS.items():
        (SCHEMAS / f"{name}.json").write_text(rendered(spec))
    print(f"wrote {len(STREAMS)} schemas", file=sys.stderr)
