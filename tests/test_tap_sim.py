"""The real CLI against the simulator: output compared with the simulator's truth record
for record, incremental runs with state, limits, faults and the connection test."""

from __future__ import annotations

import functools
import typing as t
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from tapkit import ARRAY_CUSTOM_FIELDS, discover_catalog, run_cli, sim_config, truth

STREAMS = ("visitor_activities", "prospects", "list_memberships", "visitors",
           "prospect_accounts")
SMALL = {
    "visitor_activities": {"count": 400, "clump_size": 150},
    "prospects": {"count": 250, "clump_size": 60},
    "list_memberships": {"count": 200, "clump_size": 40},
    "visitors": {"count": 150, "clump_size": 0},
    "prospect_accounts": {"count": 80, "clump_size": 0},
}
config_for = functools.partial(sim_config, start_date="2025-01-01T00:00:00Z",
                               sync_mode="query", page_size=100)


def stats(sim: t.Any) -> dict:
    return requests.get(f"{sim.url}/_sim/stats", timeout=10).json()


def assert_matches_truth(sim: t.Any, records: list[dict], stream: str,
                         *, unique: bool = True) -> None:
    got = {r["id"]: r for r in records}
    if unique:
        assert len(got) == len(records), f"{stream}: duplicates"
    want = truth(sim, stream)
    assert got.keys() == want.keys(), stream
    left_out = {k for r in want.values() for k in r} - {k for r in records for k in r}
    assert left_out <= ARRAY_CUSTOM_FIELDS, left_out  # refused by a v5 query, never null
    want = {i: {k: v for k, v in r.items() if k not in left_out} for i, r in want.items()}
    bad = [i for i in want if got[i] != want[i]]
    assert not bad, f"{stream}: {len(bad)} differ, e.g. {got[bad[0]]} != {want[bad[0]]}"


