"""Visitor page views."""

from tap_pardot.streams.base import PardotObjectStream


class VisitorPageViewsStream(PardotObjectStream):
    """`visitor-page-views` (v5 only; v3/v4 nest page views inside visits).

    Page views are never updated: they have `createdAt` only, so the bookmark is
    `created_at` (filtered and sorted by `createdAt` on v5).
    """

    name = "visitor_page_views"
    v5_path = "visitor-page-views"
    replication_key = "created_at"
    deletable = False
