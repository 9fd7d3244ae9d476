"""Prospect-account custom fields: v3/v4 only, from `prospectAccount/do/describe`.

The describe reply lists every field as `{"@attributes": {"id", "label", "type", "custom",
"required", "has_options"}, "option": [...]}` under `result.field` (DOC2020
`docs/kb/api-version-4/prospect-accounts.md`; its shape as tamias/pardot-client reads it).
A custom field's `id` is its key in v3/v4 query rows and export fields, as a prospect
custom field's bare fieldId is: the property is named and typed as a prospect's would be
(`Tier` -> `tier__c`, custom_fields.CustomField). v5 prospect accounts have no custom fields
(pardot-api.md §3c): on v5 the stream has none, not null columns.
"""

from __future__ import annotations

import typing as t

from tap_pardot.client import PardotStream, response_json
from tap_pardot.convert import to_bool
from tap_pardot.custom_fields import SUFFIX, CustomField, CustomFieldsMixin


def parse_describe(body: t.Any) -> list[CustomField]:
    """The custom fields of a v3/v4 describe reply."""
    rows = ((body or {}).get("result") or {}).get("field") or []
    rows = [rows] if isinstance(rows, dict) else rows
    out = []
    for row in rows:
        attrs = row.get("@attributes") if isinstance(row, dict) else None
        attrs = attrs if isinstance(attrs, dict) else row if isinstance(row, dict) else {}
        field_id, custom = attrs.get("id"), attrs.get("custom")
        if field_id and custom not in (None, "") and to_bool(custom):
            label = attrs.get("label")
            out.append(CustomField(f"{field_id}{SUFFIX}", str(attrs.get("type") or "text"),
                                   False, None if label is None else str(label)))
    return out


class AccountCustomFieldsMixin(CustomFieldsMixin):
    """Custom fields from the v3/v4 describe; none on v5."""

    def discover_custom_fields(self) -> None:
        stream = t.cast("PardotStream", self)
        if stream.api_version == 5:
            return
        version = stream.api_version
        url = f"{stream.settings.api_base_url}/api/prospectAccount/version/{version}/do/describe"
        try:
            body = response_json(stream.pardot_request("GET", url, params={"format": "json"}))
            fields = parse_describe(body)
        except Exception as exc:  # never fail discovery for the custom fields
            line = (str(exc).splitlines() or [type(exc).__name__])[0]
            stream.logger.warning("Stream %s: custom fields not discovered (%s); continuing "
                                  "without them", stream.name, line)
            return
        self.use_custom_fields(fields)
        stream.logger.info("Stream %s: %d custom field(s) discovered", stream.name,
                           len(self.custom_api_names))

    def custom_fields_from_schema(self, schema: t.Mapping[str, t.Any]) -> None:
        if t.cast("PardotStream", self).api_version != 5:  # a v3/v4 catalog's, on v5: none
            super().custom_fields_from_schema(schema)
