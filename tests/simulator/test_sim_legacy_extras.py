"""The v3/v4-only surfaces and list-email statistics as the simulator serves them (the wire
forms the tap's tests do not see): omitted keys, nesting, v5 refusals, describe, rates."""

from __future__ import annotations

from .conftest import Api


def test_email_clicks_omit_their_empty_ids_and_sort_by_id_only(api: Api) -> None:
    path = "/api/emailClick/version/4/do/query"
    rows = api.get(path, params={"format": "json", "output": "bulk"}).json()["result"][
        "emailClick"]
    assert any("list_email_id" not in r for r in rows)
    optional = {"list_email_id", "drip_program_action_id", "email_template_id",
                "tracker_redirect_id"}
    assert all(r[k] is not None for r in rows for k in optional & r.keys())
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    refused = api.get(path, params={"format": "json", "sort_by": "created_at"}).json()
    assert refused["@attributes"]["err_code"] == 19
    assert api.get("/api/v5/objects/email-clicks", params={"fields": "id"}).status_code == 404


def test_nested_objects_only_outside_bulk(api: Api) -> None:
    path = "/api/opportunity/version/4/do/query"
    simple = api.get(path, params={"format": "json", "output": "simple"}).json()["result"]
    assert any("prospects" in r for r in simple["opportunity"])
    bulk = api.get(path, params={"format": "json", "output": "bulk"}).json()["result"]
    assert not any("prospects" in r for r in bulk["opportunity"])
    visitors = api.get("/api/visitor/version/4/do/query", params={
        "format": "json", "only_identified": "false"}).json()["result"]["visitor"]
    assert any("visitor_referrer" in r for r in visitors)
    assert any("identified_company" in r for r in visitors)


def test_account_custom_fields_are_v3_v4_only(api: Api) -> None:
    fields = api.get("/api/prospectAccount/version/4/do/describe",
                     params={"format": "json"}).json()["result"]["field"]
    custom = [f["@attributes"]["id"] for f in fields if f["@attributes"]["custom"]]
    assert custom == ["Tier", "Seat_Count", "Renewal_On", "Regions", "Account_Notes"]
    rows = api.get("/api/prospectAccount/version/4/do/query",
                   params={"format": "json"}).json()["result"]["prospectAccount"]
    assert any("Tier" in r for r in rows)
    v5 = api.get("/api/v5/objects/prospect-accounts", params={"fields": "id,Tier__c"})
    assert (v5.status_code, v5.json()["code"]) == (400, 51)
    assert "tier__c" not in api.admin("truth/prospect_accounts")["records"][0]


def test_list_email_stats_rates_per_knob(api: Api) -> None:
    ids = [r["id"] for r in api.admin("truth/list_emails")["records"]]
    path = f"/api/v5/objects/list-emails/{ids[1]}/stats"
    plain = api.get(path).json()
    assert {"sent", "uniqueOpens", "hardBounced", "clickOpenRatio"} <= plain.keys()
    api.admin("knobs", {"list_email_stats_rates": "percent_text"})
    text = api.get(path).json()
    for key, value in plain.items():
        assert text[key] == (f"{value:.2f}%" if key.endswith(("Rate", "Ratio"))
                             and value is not None else value)
    assert api.get("/api/v5/objects/list-emails/1/stats").status_code == 404


def test_undocumented_v3_date_filters_filter_nothing_or_fail(api: Api) -> None:
    """Lifecycle stages' v3/v4 docs list no date filter, email clicks' only `created_*`:
    ignored, or refused per knob `v3_undocumented_date_filter` (no source says which)."""
    q = {"format": "json", "output": "bulk"}
    far = {"created_after": "2099-01-01 00:00:00"}
    cases = (("lifecycleStage", far), ("emailClick", {"updated_after": "2099-01-01 00:00:00"}))
    for obj, dates in cases:
        path = f"/api/{obj}/version/4/do/query"
        assert api.get(path, params={**q, **dates}).json() == api.get(path, params=q).json()
    path = "/api/emailClick/version/4/do/query"
    assert "emailClick" not in api.get(path, params={**q, **far}).json()["result"]  # filters
    api.admin("knobs", {"v3_undocumented_date_filter": "error"})
    for obj, dates in cases:
        reply = api.get(f"/api/{obj}/version/4/do/query", params={**q, **dates}).json()
        assert reply["@attributes"]["err_code"] == 5
