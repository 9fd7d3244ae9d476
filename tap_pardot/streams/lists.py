"""Lists (static and dynamic)."""

from tap_pardot.streams.base import PardotObjectStream


class ListsStream(PardotObjectStream):
    """`lists` (v5), `list` (v3/v4, sortable by updated_at). Not in the Export API."""

    name = "lists"
    v5_path = "lists"
    v3_object = "list"
    v3_collection = "list"
    v3_names = {"is_deleted": "is_archived"}  # pardot-api.md §6
    v3_query_names = {"is_salesforce_visible": "is_crm_visible"}
