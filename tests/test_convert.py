"""RecordConverter: names, types, UTC times, and the DST fall-back hour both ways."""

import datetime as dt

import pytest

from tap_pardot.convert import RecordConverter, snake_to_camel
from tap_pardot.times import parse_utc

SCHEMA = {
    "properties": {
        "id": {"type": ["integer"]},
        "prospect_id": {"type": ["integer", "null"]},
        "opted_out": {"type": ["boolean", "null"]},
        "type_name": {"type": ["string", "null"]},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
    }
}
NY = "America/New_York"


def test_names_round_trip() -> None:
    assert snake_to_camel("is_do_not_email") == "isDoNotEmail"
    assert snake_to_camel("address_one") == "addressOne"


def test_v5_json_row() -> None:
    row = {"id": 7, "prospectId": 3, "optedOut": True, "typeName": "Click",
           "updatedAt": "2025-11-02T01:30:00-04:00", "prospect.email": "x"}
    record = RecordConverter(SCHEMA, NY).convert(row)
    assert record == {"id": 7, "prospect_id": 3, "opted_out": True, "type_name": "Click",
                      "created_at": None, "updated_at": "2025-11-02T05:30:00+00:00"}


def test_v3_json_row_naive_time_and_int_flags() -> None:
    row = {"id": "8", "prospect_id": 12, "opted_out": 0, "updated_at": "2025-07-01 08:00:00"}
    record = RecordConverter(SCHEMA, NY).convert(row)
    assert record["id"] == 8
    assert record["opted_out"] is False
    assert record["updated_at"] == "2025-07-01T12:00:00+00:00"


def test_csv_row_strings_and_empty_is_null() -> None:
    row = {"id": "9", "prospect_id": "", "opted_out": "true", "type_name": "",
           "created_at": "2025-01-15 00:00:00", "updated_at": "2025-01-15 23:59:59"}
    record = RecordConverter(SCHEMA, NY).convert(row)
    assert record == {"id": 9, "prospect_id": None, "opted_out": True, "type_name": None,
                      "created_at": "2025-01-15T05:00:00+00:00",
                      "updated_at": "2025-01-16T04:59:59+00:00"}


def test_utc_timezone_is_the_default() -> None:
    record = RecordConverter(SCHEMA).convert({"id": 1, "updated_at": "2025-11-02 01:30:00"})
    assert record["updated_at"] == "2025-11-02T01:30:00+00:00"


def test_bad_boolean_raises() -> None:
    with pytest.raises(ValueError, match="boolean"):
        RecordConverter(SCHEMA).convert({"id": 1, "opted_out": "maybe"})


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        # first 01:30 (EDT, UTC-4) lies in a window ending before the transition at 06:00Z
        ((dt.datetime(2025, 11, 2, 4, tzinfo=dt.timezone.utc),
          dt.datetime(2025, 11, 2, 6, tzinfo=dt.timezone.utc)), "2025-11-02T05:30:00+00:00"),
        # second 01:30 (EST, UTC-5) lies in the window starting at the transition
        ((dt.datetime(2025, 11, 2, 6, tzinfo=dt.timezone.utc), None),
         "2025-11-02T06:30:00+00:00"),
        (None, "2025-11-02T05:30:00+00:00"),  # no window: the first occurrence
    ],
)
def test_fall_back_hour_resolved_by_window(window: tuple | None, expected: str) -> None:
    conv = RecordConverter(SCHEMA, NY)
    record = conv.convert({"id": 1, "updated_at": "2025-11-02 01:30:00"}, window=window)
    assert record["updated_at"] == expected


def test_fall_back_hour_other_fields_read_as_the_first_occurrence() -> None:
    conv = RecordConverter(SCHEMA, NY)
    row = {"id": 1, "created_at": "2025-11-02 01:10:00", "updated_at": "2025-11-02 01:30:00"}
    window = (dt.datetime(2025, 11, 2, 6, tzinfo=dt.timezone.utc), None)  # 2nd occurrence
    record = conv.convert(row, window=window)
    assert record["created_at"] == "2025-11-02T05:10:00+00:00"
    assert record["updated_at"] == "2025-11-02T06:30:00+00:00"


def test_spring_forward_gap_does_not_crash() -> None:
    conv = RecordConverter(SCHEMA, NY)
    record = conv.convert({"id": 1, "updated_at": "2025-03-09 02:30:00"})
    assert parse_utc(record["updated_at"]).tzinfo is not None


def test_offset_times_in_any_zone_become_utc() -> None:
    conv = RecordConverter(SCHEMA, "Asia/Kolkata")
    record = conv.convert({"id": 1, "updatedAt": "2025-11-02T11:00:00+05:30"})
    assert record["updated_at"] == "2025-11-02T05:30:00+00:00"
