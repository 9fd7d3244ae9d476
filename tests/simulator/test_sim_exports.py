"""Export API v3/v4 and v5: procedures, errors, queue, states, files, CSV, expiry, knobs."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from tap_pardot.simulator import Simulator

from .conftest import FROZEN, Api

NY = ZoneInfo("America/New_York")
CREATE4 = "/api/export/version/4/do/create"
V5 = "/api/v5/exports"
PROPS = "id,status,isExpired,resultRefs,procedure,fields,createdAt,updatedAt,createdById," \
        "updatedById,includeByteOrderMark,maxFileSizeBytes"
AFTER5 = "2025-10-01T00:00:00-04:00"
BEFORE5 = "2025-10-20T00:00:00-04:00"


@pytest.fixture(scope="module")
def shared() -> Iterator[Api]:
    """One default simulator for the tests that only provoke errors."""
    sim = Simulator(FROZEN)
    sim.start()
    yield Api(sim)
    sim.stop()


# ---- helpers --------------------------------------------------------------------------------
def _body(obj: str = "visitorActivity", name: str = "filter_by_created_at",
          fields: list[str] | str | None = None, **args: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"object": obj, "procedure": {"name": name, "arguments": args}}
    if fields is not None:
        body["fields"] = fields
    return body


def _body5(name: str = "VisitorActivity/FilterByCreatedAt", fields: list[str] | None = None,
           **args: Any) -> dict[str, Any]:
    args = args or {"createdAfter": AFTER5, "createdBefore": BEFORE5}
    return {"fields": fields or ["id"], "procedure": {"name": name, "arguments": args}}


def _create(api: Api, body: dict[str, Any], version: int = 4) -> dict[str, Any]:
    r = api.post(f"/api/export/version/{version}/do/create", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _create5(api: Api, body: dict[str, Any], fields: str = PROPS) -> dict[str, Any]:
    r = api.post(V5, params={"fields": fields}, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _read(api: Api, eid: int, version: int = 4) -> dict[str, Any]:
    if version == 5:
        r = api.get(f"{V5}/{eid}", params={"fields": PROPS})
    else:
        r = api.get(f"/api/export/version/{version}/do/read/id/{eid}")
    assert r.status_code == 200, r.text
    return r.json()


def _finish(api: Api, eid: int, version: int = 4) -> dict[str, Any]:
    api.sim.advance(5)
    return _read(api, eid, version)


def _refs(rep: dict[str, Any]) -> list[str]:
    refs = rep.get("resultRefs") or []
    return [refs] if isinstance(refs, str) else refs


def _download(api: Api, rep: dict[str, Any], bom: bool = False,
              ) -> tuple[list[str], list[list[str]], list[int]]:
    header: list[str] = []
    rows: list[list[str]] = []
    sizes = []
    for url in _refs(rep):
        r = api.get(url)
        assert r.status_code == 200, r.text
        assert r.headers["Transfer-Encoding"] == "chunked"
        assert r.content.startswith(b"\xef\xbb\xbf") == bom
        parsed = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
        header = parsed[0]
        rows += parsed[1:]
        sizes.append(len(parsed) - 1)
    return header, rows, sizes


def _run5(api: Api, body: dict[str, Any], bom: bool = False,
          ) -> tuple[dict[str, Any], list[str], list[list[str]]]:
    rep = _finish(api, _create5(api, body)["id"], 5)
    assert rep["status"] == "Complete", rep
    header, rows, _ = _download(api, rep, bom)
    return rep, header, rows


def _err(r: requests.Response, code: int, status: int = 400) -> str:
    """Assert a v5 error; its message."""
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    return r.json()["message"]


def _err3(r: requests.Response, code: int, status: int = 400) -> str:
    assert (r.status_code, r.json()["@attributes"]["err_code"]) == (status, code), r.text
    return r.json()["err"]


def _local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(NY)


def _naive(s: str) -> str:
    return _local(s).strftime("%Y-%m-%d %H:%M:%S")


def _live_prospects(api: Api, n: int) -> list[dict[str, Any]]:
    return [t for t in api.sim.truth("prospects") if not t["is_deleted"]][:n]


# ---- v3/v4 --------------------------------------------------------------------------------
def test_visitor_activity_export_matches_truth(api: Api) -> None:
    after, before = "2025-10-01 00:00:00", "2025-11-14 00:00:00"
    rep = _create(api, _body(fields=["id", "prospect_id", "type", "details", "created_at"],
                             created_after=after, created_before=before))
    assert set(rep) == {"id", "state", "isExpired", "createdAt", "updatedAt"}
    assert rep["state"] == "Waiting"
    rep = _finish(api, rep["id"])
    assert rep["state"] == "Complete"
    header, rows, sizes = _download(api, rep)
    assert header == ["id", "prospect_id", "type", "details", "created_at"]
    assert isinstance(rep["resultRefs"], list)
    assert len(set(sizes)) > 1  # uneven files
    ids = [int(r[0]) for r in rows]
    assert ids != sorted(ids)  # no order
    lo, hi = datetime(2025, 10, 1, tzinfo=NY), datetime(2025, 11, 14, tzinfo=NY)
    truth = api.sim.truth("visitor_activities")
    want = {t["id"]: t for t in truth if lo < _local(t["created_at"]) < hi and t["type"] != 5}
    assert sorted(ids) == sorted(want)
    for r in rows:
        t = want[int(r[0])]
        assert r[1] == ("" if t["prospect_id"] is None else str(t["prospect_id"]))
        details = t["details"] or ""
        escaped = "\\" + details if details[:1] in ("=", "+", "@") else details  # §4c
        assert r[3] == escaped
        assert r[4] == _naive(t["created_at"])
    assert any(r[3].startswith("\\@") for r in rows)  # the data holds such values


def test_boundaries_are_exclusive(api: Api) -> None:
    truth = api.sim.truth("visitor_activities")
    edge = "2025-10-01T00:00:00+00:00"
    on_edge = {t["id"] for t in truth if t["updated_at"] == edge}
    assert on_edge
    for after, before in (("2025-09-20T00:00:00+00:00", edge),
                          (edge, "2025-10-10T00:00:00+00:00")):
        rep = _create(api, _body(name="filter_by_updated_at", fields=["id"],
                                 updated_after=after, updated_before=before))
        _, rows, _ = _download(api, _finish(api, rep["id"]))
        assert on_edge.isdisjoint(int(r[0]) for r in rows)
    api.sim.set_knobs({"export_bounds_inclusive": True})
    rep = _create(api, _body(name="filter_by_updated_at", fields=["id"], updated_after=edge,
                             updated_before="2025-10-10T00:00:00+00:00"))
    _, rows, _ = _download(api, _finish(api, rep["id"]))
    assert on_edge <= {int(r[0]) for r in rows}


def test_v3_result_refs_string_array_or_absent(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"export_rows_per_file": 10**6})
    rep = _create(api, _body(fields=["id"], created_after="2025-10-01 00:00:00",
                             created_before="2025-10-02 00:00:00"))
    assert isinstance(_finish(api, rep["id"])["resultRefs"], str)
    rep = _create(api, _body(fields=["id"], created_after="2024-12-01 00:00:00",
                             created_before="2025-01-01 00:00:00"))
    rep = _finish(api, rep["id"])
    assert rep["state"] == "Complete"
    assert "resultRefs" not in rep


def test_v3_prospect_export_uses_pre_v5_names(api: Api) -> None:
    fields = ["id", "email", "is_archived", "crm_lead_fid", "opted_out", "updated_at",
              "comments", "Partner_Level", "Product_Interests"]
    rep = _create(api, _body("prospect", "filter_by_updated_at", fields,
                             updated_after="2025-09-01 00:00:00", deleted="all"))
    header, rows, _ = _download(api, _finish(api, rep["id"]))
    assert header == fields
    truth = {t["id"]: t for t in api.sim.truth("prospects")}
    assert len(rows) == len(truth)
    for r in rows:
        t = truth[int(r[0])]
        assert r[2] == ("true" if t["is_deleted"] else "false")
        assert r[3] == (t["salesforce_lead_id"] or "")
        assert r[5] == _naive(t["updated_at"])
        assert r[7] == (t["partner_level__c"] or "")
        assert r[8] == ";".join(t["product_interests__c"] or [])
    for wrong in ("is_deleted", "salesforce_lead_id", "salesforceLeadId", "Partner_Level__c"):
        reply = api.post(CREATE4, json=_body("prospect", "filter_by_updated_at", ["id", wrong],
                                             updated_after="yesterday"))
        assert wrong in _err3(reply, 180)


def test_v3_default_column_set(api: Api) -> None:
    rep = _create(api, _body("prospect", "filter_by_updated_at",
                             updated_after="2025-11-01 00:00:00"))
    header, rows, _ = _download(api, _finish(api, rep["id"]))
    assert rows
    assert {"id", "email", "is_archived", "crm_lead_fid", "Partner_Level"} <= set(header)
    left_out = {"grade", "notes", "campaign_parameter", "first_activity_at", "do_not_sell",
                "assigned_to_id", "profile_id", "salesforce_url", "lifecycle_stage_id",
                "recent_interaction"}
    assert not left_out & set(header)
    rep = _create(api, _body("visitor", "filter_by_updated_at", updated_after="yesterday"))
    header, _, _ = _download(api, _finish(api, rep["id"]))
    assert "do_not_sell" not in header
    assert "is_archived" in header
    rep = _create(api, _body("prospect", "filter_by_updated_at", ["id", "grade", "do_not_sell"],
                             updated_after="yesterday"))  # not default, but exportable by name
    assert _finish(api, rep["id"])["state"] == "Complete"


def test_every_v3_procedure_runs(api: Api) -> None:
    after = "2025-09-01 00:00:00"
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("visitorActivity", "filter_by_updated_at", {"updated_after": after, "type": [1, 2],
                                                     "prospect_only": True}),
        ("prospect", "filter_by_created_at", {"created_after": after, "deleted": False}),
        ("listMembership", "filter_by_created_at", {"created_after": after, "deleted": "all"}),
        ("listMembership", "filter_by_updated_at", {"updated_after": after}),
        ("visitor", "filter_by_updated_at", {"updated_after": after, "deleted": True}),
        ("visitor", "filter_by_prospect_updated_at", {"prospect_updated_after": after}),
        ("prospectAccount", "filter_by_updated_at", {"updated_after": after}),
        ("ProspectAccount", "filter_by_prospect_updated_at",
         {"prospect_updated_after": after, "prospect_deleted": "all"}),
    ]
    for obj, name, args in cases:
        rep = _finish(api, _create(api, _body(obj, name, **args))["id"])
        assert rep["state"] == "Complete", (obj, name)
        header, rows, _ = _download(api, rep)
        assert rows, (obj, name)
        if obj == "visitorActivity":
            col_type, col_pid = header.index("type"), header.index("prospect_id")
            assert {r[col_type] for r in rows} <= {"1", "2"}
            assert all(r[col_pid] for r in rows)
        if name == "filter_by_updated_at" and obj == "visitor":
            assert {r[header.index("is_archived")] for r in rows} == {"true"}


@pytest.mark.parametrize("knob", ["false", "all"])
def test_v3_default_deleted(api_factory: Callable[..., Api], knob: str) -> None:
    api = api_factory({"export_v3_default_deleted": knob})
    rep = _create(api, _body("prospect", "filter_by_updated_at", ["id"],
                             updated_after="2025-09-01 00:00:00"))
    _, rows, _ = _download(api, _finish(api, rep["id"]))
    truth = api.sim.truth("prospects")
    assert len(rows) == sum(1 for t in truth if knob == "all" or not t["is_deleted"])


def test_prospect_deleted_must_be_all_knob(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"export_prospect_deleted_must_be_all": True})
    r = api.post(CREATE4, json=_body("prospect", "filter_by_updated_at",
                                     updated_after="yesterday", deleted=False))
    _err3(r, 177)
    _create(api, _body("prospect", "filter_by_updated_at", updated_after="yesterday",
                       deleted="all"))


@pytest.mark.parametrize(("body", "code", "text"), [
    (_body(name="filter_by_nothing", created_after="yesterday"), 174,
     "filter_by_nothing. Procedure name must be one of the following: filter_by_created_at or "
     "filter_by_updated_at"),
    (_body(name="FilterByCreatedAt", created_after="yesterday"), 174, ""),
    (_body(created_after="yesterday", color="red"), 175, "Unknown arguments for procedure: color"),
    (_body(createdAfter="yesterday"), 175, "createdAfter"),  # camelCase is v5's spelling
    (_body(created_after="yesterday", prospectOnly=True), 175, "prospectOnly"),
    (_body(created_after="yesterday", deleted=True), 175, "deleted"),  # no recycle bin
    (_body(created_before="yesterday"), 176, "Missing required arguments for procedure: "
                                             "created_after"),
    (_body(), 176, ""),
    (_body(created_after="not a date"), 177, "Invalid value specified for argument created_after"),
    (_body(created_after=20251001), 177, ""),
    (_body(created_after="2024-01-01 00:00:00", created_before="2025-06-01 00:00:00"), 177, ""),
    (_body(created_after="2024-06-01 00:00:00"), 177, ""),  # open range measured to now
    (_body(created_after="2025-10-02", created_before="2025-10-01"), 177, "created_before"),
    (_body(created_after="yesterday", type=[99, 1]), 177, "nonexistent type provided: 99"),
    (_body(created_after="yesterday", type=[]), 177, "type"),
    (_body(created_after="yesterday", type="1,2"), 177, "type"),
    (_body(created_after="yesterday", prospect_only="perhaps"), 177, "prospect_only"),
    (_body("prospect", "filter_by_updated_at", updated_after="yesterday", deleted="maybe"), 177,
     "deleted"),
    (_body(fields=["id", "bogus", "prospectId"], created_after="yesterday"), 180,
     "One or more of the specified fields are invalid: bogus, prospectId"),
    (_body(fields=["id"] * 151, created_after="yesterday"), 177, ""),
    (_body(fields="id", created_after="yesterday"), 154, ""),
    (_body(obj="visitorActivities", created_after="yesterday"), 154,
     "The 'object' property must be visitorActivity, prospect, listMembership, visitor, or "
     "prospectAccount."),
    (_body(obj="campaign", created_after="yesterday"), 154, ""),
    ({"procedure": {"name": "filter_by_created_at", "arguments": {}}}, 153, "object"),
    ({"object": "prospect"}, 153, "procedure"),
    ({**_body(created_after="yesterday"), "includeByteOrderMark": True}, 154,
     "includeByteOrderMark"),
])
def test_v3_create_errors(shared: Api, body: dict[str, Any], code: int, text: str) -> None:
    assert text in _err3(shared.post(CREATE4, json=body), code)


def test_body_errors(api: Api) -> None:
    for path in (CREATE4, V5 + "?fields=id"):
        r = api.post(path, data=b"", headers={"Content-Type": "application/json"})
        assert 152 in (r.json().get("code"), r.json().get("@attributes", {}).get("err_code"))
        r = api.post(path, data=b"{nope", headers={"Content-Type": "application/json"})
        assert 150 in (r.json().get("code"), r.json().get("@attributes", {}).get("err_code"))
        r = api.post(path, data=b"{}", headers={"Content-Type": "text/plain"})
        assert 151 in (r.json().get("code"), r.json().get("@attributes", {}).get("err_code"))


def test_queue_runs_one_export_at_a_time_in_creation_order(api_factory: Callable[..., Api],
                                                           ) -> None:
    api = api_factory({"export_waiting_seconds": 10, "export_processing_seconds": 100})
    body = _body(fields=["id"], created_after="2025-10-01 00:00:00",
                 created_before="2025-10-05 00:00:00")
    a, b = _create(api, body)["id"], _create(api, body)["id"]
    api.sim.advance(11)
    assert (_read(api, a)["state"], _read(api, b)["state"]) == ("Processing", "Waiting")
    api.sim.advance(100)
    assert (_read(api, a)["state"], _read(api, b)["state"]) == ("Complete", "Processing")
    r = api.post(f"/api/export/version/4/do/cancel/id/{b}")
    assert r.json()["state"] == "Canceled"
    assert _err3(api.post(f"/api/export/version/4/do/cancel/id/{b}"), 178) == \
        "Export has already been canceled."
    assert _err3(api.post(f"/api/export/version/4/do/cancel/id/{a}"), 178) == \
        "Export has already been completed or failed."
    c = _create(api, body)["id"]  # starts at once: the canceled export left the queue
    api.sim.advance(11)
    assert _read(api, c)["state"] == "Processing"
    q = api.get("/api/export/version/4/do/query", params={"sort_order": "ascending"}).json()
    assert q["result"]["total_results"] == 3
    assert [e["id"] for e in q["result"]["export"]] == [a, b, c]
    assert all("resultRefs" not in e for e in q["result"]["export"])
    one = api.get("/api/export/version/4/do/query", params={"status": "Complete"}).json()
    assert one["result"]["export"]["id"] == a


def test_export_time_scale_plays_a_realistic_profile_faster(
        api_factory: Callable[..., Api]) -> None:
    """15 minutes of processing (seed 000's average) at a scale of 0.01: 9 s, with the
    export's createdAt and updatedAt 9 s apart."""
    api = api_factory({"export_waiting_seconds": 0, "export_processing_seconds": 900,
                       "export_time_scale": 0.01})
    body = _body(fields=["id"], created_after="2025-10-01 00:00:00",
                 created_before="2025-10-05 00:00:00")
    a = _create(api, body)["id"]
    api.sim.advance(8)
    assert _read(api, a)["state"] == "Processing"
    api.sim.advance(2)
    done = _read(api, a)
    assert done["state"] == "Complete"
    took = datetime.fromisoformat(done["updatedAt"]) - datetime.fromisoformat(done["createdAt"])
    assert took.total_seconds() == 9


def test_failed_wrapped_resultsref_and_expired(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"export_failure_count": 1, "export_reply_wrapped": True,
                       "export_result_refs_key": "resultsRef"})
    body = _body(fields=["id"], created_after="2025-10-01 00:00:00",
                 created_before="2025-10-05 00:00:00")
    failed = _create(api, body)["export"]["id"]
    ok = _create(api, body)["export"]["id"]
    assert _finish(api, failed)["export"]["state"] == "Failed"
    rep = _read(api, ok)["export"]
    assert rep["state"] == "Complete"
    url = _refs({"resultRefs": rep["resultsRef"]})[0]
    assert api.get(url).ok
    api.admin("exports/expire", {"id": ok})
    rep = _read(api, ok)["export"]
    assert rep["isExpired"] is True
    assert "resultsRef" not in rep
    assert _err3(api.get(url), 178, 404)
    other = _create(api, body)["export"]["id"]
    api.sim.advance(7 * 86400 + 10)
    api = Api(api.sim)  # the old access token has expired too
    assert _read(api, other)["export"]["isExpired"] is True


