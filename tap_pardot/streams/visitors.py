"""Visitors, identified and anonymous."""

from tap_pardot.streams.base import PardotObjectStream


class VisitorsStream(PardotObjectStream):
    """`visitors` (v5), `visitor` (v3/v4 and the Export API)."""

    name = "visitors"
    v5_path = "visitors"
    v3_object = "visitor"
    v3_collection = "visitor"
    v3_names = {"is_deleted": "is_archived"}  # pardot-api.md §6
    v3_sort_by = "id"  # v3/v4 document no updated_at sort for visitors
    v3_params = {"only_identified": "false"}  # the v3/v4 default hides anonymous visitors
    export_object = "visitor"
    export_procedure = "filter_by_updated_at"
    export_deleted_argument = "deleted"
