"""Query timeouts on long ranges (knobs `query_timeout_*`; docs/simulator.md).

Sources: airbyte#56366 (v5 `updatedAt ASC` from a far start date answers 504 where a recent
one works), airbyte#74886 (v5 visitor activities: `504. Error: Gateway timeout.`),
pardot/api-docs#174 (v4 visitor activities: a query matching ~450,000 records "usually falls
on a timeout error", status and body not given), and Pardot's error list as transcribed by
third parties: 214 `API request timed out.`. Which of range length or matched rows decides is
not known: one knob for each, and one for the reply where the sources are silent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .http import ApiError

MESSAGE_214 = "API request timed out."
DAY = 86400


class GatewayTimeout(Exception):
    """Answered as HTTP 504 with a gateway's HTML page (app.py)."""


def check(knobs: Any, lows: Iterable[int], highs: Iterable[int], now: int,
          matches: Callable[[int], int]) -> None:
    """Raise the configured timeout if the query's date range (its latest lower bound to
    its earliest upper bound, or now) or the records it matches from where it stands (what
    `matches(limit)` counts, stopping past `limit`) exceed the knobs."""
    days, rows = knobs["query_timeout_range_days"], int(knobs["query_timeout_rows"])
    too_long = False
    if days:
        lo, hi = max(lows, default=None), min(highs, default=now)
        too_long = lo is not None and hi - lo > float(days) * DAY
    if not too_long and not (rows and matches(rows) > rows):
        return
    if knobs["query_timeout_reply"] == "214":
        raise ApiError(214, MESSAGE_214)
    raise GatewayTimeout
