"""Records nested in another object's v3/v4 query rows (pardot-v5-objects.md, Appendix B).

An opportunity's `prospects` and a visitor's `visitor_referrer` exist only inside their
parent's rows (`output=simple` / `full`). The parent's query is walked as the parent stream
would walk it (by id, with the parent's time filter or the whole table); each parent row
gives zero or more child records, and paging, checkpoints and the time window are the
parent's, whatever its children hold.
"""

from __future__ import annotations

import typing as t

from typing_extensions import override

from tap_pardot.query.idwalk import FullTablePlan, IdWalkPlan
from tap_pardot.query.plan import Plan
from tap_pardot.times import parse_utc

if t.TYPE_CHECKING:
    import datetime as dt

    import requests


class NestedRows(Plan):
    """A plan over parent rows that yields the records nested in them."""

    @override
    def plan_params(self) -> dict[str, t.Any]:
        params = super().plan_params()
        params["output"] = t.cast("t.Any", self.stream).v3_output  # bulk drops nested objects
        return params

    @override
    def records(self, response: requests.Response) -> t.Iterator[dict[str, t.Any]]:
        rows = self.rows(response)
        self.page_rows = len(rows)
        self.last_raw_id = None
        convert, window = self.convert, self.window()
        stream = t.cast("t.Any", self.stream)
        rkey = stream.replication_key
        for row in rows:
            parent_id = int(row["id"])
            self.last_raw_id = parent_id
            when: dt.datetime | None = None
            if rkey:
                value = convert({"id": parent_id, rkey: row.get(rkey)}, window=window)[rkey]
                when = parse_utc(value) if value else None
            if not self.keep({"id": parent_id}, when):
                continue
            for child in stream.children(row):
                self.emitted_since_restart += 1
                yield convert(child, window=window)


class NestedIdWalkPlan(NestedRows, IdWalkPlan):
    """The parent walked by id within the bookmark's time range (visitors)."""


class NestedFullTablePlan(NestedRows, FullTablePlan):
    """The parent's whole table by id, every run (opportunities: no updated_at filter)."""


def nested_list(value: t.Any, key: str) -> list[dict[str, t.Any]]:
    """A v3/v4 JSON (from XML) collection: `{"prospect": {...}}` for one element,
    `{"prospect": [...]}` for several, null, "" or absent for none."""
    inner = value.get(key) if isinstance(value, dict) else None
    if isinstance(inner, dict):
        return [inner]
    return [item for item in inner if isinstance(item, dict)] if isinstance(inner, list) else []
