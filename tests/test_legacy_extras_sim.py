"""The v3/v4-only data and child objects through the real CLI against the simulator: email
clicks, opportunity-prospect links, visitor referrers and prospect-account custom fields on
v4, list-email statistics on v5; each compared with the simulator's truth, then an
incremental run after a change. One CLI run per version and step."""

from __future__ import annotations

import functools
import json
import typing as t
from pathlib import Path

from tapkit import discover_catalog, run_cli, run_in_process, select_streams, sim_config, truth

from tap_pardot.simulator import legacy_extras as extras

KNOBS = {
    "prospects": {"count": 30, "clump_size": 0},
    "visitors": {"count": 40, "clump_size": 12},  # ties past a page
    "prospect_accounts": {"count": 15, "clump_size": 0},
    "opportunities": {"count": 25, "clump_size": 0},
    "email_clicks": {"count": 45, "clump_size": 12},
    "list_emails": {"count": 14, "clump_size": 0},
    "visitor_activities": {"count": 5, "clump_size": 0},
    "list_memberships": {"count": 5, "clump_size": 0},
    "deleted_fraction": 0.2,
    "export_waiting_seconds": 0.0,
    "export_processing_seconds": 0.05,
}
V3_ONLY = ("email_clicks", "opportunity_prospects", "visitor_referrers",
           "visitor_identified_companies")
config_for = functools.partial(sim_config, start_date="2025-01-01T00:00:00Z",
                               sync_mode="query", page_size=10)


def by_key(records: list[dict], *keys: str) -> dict:
    """Records by their primary key; no key twice."""
    out = {tuple(r[k] for k in keys): r for r in records}
    assert len(out) == len(records), "a record repeated"
    return out


def jsonable(rows: list[dict]) -> list[dict]:
    """Values as a Singer message carries them (numbers parsed back from JSON)."""
    return t.cast("list[dict]", json.loads(json.dumps(rows)))


def test_v4_serves_the_v3_only_data(sim_factory: t.Any, tmp_path: Path) -> None:
    sim = sim_factory(knobs=KNOBS)
    config = config_for(sim, api_version=4)
    catalog = discover_catalog(config, (*V3_ONLY, "prospect_accounts", "list_email_stats"))
    # Prospect accounts exported in the first run, queried in the second.
    exporting = {**config, "stream_sync_modes": {"prospect_accounts": "export"},
                 "export_poll_seconds": 0.01}
    first = run_cli(exporting, catalog=catalog, tmp_path=tmp_path, check=True)
    assert "Stream list_email_stats skipped: Pardot serves it on API version 5" in first.stderr
    assert set(first.records) == {*V3_ONLY, "prospect_accounts"}

    clicks = by_key(first.records["email_clicks"], "id")
    assert clicks == {(i,): row for i, row in truth(sim, "email_clicks").items()}
    assert any(r["list_email_id"] is None for r in clicks.values()), "omitted keys: null"
    assert len({r["created_at"] for r in clicks.values()}) < len(clicks), "ties"

    links = by_key(first.records["opportunity_prospects"], "opportunity_id", "prospect_id")
    assert links == by_key(jsonable(extras.link_truth(sim)), "opportunity_id", "prospect_id")
    assert links, "links extracted"

    referrers = by_key(first.records["visitor_referrers"], "id")
    assert referrers == by_key(extras.referrer_truth(sim), "id")
    assert any(r["query"] is None for r in referrers.values())

    companies = by_key(first.records["visitor_identified_companies"], "visitor_id")
    assert companies == by_key(extras.company_truth(sim), "visitor_id")
    assert any(r["email"] is None for r in companies.values())

    accounts = first.records["prospect_accounts"]
    assert "prospect_accounts: export mode" in first.stderr
    assert {r["id"] for r in accounts} == set(truth(sim, "prospect_accounts"))  # and deleted
    custom = {f.key for f in extras.ACCOUNT_FIELDS}
    assert accounts
    assert custom <= accounts[0].keys()
    for record in accounts:
        assert {k: record[k] for k in custom} == jsonable(
            [extras.account_truth(sim, record["id"])])[0]

    # An incremental run: 3 new clicks; 2 visitors with a referrer changed; 2 new
    # opportunities (links: the whole table again).
    sim.advance(3600)
    made = sim.mutate("email_clicks", {"create": [
        {"prospect_id": 1000, "url": 'a, "b"\nc'}, {"url": "=HYPERLINK()"}, {}]})
    changed = [r["visitor_id"] for r in extras.referrer_truth(sim)[:2]]
    sim.mutate("visitors", {"update": [{"id": i, "hostname": "moved.example.com"}
                                       for i in changed]})
    sim.mutate("opportunities", {"create": 2})
    account = accounts[0]["id"]
    sim.mutate("prospect_accounts", {"update": [{"id": account, "name": "Renamed, Inc."}]})
    sim.advance(180)
    second = run_cli(config, catalog=catalog, state=first.state, tmp_path=tmp_path,
                     check=True)
    assert by_key(second.records["email_clicks"], "id") == {
        (r["id"],): r for r in made["created"]}
    assert sorted(r["visitor_id"] for r in second.records["visitor_referrers"]) == sorted(
        changed)
    assert by_key(second.records["visitor_referrers"], "id") == {
        k: v for k, v in by_key(extras.referrer_truth(sim), "id").items()
        if v["visitor_id"] in changed}
    assert by_key(second.records.get("visitor_identified_companies", []), "visitor_id") == {
        k: v for k, v in by_key(extras.company_truth(sim), "visitor_id").items()
        if v["visitor_id"] in changed}
    assert by_key(second.records["opportunity_prospects"], "opportunity_id",
                  "prospect_id") == by_key(jsonable(extras.link_truth(sim)),
                                           "opportunity_id", "prospect_id")
    [queried] = second.records["prospect_accounts"]
    assert queried["name"] == "Renamed, Inc."
    assert {k: queried[k] for k in custom} == jsonable([extras.account_truth(sim, account)])[0]