def test_session_activities_only_with_an_explicit_type(api: Api) -> None:
    made = api.sim.mutate("visitor_activities", {"create": [{"type": 5, "type_name": "Session"}]})
    sid = made["created"][0]["id"]
    api.sim.advance(10)
    for version in (4, 5):
        for types, present in ((None, False), ([5], True), (list(range(1, 39)), True)):
            if version == 5:
                args: dict[str, Any] = {"createdAfter": "2025-11-19T00:00:00-05:00"}
                if types:
                    args["type"] = types
                _, _, rows = _run5(api, _body5(**args))
            else:
                extra: dict[str, Any] = {"type": types} if types else {}
                rep = _create(api, _body(fields=["id"], created_after="2025-11-19 00:00:00",
                                         **extra))
                _, rows, _ = _download(api, _finish(api, rep["id"]))
            assert (sid in {int(r[0]) for r in rows}) is present, (version, types)


@pytest.mark.parametrize("escape", [True, False])
def test_csv_formula_escape_and_quoting(api_factory: Callable[..., Api], escape: bool) -> None:
    api = api_factory({"export_csv_formula_escape": escape})
    values = ["@handle", "=SUM(A1:A2)", "+1 555 0100", "-minus", 'He said "hi", twice']
    ids = [t["id"] for t in _live_prospects(api, len(values))]
    api.sim.mutate("prospects", {"update": [{"id": i, "comments": v}
                                            for i, v in zip(ids, values, strict=True)]})
    api.sim.advance(10)
    rep = _create(api, _body("prospect", "filter_by_updated_at", ["id", "comments"],
                             updated_after="2025-11-20 06:00:00"))
    rep = _finish(api, rep["id"])
    raw = b"".join(api.get(u).content for u in _refs(rep)).decode()
    assert '"He said ""hi"", twice"' in raw
    _, rows, _ = _download(api, rep)
    _, _, rows5 = _run5(api, _body5("Prospect/FilterByUpdatedAt", ["id", "comments"],
                                    updatedAfter="2025-11-20T06:00:00-05:00"))
    for got in (rows, rows5):
        cells = dict((int(a), b) for a, b in got)
        want = [("\\" + v if escape and v[0] in "=+@" else v) for v in values]
        assert [cells[i] for i in ids] == want


