"""The settings are written once: README, meltano.yml and the tap's schema must agree."""

import sys
from pathlib import Path

import pytest
from tapkit import tap_streams

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import plugin_definition  # noqa: E402
import update_readme  # noqa: E402

from tap_pardot.tap import TapPardot  # noqa: E402

SCHEMA = TapPardot.config_jsonschema["properties"]
DESIGN_SETTINGS = {
    "start_date", "end_date", "client_id", "client_secret", "refresh_token", "username",
    "private_key", "private_key_passphrase", "auth_flow", "email", "password", "user_key",
    "pardot_business_unit_id", "api_version", "is_sandbox", "api_base_url", "auth_base_url",
    "timezone", "sync_mode", "stream_sync_modes", "export_window_days", "export_poll_seconds",
    "export_timeout_hours", "max_concurrency", "page_size", "max_api_calls",
    "request_timeout_seconds", "include_deleted",
}
# Settings the tap adds to the design's contract, and why: the JWT audience is the login
# host, overridable for Experience Cloud users (the real-API issue).
ADDED_SETTINGS = {"jwt_audience"}
SECRETS = {"client_secret", "refresh_token", "private_key", "private_key_passphrase",
           "password", "user_key"}


@pytest.fixture(scope="module")
def extractor() -> dict:
    """meltano.yml's tap-pardot extractor."""
    return plugin_definition.extractor()


@pytest.fixture(scope="module")
def about() -> dict:
    """`tap-pardot --about --format=json`'s settings (one run for the module)."""
    return dict(plugin_definition.about()["settings"]["properties"])


def test_schema_has_every_setting_of_the_contract() -> None:
    assert set(SCHEMA) >= DESIGN_SETTINGS


def test_secrets_are_marked_in_schema_and_meltano(extractor: dict) -> None:
    secret_in_schema = {name for name, prop in SCHEMA.items() if prop.get("secret")}
    sensitive = {s["name"] for s in extractor["settings"] if s.get("sensitive")}
    assert secret_in_schema == SECRETS
    assert sensitive == SECRETS


# The Meltano kinds that give the tap each JSON type. Numbers are `string`: Meltano 4's
# `decimal` kind cannot serialise a value from the environment; the tap reads "0.5" as 0.5.
MELTANO_KINDS = {"string": {"string", "date_iso8601", "options"}, "integer": {"integer"},
                 "boolean": {"boolean"}, "object": {"object"}, "number": {"string"}}


def test_meltano_settings_match_schema(extractor: dict, about: dict) -> None:
    """meltano.yml lists every setting `--about` does (the tap's, then the SDK's: stream maps,
    flattening, batch), in its order, each with a kind Meltano hands over as the schema's
    type, and options among the schema's values."""
    assert [s["name"] for s in extractor["settings"]] == list(about)
    assert set(about) > DESIGN_SETTINGS | ADDED_SETTINGS | {"batch_config", "stream_maps"}
    for setting in extractor["settings"]:
        prop = about[setting["name"]]
        json_type = next(t for t in prop["type"] if t != "null")
        assert setting["kind"] in MELTANO_KINDS[json_type], setting["name"]
        if setting["kind"] == "options":
            assert {o["value"] for o in setting["options"]} == set(prop["enum"])


def test_readme_settings_table_is_generated_from_about() -> None:
    readme = (ROOT / "README.md").read_text()
    assert update_readme.render(readme) == readme, "run `make readme`"


def test_about_lists_every_setting(about: dict) -> None:
    assert set(about) >= DESIGN_SETTINGS


def test_readme_streams_table_matches_the_tap() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- streams:begin -->")[1].split("<!-- streams:end -->")[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in table.strip().splitlines()[2:]]
    documented = {row[0]: (row[1], None if row[2] == "full table" else row[2],
                           "export" in row[5]) for row in rows}
    tap = TapPardot(config={"start_date": "2025-01-01T00:00:00Z", "client_id": "x",
                            "client_secret": "y", "refresh_token": "z",
                            "pardot_business_unit_id": "0Uv000000000001AAA"},
                    catalog={"streams": []}, parse_env_config=False)
    actual = {name: (",".join(s.primary_keys), s.replication_key,
                     bool(s.export_object or s.export_generic))
              for name, s in tap_streams(tap).items()}
    assert documented == actual
