"""API rows (v5 JSON, v3/v4 JSON, export CSV) -> typed snake_case records with UTC times.

One converter per stream and run, built from the stream's JSON schema; `convert()` is on
the per-record hot path (an export can hold millions of rows), so field specs are resolved
once and the row loop does a dict lookup and one call per field.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import typing as t
import zoneinfo
from decimal import Decimal

from tap_pardot.times import UTC

# The UTC bounds a record's instant must lie in (either may be None): a request's range.
Bounds = tuple[dt.datetime | None, dt.datetime | None]

_TRUE = frozenset({"true", "1", "yes", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "f", "n"})
_INT, _BOOL, _DATETIME, _STR, _NUM, _LIST, _ANY, _INTS = range(8)
_ESCAPED = frozenset("=+@")
_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False}
# `f(row, window)`: a CSV row (values by column) -> a typed record (RecordConverter.for_header)
RowConverter: t.TypeAlias = "t.Callable[[t.Sequence[str], Bounds | None], dict[str, t.Any]]"


def snake_to_camel(name: str) -> str:
    """`prospect_id` -> `prospectId` (the v5 field name)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _kind(prop: t.Mapping[str, t.Any]) -> int:
    types = prop.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if "array" in types:
        items = prop.get("items", {}).get("type", [])
        return _INTS if "integer" in ([items] if isinstance(items, str) else items) else _LIST
    if "integer" in types:
        return _INT
    if "boolean" in types:
        return _BOOL
    if "number" in types:
        return _NUM
    if "string" in types:
        return _DATETIME if prop.get("format") == "date-time" else _STR
    return _ANY


def to_int(value: t.Any) -> int:
    """Integers arrive as ints, numeric strings or (v3/v4) floats."""
    if isinstance(value, int):
        return int(value)
    try:
        return int(value)
    except ValueError:
        return int(Decimal(str(value)))


def to_bool(value: t.Any) -> bool:
    """Booleans arrive as bools, 0/1 (v3/v4 JSON) or `true`/`false` (CSV)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    msg = f"not a boolean: {value!r}"
    raise ValueError(msg)


def to_list(value: t.Any) -> list[str] | None:
    """Multi-value custom fields: a JSON array (v5), `{"value": [...]}` or `{"value": "a"}`
    or a plain string (v3/v4 JSON from XML), `a;b` or a JSON array text (export CSV).
    A string is split on `;` (Salesforce's multi-value separator); empty means null."""
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, str):
        if value.startswith("["):
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                return to_list(parsed)
        value = value.split(";")
    elif not isinstance(value, (list, tuple)):
        value = [] if value is None else [value]
    items = [_to_str(v) for v in value if v is not None and v != ""]
    return items or None


