"""v3/v4 queries: bulk output, limits, sorting, exclusive naive-time bounds, JSON quirks."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .conftest import Api

NY = ZoneInfo("America/New_York")
VAQ = "/api/visitorActivity/version/4/do/query"


def _q(api: Api, path: str, **params: Any) -> Any:
    r = api.get(path, params={"format": "json", **params})
    return r


def test_bulk_paging_by_id_gets_everything(api: Api) -> None:
    seen: list[int] = []
    last = 0
    while True:
        r = _q(api, VAQ, output="bulk", sort_by="id", sort_order="ascending",
               id_greater_than=last, limit=200)
        assert r.status_code == 200
        result = r.json()["result"]
        assert "total_results" not in result
        page = result.get("visitor_activity", [])
        page = [page] if isinstance(page, dict) else page
        if not page:
            break
        seen += [p["id"] for p in page]
        last = page[-1]["id"]
    truth = api.admin("truth/visitor_activities")["records"]
    assert seen == [t["id"] for t in truth]


def test_record_shape_and_local_times(api: Api) -> None:
    truth = {t["id"]: t for t in api.admin("truth/visitor_activities")["records"]}
    page = _q(api, VAQ, output="bulk", limit=200).json()["result"]["visitor_activity"]
    for rec in page:
        t = truth[rec["id"]]
        local = datetime.fromisoformat(t["created_at"]).astimezone(NY)
        assert rec["created_at"] == local.strftime("%Y-%m-%d %H:%M:%S")
        for key, value in t.items():  # relation ids only when present
            if value is None and key.endswith("_id"):
                assert key not in rec
    lm = _q(api, "/api/listMembership/version/4/do/query", output="bulk", limit=5).json()
    assert {m["opted_out"] for m in lm["result"]["list_membership"]} <= {0, 1}


def test_one_record_is_an_object_and_none_omits_the_key(api: Api) -> None:
    first = api.admin("truth/visitor_activities")["records"][0]["id"]
    one = _q(api, VAQ, id_less_than=first + 1).json()["result"]
    assert one["total_results"] == 1
    assert isinstance(one["visitor_activity"], dict)
    none = _q(api, VAQ, id_less_than=1).json()["result"]
    assert none == {"total_results": 0}
    bulk_none = _q(api, VAQ, id_less_than=1, output="bulk").json()
    assert bulk_none["result"] == {}
    api.sim.set_knobs({"v3_result_null_when_empty": True})
    assert _q(api, VAQ, id_less_than=1, output="bulk").json()["result"] is None


def test_updated_after_is_exclusive_and_naive_local(api: Api) -> None:
    truth = api.admin("truth/prospects")["records"]
    t = sorted(truth, key=lambda t: t["updated_at"])[500]
    local = datetime.fromisoformat(t["updated_at"]).astimezone(NY).strftime("%Y-%m-%d %H:%M:%S")
    got: list[dict[str, Any]] = []
    offset = 0
    while True:
        r = _q(api, "/api/prospect/version/4/do/query", updated_after=local, sort_by="updated_at",
               sort_order="ascending", limit=200, offset=offset)
        page = r.json()["result"].get("prospect", [])
        page = [page] if isinstance(page, dict) else page
        got += page
        if len(page) < 200:
            break
        offset += 200
    want = {x["id"] for x in truth if not x["is_deleted"]
            and datetime.fromisoformat(x["updated_at"]) > datetime.fromisoformat(t["updated_at"])}
    assert {g["id"] for g in got} == want
    assert t["id"] not in want


def test_errors_in_the_attributes_envelope(api: Api) -> None:
    r = _q(api, VAQ, limit=201)
    assert r.status_code == 400
    assert r.json() == {"@attributes": {"stat": "fail", "version": 1, "err_code": 23},
                        "err": "Invalid value specified for limit"}
    assert _q(api, VAQ, sort_by="email").json()["@attributes"]["err_code"] == 19
    assert _q(api, VAQ, sort_order="up").json()["@attributes"]["err_code"] == 20
    assert _q(api, VAQ, created_after="garbage").json()["@attributes"]["err_code"] == 7
    assert _q(api, "/api/listMembership/version/4/do/query",
              sort_by="updated_at").json()["@attributes"]["err_code"] == 19
    r = api.get(VAQ, params={"limit": 201})  # no format=json: XML
    assert '<rsp stat="fail" version="1.0"><err code="23">' in r.text
    api.sim.set_knobs({"v3_error_status": {"default": 200}, "v3_limit_over_max": "clamp",
                       "account_api_version": 4})
    assert _q(api, VAQ, limit=500).status_code == 200
    r = _q(api, "/api/visitorActivity/version/3/do/query")
    assert (r.status_code, r.json()["@attributes"]["err_code"]) == (200, 88)


def test_visitor_filters(api: Api) -> None:
    r = _q(api, "/api/visitor/version/4/do/query", limit=200, output="bulk").json()
    assert all(v["prospect_id"] is not None for v in r["result"]["visitor"])
    r = _q(api, "/api/visitor/version/4/do/query", limit=200, only_identified="false").json()
    assert any(v["prospect_id"] is None for v in r["result"]["visitor"])
    r = _q(api, VAQ, type="1,2", prospect_only="true", limit=200).json()
    assert {v["type"] for v in r["result"]["visitor_activity"]} <= {1, 2}
    assert all("prospect_id" in v for v in r["result"]["visitor_activity"])


def test_xml_output_by_default(api: Api) -> None:
    r = api.get("/api/prospect/version/3/do/query", params={"limit": 2})
    assert r.headers["Content-Type"].startswith("application/xml")
    assert r.text.count("<prospect>") == 2
    assert "<total_results>" in r.text


PQ = "/api/prospect/version/4/do/query"


def _rows(r: Any, key: str) -> list[dict[str, Any]]:
    page = (r.json()["result"] or {}).get(key, [])
    return [page] if isinstance(page, dict) else page


def test_prospect_keys_are_the_v3_query_names(api: Api) -> None:
    rows = _rows(_q(api, PQ, output="bulk", limit=200), "prospect")
    keys = set().union(*rows)
    assert {"crm_lead_fid", "crm_contact_fid", "crm_owner_fid", "crm_account_fid",
            "crm_last_sync", "crm_url", "score", "grade", "notes", "password"} <= keys
    assert not {k for k in keys if k.startswith("salesforce_")}
    assert not keys & {"is_deleted", "is_archived", "do_not_sell", "user_id", "converted_at"}
    truth = {t["id"]: t for t in api.admin("truth/prospects")["records"]}
    for row in rows:
        t = truth[row["id"]]
        assert row["crm_url"] == t["salesforce_url"]
        assert row["crm_lead_fid"] == t["salesforce_lead_id"]


def test_deleted_is_a_boolean_on_prospects_and_list_memberships(api_factory: Any) -> None:
    api = api_factory({"prospects": {"count": 300, "clump_size": 0}})
    truth = api.admin("truth/prospects")["records"]
    dead = {t["id"] for t in truth if t["is_deleted"]}

    def ids(**params: Any) -> set[int]:
        out: set[int] = set()
        last = 0
        while page := _rows(_q(api, PQ, output="bulk", id_greater_than=last, **params),
                            "prospect"):
            out |= {p["id"] for p in page}
            last = page[-1]["id"]
        return out

    assert ids() == {t["id"] for t in truth} - dead
    assert ids(deleted="false") == {t["id"] for t in truth} - dead
    assert ids(deleted="true") == dead
    r = _q(api, PQ, deleted="all")
    assert r.json() == {"@attributes": {"stat": "fail", "version": 1, "err_code": 27},
                        "err": "Parameter deleted must be true or false"}
    assert _q(api, PQ, deleted="yes").json()["@attributes"]["err_code"] == 27
    api.sim.set_knobs({"v3_deleted_all": "true"})
    assert ids(deleted="all") == dead
    api.sim.set_knobs({"v3_deleted_all": "ignored"})
    assert ids(deleted="all") == {t["id"] for t in truth} - dead
    lm = api.admin("truth/list_memberships")["records"]
    r = _q(api, "/api/listMembership/version/4/do/query", deleted="true", limit=200)
    assert {m["id"] for m in _rows(r, "list_membership")} <= {m["id"] for m in lm
                                                              if m["is_deleted"]}
    # other objects take no `deleted`: only live rows
    visitors = api.admin("truth/visitors")["records"]
    r = _q(api, "/api/visitor/version/4/do/query", deleted="true", only_identified="false",
           limit=200, output="bulk")
    got = {v["id"] for v in _rows(r, "visitor")}
    assert got
    assert not got & {v["id"] for v in visitors if v["is_deleted"]}


def test_campaigns_carry_id_name_cost(api: Api) -> None:
    truth = api.admin("truth/campaigns")["records"]
    rows = _rows(_q(api, "/api/campaign/version/4/do/query", limit=200), "campaign")
    assert rows
    assert all(set(r) == {"id", "name", "cost"} for r in rows)
    assert all(isinstance(r["cost"], int) for r in rows)
    mid = sorted(t["created_at"] for t in truth)[len(truth) // 2]
    local = datetime.fromisoformat(mid).astimezone(NY).strftime("%Y-%m-%d %H:%M:%S")
    rows = _rows(_q(api, "/api/campaign/version/4/do/query", created_after=local), "campaign")
    assert {r["id"] for r in rows} == {t["id"] for t in truth
                                       if t["created_at"] > mid and not t["is_deleted"]}


def test_other_v3_query_names(api: Api) -> None:
    lists = _rows(_q(api, "/api/list/version/4/do/query"), "list")
    assert "is_crm_visible" in lists[0]
    assert "is_salesforce_visible" not in lists[0]
    assert not {"is_deleted", "is_archived"} & set().union(*lists)
    lm = _rows(_q(api, "/api/listMembership/version/4/do/query", limit=50), "list_membership")
    assert all(type(m["opted_out"]) is int for m in lm)
    bulk = _rows(_q(api, VAQ, output="bulk", limit=200), "visitor_activity")
    assert any("campaign_id" in v for v in bulk)
    assert not any("campaign" in v for v in bulk)
    full = _rows(_q(api, VAQ, limit=200), "visitor_activity")
    nested = [v["campaign"] for v in full if "campaign" in v]
    assert nested
    assert set(nested[0]) == {"id", "name"}
    assert not any("campaign_id" in v for v in full)
    xml = api.get(VAQ, params={"limit": 200}).text
    assert "<campaign><id>" in xml


def test_error_transport_knobs(api: Api) -> None:
    r = _q(api, VAQ, limit=201)
    assert (r.status_code, r.headers["Content-Type"]) == (400, "application/json; charset=utf-8")
    api.sim.set_knobs({"v3_error_status": {"default": 200},
                       "v3_error_content_type": "text/html"})
    r = _q(api, VAQ, limit=201)
    assert (r.status_code, r.headers["Content-Type"]) == (200, "text/html")
    assert r.json()["@attributes"]["stat"] == "fail"
