"""Which path a stream takes: forced modes, per-stream overrides, and auto's threshold."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from tap_pardot.settings import Settings
from tap_pardot.strategy import AUTO_EXPORT_THRESHOLD, choose_sync_mode

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)


class Stream:
    """The attributes strategy reads from a PardotStream."""

    def __init__(self, name: str = "visitor_activities", *, export_object: str | None = "x",
                 state: dict | None = None, fields: int = 10, **config: object) -> None:
        self.name = name
        self.export_object = export_object
        self.export_procedure = "filter_by_updated_at"
        self.export_deleted_argument = None
        self.refused_fields: set[str] = set()
        self.config = {"start_date": (NOW - timedelta(days=60)).isoformat(), **config}
        self.settings = Settings.parse(self.config)
        self.state = state or {}
        self.fetched_properties = [f"f{i}" for i in range(fields)]
        self.schema: dict[str, dict] = {"properties": {key: {} for key in self.fetched_properties}}
        self.logger = logging.getLogger("tap-pardot.strategy-test")

    def get_context_state(self, context: object) -> dict:
        return self.state

    def resume_point(self, context: object) -> tuple[datetime, None]:
        value = self.state.get("replication_key_value") or self.config["start_date"]
        return datetime.fromisoformat(str(value)), None

    def read_bound(self) -> datetime:
        end = self.settings.end_date
        return min(NOW, end) if end else NOW


def mode(stream: Stream) -> str:
    return choose_sync_mode(stream, None)[0]  # type: ignore[arg-type]


def why(stream: Stream) -> str:
    return choose_sync_mode(stream, None)[1]  # type: ignore[arg-type]


def test_forced_modes_and_overrides() -> None:
    assert mode(Stream(sync_mode="query")) == "query"
    assert mode(Stream(sync_mode="export", start_date=NOW.isoformat())) == "export"
    overrides = {"visitor_activities": "query"}
    assert mode(Stream(sync_mode="export", stream_sync_modes=overrides)) == "query"
    assert mode(Stream("prospects", sync_mode="export", stream_sync_modes=overrides)) == "export"


def test_objects_without_export_always_query() -> None:
    assert mode(Stream("campaigns", export_object=None, sync_mode="export")) == "query"
    assert mode(Stream("campaigns", export_object=None)) == "query"


def test_auto_exports_large_ranges_and_queries_catch_ups() -> None:
    assert mode(Stream()) == "export"  # a first run over 60 days
    assert why(Stream()) == "auto: 60 days to fetch, more than 7 days"  # human units
    recent = {"replication_key_value": (NOW - timedelta(hours=3)).isoformat()}
    assert mode(Stream(state=recent)) == "query"
    assert why(Stream(state=recent)) == "auto: 3 h to fetch, at most 7 days"
    ahead = {"replication_key_value": (NOW + timedelta(days=3)).isoformat()}
    assert why(Stream(state=ahead)) == "auto: nothing new to fetch"  # not "-3.0 days"
    edge = NOW - AUTO_EXPORT_THRESHOLD + timedelta(minutes=1)
    assert mode(Stream(state={"replication_key_value": edge.isoformat()})) == "query"
    bounded = Stream(start_date="2025-01-01T00:00:00+00:00", end_date="2025-01-05T00:00:00+00:00")
    assert mode(bounded) == "query"
    assert mode(Stream(start_date="2025-01-01T00:00:00+00:00",
                       end_date="2025-03-01T00:00:00+00:00")) == "export"


def test_auto_resumes_an_export_in_flight() -> None:
    recorded = [{"id": 1, "window_start": NOW.isoformat()}]
    state = {"replication_key_value": NOW.isoformat(), "exports": recorded}
    assert mode(Stream(state=state)) == "export"
    stale = [{"id": 1, "window_start": (NOW - timedelta(days=9)).isoformat()}]
    state = {"replication_key_value": NOW.isoformat(), "exports": stale}
    assert mode(Stream(state=state)) == "query"


def test_auto_queries_when_too_many_fields() -> None:
    assert mode(Stream(fields=151)) == "query"
    assert "151 fields selected" in why(Stream(fields=151))
    assert mode(Stream(fields=150)) == "export"