def test_v5_list_email_stats_and_the_v3_only_streams_skipped(sim_factory: t.Any,
                                                              tmp_path: Path) -> None:
    sim = sim_factory(knobs=KNOBS)
    config = config_for(sim)
    catalog = discover_catalog(config, (*V3_ONLY, "list_email_stats", "prospect_accounts"))
    first = run_cli(config, catalog=catalog, tmp_path=tmp_path, check=True)
    for stream in V3_ONLY:
        assert f"Stream {stream} skipped: Pardot serves it on API versions 3 and 4" in (
            first.stderr)
    assert set(first.records) == {"list_email_stats", "prospect_accounts"}
    stats = by_key(first.records["list_email_stats"], "list_email_id")
    assert stats == by_key(jsonable(extras.stats_truth(sim)), "list_email_id")
    assert any(r["delivery_rate"] is None for r in stats.values()), "never sent: no rate"
    assert not any(k.endswith("__c") for k in first.records["prospect_accounts"][0]), (
        "v5 prospect accounts have no custom fields")

    # After a change: only the changed list email's stats (its parent is incremental).
    sim.advance(3600)
    target = next(iter(stats))[0]
    sim.mutate("list_emails", {"update": [{"id": target, "subject": "again"}]})
    sim.advance(180)
    second = run_cli(config, catalog=catalog, state=first.state, tmp_path=tmp_path,
                     check=True)
    want = [r for r in jsonable(extras.stats_truth(sim)) if r["list_email_id"] == target]
    assert second.records["list_email_stats"] == want

    # The other reading of the rates (percent text), in process: the same numbers, and no
    # SCHEMA for a stream this version does not serve (no empty table downstream).
    sim.set_knobs({"list_email_stats_rates": "percent_text"})
    run = run_in_process(config, catalog=select_streams(
        catalog, ("list_email_stats", "email_clicks")))
    assert run.schemas == {"list_email_stats"}
    assert by_key(run.records["list_email_stats"], "list_email_id") == by_key(
        jsonable(extras.stats_truth(sim)), "list_email_id")
