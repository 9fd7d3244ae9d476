"""Request shapes from recorded HTTP (vcrpy cassettes, recorded once from the simulator,
replayed offline), and no secret in any cassette."""

from __future__ import annotations

import json
import typing as t
import urllib.parse
from pathlib import Path

import pytest
import vcr
import yaml

from tap_pardot.simulator.knobs import OBJECTS_10
from tap_pardot.tap import TapPardot

CASSETTES = Path(__file__).parent / "cassettes"
SECRET_PARAMS = ("client_secret", "refresh_token", "assertion", "password", "user_key")
# The simulator's default credentials: none of them may be written to a cassette.
SECRETS = ("sim-client-secret", "sim-refresh-token", "sim-password",
           "0123456789abcdef0123456789abcdef")
KNOBS = {
    "visitor_activities": {"count": 40, "clump_size": 25},
    "prospects": {"count": 30, "clump_size": 0},
    "list_memberships": {"count": 20, "clump_size": 0},
    "visitors": {"count": 20, "clump_size": 0},
    "prospect_accounts": {"count": 10, "clump_size": 0},
    **{name: {"count": 4, "clump_size": 0} for name in (
        "campaigns", "lists", "users", "tags", "custom_fields", "opportunities", "visits",
        "visitor_page_views", "emails", "forms", "lifecycle_histories", *OBJECTS_10,
        "email_clicks")},
    "account": {"count": 1, "clump_size": 0},
}
NOT_SELECTED_BY_DEFAULT = {"external_activities"}


def scrub_response(response: dict) -> dict:
    """Replace issued access tokens and api keys in recorded token/login replies."""
    body = response.get("body", {}).get("string")
    if isinstance(body, bytes) and (b"access_token" in body or b"api_key" in body):
        try:
            data = json.loads(body)
        except ValueError:
            return response
        for key in ("access_token", "api_key"):
            if key in data:
                data[key] = "SCRUBBED"
        response["body"]["string"] = json.dumps(data).encode()
    return response


# Upper bounds at "now - 2 min" when recorded (created/sent: objects never updated)
VOLATILE = {"updatedAtBeforeOrEqualTo", "createdAtBeforeOrEqualTo", "sentAtBeforeOrEqualTo",
            "updated_before", "created_before"}


def stable_query(r1: t.Any, r2: t.Any) -> None:
    """Queries match but for the upper bound the tap derives from the clock."""
    q1 = [(k, v) for k, v in r1.query if k not in VOLATILE]
    q2 = [(k, v) for k, v in r2.query if k not in VOLATILE]
    assert q1 == q2


RECORDER = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    match_on=["method", "path", "stable_query"],  # not the simulator's ephemeral port
    filter_headers=["Authorization"],
    filter_post_data_parameters=[(name, "SCRUBBED") for name in SECRET_PARAMS],
    before_record_response=scrub_response,
    decode_compressed_response=True,
)
RECORDER.register_matcher("stable_query", stable_query)


def run_recorded(name: str, sim_factory: t.Any, capsys: t.Any, **config: t.Any) -> list[dict]:
    """Sync once inside a cassette: replay if it exists, else record from a simulator."""
    # Not sim_config: a replay has no simulator (a dead port), and credentials come per test.
    base = {"api_base_url": "http://127.0.0.1:9", "auth_base_url": "http://127.0.0.1:9",
            "start_date": "2025-01-01T00:00:00Z", "sync_mode": "query", "page_size": 15,
            "timezone": "America/New_York", "pardot_business_unit_id": "0Uv000000000001AAA"}
    mode = "none"
    if not (CASSETTES / f"{name}.yaml").exists():
        sim = sim_factory(knobs=KNOBS)
        sim.advance(180)  # past the settle margin: every record is read
        base.update(api_base_url=sim.url, auth_base_url=sim.url)
        mode = "once"
    with RECORDER.use_cassette(f"{name}.yaml", record_mode=mode):
        TapPardot(config={**base, **config}).sync_all()
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines()]


def requests_in(name: str) -> list[dict]:
    data = yaml.safe_load((CASSETTES / f"{name}.yaml").read_text())
    return [item["request"] for item in data["interactions"]]


