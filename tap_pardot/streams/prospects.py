"""Prospects, with the account's custom fields (discovered, see custom_fields)."""

from tap_pardot.custom_fields import CustomFieldsMixin
from tap_pardot.streams.base import PardotObjectStream


class ProspectsStream(CustomFieldsMixin, PardotObjectStream):  # type: ignore[override]
    """`prospects` (v5), `prospect` (v3/v4 and the Export API)."""

    name = "prospects"
    v5_path = "prospects"
    v3_object = "prospect"
    v3_collection = "prospect"
    export_object = "prospect"
    export_procedure = "filter_by_updated_at"
    export_deleted_argument = "deleted"
    export_unavailable_fields = ("grade", "notes")  # Pardot cannot export these
