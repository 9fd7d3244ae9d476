"""What a stream exports: the object, the procedure and its arguments, the fields."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import datetime

from tap_pardot.client import PardotAPIError
from tap_pardot.convert import UTC, parse_utc, snake_to_camel
from tap_pardot.export_windows import Window, iso

if t.TYPE_CHECKING:
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
            msg = (
                f"{len(fields)} fields selected; the Export API allows at most {MAX_FIELDS}: "
                "deselect some, or use `sync_mode: query` for this stream"
            )
            raise PardotAPIError(msg)
        return {
            "object": self.object,
            "fields": fields,
            "procedure": {
                "name": self.procedure,
                "arguments": self.arguments(window, include_deleted=include_deleted),
            },
        }


def export_spec(stream: Stream) -> ExportSpec | None:
    """The stream's declared export object and procedure; None if the Export API lacks it."""
    if not stream.export_object:
        return None
    return ExportSpec(stream.export_object, stream.export_procedure,
                      stream.export_deleted_argument)


class CustomName(str):
    """A custom field's property name that carries its API name (`Partner_Level__c`)."""

    api_name: str

    def __new__(cls, name: str, api_name: str) -> CustomName:
        self = super().__new__(cls, name)
        self.api_name = api_name
        return self


def export_fields(stream: Stream) -> list[str]:
    """Selected properties the Export API can return (`id` and `updated_at` always)."""
    skip = set(stream.export_unavailable_fields)
    custom = getattr(stream, "custom_api_names", None) or {}
    return [CustomName(name, custom[name]) if name in custom else name
            for name in stream.selected_properties if name not in skip]


def api_field_name(name: str, api_version: int) -> str:
    """The name the export request and CSV header use: camelCase on v5, snake on v3/v4;
    a custom field's API name (its fieldId) on both."""
    custom = getattr(name, "api_name", None)
    if custom:
        return str(custom)
    return snake_to_camel(name) if api_version >= 5 else name


def run_range(stream: Stream, context: dict | None) -> tuple[datetime, datetime]:
    """(start, end) of this run: the bookmark or start_date, to end_date or now (UTC)."""
    start = stream.get_starting_timestamp(context)
    if start is None:
        msg = "Setting `start_date` is required"
        raise PardotAPIError(msg)
    now = datetime.now(UTC)
    end = min(parse_utc(stream.config["end_date"]), now) if stream.config.get("end_date") else now
    return start.astimezone(UTC).replace(microsecond=0), end.replace(microsecond=0)