# ---- v5 --------------------------------------------------------------------------------
def test_v5_export_round_trip(api: Api) -> None:
    fields = ["id", "email", "isDeleted", "salesforceLeadId", "updatedAt", "Partner_Level__c",
              "Product_Interests__c"]
    body = _body5("Prospect/FilterByUpdatedAt", fields, updatedAfter="2025-09-01T00:00:00-04:00",
                  deleted="all")
    rep = _create5(api, body)
    assert rep["status"] == "Waiting"
    assert "state" not in rep
    assert "object" not in rep
    assert rep["resultRefs"] is None
    assert rep["procedure"] == {"name": "Prospect/FilterByUpdatedAt",
                                "arguments": {"updatedAfter": "2025-09-01T00:00:00-04:00",
                                              "deleted": "all"}}
    assert rep["fields"] == fields
    assert rep["createdAt"] == "2025-11-20T07:00:00-05:00"
    assert isinstance(rep["createdById"], int)
    assert rep["createdById"] == rep["updatedById"]
    assert (rep["includeByteOrderMark"], rep["maxFileSizeBytes"]) == (False, 200_000_000)
    rep = _finish(api, rep["id"], 5)
    assert rep["status"] == "Complete"
    assert rep["isExpired"] is False
    assert isinstance(rep["resultRefs"], list)
    assert all(u.startswith(f"{api.url}/api/v5/exports/{rep['id']}/results/")
               for u in rep["resultRefs"])
    header, rows, _ = _download(api, rep)
    assert header == fields
    truth = {t["id"]: t for t in api.sim.truth("prospects")}
    assert len(rows) == len(truth)
    for r in rows:
        t = truth[int(r[0])]
        assert r[2] == ("true" if t["is_deleted"] else "false")
        assert r[4] == _naive(t["updated_at"])
        assert r[5] == (t["partner_level__c"] or "")


