"""Pardot's clock, read from the `Date` header of its replies (this machine's until then).

Ranges are bounded by Pardot's clock, never the machine's: a runner whose clock runs ahead
would otherwise bookmark past changes Pardot has yet to stamp, and lose them.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import typing as t

if t.TYPE_CHECKING:
    import requests

UTC = dt.timezone.utc
# A run reads changes up to Pardot's clock less this: v5 reads may come from a cache up to
# 60 s behind, and a change stamped just before a read may become visible a little later.
SETTLE = dt.timedelta(minutes=2)


class PardotClock:
    """The offset of Pardot's clock from this machine's, from the latest `Date` header."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset: dt.timedelta | None = None

    @property
    def observed(self) -> bool:
        """True once a reply carried a readable `Date` header."""
        return self._offset is not None

    def observe(self, response: requests.Response) -> None:
        """Take the `Date` of a reply (one-second resolution, so never ahead of Pardot)."""
        header = response.headers.get("Date")
        if not header:
            return
        try:
            stamp = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        with self._lock:
            self._offset = stamp - dt.datetime.now(UTC)

    def now(self) -> dt.datetime:
        """Pardot's time now, aware UTC, whole seconds."""
        now = dt.datetime.now(UTC) + (self._offset or dt.timedelta(0))
        return now.replace(microsecond=0)
