"""Campaigns."""

from tap_pardot.streams.base import PardotObjectStream


class CampaignsStream(PardotObjectStream):
    """`campaigns` (v5), `campaign` (v3/v4). Not in the Export API.

    v3/v4 campaign records are `id, name, cost` only (no `created_at`/`updated_at`, no
    deleted flag or `deleted` filter): read whole, by id, every run.
    """

    name = "campaigns"
    v5_path = "campaigns"
    v3_object = "campaign"
    v3_collection = "campaign"
    v3_names = {"is_deleted": "is_archived"}  # pardot-api.md §6
    v3_full_table = True
