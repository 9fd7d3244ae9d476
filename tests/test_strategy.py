"""Which path a stream takes: forced modes, per-stream overrides, auto (probed windows),
and which streams the Export API serves (documented and generic procedures)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from tap_pardot.export.spec import export_spec
from tap_pardot.settings import Settings
from tap_pardot.strategy import choose_sync_mode

UTC = timezone.utc
NOW = datetime.now(UTC).replace(microsecond=0)


class Stream:
    """The attributes strategy reads from a PardotStream."""

    replication_key = "updated_at"

    def __init__(self, name: str = "visitor_activities", *, export_object: str | None = "x",
                 export_generic: str | None = None, deletable: bool = True,
                 state: dict | None = None, fields: int = 10, **config: object) -> None:
        self.name = name
        self.export_object = export_object
        self.export_generic = export_generic
        self.deletable = deletable
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
    return choose_sync_mode(stream)[0]  # type: ignore[arg-type]


def why(stream: Stream) -> str:
    return choose_sync_mode(stream)[1]  # type: ignore[arg-type]


def test_forced_modes_and_overrides() -> None:
    assert mode(Stream(sync_mode="query")) == "query"
    assert mode(Stream(sync_mode="export", start_date=NOW.isoformat())) == "export"
    overrides = {"visitor_activities": "query"}
    assert mode(Stream(sync_mode="export", stream_sync_modes=overrides)) == "query"
    assert mode(Stream("prospects", sync_mode="export", stream_sync_modes=overrides)) == "export"


def test_objects_without_export_always_query() -> None:
    assert mode(Stream("campaigns", export_object=None, sync_mode="export")) == "query"
    assert mode(Stream("campaigns", export_object=None)) == "query"


def test_auto_probes_each_window() -> None:
    """auto is decided per window by volume (export/sync.py), whatever the span."""
    assert mode(Stream()) == "auto"
    recent = {"replication_key_value": (NOW - timedelta(days=2)).isoformat()}
    assert mode(Stream(state=recent)) == "auto"
    assert "probed with one query page" in why(Stream())


def test_generic_procedures_serve_v5_only() -> None:
    campaigns = Stream("campaigns", export_object=None, export_generic="Campaign")
    spec = export_spec(campaigns)  # type: ignore[arg-type]
    assert spec is not None
    assert spec.generic
    assert spec.procedure_name(5) == "Campaign/FilterByUpdatedAt"
    assert spec.deleted_argument == "deleted"
    assert mode(campaigns) == "auto"
    visits = Stream("visits", export_object=None, export_generic="Visit", deletable=False)
    assert export_spec(visits).deleted_argument is None  # type: ignore[arg-type, union-attr]
    views = Stream("visitor_page_views", export_object=None, export_generic="VisitorPageView")
    views.replication_key = "created_at"
    assert export_spec(views).procedure_name(5) == (  # type: ignore[arg-type, union-attr]
        "VisitorPageView/FilterByCreatedAt")
    emails = Stream("emails", export_object=None, export_generic="Email")
    emails.replication_key = "sent_at"
    assert export_spec(emails) is None  # type: ignore[arg-type]
    v4 = Stream("campaigns", export_object=None, export_generic="Campaign", api_version=4)
    assert export_spec(v4) is None  # type: ignore[arg-type]
    assert mode(v4) == "query"


def test_auto_queries_when_too_many_fields() -> None:
    assert mode(Stream(fields=151)) == "query"
    assert "151 fields selected" in why(Stream(fields=151))
    assert mode(Stream(fields=150)) == "auto"