def test_v5_full_then_incremental(sim_factory: t.Any, tmp_path: Path) -> None:
    sim = sim_factory(knobs=SMALL)
    first = run_cli(config_for(sim), tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    for stream in STREAMS:
        assert_matches_truth(sim, first.records[stream], stream)
    calls = stats(sim)["calls_by_kind"]
    # STATE at page ends (and stream ends: a child stream's, per parent record), not per
    # record
    pages = calls["query"] + calls.get("read", 0)
    assert len(first.states) <= pages + len(first.state["bookmarks"])
    bookmarks = first.state["bookmarks"]
    assert all(bookmarks[s]["replication_key_value"].endswith("+00:00") for s in STREAMS)

    changes: dict[str, set[int]] = {}
    for stream in STREAMS:
        some = sorted(truth(sim, stream))[:3]
        body: dict[str, t.Any] = {"create": 2, "update": [{"id": some[0]}]}
        if stream != "visitor_activities":
            body["delete"] = [some[1]]
        reply = requests.post(f"{sim.url}/_sim/records/{stream}", json=body, timeout=10).json()
        changes[stream] = {r["id"] for key in reply for r in reply[key]}
    sim.advance(180)  # past the settle margin: the changes are read now
    second = run_cli(config_for(sim), state=first.state, tmp_path=tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    for stream in STREAMS:
        got = second.records.get(stream, [])
        assert {r["id"] for r in got} == changes[stream], stream
        want = truth(sim, stream)
        assert all(r == {k: v for k, v in want[r["id"]].items() if k in r} for r in got)
    assert any(r["is_deleted"] for r in second.records["prospects"])


def test_v5_token_cap_and_expiry_and_clumps(sim_factory: t.Any, tmp_path: Path) -> None:
    sim = sim_factory(knobs={**SMALL, "v5_page_token_cap": 130, "token_max_calls": 7})
    run = run_cli(config_for(sim, page_size=50), tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    for stream in STREAMS:
        assert_matches_truth(sim, run.records[stream], stream)
    assert "restarting from" in run.stderr
    assert stats(sim)["calls_by_kind"]["token"] > 1


def test_v4_oauth_matches_truth(sim_factory: t.Any, tmp_path: Path) -> None:
    sim = sim_factory(knobs=SMALL)
    run = run_cli(config_for(sim, api_version=4, page_size=None), tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    for stream in STREAMS:
        got = {r["id"]: r for r in run.records[stream]}
        assert len(got) == len(run.records[stream])
        want = truth(sim, stream)
        if stream not in ("prospects", "list_memberships"):
            # v3/v4 have a `deleted` parameter for these two only: no recycle bin elsewhere
            want = {i: r for i, r in want.items() if not r.get("is_deleted")}
        assert got.keys() == want.keys()
        for rid, row in want.items():
            # v3/v4 send naive local times: only the bookmark field (and fields equal to
            # it) can be placed in a repeated DST hour; others read as its first occurrence.
            same = {k for k in row if got[rid][k] == row[k]}
            assert row["updated_at"] == got[rid]["updated_at"]
            # And v3/v4 carry fewer fields than v5 (visitor activities' visit_id...).
            differ = {k for k in set(row) - same if got[rid][k] is not None}
            assert all(k.endswith(("_at", "_sync")) for k in differ), (
                rid, {k: (got[rid][k], row[k]) for k in differ})


def test_legacy_v3_with_relogin(sim_factory: t.Any, tmp_path: Path) -> None:
    sim = sim_factory(knobs={**SMALL, "token_max_calls": 4})
    c = sim.credentials
    config = config_for(sim, api_version=3, client_id=None, client_secret=None,
                        refresh_token=None, email=c["email"], password=c["password"],
                        user_key=c["user_key"], page_size=None)
    run = run_cli(config, tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert {r["id"] for r in run.records["prospects"]} == set(truth(sim, "prospects"))
    assert stats(sim)["calls_by_kind"]["login"] > 1


def test_daily_limit_stops_cleanly_and_resumes(sim_factory: t.Any, tmp_path: Path) -> None:
    sim = sim_factory(knobs={**SMALL, "daily_call_limit": 4, "return_api_usage": False})
    config = config_for(sim, page_size=100)
    first = run_cli(config, tmp_path=tmp_path)
    assert first.returncode == 75, first.stderr[-2000:]  # the daily limit: run again later
    assert "daily API limit" in first.stderr
    requests.post(f"{sim.url}/_sim/knobs", json={"daily_call_limit": 0}, timeout=10)
    second = run_cli(config, state=first.state, tmp_path=tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    for stream in STREAMS:
        records = first.records.get(stream, []) + second.records.get(stream, [])
        assert_matches_truth(sim, records, stream, unique=False)


def test_max_api_calls_budget(sim_factory: t.Any, tmp_path: Path) -> None:
    sim = sim_factory(knobs=SMALL)
    run = run_cli(config_for(sim, max_api_calls=3), tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "max_api_calls=3" in run.stderr
    assert stats(sim)["total_calls"] == 3
    assert run.state["bookmarks"]


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"client_secret": "wrong"}, "`client_id` and `client_secret`"),
        ({"refresh_token": "wrong"}, "`refresh_token`"),
        ({"pardot_business_unit_id": "0Uv000000000009AAA"}, "`pardot_business_unit_id`"),
        ({"auth_base_url": "SIM/not-salesforce"}, "`auth_base_url`"),
        ({"api_base_url": "SIM/not-pardot"}, "`api_base_url`"),
    ],
)
def test_connection_test_explains_bad_credentials(sim_factory: t.Any, tmp_path: Path,
                                                  override: dict, needle: str) -> None:
    sim = sim_factory(knobs=SMALL)
    override = {k: v.replace("SIM", sim.url) for k, v in override.items()}
    run = run_cli(config_for(sim, **override), args=["--test"], tmp_path=tmp_path)
    assert run.returncode != 0
    failure = [line for line in run.stderr.splitlines() if "Connection test failed" in line]
    assert failure
    assert needle in failure[0]
    assert "wrong" not in run.stderr


def test_connection_test_passes(simulator: t.Any, tmp_path: Path) -> None:
    run = run_cli(config_for(simulator), args=["--test"], tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]


def test_config_error_is_one_line(tmp_path: Path) -> None:
    config = {"start_date": "2025-01-01T00:00:00Z", "client_id": "a", "client_secret": "b",
              "refresh_token": "c"}
    run = run_cli(config, tmp_path=tmp_path)
    assert run.returncode != 0
    assert "pardot_business_unit_id" in run.stderr


def test_jwt_bearer_flow(sim_factory: t.Any, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    sim = sim_factory(knobs={**SMALL, "jwt_public_key_pem": public.decode()})
    config = config_for(sim, client_secret=None, refresh_token=None,
                        username=sim.credentials["username"], private_key=pem)
    run = run_cli(config, tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert_matches_truth(sim, run.records["visitors"], "visitors")


def test_end_date_and_deleted_excluded(sim_factory: t.Any, tmp_path: Path) -> None:
    sim = sim_factory(knobs=SMALL)
    end = "2025-10-15T00:00:00+00:00"
    run = run_cli(config_for(sim, end_date=end, include_deleted=False),
                  tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    for stream in STREAMS:
        want = {i for i, r in truth(sim, stream).items()
                if r["updated_at"] <= end and not r.get("is_deleted")}
        assert {r["id"] for r in run.records.get(stream, [])} == want, stream


def test_stream_maps_and_flattening(sim_factory: t.Any, tmp_path: Path) -> None:
    sim = sim_factory(knobs=SMALL)
    maps = {"prospects": {"email": "__NULL__", "domain": "email.split('@')[-1]"},
            "visitor_activities": None}
    run = run_cli(config_for(sim, stream_maps=maps, flattening_enabled=True,
                             flattening_max_depth=1), tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "visitor_activities" not in run.records
    record = run.records["prospects"][0]
    assert "email" not in record
    assert record["domain"] == "example.com"


def test_client_credentials_flow(sim_factory: t.Any, tmp_path: Path) -> None:
    sim = sim_factory(knobs=SMALL)
    config = config_for(sim, refresh_token=None, auth_flow="client_credentials")
    run = run_cli(config, args=["--test"], tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]


def test_stop_mid_id_walk_resumes_without_loss(sim_factory: t.Any, tmp_path: Path) -> None:
    sim = sim_factory(knobs=SMALL)
    catalog = discover_catalog(config_for(sim), select="prospect_accounts")
    first = run_cli(config_for(sim, page_size=20, max_api_calls=3), catalog=catalog,
                    tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    walk = first.state["bookmarks"]["prospect_accounts"]
    assert "id_walk" in walk
    assert "replication_key_value" not in walk  # the walk is not complete: no bookmark yet
    second = run_cli(config_for(sim, page_size=20), catalog=catalog, state=first.state,
                     tmp_path=tmp_path)
    records = first.records["prospect_accounts"] + second.records["prospect_accounts"]
    assert_matches_truth(sim, records, "prospect_accounts")

