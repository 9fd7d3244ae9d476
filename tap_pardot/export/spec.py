"""What a stream exports: the procedure, its arguments and the fields, on each API version.

v5 (pardot-api.md §4b): `{"fields": [v5 names], "procedure": {"name": "Prospect/FilterByUpdatedAt",
"arguments": {"updatedAfter": ..., "deleted": ...}}}`, no `object`. v3/v4 (§4a): `{"object":
"prospect", "fields": [pre-v5 names], "procedure": {"name": "filter_by_updated_at", "arguments":
{"updated_after": ...}}}`. Streams declare the v3/v4 spelling; the v5 one is derived from it.

The v5-only generic procedures (pardot-api.md §4d; pardot-v5-objects.md, Export column:
`<Object>/FilterByUpdatedAt` or `FilterByCreatedAt`, `deleted` where the object has a recycle
bin) serve a stream that declares its v5 object type, one line: `export_generic = "Campaign"`.
The procedure follows the replication key (`updated_at` or `created_at`); behind a flag in
2023 (`feature.api.version_5_export_all`), so an account may refuse them (174).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import datetime

from tap_pardot.client import PardotAPIError
from tap_pardot.convert import snake_to_camel
from tap_pardot.export.windows import SLACK, Window
from tap_pardot.times import iso

if t.TYPE_CHECKING:
    from tap_pardot.client import PardotStream as Stream

MAX_FIELDS = 150
# The fields a procedure can filter on: a documented one's, and a generic one's (its name
# follows the stream's replication key).
WINDOW_FIELDS = ("updated_at", "created_at")


def pascal(name: str) -> str:
    """`filter_by_updated_at` -> `FilterByUpdatedAt`, `visitorActivity` -> `VisitorActivity`."""
    camel = snake_to_camel(name)
    return camel[:1].upper() + camel[1:]


@dataclass(frozen=True)
class ExportSpec:
    """What to export: the object and procedure (v3/v4 spelling), and its `deleted` argument."""

    object: str
    procedure: str
    deleted_argument: str | None = None
    generic: bool = False  # a v5-only generic procedure, behind a flag

    @property
    def window_field(self) -> str:
        """The record field the procedure filters on (`updated_at` or `created_at`)."""
        subject = self.procedure.removeprefix("filter_by_")
        return subject if subject in WINDOW_FIELDS else "updated_at"

    def procedure_name(self, api_version: int) -> str:
        """`Prospect/FilterByUpdatedAt` on v5, `filter_by_updated_at` on v3/v4."""
        if api_version >= 5:
            return f"{pascal(self.object)}/{pascal(self.procedure)}"
        return self.procedure

    def arguments(self, window: Window, *, include_deleted: bool,
                  api_version: int) -> dict[str, t.Any]:
        """The window's bounds (exclusive, ATOM with an offset) and an explicit `deleted`
        (`all`, which every reading accepts: the 2020 docs allowed prospects nothing else)."""
        stem = self.window_field.removesuffix("_at")
        args: dict[str, t.Any] = {f"{stem}_after": iso(window.after),
                                  f"{stem}_before": iso(window.before)}
        if self.deleted_argument:
            args[self.deleted_argument] = "all" if include_deleted else False
        if api_version >= 5:
            return {snake_to_camel(name): value for name, value in args.items()}
        return args

    def body(self, fields: list[str], window: Window, *, include_deleted: bool,
             api_version: int) -> dict[str, t.Any]:
        """The create request's JSON body; `fields` are wire names for `api_version`."""
        if len(fields) > MAX_FIELDS:
            msg = (
                f"{len(fields)} fields selected; the Export API allows at most {MAX_FIELDS}: "
                "deselect some, or use `sync_mode: query` for this stream"
            )
            raise PardotAPIError(msg)
        body: dict[str, t.Any] = {
            "fields": fields,
            "procedure": {
                "name": self.procedure_name(api_version),
                "arguments": self.arguments(window, include_deleted=include_deleted,
                                            api_version=api_version),
            },
        }
        if api_version < 5:
            body = {"object": self.object, **body}
        return body


def export_spec(stream: Stream) -> ExportSpec | None:
    """The stream's declared export object and procedure; None if the Export API lacks it
    (on this API version: generic procedures are v5 only)."""
    if stream.export_object:
        return ExportSpec(stream.export_object, stream.export_procedure,
                          stream.export_deleted_argument)
    generic = getattr(stream, "export_generic", None)
    key = stream.replication_key or "updated_at"
    if not generic or stream.settings.api_version < 5 or key not in WINDOW_FIELDS:
        return None
    deleted = "deleted" if getattr(stream, "deletable", False) else None
    return ExportSpec(generic, f"filter_by_{key}", deleted, generic=True)


def run_range(stream: Stream, context: dict[str, t.Any] | None) -> tuple[datetime, datetime]:
    """This run's half-open range `[start, end)`: from the bookmark or `start_date` to just
    past the stream's read bound (Pardot's clock)."""
    start, _ = stream.resume_point(context)
    return start.replace(microsecond=0), stream.read_bound() + SLACK
