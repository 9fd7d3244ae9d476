"""List memberships: which prospect is on which list."""

from tap_pardot.streams.base import PardotObjectStream


class ListMembershipsStream(PardotObjectStream):
    """`list-memberships` (v5), `listMembership` (v3/v4 and the Export API)."""

    name = "list_memberships"
    v5_path = "list-memberships"
    v3_object = "listMembership"
    v3_collection = "list_membership"
    v3_names = {"is_deleted": "is_archived"}  # pardot-api.md §6
    v3_sort_by = "id"  # v3/v4 sort listMembership by created_at or id only
    export_object = "listMembership"
    export_procedure = "filter_by_updated_at"
    export_deleted_argument = "deleted"