def test_v5_one_file_is_still_an_array(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"export_rows_per_file": 10**6})
    rep = _finish(api, _create5(api, _body5())["id"], 5)
    assert len(rep["resultRefs"]) == 1


@pytest.mark.parametrize(("knob", "want"), [("empty", []), ("null", None), ("absent", ...)])
def test_v5_complete_without_data(api_factory: Callable[..., Api], knob: str, want: Any) -> None:
    api = api_factory({"export_v5_empty_result_refs": knob})
    body = _body5(createdAfter="2024-12-01T00:00:00-05:00",
                  createdBefore="2025-01-01T00:00:00-05:00")
    rep = _finish(api, _create5(api, body)["id"], 5)
    assert rep["status"] == "Complete"
    assert rep.get("resultRefs", ...) == want


def test_v5_fields_parameter_selects_properties(api: Api) -> None:
    rep = _create5(api, _body5(), fields="status")
    assert set(rep) == {"id", "status"}
    r = api.get(f"{V5}/{rep['id']}", params={"fields": "isExpired,createdAt"})
    assert set(r.json()) == {"id", "isExpired", "createdAt"}
    for bad in ("state", "id,,status", "object"):
        _err(api.get(f"{V5}/{rep['id']}", params={"fields": bad}), 51)
    _err(api.post(V5, params={"fields": "id,state"}, json=_body5()), 51)
    assert _err(api.get(f"{V5}/{rep['id']}"), 224) == "The fields parameter is required."
    _err(api.post(V5, json=_body5()), 224)


