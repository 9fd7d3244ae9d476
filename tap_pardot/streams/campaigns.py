"""Campaigns."""

from tap_pardot.streams.base import PardotObjectStream


class CampaignsStream(PardotObjectStream):
    """`campaigns` (v5), `campaign` (v3/v4, sortable by updated_at). Not in the Export API."""

    name = "campaigns"
    v5_path = "campaigns"
    v3_object = "campaign"
    v3_collection = "campaign"
    v3_names = {"is_deleted": "is_archived"}  # pardot-api.md §6
