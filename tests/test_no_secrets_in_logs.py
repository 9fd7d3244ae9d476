"""Secrets never reach logs, errors or output: every configured secret and every token or
api key the simulator issued during the run is absent from the tap's stdout and stderr, at
DEBUG level, through token refreshes, re-logins and failures."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from tapkit import run_cli, sim_config

KNOBS = {"visitor_activities": {"count": 120, "clump_size": 30},
         "prospects": {"count": 60, "clump_size": 10},
         "token_max_calls": 3, "api_key_ttl_seconds": 0.5}
SECRET_SETTINGS = ("client_secret", "refresh_token", "password", "user_key")
LEGACY = {"api_version": 3, "auth_flow": "legacy", "client_id": None, "client_secret": None,
          "refresh_token": None, "pardot_business_unit_id": None}


def issued(sim: t.Any) -> set[str]:
    """Every access token and api key the simulator handed out."""
    return set(sim.creds.tokens) | set(sim.creds.api_keys)


@pytest.mark.parametrize(("case", "overrides"), [
    ("oauth with refreshes", {}),
    ("legacy with re-logins", LEGACY),
    ("bad client secret", {"client_secret": "wrong-client-secret-1234"}),
    ("bad password", {**LEGACY, "password": "wrong-password-5678"}),
])
def test_no_secret_in_output(sim_factory: t.Any, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch, case: str,
                             overrides: dict) -> None:
    monkeypatch.setenv("TAP_PARDOT_LOGLEVEL", "DEBUG")
    sim = sim_factory(KNOBS)
    creds = sim.credentials
    legacy_login = {"email": creds["email"], "password": creds["password"],
                    "user_key": creds["user_key"]}
    config = sim_config(sim, start_date="2025-09-15T00:00:00Z", sync_mode="query",
                        page_size=50, **{**legacy_login, **overrides})
    run = run_cli(config, tmp_path=tmp_path)
    failing = case.startswith("bad")
    assert (run.returncode != 0) == failing, run.stderr[-2000:]
    if not failing:
        assert run.records["prospects"], "the run should have synced records"
        assert len(issued(sim)) > 1, "the knobs should have forced a refresh or re-login"
    secrets = {config[name] for name in SECRET_SETTINGS if name in config} | issued(sim)
    output = run.stderr + "\n".join(map(str, run.records.values())) + str(run.states)
    leaked = sorted(secret for secret in secrets if secret and secret in output)
    assert not leaked, f"{case}: secrets in the output: {[s[:4] + '…' for s in leaked]}"
