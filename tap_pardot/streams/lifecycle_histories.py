"""Lifecycle histories: a prospect's moves between lifecycle stages."""

from tap_pardot.streams.base import PardotObjectStream


class LifecycleHistoriesStream(PardotObjectStream):
    """`lifecycle-histories` (v5), `lifecycleHistory` (v3/v4).

    A stage change is never updated: it has `createdAt` only, so the bookmark is
    `created_at` (v5 `createdAt` filter and sort; v3/v4 `created_after`, sort_by created_at).
    """

    name = "lifecycle_histories"
    v5_path = "lifecycle-histories"
    v3_object = "lifecycleHistory"
    v3_collection = "lifecycleHistory"
    replication_key = "created_at"
    deletable = False
