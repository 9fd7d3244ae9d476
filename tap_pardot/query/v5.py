"""v5 query paging, sorted `updatedAt ASC, id ASC`.

Follow nextPageToken; when a sequence ends early (the 100,000-record cap, told by a
`Pardot-Warning` header, or a full page without a token) restart with the rest of the hwm
second (`idGreaterThan` the last id) and then from hwm + 1 s. So a clump of records sharing
one second is neither lost nor looped on, whatever its size.
"""

from __future__ import annotations

import typing as t

from typing_extensions import override

from tap_pardot.client import PardotAPIError, response_json
from tap_pardot.convert import snake_to_camel
from tap_pardot.query.plan import Plan, PlanStream, replication_key
from tap_pardot.times import SECOND, iso

if t.TYPE_CHECKING:
    import datetime as dt

    import requests

# The cap's warning code is 101 in Pardot's 2023 code and 203 in today's docs; its text
# names the page token (pardot-api.md §3a).
CAP_CODES = frozenset({"101", "203"})


def warnings(header: str) -> list[tuple[str, str]]:
    """`code;message` pairs of a `Pardot-Warning` header: joined by `,`, with `,` and `;`
    inside a message escaped by a backslash."""
    out, part, escaped = [], "", False
    for char in header + ",":
        if escaped:
            part, escaped = part + char, False
        elif char == "\\":
            escaped = True
        elif char == ",":
            code, _, message = part.partition(";")
            if code.strip() or message.strip():
                out.append((code.strip(), message.strip()))
            part = ""
        else:
            part += char
    return out


def capped(response: requests.Response) -> bool:
    """True if Pardot ended the page-token sequence at its record cap."""
    return any(code in CAP_CODES or "nextpagetoken" in message.lower()
               for code, message in warnings(response.headers.get("Pardot-Warning", "")))


class V5SortedPlan(Plan):
    """v5 objects filterable and sortable by updatedAt."""

    v5 = True

    def __init__(self, stream: PlanStream, start: dt.datetime, tie_id: int | None, *,
                 end: dt.datetime | None = None) -> None:
        super().__init__(stream, start, tie_id, end=end)
        self.phase = "clump" if tie_id is not None else "main"

    @override
    def plan_params(self) -> dict[str, t.Any]:
        params = self.base_params()
        key = snake_to_camel(replication_key(self.stream))  # updatedAt (createdAt, sentAt)
        if self.phase == "clump":
            params.update({
                "orderBy": "id ASC",
                f"{key}AfterOrEqualTo": iso(self.hwm),
                f"{key}BeforeOrEqualTo": iso(self.hwm),
                "idGreaterThan": self.hwm_id,
            })
            return params
        after = self.hwm + SECOND if self.hwm_id is not None else self.hwm
        params["orderBy"] = f"{key} ASC,id ASC"
        params[f"{key}AfterOrEqualTo"] = iso(after)
        if self.end is not None:
            params[f"{key}BeforeOrEqualTo"] = iso(self.end)
        return params

    @override
    def request_span(self) -> tuple[dt.datetime, dt.datetime]:
        # The walk of the hwm second by id is one second; else the rest of the range.
        return (self.hwm, self.hwm if self.phase == "clump" else self.end)

    @override
    def keep(self, record: dict[str, t.Any], updated: dt.datetime | None) -> bool:
        if updated is None:
            return False
        rid = record["id"]
        if updated < self.hwm or (
            updated == self.hwm and self.hwm_id is not None and rid <= self.hwm_id
        ):
            return False
        if self.end is not None and updated > self.end:
            return False
        if updated > self.hwm:
            self.hwm, self.hwm_id = updated, rid
        else:
            self.hwm_id = rid if self.hwm_id is None else max(rid, self.hwm_id)
        return True

    @override
    def next(self, response: requests.Response) -> dict[str, t.Any] | None:
        body = response_json(response) or {}
        token = body.get("nextPageToken")
        at_cap = capped(response)
        if token and not at_cap:
            return self.token({"fields": self.stream.v5_fields, "nextPageToken": token})
        if at_cap or self.page_rows >= self.limit:
            if self.emitted_since_restart == 0:
                msg = f"{self.stream.name}: a restarted query made no progress at {self.hwm}"
                raise PardotAPIError(msg)
            self.stream.logger.info(
                "%s: page sequence ended%s; restarting from %s",
                self.stream.name, " at the record cap" if at_cap else "", iso(self.hwm),
            )
            self.emitted_since_restart = 0
            self.phase = "clump" if self.hwm_id is not None else "main"
            return self.token(self.plan_params())
        if self.phase == "clump":
            self.phase = "main"
            return self.token(self.plan_params())
        return None
