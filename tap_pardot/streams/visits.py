"""Visits: a visitor's session of page views."""

from tap_pardot.streams.base import PardotObjectStream


class VisitsStream(PardotObjectStream):
    """`visits` (v5 only).

    The v3/v4 `visit` query requires `visitor_ids`, `visit_ids` or `prospect_ids`, so it
    cannot list all visits: on v3/v4 the stream is skipped. No recycle bin.
    """

    name = "visits"
    v5_path = "visits"
    deletable = False
