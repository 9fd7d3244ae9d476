"""Pardot users."""

from tap_pardot.streams.base import PardotObjectStream


class UsersStream(PardotObjectStream):
    """`users` (v5 only).

    The v3/v4 `user` query has no `updated_after` filter and no `updated_at` sort (only
    created_at / id), and its fields differ from v5's, so on v3/v4 the stream is skipped.
    """

    name = "users"
    v5_path = "users"
    v3_names = {"is_deleted": "is_archived"}  # pardot-api.md §6 (for v3/v4 exports)
