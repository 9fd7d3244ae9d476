"""Custom field definitions (prospect custom fields)."""

from tap_pardot.streams.base import PardotObjectStream


class CustomFieldsStream(PardotObjectStream):
    """`custom-fields` (v5 only).

    The v3/v4 `customField` query has no `updated_after` filter and no `updated_at` sort,
    so on v3/v4 the stream is skipped. No recycle bin.
    """

    name = "custom_fields"
    v5_path = "custom-fields"
    deletable = False
    v3_query_names = {"salesforce_id": "crm_id"}  # pardot-api.md §6