def test_v5_missing_fields_parameter_id_only(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"export_missing_fields_param": "id_only"})
    r = api.post(V5, json=_body5())
    assert r.status_code == 201
    assert set(r.json()) == {"id"}
    assert set(api.get(f"{V5}/{r.json()['id']}").json()) == {"id"}


def test_v5_create_status_knob(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"export_v5_create_status": 200})
    assert api.post(V5, params={"fields": "id"}, json=_body5()).status_code == 200


def _with(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, **changes}


def _proc(name: str, **args: Any) -> dict[str, Any]:
    return _with(_body5(), procedure={"name": name, "arguments": args})


@pytest.mark.parametrize(("body", "code", "text"), [
    (_with(_body5(), object="visitorActivity"), 154, "object"),
    (_with(_body5(), color="red"), 154, "color"),
    ({"procedure": _body5()["procedure"]}, 153, "fields"),
    (_with(_body5(), fields=[]), 154, ""),
    (_with(_body5(), fields="id"), 154, ""),
    (_with(_body5(), fields=["id", "bogus", "prospect_id"]), 180,
     "One or more of the specified fields are invalid: bogus, prospect_id"),
    (_body5("Prospect/FilterByUpdatedAt", ["id", "is_archived"], updatedAfter=AFTER5), 180,
     "is_archived"),
    (_body5("Prospect/FilterByUpdatedAt", ["id", "Partner_Level"], updatedAfter=AFTER5), 180,
     "Partner_Level"),
    (_body5("Prospect/FilterByUpdatedAt", ["id", "prospect.email"], updatedAfter=AFTER5), 180,
     "prospect.email"),
    (_with(_body5(), fields=["id"] * 151), 177, ""),
    ({"fields": ["id"]}, 153, "procedure"),
    (_proc("VisitorActivity/FilterByCreatedAt"), 154, "Arguments are missing or empty"),
    (_with(_body5(), procedure={"name": "VisitorActivity/FilterByCreatedAt"}), 154,
     "Arguments are missing or empty"),
    (_proc("VisitorActivity/FilterByNothing", createdAfter=AFTER5), 174,
     "FilterByNothing. Procedure name must be one of the following: FilterByCreatedAt or "
     "FilterByUpdatedAt"),
    (_proc("visitorActivity/filterByCreatedAt", createdAfter=AFTER5), 154, ""),
    (_proc("VisitorActivity/filterByCreatedAt", createdAfter=AFTER5), 174, ""),
    (_proc("VisitorActivity/filter_by_created_at", createdAfter=AFTER5), 174, ""),
    (_proc("Nope/FilterByCreatedAt", createdAfter=AFTER5), 154, ""),
    (_proc("Tag/FilterByUpdatedAt", updatedAfter=AFTER5), 174, ""),
    (_proc("Prospect/FilterByLastActivity", lastActivityAfter=AFTER5), 174, ""),
    (_proc("Campaign/FilterByUpdatedAt", updatedAfter=AFTER5), 174, ""),
    (_proc("Email/FilterByUpdatedAt", updatedAfter=AFTER5), 174, ""),
    (_proc("Visitor/FilterByCreatedAt", createdAfter=AFTER5), 174,
     "FilterByUpdatedAt or FilterByProspectUpdatedAt"),
    (_proc("VisitorActivity/FilterByCreatedAt", created_after=AFTER5), 175, "created_after"),
    (_proc("VisitorActivity/FilterByCreatedAt", createdAfter=AFTER5, prospect_only=True), 175,
     "prospect_only"),
    (_proc("VisitorActivity/FilterByCreatedAt", createdAfter=AFTER5, deleted=False), 175,
     "deleted"),
    (_proc("VisitorActivity/FilterByCreatedAt", createdBefore=BEFORE5), 176,
     "Missing required arguments for procedure: createdAfter"),
    (_proc("Visitor/FilterByProspectUpdatedAt", prospectDeleted=True), 176,
     "prospectUpdatedAfter"),
    *[(_proc("VisitorActivity/FilterByCreatedAt", createdAfter=v), 177,
       "Invalid value specified for argument createdAfter")
      for v in ("2025-10-01T04:00:00Z", "2025-10-01T00:00:00-0400", "2025-10-01T00:00:00.5-04:00",
                "2025-10-01", "2025-10-01 00:00:00", "2025-10-01T00:00:00", "yesterday",
                "2025-13-01T00:00:00-04:00", 1759291200)],
    (_proc("VisitorActivity/FilterByCreatedAt", createdAfter=AFTER5, type=[99]), 177,
     "nonexistent type provided: 99"),
    (_proc("VisitorActivity/FilterByCreatedAt", createdAfter=AFTER5, prospectOnly="true"), 177,
     "prospectOnly"),
    (_proc("Prospect/FilterByCreatedAt", createdAfter=AFTER5, deleted="maybe"), 177, "deleted"),
    (_proc("Prospect/FilterByCreatedAt", createdAfter=AFTER5, deleted=1), 177, "deleted"),
    (_proc("Prospect/FilterByCreatedAt", createdAfter="2024-06-01T00:00:00-04:00"), 177, ""),
    (_with(_body5(), maxFileSizeBytes=9_999_999), 231, ""),
    (_with(_body5(), maxFileSizeBytes=200_000_001), 232, ""),
    (_with(_body5(), includeByteOrderMark="yes"), 154, "includeByteOrderMark"),
])
def test_v5_create_errors(shared: Api, body: dict[str, Any], code: int, text: str) -> None:
    assert text in _err(shared.post(V5, params={"fields": "id"}, json=body), code)


