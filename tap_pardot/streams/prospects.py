"""Prospects, with the account's custom fields (discovered, see custom_fields)."""

from tap_pardot.custom_fields import CustomFieldsMixin
from tap_pardot.streams.base import PardotObjectStream


class ProspectsStream(CustomFieldsMixin, PardotObjectStream):  # type: ignore[override]
    """`prospects` (v5), `prospect` (v3/v4 and the Export API)."""

    name = "prospects"
    v5_path = "prospects"
    v3_object = "prospect"
    v3_collection = "prospect"
    # pardot-api.md §6: pre-v5 names (v3/v4 exports and queries), and v3/v4 query keys
    v3_names = {
        "is_deleted": "is_archived",
        "salesforce_id": "salesforce_fid",
        "salesforce_lead_id": "crm_lead_fid",
        "salesforce_contact_id": "crm_contact_fid",
        "salesforce_account_id": "crm_account_fid",
        "salesforce_owner_id": "crm_owner_fid",
        "salesforce_campaign_id": "crm_campaign_fid",
        "salesforce_last_sync": "crm_last_sync",
    }
    v3_query_names = {"salesforce_url": "crm_url"}
    export_object = "prospect"
    export_procedure = "filter_by_updated_at"
    export_deleted_argument = "deleted"
