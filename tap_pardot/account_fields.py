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
from tap_pardot.custom_fields import SUFFIX, CustomField, CustomFieldsMixin, v3_result_rows


def parse_describe(body: t.Any) -> list[CustomField]:
    """The custom fields of a v3/v4 describe reply."""
    out = []
    for row in v3_result_rows(body, "field"):
        if not isinstance(row, dict):
            continue
        attrs = row.get("@attributes")
        attrs = attrs if isinstance(attrs, dict) else row  # attributes flattened: the row
        field_id, custom = attrs.get("id"), attrs.get("custom")
        if field_id and custom not in (None, "") and to_bool(custom):
            label = attrs.get("label")
            out.append(CustomField(f"{field_id}{SUFFIX}", str(attrs.get("type") or "text"),
                                   False, None if label is None else str(label)))
    return out


class AccountCustomFieldsMixin(CustomFieldsMixin):
    """Custom fields from the v3/v4 describe; none on v5."""

    def discover_custom_fields(self) -> None:
        if t.cast("PardotStream", self).api_version != 5:  # v5 prospect accounts have none
            super().discover_custom_fields()

    def read_definitions(self) -> list[CustomField]:
        stream = t.cast("PardotStream", self)
        version = stream.api_version
        url = f"{stream.settings.api_base_url}/api/prospectAccount/version/{version}/do/describe"
        return parse_describe(
            response_json(stream.pardot_request("GET", url, params={"format": "json"})))

    def custom_fields_from_schema(self, schema: t.Mapping[str, t.Any]) -> None:
        if t.cast("PardotStream", self).api_version != 5:  # a v3/v4 catalog's, on v5: none
            super().custom_fields_from_schema(schema)