def test_v5_reading_knobs(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"export_v5_object_property": "ignored",
                       "export_v5_procedure_case": "insensitive",
                       "export_v5_snake_case_arguments": "alias"})
    _create5(api, _with(_body5(), object="visitorActivity"))
    _create5(api, _proc("visitoractivity/filterbycreatedat", createdAfter=AFTER5))
    rep = _create5(api, _proc("VisitorActivity/FilterByCreatedAt", created_after=AFTER5,
                              prospect_only=True))
    assert rep["procedure"]["arguments"] == {"createdAfter": AFTER5, "prospectOnly": True}
    _err(api.post(V5, params={"fields": "id"}, json=_with(_body5(), color=1)), 154)


def test_v5_feature_flagged_and_refused_fields(api_factory: Callable[..., Api]) -> None:
    def make(fields: list[str]) -> dict[str, Any]:
        return _body5("Prospect/FilterByUpdatedAt", fields, updatedAfter=AFTER5)

    api = api_factory()
    _create5(api, make(["id", "grade", "notes", "doNotSell", "firstActivityAt",
                        "Product_Interests__c", "Event_Sessions__c"]))
    _err(api.post(V5, params={"fields": "id"}, json=make(["id", "senderOptions"])), 180)
    api.sim.set_knobs({"feature_prospect_extended_fields": False})
    assert "firstActivityAt" in _err(
        api.post(V5, params={"fields": "id"}, json=make(["id", "firstActivityAt"])), 180)
    api.sim.set_knobs({"feature_prospect_extended_fields": True, "feature_do_not_sell": False})
    _err(api.post(V5, params={"fields": "id"}, json=make(["id", "doNotSell"])), 180)
    api.sim.set_knobs({"feature_do_not_sell": True, "export_prospect_grade_notes": "refused"})
    assert _err(api.post(V5, params={"fields": "id"}, json=make(["id", "grade", "notes"])),
                180).endswith("grade, notes")
    api.sim.set_knobs({"export_array_custom_fields": "refused"})
    for name in ("Product_Interests__c", "Newsletter_Topics__c", "Event_Sessions__c"):
        _err(api.post(V5, params={"fields": "id"}, json=make(["id", name])), 180)
    _create5(api, make(["id", "Partner_Level__c"]))


