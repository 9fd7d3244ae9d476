"""The Export API on v5 and v3/v4: create, read, cancel, file downloads, and its replies.

v5 (pardot-api.md §4b): `POST /api/v5/exports?fields=...`, `GET /api/v5/exports/{id}?fields=...`
(the `fields` query parameter picks the Export resource's properties; the state is `status`),
`POST /api/v5/exports/{id}/do/cancel`. v3/v4 (§4a): `/api/export/version/N/do/create`,
`do/read/id/N`, `do/cancel/id/N`, the state is `state`, and the reply may come wrapped.

An export's `createdAt` is Pardot's own clock: the export holds "all data up until the
creation date", so the export path bounds its bookmark by it (see sync.py).
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from tap_pardot.client import PardotAPIError, response_json
from tap_pardot.convert import to_bool
from tap_pardot.times import UTC, server_time

if t.TYPE_CHECKING:
    import requests

LOGGER = logging.getLogger(__name__)
TERMINAL_STATES = frozenset({"Complete", "Failed", "Canceled", "Cancelled"})
V5_FIELDS = "id,status,isExpired,createdAt,updatedAt"  # the Export resource's, on v5


class Requester(t.Protocol):
    """What the export path needs from the stream: one authenticated, gated, retried call."""

    def __call__(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, t.Any] | None = None,
        json: dict[str, t.Any] | None = None,
        stream: bool = False,
    ) -> requests.Response: ...


@dataclass(frozen=True)
class ExportStatus:
    """One export as the API describes it, whatever the reply's shape."""

    id: int
    state: str
    is_expired: bool = False
    files: list[str] = field(default_factory=list)
    created_at: datetime | None = None  # Pardot's clock when the export was created (UTC)
    raw_created_at: str | None = None  # as Pardot wrote it (its offset tells the user's zone)
    updated_at: datetime | None = None  # Pardot's clock at the last change (Complete: done)

    @property
    def finished(self) -> bool:
        """True once the export can no longer change state."""
        return self.state in TERMINAL_STATES

    @classmethod
    def from_payload(cls, payload: t.Any, tz: tzinfo = UTC) -> ExportStatus:
        """Accept ``{...}`` or ``{"export": {...}}``; refs as a string, an array or absent.

        A naive ``createdAt`` is read in ``tz`` (the API user's timezone).
        """
        body = payload.get("export", payload) if isinstance(payload, dict) else None
        if not isinstance(body, dict) or "id" not in body:
            msg = f"Malformed export reply from Pardot: {str(payload)[:200]!r}"
            raise PardotAPIError(msg)
        refs = body.get("resultRefs", body.get("resultsRef", body.get("resultRef")))
        raw = body.get("createdAt", body.get("created_at"))
        updated = body.get("updatedAt", body.get("updated_at"))
        return cls(
            id=int(body["id"]),
            state=str(body.get("status") or body.get("state") or ""),
            is_expired=body.get("isExpired") not in (None, "") and to_bool(body["isExpired"]),
            files=normalise_refs(refs),
            created_at=_created_at(raw, body["id"], tz),
            raw_created_at=raw if isinstance(raw, str) else None,
            updated_at=_created_at(updated, body["id"], tz) if updated else None,
        )


def _created_at(raw: t.Any, export_id: t.Any, tz: tzinfo) -> datetime | None:
    try:
        return server_time(raw, tz)
    except (TypeError, ValueError):
        LOGGER.warning("Unreadable time %r in export %s's reply; ignored", raw, export_id)
        return None


def normalise_refs(refs: t.Any) -> list[str]:
    """File URLs as a list: a string is one file, absent is none; duplicates dropped."""
    if refs is None or refs == "":
        return []
    items = [refs] if isinstance(refs, str) else list(refs)
    if any(not isinstance(item, str) or not item for item in items):
        msg = f"Malformed export resultRefs from Pardot: {str(refs)[:200]!r}"
        raise PardotAPIError(msg)
    return list(dict.fromkeys(items))


class ExportApi:
    """Create and read exports, and download their files, on one API version."""

    def __init__(
        self, request: Requester, host: str, api_version: int, tz: tzinfo = UTC
    ) -> None:
        self._request = request
        self.api_version = int(api_version)
        self.tz = tz
        host = host.rstrip("/")
        if self.api_version >= 5:
            self._base = f"{host}/api/v5/exports"
        else:
            self._base = f"{host}/api/export/version/{self.api_version}/do"

    def _call(self, method: str, op: str, export_id: int | None = None,
              body: dict[str, t.Any] | None = None) -> ExportStatus:
        if self.api_version >= 5:
            url = self._base if export_id is None else f"{self._base}/{export_id}"
            url += "/do/cancel" if op == "cancel" else ""
            fields = V5_FIELDS + (",resultRefs" if op == "read" else "")
            params = {"fields": fields}
        else:
            url = f"{self._base}/{op}" + ("" if export_id is None else f"/id/{export_id}")
            params = {"format": "json"}
        reply = self._request(method, url, params=params, json=body)
        return ExportStatus.from_payload(response_json(reply), self.tz)

    def create(self, body: dict[str, t.Any]) -> ExportStatus:
        """POST a new export; it queues behind the account's earlier exports."""
        return self._call("POST", "create", body=body)

    def read(self, export_id: int) -> ExportStatus:
        """GET the export's state and, once Complete, its file URLs (costs an API call)."""
        return self._call("GET", "read", export_id)

    def cancel(self, export_id: int) -> ExportStatus:
        """Cancel a Waiting or Processing export (Pardot refuses a finished one: 178)."""
        return self._call("POST", "cancel", export_id)

    def download(self, url: str) -> requests.Response:
        """GET one result file, streamed."""
        return self._request("GET", url, stream=True)
