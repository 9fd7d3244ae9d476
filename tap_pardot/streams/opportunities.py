"""Opportunities."""

from tap_pardot.streams.base import PardotObjectStream


class OpportunitiesStream(PardotObjectStream):
    """`opportunities` (v5 only).

    The v3/v4 `opportunity` query has no `updated_after` filter and no `updated_at` sort, so
    on v3/v4 the stream is skipped. v5 sends no `deleted` parameter for it (Airbyte).
    """

    name = "opportunities"
    v5_path = "opportunities"
    deletable = False