def test_v5_flagged_procedures(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"export_generic_procedures": True, "export_prospect_last_activity": True,
                       "export_email_procedure": True})
    after = "2025-09-01T00:00:00-04:00"
    runs: list[tuple[str, list[str], dict[str, Any]]] = [
        ("Campaign/FilterByUpdatedAt", ["id", "name", "isDeleted"], {"deleted": "all"}),
        ("CustomField/FilterByCreatedAt", ["id", "fieldId"], {}),
        ("List/FilterByUpdatedAt", ["id"], {}), ("User/FilterByCreatedAt", ["id"], {}),
        ("Opportunity/FilterByUpdatedAt", ["id"], {"deleted": False}),
        ("Form/FilterByCreatedAt", ["id"], {}), ("Visit/FilterByUpdatedAt", ["id"], {}),
        ("LifecycleHistory/FilterByCreatedAt", ["id"], {}),
        ("VisitorPageView/FilterByCreatedAt", ["id"], {}),
        ("Visitor/FilterByCreatedAt", ["id"], {}),
        ("ProspectAccount/FilterByCreatedAt", ["id"], {}),
        ("Prospect/FilterByLastActivity", ["id", "lastActivityAt"], {}),
        ("Email/FilterByUpdatedAt", ["id", "subject"], {}),
    ]
    for name, fields, extra in runs:
        prefix = {"FilterByUpdatedAt": "updated", "FilterByCreatedAt": "created",
                  "FilterByLastActivity": "lastActivity"}[name.split("/")[1]]
        _, header, rows = _run5(api, _body5(name, fields, **{f"{prefix}After": after}, **extra))
        assert header == fields, name
        assert rows, name
    refused: list[tuple[str, dict[str, Any], int]] = [
        ("LifecycleHistory/FilterByUpdatedAt", {"updatedAfter": after}, 174),  # no updatedAt
        ("Visit/FilterByCreatedAt", {"createdAfter": after, "deleted": False}, 177),
        ("VisitorPageView/FilterByCreatedAt", {"createdAfter": after, "deleted": "all"}, 177),
    ]
    for name, args, code in refused:
        _err(api.post(V5, params={"fields": "id"}, json=_proc(name, **args)), code)
    r = api.post(CREATE4, json=_body("campaign", "filter_by_updated_at", updated_after=after))
    assert "email" in _err3(r, 154)  # generic procedures are v5 only; email's flag is on
    _create(api, _body("email", "filter_by_updated_at", ["id", "subject"],
                       updated_after="2025-09-01 00:00:00"))
    _create(api, _body("prospect", "filter_by_last_activity", ["id"],
                       last_activity_after="2025-09-01 00:00:00"))


