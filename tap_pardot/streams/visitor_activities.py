"""Visitor activities: emails sent and opened, page views, form submissions…"""

from tap_pardot.streams.base import PardotObjectStream


class VisitorActivitiesStream(PardotObjectStream):
    """`visitor-activities` (v5), `visitorActivity` (v3/v4 and the Export API)."""

    name = "visitor_activities"
    v5_path = "visitor-activities"
    v3_object = "visitorActivity"
    v3_collection = "visitor_activity"
    deletable = False  # no recycle bin: no `deleted` parameter or argument
    export_object = "visitorActivity"
    export_procedure = "filter_by_updated_at"
    export_deleted_argument = None
