"""Tags."""

from tap_pardot.streams.base import PardotObjectStream


class TagsStream(PardotObjectStream):
    """`tags` (v5), `tag` (v3/v4, sortable by updated_at). No recycle bin."""

    name = "tags"
    v5_path = "tags"
    v3_object = "tag"
    v3_collection = "tag"
    deletable = False
