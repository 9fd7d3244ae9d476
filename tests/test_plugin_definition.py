"""plugin/tap-pardot.yml, the Meltano plugin definition users add (`meltano add --from-ref`),
in the Meltano Hub's format: generated from meltano.yml and `tap-pardot --about`, in step
with the code, and added, installed and configured by a real Meltano."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from meltanokit import MELTANO, NO_MELTANO, ROOT, meltano

sys.path.insert(0, str(ROOT / "scripts"))

import plugin_definition

PLUGIN = ROOT / "plugin" / "tap-pardot.yml"

# The Hub's plugin definition syntax for an extractor (its extractors, common, base_setting
# and hub_metadata JSON schemas), as rules.
HUB_REQUIRED = {"name", "namespace", "variant", "label"}
HUB_KEYS = HUB_REQUIRED | {
    "pip_url", "description", "executable", "settings", "docs", "repo", "logo_url", "hidden",
    "settings_group_validation", "commands", "capabilities", "metadata", "schema", "select",
    "maintenance_status", "domain_url", "keywords", "requires", "definition", "next_steps",
    "settings_preamble", "usage", "prereq"}
SETTING_KEYS = {"name", "aliases", "label", "value", "placeholder", "kind", "description",
                "tooltip", "documentation", "protected", "env", "value_processor",
                "value_post_processor", "oauth", "options", "docs", "sensitive", "hidden"}
KINDS = {"oauth", "hidden", "password", "date_iso8601", "file", "email", "integer", "options",
         "object", "array", "boolean", "string"}
CAPABILITIES = {"properties", "catalog", "discover", "state", "about", "stream-maps",
                "schema-flattening", "activate-version", "batch", "test", "log-based",
                "structured-logging"}
MAINTENANCE = {"active", "beta", "development", "inactive", "unknown"}


@pytest.fixture(scope="module")
def plugin() -> dict[str, Any]:
    return dict(yaml.safe_load(PLUGIN.read_text()))


@pytest.fixture(scope="module")
def about() -> dict[str, Any]:
    return dict(plugin_definition.about())


def test_plugin_file_is_generated() -> None:
    assert PLUGIN.read_text() == plugin_definition.render(), "run `make plugin`"


def test_plugin_follows_the_hubs_format(plugin: dict[str, Any]) -> None:
    assert set(plugin) >= HUB_REQUIRED
    assert set(plugin) <= HUB_KEYS
    assert plugin["maintenance_status"] in MAINTENANCE
    assert set(plugin["capabilities"]) <= CAPABILITIES
    assert all(isinstance(k, str) for k in plugin["keywords"])
    names = {s["name"] for s in plugin["settings"]}
    for group in plugin["settings_group_validation"]:
        assert set(group) <= names
    for setting in plugin["settings"]:
        assert set(setting) <= SETTING_KEYS, setting["name"]
        assert setting["kind"] in KINDS, setting["name"]
        for option in setting.get("options", []):
            assert set(option) == {"label", "value"}
            assert isinstance(option["value"], str), setting["name"]  # the Hub's type


def test_plugin_matches_the_code(plugin: dict[str, Any], about: dict[str, Any]) -> None:
    """Settings in `--about`'s order, secrets marked, defaults equal, capabilities and
    description `--about`'s; meltano.yml declares the same capabilities."""
    properties = about["settings"]["properties"]
    assert [s["name"] for s in plugin["settings"]] == list(properties)
    for setting in plugin["settings"]:
        prop = properties[setting["name"]]
        assert bool(setting.get("sensitive")) == bool(prop.get("secret")), setting["name"]
        if "default" in prop or "value" in setting:
            assert str(setting.get("value")) == str(prop.get("default")), setting["name"]
    assert set(plugin["capabilities"]) == set(about["capabilities"])
    assert set(plugin_definition.extractor()["capabilities"]) == set(about["capabilities"])
    assert plugin["description"] == about["description"]
    required = set(about["settings"].get("required", []))
    for group in plugin["settings_group_validation"]:
        assert set(group) >= required


@pytest.mark.skipif(not MELTANO, reason=NO_MELTANO)
def test_meltano_adds_installs_and_configures_the_definition(tmp_path: Path) -> None:
    """`meltano add --from-ref`, `meltano install` from this checkout (PARDOT_TAP_PIP_URL),
    `meltano config set`, then the tap's --about through Meltano."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "meltano.yml").write_text(
        "default_environment: dev\nproject_id: plugin-test\nsend_anonymous_usage_stats: "
        "false\nenvironments:\n- name: dev\n")
    env = {"PARDOT_TAP_PIP_URL": str(ROOT)}
    meltano(project, "add", "--plugin-type", "extractor", "tap-pardot", "--from-ref",
            str(PLUGIN), "--no-install", env=env)
    meltano(project, "install", "--plugin-type", "extractor", "tap-pardot", env=env,
            timeout=600)
    meltano(project, "config", "set", "tap-pardot", "api_version", "4", env=env)
    meltano(project, "config", "set", "tap-pardot", "metrics_log_level", "INFO", env=env)
    config = json.loads(meltano(project, "invoke", "--dump=config", "tap-pardot", env=env))
    assert (config["api_version"], config["metrics_log_level"]) == (4, "INFO")
    assert config["include_deleted"] is True  # a default from the definition
    about = json.loads(meltano(project, "invoke", "tap-pardot", "--about", "--format=json",
                               env=env))
    added = yaml.safe_load((project / "meltano.yml").read_text())["plugins"]["extractors"][0]
    assert set(added["capabilities"]) == set(about["capabilities"])
    assert [s["name"] for s in added["settings"]] == list(about["settings"]["properties"])
    installed = subprocess.run(
        [str(project / ".meltano/extractors/tap-pardot/venv/bin/tap-pardot"), "--version"],
        capture_output=True, text=True, check=True, timeout=60)
    assert "tap-pardot" in installed.stdout + installed.stderr