def query_of(request: dict) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlparse(request["uri"]).query))


def test_v5_request_shapes(sim_factory: t.Any, capsys: t.Any) -> None:
    messages = run_recorded("v5_query", sim_factory, capsys, client_id="sim-client-id",
                            client_secret="sim-client-secret",
                            refresh_token="sim-refresh-token")
    # Every record once, but v3/v4-only email clicks; and one stats record per list email.
    assert sum(m["type"] == "RECORD" for m in messages) == sum(
        v["count"] for k, v in KNOBS.items() if k not in NOT_SELECTED_BY_DEFAULT
    ) - KNOBS["email_clicks"]["count"] + KNOBS["list_emails"]["count"]
    requests = requests_in("v5_query")
    token = requests[0]
    assert token["method"] == "POST"
    assert token["uri"].endswith("/services/oauth2/token")
    form = dict(urllib.parse.parse_qsl(token["body"]))
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == "SCRUBBED"
    queries = [query_of(r) for r in requests[1:]]
    first = next(q for q, r in zip(queries, requests[1:], strict=True)
                 if "/visitor-activities" in r["uri"])
    assert first["orderBy"] == "updatedAt ASC,id ASC"
    assert first["limit"] == "15"
    assert first["updatedAtAfterOrEqualTo"] == "2025-01-01T00:00:00+00:00"
    assert "typeName" in first["fields"].split(",")
    assert "deleted" not in first  # visitor activities have no recycle bin
    prospects = next(q for q, r in zip(queries, requests[1:], strict=True)
                     if "/prospects" in r["uri"])
    assert prospects["deleted"] == "all"
    paged = [q for q in queries if "nextPageToken" in q]
    assert paged
    assert all(set(q) == {"fields", "nextPageToken"} for q in paged)
    accounts = [q for q, r in zip(queries, requests[1:], strict=True)
                if "/prospect-accounts" in r["uri"]]
    assert all(q["orderBy"] == "id ASC" for q in accounts)


def test_legacy_v3_request_shapes(sim_factory: t.Any, capsys: t.Any) -> None:
    run_recorded("v3_legacy", sim_factory, capsys, api_version=3, email="sim@example.com",
                 password="sim-password", user_key="0123456789abcdef0123456789abcdef")
    requests = requests_in("v3_legacy")
    login = requests[0]
    assert login["method"] == "POST"
    assert login["uri"].endswith("/api/login/version/3")
    assert "password" not in login["uri"]
    queries = [query_of(r) for r in requests[1:]]
    assert all(q["format"] == "json" for q in queries)
    # bulk, but where the records read are nested in another object's (visitor referrers
    # and identified companies, opportunity prospects)
    outputs = {(r["uri"].split("/api/")[1].split("/")[0], q.get("output"))
               for q, r in zip(queries, requests[1:], strict=True) if "/do/query" in r["uri"]}
    assert {output for _, output in outputs} == {"bulk", "full", "simple"}
    assert {obj for obj, output in outputs if output != "bulk"} == {"visitor", "opportunity"}
    activities = [q for q, r in zip(queries, requests[1:], strict=True)
                  if "/visitorActivity/version/3/do/query" in r["uri"]]
    assert activities[0]["sort_by"] == "updated_at"
    assert activities[0]["sort_order"] == "ascending"
    visitors = [q for q, r in zip(queries, requests[1:], strict=True)
                if "/visitor/version/3/do/query" in r["uri"]]
    assert visitors[0]["only_identified"] == "false"


@pytest.mark.parametrize("path", sorted(CASSETTES.glob("*.yaml")), ids=lambda p: p.name)
def test_no_secret_in_cassettes(path: Path) -> None:
    text = path.read_text()
    for secret in SECRETS:
        assert secret not in text
    data = yaml.safe_load(text)
    for item in data["interactions"]:
        assert "Authorization" not in item["request"]["headers"]
        body = item["response"]["body"]["string"]
        if "access_token" in body or "api_key" in body:
            reply = json.loads(body)
            assert reply.get("access_token", "SCRUBBED") == "SCRUBBED"
            assert reply.get("api_key", "SCRUBBED") == "SCRUBBED"
