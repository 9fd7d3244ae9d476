"""NestedStream: a stream read from another object's v3/v4 query rows (query/nested.py)."""

from __future__ import annotations

import typing as t

from typing_extensions import override

from tap_pardot.object_stream import PardotObjectStream
from tap_pardot.query.nested import NestedFullTablePlan, NestedIdWalkPlan

if t.TYPE_CHECKING:
    import datetime as dt

    from tap_pardot.query.plan import Plan


class NestedStream(PardotObjectStream):
    """Records nested in a parent's v3/v4 query rows: `v3_object` is the parent's object,
    `children(row)` turns one parent row into this stream's raw records."""

    v3_output: t.ClassVar[str] = "full"  # the output mode that carries the nested objects
    deletable = False  # the parents' queries return live records only

    def children(self, row: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        """This stream's raw records (v3/v4 names) in one parent row."""
        raise NotImplementedError

    @override
    def new_plan(self, start: dt.datetime, tie_id: int | None, end: dt.datetime) -> Plan:
        if self.v3_full_table:  # no bookmark: the whole table
            return NestedFullTablePlan(self, end, None, end=end)
        return NestedIdWalkPlan(self, start, tie_id, end=end)
