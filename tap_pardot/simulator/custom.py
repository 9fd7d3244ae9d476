"""Prospect custom fields: their definitions, generated values, and each API's wire form.

The `custom-fields` object (`customField` on v3/v4) holds one definition per field: `fieldId`
is the bare id (`Partner_Level`), `apiFieldId` = fieldId + `__c` (pardot-api.md section 3c).
Prospects carry a value for each: v5 names it by apiFieldId (`Partner_Level__c`), v3/v4
(query, read, export) by the bare fieldId. The truth form names a field by its lowercased
apiFieldId (`partner_level__c`) and types its values: Number -> number, Date ->
`YYYY-MM-DDT00:00:00+00:00`, multi-value -> array of strings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from .http import ApiError
from .rows import TRICKY, mix

MULTI_TYPES = ("Checkbox", "Multi-Select")


@dataclasses.dataclass(frozen=True)
class CustomField:
    field_id: str  # fieldId: the bare id, as Pardot spells it
    name: str  # the label
    type: str  # Text, Number, Date, Radio Button, Checkbox, Dropdown, Multi-Select, ...
    multiple: bool = False  # isRecordMultipleResponses
    options: tuple[str, ...] = ()

    @property
    def api_field_id(self) -> str:
        """apiFieldId: the v5 name on prospects."""
        return self.field_id + "__c"

    @property
    def key(self) -> str:
        """The truth (tap) property name: the apiFieldId lowercased."""
        return self.api_field_id.lower()

    @property
    def is_array(self) -> bool:
        """v5 serves its values as an array (checkbox, multi-select, multiple responses)."""
        return self.kind == "list"

    @property
    def kind(self) -> str:
        """The simulator's value kind: list, num, date or str."""
        if self.multiple or self.type in MULTI_TYPES:
            return "list"
        return {"Number": "num", "Date": "date"}.get(self.type, "str")


# A few of each kind. Option values never contain ";" (the CSV multi-value separator).
DEFINITIONS = [
    CustomField("Partner_Level", "Partner Level", "Dropdown",
                options=("Gold", "Silver", "Bronze, Legacy", 'The "Platinum" tier')),
    CustomField("Annual_Budget", "Annual Budget", "Number"),
    CustomField("Renewal_Date", "Renewal Date", "Date"),
    CustomField("Product_Interests", "Product Interests", "Multi-Select",
                options=("Analytics", "Cloud, Hybrid", 'The "Pro" plan', "Email", "Émojis 🎉")),
    CustomField("Newsletter_Topics", "Newsletter Topics", "Checkbox",
                options=("Product news", "Events", "Tips & tricks")),
    CustomField("Preferred_Region", "Preferred Region", "Radio Button",
                options=("EMEA", "AMER", "APAC")),
    CustomField("Referral_Code", "Referral Code", "Text"),
    CustomField("Sales_Notes", "Sales Notes", "Textarea"),
    CustomField("Lead_Tracking_Id", "Lead Tracking Id", "Hidden"),
    CustomField("Account_Owner", "Account Owner", "CRM User"),
    CustomField("Event_Sessions", "Event Sessions", "Text", multiple=True,
                options=("Keynote", "Workshop, advanced", 'Q&A "live"', "Roadmap")),
    CustomField("Seats", "Seats", "Number"),
]


def definition(index: int, rid: int) -> CustomField:
    """The definition of the custom-fields object's `index`-th record (id `rid`)."""
    if 0 <= index < len(DEFINITIONS):
        return DEFINITIONS[index]
    return CustomField(f"Custom_Field_{rid}", f"Custom Field {rid}", "Text")


def _null(h: int, j: int, pct: int) -> bool:
    return mix(h ^ (j << 11) ^ 0x5EED) % 100 < pct


def value_builder(f: CustomField, j: int) -> Callable[[Any, int, int, int], Any]:
    """A row builder's rule for field `f` (the j-th custom field): (ctx, h, k, created)."""

    def build(ctx: Any, h: int, k: int, created: int) -> Any:
        x = mix(h + 7919 * (j + 1))
        if _null(h, j, 25):
            return None
        if f.kind == "num":
            return x % 500 if f.field_id == "Seats" else x % 10**8 / 100
        if f.kind == "date":
            day = dt.datetime.fromtimestamp(created, dt.timezone.utc).date()
            return (day + dt.timedelta(days=int(x % 400) - 30)).isoformat()
        if f.kind == "list":
            options = f.options or ("one", "two", "three")
            picked = tuple(o for b, o in enumerate(options) if (x >> b) & 1)
            return picked or None
        if f.options:
            return f.options[x % len(f.options)]
        if f.type == "CRM User":
            return f"005{x % 10**12:012d}AAA"
        if f.type == "Hidden":
            return f"trk-{x % 10**6}"
        return TRICKY[x % len(TRICKY)] if f.type == "Textarea" or x % 3 == 0 else f"REF-{x % 9973}"

    return build


# ---- wire forms ---------------------------------------------------------------------------


def truth_value(kind: str, v: Any) -> Any:
    if v is None:
        return None
    if kind == "date":
        return f"{v}T00:00:00+00:00"
    if kind == "list":
        return list(v)
    return v


def from_truth(kind: str, v: Any) -> Any:
    """A value posted to /_sim/records (truth form) as stored."""
    if v is None:
        return None
    if kind == "date":
        return str(v)[:10]
    if kind == "list":
        items = [v] if isinstance(v, str) else list(v)
        return tuple(str(i) for i in items) or None
    if kind == "num":
        return v if isinstance(v, (int, float)) else float(v)
    return str(v)


def v5_value(kind: str, v: Any) -> Any:
    """v5 JSON: numbers as numbers, dates as `YYYY-MM-DD`, multi-values as arrays."""
    return list(v) if kind == "list" and v is not None else v


def v3_value(kind: str, v: Any) -> Any:
    """v3/v4 JSON (converted from XML): strings; one value plain, several `{"value": [...]}`."""
    if kind == "list":
        return v[0] if len(v) == 1 else {"value": list(v)}
    return str(v) if kind == "num" else v


def csv_value(kind: str, v: Any, multi_format: str) -> Any:
    """Export CSV cell: multi-values joined by `;` (or a JSON array, per knob)."""
    if v is None or kind != "list":
        return v
    return json.dumps(list(v), ensure_ascii=False) if multi_format == "json" else ";".join(v)


def extend(spec: Any, table: Any) -> tuple[Any, dict[str, Callable[[Any, int, int, int], Any]]]:
    """The prospects spec with one field per custom-fields record, and their value rules."""
    defs = [definition(i, rid) for i, rid in enumerate(table.ids)]
    fields = [*spec.fields, *((f.key, f.kind) for f in defs)]
    custom = {f.key: f.field_id for f in defs}
    rules = {f.key: value_builder(f, j) for j, f in enumerate(defs)}
    return dataclasses.replace(spec, fields=fields, custom=custom), rules


def denied(code: int) -> ApiError:
    """The error the custom-fields object answers with knob `custom_fields_error_code`."""
    messages = {46: "Access denied: the API user lacks the required permission",
                49: "Access denied"}
    return ApiError(code, messages.get(code, "Invalid request"))