class RecordConverter:
    """Convert rows of one stream; naive times are read in `tz` (the API user's zone).

    Row keys are read as property names, their camelCase (v5), or `aliases`: other
    spellings -> property (v3/v4 names such as `crm_lead_fid`, custom fields' API names).
    """

    def __init__(
        self,
        schema: t.Mapping[str, t.Any],
        tz: str | dt.tzinfo = "UTC",
        *,
        replication_key: str | None = "updated_at",
        aliases: t.Mapping[str, str] | None = None,
    ) -> None:
        self.tz = zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz
        self._utc_tz = self.tz in (UTC, zoneinfo.ZoneInfo("UTC"))
        self._hour_prefixes: dict[str, str | None] = {}  # local hour -> its UTC hour
        props = schema.get("properties", {})
        self._template: dict[str, t.Any] = dict.fromkeys(props)
        self._fields: dict[str, tuple[str, int]] = {}
        for name, prop in props.items():
            spec = (name, _kind(prop))
            self._fields[name] = spec
            self._fields.setdefault(snake_to_camel(name), spec)
        for api_name, name in (aliases or {}).items():
            if name in props:
                self._fields.setdefault(api_name, self._fields[name])
        self.replication_key = replication_key
        self._rkey_names = (replication_key or "", snake_to_camel(replication_key or ""))
        self._unescape = False
        # Naive times read as a repeated hour's first occurrence, the window not deciding
        # (export/dst.py re-reads those of export rows).
        self.first_occurrences = 0

    def for_fields(self, names: t.Iterable[str], *, csv: bool = False) -> RecordConverter:
        """A converter whose records hold only `names` (a value not fetched is left out,
        never emitted as null); with `csv`, Pardot's formula escape is undone: export CSVs
        write a string that starts with `=`, `+` or `@` with a backslash first (§4c)."""
        other = copy.copy(self)
        other._template = dict.fromkeys(name for name in names if name in self._template)
        other._fields = {key: spec for key, spec in self._fields.items()
                         if spec[0] in other._template}
        other._unescape = csv
        other.__dict__.pop("_row_converters", None)  # made for the fields of `self`
        return other

    def convert(
        self,
        row: t.Mapping[str, t.Any],
        *,
        window: Bounds | None = None,
    ) -> dict[str, t.Any]:
        """One typed record. Keys may be snake_case or camelCase; unknown keys are dropped.

        A naive replication-key time repeated at a DST fall-back is resolved by `window`
        (UTC bounds the instant must lie in, either may be None); other naive times there
        read as the first occurrence.
        """
        out = self._template.copy()
        fields = self._fields
        snake, camel = self._rkey_names
        rraw = row.get(snake) if snake in row else row.get(camel)
        for key, value in row.items():
            spec = fields.get(key)
            if spec is None or value is None or value == "":
                continue
            name, kind = spec
            if kind == _DATETIME:
                # A time equal to the replication key's (say created_at == updated_at) is
                # the same instant, so the window disambiguates it too.
                out[name] = self.to_utc_iso(
                    value, window=window if value == rraw else None
                )
            elif kind == _INT:
                out[name] = value if type(value) is int else to_int(value)
            elif kind == _BOOL:
                out[name] = value if type(value) is bool else to_bool(value)
            elif kind == _STR:
                if type(value) is not str:
                    value = _to_str(value)
                elif self._unescape and value[0] == "\\" and value[1:2] in _ESCAPED:
                    value = value[1:]
                out[name] = value
            elif kind == _NUM:
                out[name] = value if isinstance(value, (int, float)) else Decimal(str(value))
            elif kind == _LIST:
                out[name] = to_list(value)
            elif kind == _INTS:
                out[name] = [to_int(v) for v in value] if isinstance(value, list) else None
            else:
                out[name] = value
        return out

    def for_header(self, header: t.Sequence[str]) -> RowConverter:
        """`convert(dict(zip(header, row)), window=window)` as `f(row, window)` for rows of
        text (CSV), with the columns resolved once per header (cached)."""
        key = tuple(header)
        cache = self.__dict__.setdefault("_row_converters", {})
        made = cache.get(key)
        if made is None:
            made = cache[key] = self._row_converter(key)
        return t.cast("RowConverter", made)

    def _row_converter(self, header: tuple[str, ...]) -> RowConverter:
        columns: dict[str, int] = {}  # the last column of a key wins, as in a dict
        for at, key in enumerate(header):
            columns[key] = at
        # Every kind (an _INTS column is left None: a CSV cell is never a list, as `convert`
        # finds too).
        by_kind: dict[int, list[tuple[int, str]]] = {kind: [] for kind in range(_INTS + 1)}
        names: set[str] = set()
        for key, at in sorted(columns.items(), key=lambda item: item[1]):
            spec = self._fields.get(key)
            if spec is None:
                continue
            if spec[0] in names:  # two columns for one property: the general way
                convert = self.convert
                return lambda row, window: convert(dict(zip(header, row, strict=True)),
                                                   window=window)
            names.add(spec[0])
            by_kind[spec[1]].append((at, spec[0]))
        snake, camel = self._rkey_names
        rkey_at = columns.get(snake, columns.get(camel, -1))
        ints, bools, times, strs = (by_kind[k] for k in (_INT, _BOOL, _DATETIME, _STR))
        others = [(at, name, kind) for kind in (_NUM, _LIST, _ANY)
                  for at, name in by_kind[kind]]
        template, unescape, to_iso = self._template, self._unescape, self.to_utc_iso

        def convert_row(row: t.Sequence[str], window: Bounds | None = None) -> dict[str, t.Any]:
            out = template.copy()
            for at, name in ints:
                value = row[at]
                if value:
                    try:
                        out[name] = int(value)
                    except ValueError:
                        out[name] = to_int(value)
            for at, name in strs:
                value = row[at]
                if value:
                    if unescape and value[0] == "\\" and value[1:2] in _ESCAPED:
                        value = value[1:]
                    out[name] = value
            if times:
                rraw = row[rkey_at] if rkey_at >= 0 else None
                last = made = None  # a row's times are often equal (created == updated)
                for at, name in times:
                    value = row[at]
                    if value:
                        if value != last:
                            last = value
                            made = to_iso(value, window=window if value == rraw else None)
                        out[name] = made
            for at, name in bools:
                value = row[at]
                if value:
                    flag = _BOOL_TEXT.get(value)
                    out[name] = to_bool(value) if flag is None else flag
            for at, name, kind in others:
                value = row[at]
                if value:
                    out[name] = (Decimal(value) if kind == _NUM
                                 else to_list(value) if kind == _LIST else value)
            return out

        return convert_row

    def to_utc(
        self,
        value: str | dt.datetime,
        *,
        window: Bounds | None = None,
    ) -> dt.datetime:
        """Parse an ISO time (with offset, or naive in `tz`) into an aware UTC datetime."""
        parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
        if self._utc_tz:
            return parsed.replace(tzinfo=UTC)
        first = parsed.replace(tzinfo=self.tz).astimezone(UTC)
        second = parsed.replace(tzinfo=self.tz, fold=1).astimezone(UTC)
        if first == second:
            return first
        if window is not None:
            lo, hi = window
            inside = [c for c in (first, second) if (lo is None or c >= lo)
                      and (hi is None or c <= hi)]
            if len(inside) == 1:
                return inside[0]
        if first < second:  # a repeated hour (a skipped one, spring-forward, reads later)
            self.first_occurrences += 1
        return first

    def to_utc_iso(
        self,
        value: str | dt.datetime,
        *,
        window: Bounds | None = None,
    ) -> str:
        """Like `to_utc`, as `2025-11-02T05:30:00+00:00`. A date alone (a custom Date
        field's `2025-11-02`) is a calendar day, not an instant: midnight UTC."""
        if isinstance(value, str):
            if len(value) == 19:  # naive `YYYY-MM-DD HH:MM:SS` (export CSVs)
                prefix = self._hour_prefixes.get(value[:13], "")
                if prefix == "":
                    prefix = self._utc_hour(value[:13])
                tail = value[13:]  # `:MM:SS`, checked as fromisoformat would
                if (prefix is not None and tail[0] == tail[3] == ":"
                        and tail[1:3] < "60" and tail[4:] < "60"
                        and (tail[1:3] + tail[4:]).isdigit()):
                    return f"{prefix}{tail}+00:00"
            elif len(value) == 10:
                return f"{dt.date.fromisoformat(value).isoformat()}T00:00:00+00:00"
            elif len(value) == 25 and value.endswith("+00:00"):
                return value.replace(" ", "T", 1)
        return self.to_utc(value, window=window).isoformat()

    def _utc_hour(self, hour: str) -> str | None:
        """`YYYY-MM-DDTHH` in UTC of a local hour `YYYY-MM-DD HH`, or None where that is not
        one UTC hour (the offset changes in it, or is not whole hours); cached."""
        prefix = None
        with contextlib.suppress(ValueError):
            top = dt.datetime.fromisoformat(f"{hour}:00:00")
            ends = (top, top + dt.timedelta(minutes=59, seconds=59))
            offsets = {end.replace(tzinfo=self.tz, fold=fold).utcoffset()
                       for end in ends for fold in (0, 1)}
            offset = offsets.pop() if len(offsets) == 1 else None
            if offset is not None and not offset.total_seconds() % 3600:
                prefix = (top - offset).isoformat()[:13]
        if len(self._hour_prefixes) > 100_000:
            self._hour_prefixes.clear()
        self._hour_prefixes[hour] = prefix
        return prefix


def _to_str(value: t.Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
