"""Exact UTC for the naive times of a v5 export CSV in a DST fall-back's repeated hour.

An export CSV writes times naive in the API user's timezone, so a time in the hour a
fall-back repeats names two instants. The converter (convert.py) places the replication key,
and any time written the same, by the export window, which holds only one of them; any other
such time reads as the hour's first occurrence. `exact_times` holds back the records with
one, and re-reads those times through a v5 query, whose times carry their offset:

- a field v5 filters by date (`createdAt`, `updatedAt`, prospects' `lastActivityAt`): one
  query of the UTC span of both occurrences of the hour;
- any other field, or an object filterable by id only (prospect accounts): a query of the
  held records' ids, in id ranges of at most one page.

A handful of calls, once a year (an hour is queried once per run, however many batches of
held records it serves). A queried time is taken only if it is the other reading of
the naive time (the record may have changed since the export); otherwise, or if the record is
not found, the first occurrence stands, with a warning.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from collections import defaultdict

from tap_pardot.client import response_json
from tap_pardot.query.plan import v5_rows, wants_deleted
from tap_pardot.times import SECOND, UTC, fall_backs, iso, parse_utc

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from tap_pardot.convert import RecordConverter
    from tap_pardot.query import QueryStream

PAGE = 1000
HELD = 2000  # records held back at most: memory stays flat however many the hour holds
DATE_FILTERS = frozenset({"created_at", "updated_at"})  # pardot-v5-objects.md, per object
MORE_DATE_FILTERS = {"prospects": frozenset({"last_activity_at"})}
NO_DATE_FILTERS = frozenset({"prospect_accounts"})  # `id` only


class FirstOccurrences:
    """The UTC spans of the first occurrence of each repeated hour of `tz`, by year."""

    def __init__(self, tz: dt.tzinfo) -> None:
        self.tz = tz
        self.years: dict[str, list[tuple[str, str, dt.timedelta]]] = {}

    def span_of(self, value: str) -> tuple[dt.datetime, dt.timedelta] | None:
        """(fall-back instant, fold) if the UTC ISO `value` lies in a first occurrence."""
        spans = self.years.get(value[:4])
        if spans is None:
            spans = self.years[value[:4]] = self._year(value[:4])
        for lo, hi, fold in spans:
            if lo <= value < hi:
                return parse_utc(hi), fold
        return None

    def _year(self, year: str) -> list[tuple[str, str, dt.timedelta]]:
        try:
            first = dt.datetime(int(year), 1, 1, tzinfo=UTC)
        except ValueError:
            return []
        found = fall_backs(self.tz, first, first.replace(year=first.year + 1))
        return [(iso(instant - fold), iso(instant), fold) for instant, fold in found
                if iso(instant)[:4] == year or iso(instant - fold)[:4] == year]


def exact_times(stream: QueryStream, records: Iterable[dict[str, t.Any]],
                converter: RecordConverter) -> Iterator[dict[str, t.Any]]:
    """`records` (an export window's, each made by `converter` just before it comes), those
    with a naive time in a repeated hour last and with that time exact."""
    props = stream.schema.get("properties", {})
    rkey = stream.replication_key
    fields = [name for name in stream.fetched_properties  # what the records can hold
              if props.get(name, {}).get("format") == "date-time" and name != rkey]
    tz = stream.converter.tz
    if not fields or tz in (UTC, dt.timezone.utc) or str(tz) in ("UTC", "Etc/UTC"):
        yield from records
        return
    firsts = FirstOccurrences(tz)
    held: list[tuple[dict[str, t.Any], dict[str, tuple[dt.datetime, dt.timedelta]]]] = []
    seen = converter.first_occurrences
    for record in records:
        if converter.first_occurrences == seen:  # none of its times was in doubt
            yield record
            continue
        seen = converter.first_occurrences
        doubtful = {}
        placed = record.get(rkey)  # the window placed it, and any time equal to it
        for name in fields:
            value = record.get(name)
            if (isinstance(value, str) and len(value) == 25 and value != placed
                    and (span := firsts.span_of(value)) is not None):
                doubtful[name] = span
        if doubtful:
            held.append((record, doubtful))
            if len(held) >= HELD:
                yield from _resolve(stream, held)
                held = []
        else:
            yield record
    if held:
        yield from _resolve(stream, held)


def _resolve(stream: QueryStream,
             held: list[tuple[dict[str, t.Any], dict[str, tuple[dt.datetime, dt.timedelta]]]]
             ) -> Iterator[dict[str, t.Any]]:
    filters = set() if stream.name in NO_DATE_FILTERS else (
        DATE_FILTERS | MORE_DATE_FILTERS.get(stream.name, frozenset()))
    exact: dict[tuple[str, int], str] = {}  # (field, id) -> the time with its offset, UTC
    by_hour: dict[tuple[str, dt.datetime, dt.timedelta], None] = {}
    by_id: dict[str, set[int]] = defaultdict(set)
    for record, doubtful in held:
        for name, (instant, fold) in doubtful.items():
            if name in filters:
                by_hour[(name, instant, fold)] = None
            else:
                by_id[name].add(record["id"])
    # An hour is queried once per run, whichever windows hold its records.
    hours: dict[tuple[str, dt.datetime], dict[tuple[str, int], str]] = \
        stream.__dict__.setdefault("_dst_hours", {})
    for name, instant, fold in by_hour:
        if (name, instant) not in hours:
            camel = stream.wire_name(name, 5)
            params = {f"{camel}AfterOrEqualTo": iso(instant - fold),
                      f"{camel}BeforeOrEqualTo": iso(instant + fold - SECOND)}
            hours[(name, instant)] = {}
            _query(stream, [name], params, hours[(name, instant)])
        exact.update(hours[(name, instant)])
    if by_id:
        names = sorted(by_id)
        ids = sorted(set().union(*by_id.values()))
        lo = 0
        while lo < len(ids):
            hi = lo
            while hi + 1 < len(ids) and ids[hi + 1] - ids[lo] < PAGE:
                hi += 1
            _query(stream, names, {"idGreaterThanOrEqualTo": ids[lo],
                                   "idLessThanOrEqualTo": ids[hi]}, exact)
            lo = hi + 1
    missed = 0
    for record, doubtful in held:
        for name, (_, fold) in doubtful.items():
            value = exact.get((name, record["id"]))
            if value is not None and value == iso(parse_utc(record[name]) + fold):
                record[name] = value  # the second occurrence
            elif value != record[name]:
                missed += 1
        yield record
    if missed:
        stream.logger.warning(
            "Stream %s: %d time(s) in a repeated DST hour could not be re-read exactly (the "
            "records changed since the export): read as the hour's first occurrence",
            stream.name, missed)


def _query(stream: QueryStream, names: list[str], filters: dict[str, t.Any],
           exact: dict[tuple[str, int], str]) -> None:
    """A v5 query of `names` (and id) with `filters`, every page; the times into `exact`."""
    url = f"{stream.url_base}/api/v5/objects/{stream.v5_path}"
    fields = ",".join(["id", *(stream.wire_name(name, 5) for name in names)])
    params: dict[str, t.Any] = {"fields": fields, "orderBy": "id ASC", "limit": PAGE,
                                **filters}
    if wants_deleted(stream):
        params["deleted"] = "all"
    while True:
        body = response_json(stream.pardot_request("GET", url, params=params))
        for row in v5_rows(body):
            for name in names:
                value = row.get(stream.wire_name(name, 5))
                if isinstance(value, str) and value:
                    exact[(name, int(row["id"]))] = stream.converter.to_utc_iso(value)
        token = body.get("nextPageToken") if isinstance(body, dict) else None
        if not token:
            return
        params = {"fields": fields, "nextPageToken": token}
