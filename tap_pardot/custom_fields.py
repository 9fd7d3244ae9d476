"""Prospect custom fields: their definitions, read once at discovery, as typed properties.

A custom field's v5 name is its `apiFieldId`, the field id plus `__c` (`Partner_Level__c`);
v3/v4 name it by the bare field id (`Partner_Level`) (pardot-api.md §3c). It becomes the
property named by the v5 name lowercased (`partner_level__c`) on every version and path,
typed from its definition: Number -> number, Date -> date-time, multi-value (Checkbox,
Multi-Select, or "record multiple responses") -> array of strings, anything else -> string.
Requests and rows use the names exactly as Pardot spells them (`PardotStream.wire_name`);
the catalog keeps the v5 name as the property's `title`, so a sync from a saved catalog needs
no extra call.

If the definitions cannot be read (the API user lacks the permission: errors 46/49, or any
other failure) discovery logs one warning and goes on without custom fields.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from tap_pardot.client import PardotStream, response_json
from tap_pardot.convert import to_bool

V5_FIELDS = "id,name,fieldId,apiFieldId,type,isRecordMultipleResponses"
SUFFIX = "__c"  # apiFieldId = fieldId + SUFFIX
MULTI_TYPES = frozenset({"checkbox", "multiselect"})
MAX_PAGES = 50  # 50,000 fields on v5, 10,000 on v3/v4: far more than an account holds


@dataclasses.dataclass(frozen=True)
class CustomField:
    """One custom field definition."""

    api_name: str  # the v5 name, apiFieldId (`Partner_Level__c`)
    type: str = "Text"
    multiple: bool = False  # isRecordMultipleResponses
    label: str | None = None

    @property
    def name(self) -> str:
        """The property name: the API name lowercased (other characters as `_`)."""
        return re.sub(r"[^0-9a-z_]", "_", self.api_name.lower())

    @property
    def property_schema(self) -> dict[str, t.Any]:
        """The JSON schema of its values; `title` keeps the API name for later syncs."""
        kind = re.sub(r"[^a-z]", "", self.type.lower())
        schema: dict[str, t.Any]
        if self.multiple or kind in MULTI_TYPES:
            schema = {"type": ["array", "null"], "items": {"type": ["string"]}}
        elif kind == "number":
            schema = {"type": ["number", "null"]}
        elif kind == "date":
            schema = {"type": ["string", "null"], "format": "date-time"}
        else:
            schema = {"type": ["string", "null"]}
        label = f" {self.label!r}" if self.label else ""
        return {**schema, "title": self.api_name,
                "description": f"Pardot custom field{label} ({self.type})"}


def v3_result_rows(body: t.Any, key: str) -> list[t.Any]:
    """The rows under `result.<key>` of a v3/v4 reply (one record comes as an object)."""
    rows = ((body or {}).get("result") or {}).get(key) or []
    return [rows] if isinstance(rows, dict) else list(rows)


def parse_definitions(body: t.Any, api_version: int) -> list[CustomField]:
    """Definitions in a v5 `{"values": [...]}` or v3/v4 `{"result": {"customField": ...}}`."""
    if api_version == 5:
        rows = (body or {}).get("values") or []
        keys = ("fieldId", "type", "isRecordMultipleResponses", "name")
    else:
        rows = v3_result_rows(body, "customField")
        keys = ("field_id", "type", "is_record_multiple_responses", "name")
    out = []
    for row in rows:
        field_id, kind, multiple, label = (row.get(key) for key in keys)
        api_name = row.get("apiFieldId") or (f"{field_id}{SUFFIX}" if field_id else None)
        if api_name:
            out.append(CustomField(str(api_name), str(kind or "Text"),
                                   multiple not in (None, "") and to_bool(multiple),
                                   None if label is None else str(label)))
    return out


def fetch_definitions(stream: PardotStream) -> list[CustomField]:
    """Read every custom field definition: one call, unless there are over 1,000 (200)."""
    version = stream.api_version
    host = stream.settings.api_base_url
    fields: list[CustomField] = []
    if version == 5:
        url = f"{host}/api/v5/objects/custom-fields"
        params: dict[str, t.Any] = {"fields": V5_FIELDS, "limit": 1000}
        for _ in range(MAX_PAGES):
            body = response_json(stream.pardot_request("GET", url, params=params))
            fields += parse_definitions(body, 5)
            token = (body or {}).get("nextPageToken")
            if not token:
                break
            params = {"fields": V5_FIELDS, "nextPageToken": token}
        return fields
    url = f"{host}/api/customField/version/{version}/do/query"
    params = {"format": "json", "output": "bulk", "limit": 200, "sort_by": "id",
              "sort_order": "ascending"}
    for _ in range(MAX_PAGES):
        body = response_json(stream.pardot_request("GET", url, params=params))
        rows = v3_result_rows(body, "customField")
        fields += parse_definitions(body, version)
        if len(rows) < 200:
            break
        params = {**params, "id_greater_than": max(int(row["id"]) for row in rows)}
    return fields


class CustomFieldsMixin:
    """A stream whose schema gains a typed property per custom field.

    `custom_api_names` maps property name -> API name; the query path (v5 `fields`), the
    export path (`fields`, CSV headers) and the converter (row keys) use it.
    """

    custom_properties: dict[str, dict[str, t.Any]]
    custom_api_names: t.Mapping[str, str]

    def use_custom_fields(self, fields: list[CustomField]) -> None:
        """Add these fields to the schema (names taken by other properties are skipped)."""
        base = super().schema["properties"]  # type: ignore[misc]  # the stream's, via the MRO
        props: dict[str, dict[str, t.Any]] = {}
        names: dict[str, str] = {}
        for field in fields:
            if field.name in base or field.name in props:
                t.cast("PardotStream", self).logger.warning(
                    "Custom field %s skipped: property %s is taken", field.api_name, field.name)
                continue
            props[field.name] = field.property_schema
            names[field.name] = field.api_name
        self._set_custom(props, names)

    def discover_custom_fields(self) -> None:
        """Read the definitions (one call); on any failure warn in one line and go on."""
        stream = t.cast("PardotStream", self)
        try:
            fields = self.read_definitions()
        except Exception as exc:  # never fail discovery for the custom fields
            line = (str(exc).splitlines() or [type(exc).__name__])[0]
            stream.logger.warning("Stream %s: custom fields not discovered (%s); continuing "
                                  "without them", stream.name, line)
            return
        self.use_custom_fields(fields)
        stream.logger.info("Stream %s: %d custom field(s) discovered", stream.name,
                           len(self.custom_api_names))

    def read_definitions(self) -> list[CustomField]:
        """The account's custom field definitions (one call)."""
        return fetch_definitions(t.cast("PardotStream", self))

    def custom_fields_from_schema(self, schema: t.Mapping[str, t.Any]) -> None:
        """Recover custom fields from a catalog's schema: its properties not in ours."""
        base = super().schema["properties"]  # type: ignore[misc]  # the stream's, via the MRO
        props = {name: dict(prop) for name, prop in (schema.get("properties") or {}).items()
                 if name not in base}
        self._set_custom(props, {name: str(prop.get("title") or name)
                                 for name, prop in props.items()})

    def _set_custom(self, props: dict[str, dict[str, t.Any]], names: dict[str, str]) -> None:
        self.custom_properties, self.custom_api_names = props, names
        for cached in ("_merged_schema", "converter"):  # built from the schema
            self.__dict__.pop(cached, None)

    @property
    def schema(self) -> dict[str, t.Any]:
        """The stream's schema file plus the custom field properties."""
        base = super().schema  # type: ignore[misc]  # the stream's, via the MRO
        extra = getattr(self, "custom_properties", None)
        if not extra:
            return t.cast("dict[str, t.Any]", base)
        merged = self.__dict__.get("_merged_schema")
        if merged is None:
            merged = {**base, "properties": {**base["properties"], **extra}}
            self.__dict__["_merged_schema"] = merged
        return t.cast("dict[str, t.Any]", merged)

    def apply_catalog(self, catalog: t.Any) -> None:
        """Take the custom fields the catalog's schema declares (no call needed)."""
        super().apply_catalog(catalog)  # type: ignore[misc]  # the stream's, via the MRO
        entry = catalog.get_stream(t.cast("PardotStream", self).tap_stream_id)
        if entry is not None and entry.schema is not None:
            self.custom_fields_from_schema(entry.schema.to_dict())
