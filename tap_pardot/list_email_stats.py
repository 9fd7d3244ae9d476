"""Per-list-email statistics: one call per list email the parent stream reads.

v5 `GET /api/v5/objects/list-emails/{id}/stats` (current docs, 3P data model) answers one
object of counts and rates under the camelCase names of the v3/v4 `email/do/stats` block
(DOC2020 `docs/kb/api-version-4/emails.md`). Neither says how a rate is written: a number
or percent text (`"12.50%"`) both read as the number.
"""

from __future__ import annotations

import typing as t
from decimal import Decimal, InvalidOperation

from tap_pardot.client import PardotAPIError, response_json
from tap_pardot.convert import snake_to_camel, to_int

if t.TYPE_CHECKING:
    from tap_pardot.client import PardotStream

COUNTS = ("sent", "delivered", "total_clicks", "unique_clicks", "soft_bounced", "hard_bounced",
          "opt_outs", "spam_complaints", "opens", "unique_opens")
RATES = ("delivery_rate", "opens_rate", "click_through_rate", "unique_click_through_rate",
         "click_open_ratio", "opt_out_rate", "spam_complaint_rate")


def rate(value: t.Any) -> Decimal | None:
    """A rate: a number, or text such as `12.50%`; None when empty."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value).strip().removesuffix("%").strip())
    except InvalidOperation:
        msg = f"a list email statistic is not a number: {value!r}"
        raise PardotAPIError(msg) from None


def stats_record(body: t.Any, list_email_id: int) -> dict[str, t.Any]:
    """The record of one stats reply: a flat object, or one wrapped in `stats`."""
    if isinstance(body, dict) and isinstance(body.get("stats"), dict):
        body = body["stats"]
    if not isinstance(body, dict):
        msg = f"unexpected list email stats reply: {str(body)[:80]!r}"
        raise PardotAPIError(msg)
    record: dict[str, t.Any] = {"list_email_id": list_email_id}
    for name in (*COUNTS, *RATES):
        value = body.get(snake_to_camel(name), body.get(name))
        if name in RATES:
            record[name] = rate(value)
        else:
            record[name] = None if value in (None, "") else to_int(value)
    return record


class ListEmailStatsMixin:
    """A child of list_emails: its context is `{"list_email_id": ...}`."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        t.cast("PardotStream", self).state_partitioning_keys = ()  # no state per list email

    def query_records(self, context: t.Any, span: t.Any = None) -> t.Iterable[dict[str, t.Any]]:
        stream = t.cast("PardotStream", self)
        list_email_id = int(context["list_email_id"])
        url = f"{stream.url_base}/api/v5/objects/list-emails/{list_email_id}/stats"
        yield stats_record(response_json(stream.pardot_request("GET", url)), list_email_id)
