"""What a stream exports: the object, the procedure and its arguments, the fields."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from tap_pardot.convert import snake_to_camel
from tap_pardot.export_windows import UTC, Window, iso, parse_utc

if t.TYPE_CHECKING:
    from datetime import datetime

    from tap_pardot.client import PardotStream as Stream

MAX_FIELDS = 150


@dataclass(frozen=True)
class ExportSpec:
    """What to export: the object, the procedure, and its arguments' spelling."""

    object: str
    procedure: str
    deleted_argument: str | None = None

    @property
    def window_field(self) -> str:
        """The record field the procedure filters on (``updated_at`` or ``created_at``)."""
        subject = self.procedure.removeprefix("filter_by_")
        return subject if subject in {"updated_at", "created_at"} else "updated_at"

    def arguments(self, window: Window, *, include_deleted: bool) -> dict[str, str]:
        """Procedure arguments: snake_case bounds with explicit offsets, ``deleted``."""
        prefix = self.window_field.removesuffix("_at")
        args = {f"{prefix}_after": iso(window.after), f"{prefix}_before": iso(window.before)}
        if include_deleted and self.deleted_argument:
            args[self.deleted_argument] = "all"
        return args

    def body(self, fields: list[str], window: Window, *, include_deleted: bool) -> dict:
        """The create request's JSON body."""
        if len(fields) > MAX_FIELDS:
            msg = f"{len(fields)} fields selected; the Export API allows at most {MAX_FIELDS}"
            raise ValueError(msg)
        return {
            "object": self.object,
            "fields": fields,
            "procedure": {
                "name": self.procedure,
                "arguments": self.arguments(window, include_deleted=include_deleted),
            },
        }


# Objects the Export API serves, when a stream declaration does not say.
EXPORT_SPECS = {
    "visitor_activities": ExportSpec("visitorActivity", "filter_by_updated_at"),
    "prospects": ExportSpec("prospect", "filter_by_updated_at", "deleted"),
    "list_memberships": ExportSpec("listMembership", "filter_by_updated_at", "deleted"),
    "visitors": ExportSpec("visitor", "filter_by_updated_at", "deleted"),
    "prospect_accounts": ExportSpec("prospectAccount", "filter_by_updated_at", "deleted"),
}
NOT_EXPORTABLE = {"prospects": frozenset({"grade", "notes"})}


def export_spec(stream: Stream) -> ExportSpec | None:
    """The stream's export object and procedure, or None if the Export API lacks it.

    A stream declaration may set `export_object`, `export_procedure` and
    `export_deleted_argument` (None where the procedure takes no `deleted`).
    """
    known = EXPORT_SPECS.get(stream.name)
    obj = getattr(stream, "export_object", None) or (known.object if known else None)
    if not obj:
        return None
    procedure = getattr(stream, "export_procedure", None) or "filter_by_updated_at"
    default_deleted = known.deleted_argument if known else None
    deleted = getattr(stream, "export_deleted_argument", default_deleted)
    return ExportSpec(str(obj), str(procedure), deleted)


def export_fields(stream: Stream) -> list[str]:
    """Selected properties the Export API can return (`id` and `updated_at` always)."""
    names = list(getattr(stream, "selected_properties", None) or stream.schema["properties"])
    skip = set(getattr(stream, "export_unavailable_fields", None) or ())
    skip |= NOT_EXPORTABLE.get(stream.name, frozenset())
    return [name for name in names if name not in skip]


def api_field_name(name: str, api_version: int) -> str:
    """The name the export request and CSV header use: camelCase on v5, snake on v3/v4."""
    return snake_to_camel(name) if api_version >= 5 else name


def starting_point(stream: Stream, context: dict | None) -> datetime | None:
    """The bookmark, or start_date on a first run (the later of the two)."""
    value = stream.get_starting_timestamp(context)
    if value is not None:
        return value.astimezone(UTC)
    state = stream.get_context_state(context)
    raw = [state.get("replication_key_value"), stream.config.get("start_date")]
    found = [parse_utc(str(v)) for v in raw if v]
    return max(found) if found else None
