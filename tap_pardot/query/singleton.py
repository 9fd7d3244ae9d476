"""The v5 singletons (`account`): one GET with `fields`, whose reply is the record itself."""

from __future__ import annotations

import typing as t

from typing_extensions import override

from tap_pardot.client import PardotAPIError, response_json
from tap_pardot.query.plan import Plan

if t.TYPE_CHECKING:
    import datetime as dt

    import requests


class SingletonPlan(Plan):
    """Read once per run, whole: no filter, sort, paging or bookmark."""

    v5 = True

    @override
    def plan_params(self) -> dict[str, t.Any]:
        return {"fields": self.stream.v5_fields}

    @override
    def rows(self, response: requests.Response) -> list[dict[str, t.Any]]:
        body = response_json(response)
        if not isinstance(body, dict):
            raise PardotAPIError(f"unexpected v5 reply, not an object: {str(body)[:80]!r}")
        return [body]

    @override
    def keep(self, record: dict[str, t.Any], updated: dt.datetime | None) -> bool:
        return True

    @override
    def next(self, response: requests.Response) -> dict[str, t.Any] | None:
        return None

    @override
    def checkpoint(self) -> None:
        pass
