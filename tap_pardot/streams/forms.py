"""Forms."""

from tap_pardot.streams.base import PardotObjectStream


class FormsStream(PardotObjectStream):
    """`forms` (v5), `form` (v3/v4, sortable by updated_at).

    Airbyte found no `updatedAt` filter or sort on v5 forms (it orders them by id), so v5
    walks them by id and keeps the records updated since the bookmark client-side, as
    prospect accounts do; forms are few, so the walk is a page or two.
    """

    name = "forms"
    v5_path = "forms"
    v5_order = "id"
    v3_object = "form"
    v3_collection = "form"
    v3_names = {"is_deleted": "is_archived", "salesforce_id": "salesforce_fid"}  # §6