def test_v5_cancel(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"export_waiting_seconds": 10, "export_processing_seconds": 100})
    a, b = _create5(api, _body5())["id"], _create5(api, _body5())["id"]
    api.sim.advance(11)
    r = api.post(f"{V5}/{a}/do/cancel")
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["status"] == "Canceled"
    assert rep["id"] == a
    assert {"procedure", "fields", "isExpired", "createdAt", "updatedAt"} <= set(rep)
    assert "state" not in rep
    assert "resultRefs" not in rep
    assert _err(api.post(f"{V5}/{a}/do/cancel"), 178) == "Export has already been canceled."
    api.sim.advance(1)
    assert _read(api, b, 5)["status"] == "Processing"  # b started when a left the queue
    api.sim.advance(101)
    assert _err(api.post(f"{V5}/{b}/do/cancel"), 178) == \
        "Export has already been completed or failed."


def test_v5_download_errors(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"export_processing_seconds": 100})
    a = _create5(api, _body5())["id"]
    api.sim.advance(200)
    ref = _read(api, a, 5)["resultRefs"][0]
    b = _create5(api, _body5())["id"]
    fid = ref.rsplit("/", 1)[1]
    assert "does not belong" in _err(api.get(f"{V5}/{b}/results/{fid}"), 16, 404)
    _err(api.get(f"{V5}/{a}/results/1"), 16, 404)
    api.sim.advance(10)
    files = api.sim.exports.items[b].files  # b is Processing: its files are not ready
    assert api.sim.exports._state(api.sim.exports.items[b], api.sim.clock.now_f())[0] == \
        "Processing"
    _err(api.get(f"{V5}/{b}/results/{files[0][0]}"), 178, 404)
    assert api.get(ref).ok
    api.sim.expire_exports(a)
    rep = _read(api, a, 5)
    assert rep["isExpired"] is True
    assert rep["resultRefs"] is None
    _err(api.get(ref), 178, 404)


def test_v5_csv_knobs(api_factory: Callable[..., Api]) -> None:
    fields = ["id", "isDeleted", "updatedAt", "salesforceLeadId", "Partner_Level__c"]
    body = _body5("Prospect/FilterByUpdatedAt", fields, updatedAfter="2025-11-01T00:00:00-04:00",
                  deleted="all")
    api = api_factory()
    _, header, rows = _run5(api, _with(body, includeByteOrderMark=True), bom=True)
    assert header == fields
    assert {r[1] for r in rows} == {"true", "false"}
    assert all(len(r[2]) == 19 and r[2][10] == " " for r in rows)
    api.sim.set_knobs({"export_v5_csv_dates": "offset", "export_v5_csv_booleans": "digits",
                       "export_v5_csv_headers": "pre_v5"})
    rep, header, rows = _run5(api, body)
    assert rep["includeByteOrderMark"] is False
    assert header == ["id", "is_archived", "updated_at", "crm_lead_fid", "Partner_Level"]
    assert {r[1] for r in rows} == {"1", "0"}
    truth = {t["id"]: t for t in api.sim.truth("prospects")}
    for r in rows:
        assert datetime.fromisoformat(r[2]) == datetime.fromisoformat(truth[int(r[0])]
                                                                      ["updated_at"])
        assert r[2][-6:] in ("-04:00", "-05:00")


def test_v3_export_read_through_v5(api: Api) -> None:
    rep = _create(api, _body("prospect", "filter_by_updated_at", ["id", "is_archived"],
                             updated_after="2025-11-01 00:00:00", deleted=True))
    rep5 = _finish(api, rep["id"], 5)
    assert rep5["procedure"] == {"name": "Prospect/FilterByUpdatedAt", "arguments": {
        "updatedAfter": "2025-11-01T00:00:00-04:00", "deleted": True}}
    assert rep5["fields"] == ["id", "isDeleted"]
    assert all("/api/v5/exports/" in u for u in rep5["resultRefs"])
    header, rows, _ = _download(api, rep5)
    assert header == ["id", "is_archived"]
    assert {r[1] for r in rows} == {"true"}


def test_v5_query(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"export_processing_seconds": 100})
    a = _create5(api, _body5())["id"]
    api.sim.advance(1)
    b = _create5(api, _body5())["id"]
    got = api.get(V5, params={"fields": "id,status", "orderBy": "createdAt DESC"}).json()
    assert got == {"values": [{"id": b, "status": "Waiting"}, {"id": a, "status": "Processing"}]}
    got = api.get(V5, params={"fields": "id", "status": "Waiting"}).json()["values"]
    assert got == [{"id": b}]
    got = api.get(V5, params={"fields": "id", "createdAtAfter": "2025-11-20T07:00:00-05:00"})
    assert got.json()["values"] == [{"id": b}]
    _err(api.get(V5, params={"fields": "id,resultRefs"}), 224)
    _err(api.get(V5, params={"fields": "id", "createdAtAfter": "2025-11-20"}), 51)
    _err(api.get(V5, params={"fields": "id", "color": "red"}), 51)
    _err(api.get(V5, params={"fields": "id", "orderBy": "status"}), 51)


def test_exports_count_toward_the_daily_limit(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"daily_call_limit": 4})
    rep = _finish(api, _create5(api, _body5())["id"], 5)  # 2 calls
    assert api.get(rep["resultRefs"][0]).ok  # 3
    assert api.get(rep["resultRefs"][0]).ok  # 4
    _err(api.get(f"{V5}/{rep['id']}", params={"fields": "id"}), 122, 429)
