"""Emails sent (list emails, one-to-one and automated emails), one record per send."""

from tap_pardot.streams.base import PardotObjectStream


class EmailsStream(PardotObjectStream):
    """`emails` (v5 only; v3/v4 can only read one email by id).

    A sent email is never updated and has no `createdAt`/`updatedAt`: the bookmark is
    `sent_at`, filtered and sorted by `sentAt` on v5 (Airbyte's tested reading). The nested
    `senderOptions` / `replyToOptions` are not extracted.
    """

    name = "emails"
    v5_path = "emails"
    replication_key = "sent_at"
    deletable = False
