"""Prospect accounts (company records)."""

from tap_pardot.streams.base import PardotObjectStream


class ProspectAccountsStream(PardotObjectStream):
    """`prospect-accounts` (v5), `prospectAccount` (v3/v4 and the Export API).

    Airbyte found no `updatedAt` filter or sort on v5 prospect accounts, so both API
    versions walk them by id (`idGreaterThan` / `id_greater_than`) and keep the records
    updated since the bookmark client-side; the bookmark moves when the walk completes.
    Accounts are few (thousands), so the walk is cheap; a large backfill uses the export.
    """

    name = "prospect_accounts"
    v5_path = "prospect-accounts"
    v5_order = "id"
    v3_object = "prospectAccount"
    v3_collection = "prospectAccount"
    v3_names = {"is_deleted": "is_archived"}  # pardot-api.md §6
    v3_sort_by = "id"
    export_object = "prospectAccount"
    export_procedure = "filter_by_updated_at"
    export_deleted_argument = "deleted"
