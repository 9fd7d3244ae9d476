"""Discovery, selection and the settings schema of TapPardot (no network)."""

from __future__ import annotations

import json

import pytest
from singer_sdk.exceptions import ConfigValidationError
from tapkit import tap_streams

from tap_pardot.auth import PardotOAuthAuthenticator
from tap_pardot.custom_fields import CustomFieldsMixin
from tap_pardot.tap import TapPardot


@pytest.fixture(autouse=True)
def _no_custom_field_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    """These taps have no API to ask (offline): discovery skips the custom fields."""
    monkeypatch.setattr(CustomFieldsMixin, "discover_custom_fields", lambda self: None)


CONFIG = {"client_id": "cid", "client_secret": "S3CRET", "refresh_token": "RT",
          "pardot_business_unit_id": "0Uv000000000001AAA",
          "start_date": "2025-01-01T00:00:00Z"}


def test_streams_are_declared_with_keys_and_bookmarks() -> None:
    tap = TapPardot(config=CONFIG)
    exported = {"visitor_activities", "prospects", "list_memberships", "visitors",
                "prospect_accounts", "external_activities"}
    # Never updated: bookmarked on their only timestamp.
    immutable = {"visitor_page_views": "created_at", "lifecycle_histories": "created_at",
                 "emails": "sent_at", "external_activities": "created_at",
                 "form_handler_fields": "created_at", "tagged_objects": "created_at",
                 "email_clicks": "created_at"}
    # Full table, keyed otherwise: links read whole; a list email's stats, per list email.
    full_table = {"account": ("id",), "dynamic_content_variations": ("id",),
                  "opportunity_prospects": ("opportunity_id", "prospect_id"),
                  "list_email_stats": ("list_email_id",)}
    assert set(tap.streams) == exported | set(immutable) | set(full_table) | {
        "campaigns", "lists", "users", "tags", "custom_fields", "opportunities", "visits",
        "forms", "custom_redirects", "dynamic_contents", "email_templates",
        "engagement_studio_programs", "files", "folders", "folder_contents", "form_fields",
        "form_handlers", "landing_pages", "layout_templates", "lifecycle_stages",
        "list_emails", "tracker_domains", "imports", "visitor_referrers",
        "visitor_identified_companies"}
    for name, stream in tap_streams(tap).items():
        if name in full_table:
            assert stream.primary_keys == full_table[name]
            assert not stream.replication_key
            continue
        if name == "visitor_identified_companies":  # one per visitor; a company, many
            assert stream.primary_keys == ("visitor_id",)
            assert stream.replication_key == "updated_at"
            continue
        assert stream.primary_keys == ("id",)
        props = stream.schema["properties"]
        assert props["id"]["type"] == ["integer"]
        assert all("null" in p["type"] for name, p in props.items() if name != "id")
        assert bool(stream.export_object) == (name in exported)
        assert stream.selected_by_default == (name != "external_activities")
        assert stream.replication_key == immutable.get(name, "updated_at")
        assert props[stream.replication_key]["format"] == "date-time"


def test_hosts_follow_is_sandbox() -> None:
    assert tap_streams(TapPardot(config=CONFIG))["visitors"].get_url(None) == (
        "https://pi.pardot.com/api/v5/objects/visitors")
    sandbox = TapPardot(config={**CONFIG, "is_sandbox": True, "api_version": 4})
    assert tap_streams(sandbox)["visitors"].get_url(None) == (
        "https://pi.demo.pardot.com/api/visitor/version/4/do/query")
    authenticator = sandbox.run.authenticator
    assert isinstance(authenticator, PardotOAuthAuthenticator)
    assert authenticator.auth_endpoint == (
        "https://test.salesforce.com/services/oauth2/token")


def test_v5_fields_are_the_selected_properties() -> None:
    tap = TapPardot(config=CONFIG)
    catalog = tap.catalog_dict
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            crumb = item["breadcrumb"]
            if entry["tap_stream_id"] == "visitors" and crumb in (
                ["properties", "hostname"], ["properties", "ip_address"]):
                item["metadata"]["selected"] = False
            elif not crumb:
                item["metadata"]["selected"] = True
    selected = TapPardot(config=CONFIG, catalog=catalog)
    fields = tap_streams(selected)["visitors"].v5_fields.split(",")
    assert "hostname" not in fields
    assert "ipAddress" not in fields
    assert {"id", "updatedAt", "pageViewCount", "isIdentified"} <= set(fields)


def test_secrets_are_marked_and_settings_described() -> None:
    props = TapPardot.config_jsonschema["properties"]
    secret = {name for name, prop in props.items() if prop.get("secret")}
    assert secret == {"client_secret", "refresh_token", "private_key",
                      "private_key_passphrase", "password", "user_key"}
    assert all(prop.get("description") for prop in props.values())


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({**CONFIG, "api_version": 6}, "api_version"),
        ({**CONFIG, "pardot_business_unit_id": None}, "pardot_business_unit_id"),
        ({**CONFIG, "max_concurrency": 9}, "max_concurrency"),
    ],
)
def test_bad_config_names_the_setting(config: dict, needle: str) -> None:
    with pytest.raises(ConfigValidationError) as info:
        TapPardot(config={k: v for k, v in config.items() if v is not None})
    assert needle in json.dumps(info.value.errors)
