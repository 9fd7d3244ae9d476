"""Export API v3/v4 and v5: procedures, errors, queue, states, files, CSV, expiry."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from .conftest import Api

NY = ZoneInfo("America/New_York")
CREATE4 = "/api/export/version/4/do/create"


def _body(obj: str = "visitorActivity", name: str = "filter_by_created_at",
          fields: list[str] | None = None, **args: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"object": obj, "procedure": {"name": name, "arguments": args}}
    if fields is not None:
        body["fields"] = fields
    return body


def _create(api: Api, body: dict[str, Any], version: int = 4) -> dict[str, Any]:
    path = "/api/v5/exports" if version == 5 else f"/api/export/version/{version}/do/create"
    r = api.post(path, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _read(api: Api, eid: int, version: int = 4) -> dict[str, Any]:
    path = f"/api/v5/exports/{eid}" if version == 5 else \
        f"/api/export/version/{version}/do/read/id/{eid}"
    r = api.get(path)
    assert r.status_code == 200, r.text
    return r.json()


def _finish(api: Api, eid: int, version: int = 4) -> dict[str, Any]:
    api.sim.advance(5)
    return _read(api, eid, version)


def _refs(rep: dict[str, Any]) -> list[str]:
    refs = rep.get("resultRefs", [])
    return [refs] if isinstance(refs, str) else refs


def _download(api: Api, rep: dict[str, Any]) -> tuple[list[str], list[list[str]], list[int]]:
    header: list[str] = []
    rows: list[list[str]] = []
    sizes = []
    for url in _refs(rep):
        r = api.get(url)
        assert r.status_code == 200
        assert r.headers["Transfer-Encoding"] == "chunked"
        assert not r.content.startswith(b"\xef\xbb\xbf")
        parsed = list(csv.reader(io.StringIO(r.content.decode("utf-8"), newline="")))
        header = parsed[0]
        rows += parsed[1:]
        sizes.append(len(parsed) - 1)
    return header, rows, sizes


def _local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(NY)


def _naive(s: str) -> str:
    return _local(s).strftime("%Y-%m-%d %H:%M:%S")


def test_visitor_activity_export_matches_truth(api: Api) -> None:
    after, before = "2025-10-01 00:00:00", "2025-11-14 00:00:00"
    rep = _create(api, _body(fields=["id", "prospect_id", "type", "details", "created_at"],
                             created_after=after, created_before=before))
    assert rep["state"] == "Waiting"
    assert rep["isExpired"] is False
    assert "resultRefs" not in rep
    rep = _finish(api, rep["id"])
    assert rep["state"] == "Complete"
    header, rows, sizes = _download(api, rep)
    assert header == ["id", "prospect_id", "type", "details", "created_at"]
    assert isinstance(rep["resultRefs"], list)
    assert len(set(sizes)) > 1  # uneven files
    ids = [int(r[0]) for r in rows]
    assert ids != sorted(ids)  # no order
    lo = datetime(2025, 10, 1, tzinfo=NY)
    hi = datetime(2025, 11, 14, tzinfo=NY)
    truth = api.admin("truth/visitor_activities")["records"]
    want = {t["id"]: t for t in truth if lo < _local(t["created_at"]) < hi}
    assert sorted(ids) == sorted(want)
    for r in rows:
        t = want[int(r[0])]
        assert r[1] == ("" if t["prospect_id"] is None else str(t["prospect_id"]))
        assert r[3] == (t["details"] or "")
        assert r[4] == _naive(t["created_at"])


def test_boundaries_are_exclusive(api: Api) -> None:
    truth = api.admin("truth/visitor_activities")["records"]
    edge = "2025-10-01T00:00:00+00:00"
    on_edge = {t["id"] for t in truth if t["updated_at"] == edge}
    assert on_edge
    rep = _create(api, _body(name="filter_by_updated_at", fields=["id"],
                             updated_after="2025-09-20T00:00:00+00:00", updated_before=edge))
    _, rows, _ = _download(api, _finish(api, rep["id"]))
    got = {int(r[0]) for r in rows}
    assert on_edge.isdisjoint(got)
    rep = _create(api, _body(name="filter_by_updated_at", fields=["id"], updated_after=edge,
                             updated_before="2025-10-10T00:00:00+00:00"))
    _, rows, _ = _download(api, _finish(api, rep["id"]))
    assert on_edge.isdisjoint(int(r[0]) for r in rows)
    api.sim.set_knobs({"export_bounds_inclusive": True})
    rep = _create(api, _body(name="filter_by_updated_at", fields=["id"], updated_after=edge,
                             updated_before="2025-10-10T00:00:00+00:00"))
    _, rows, _ = _download(api, _finish(api, rep["id"]))
    assert on_edge <= {int(r[0]) for r in rows}


def test_one_file_is_a_string_and_no_data_has_no_refs(api_factory) -> None:  # type: ignore[no-untyped-def]
    api = api_factory({"export_rows_per_file": 10**6})
    rep = _create(api, _body(fields=["id"], created_after="2025-10-01 00:00:00",
                             created_before="2025-10-02 00:00:00"))
    rep = _finish(api, rep["id"])
    assert isinstance(rep["resultRefs"], str)
    rep = _create(api, _body(fields=["id"], created_after="2024-01-01 00:00:00",
                             created_before="2024-02-01 00:00:00"))
    rep = _finish(api, rep["id"])
    assert rep["state"] == "Complete"
    assert "resultRefs" not in rep


def test_prospect_export_types_and_deleted(api: Api) -> None:
    fields = ["id", "email", "is_deleted", "opted_out", "updated_at", "comments"]
    rep = _create(api, _body("prospect", "filter_by_updated_at", fields,
                             updated_after="2025-09-01 00:00:00", deleted="all"))
    _header, rows, _ = _download(api, _finish(api, rep["id"]))
    truth = {t["id"]: t for t in api.admin("truth/prospects")["records"]}
    assert len(rows) == len(truth)
    for r in rows:
        t = truth[int(r[0])]
        assert r[2] == ("true" if t["is_deleted"] else "false")
        assert r[5] == (t["comments"] or "")
    rep = _create(api, _body("prospect", "filter_by_updated_at", ["id"],
                             updated_after="2025-09-01 00:00:00"))
    _, rows, _ = _download(api, _finish(api, rep["id"]))
    assert len(rows) == sum(1 for t in truth.values() if not t["is_deleted"])


def test_every_procedure_runs(api: Api) -> None:
    after = "2025-09-01 00:00:00"
    cases = [
        ("visitorActivity", "filter_by_updated_at", {"updated_after": after, "type": [1, 2],
                                                     "prospectOnly": True}),
        ("prospect", "filter_by_created_at", {"created_after": after}),
        ("listMembership", "filter_by_created_at", {"created_after": after, "deleted": "all"}),
        ("listMembership", "filter_by_updated_at", {"updated_after": after}),
        ("visitor", "filter_by_updated_at", {"updated_after": after, "deleted": "true"}),
        ("visitor", "filter_by_prospect_updated_at", {"prospect_updated_after": after}),
        ("prospectAccount", "filter_by_updated_at", {"updated_after": after}),
        ("prospectAccount", "filter_by_prospect_updated_at", {"prospect_updated_after": after}),
    ]
    for obj, name, args in cases:
        rep = _create(api, {"object": obj, "procedure": {"name": name, "arguments": args}})
        rep = _finish(api, rep["id"])
        assert rep["state"] == "Complete", (obj, name)
        header, rows, _ = _download(api, rep)
        assert rows, (obj, name)
        assert "id" in header
        if obj == "visitorActivity":
            col_type, col_pid = header.index("type"), header.index("prospect_id")
            assert {r[col_type] for r in rows} <= {"1", "2"}
            assert all(r[col_pid] for r in rows)
        if name == "filter_by_updated_at" and obj == "visitor":
            assert {r[header.index("is_deleted")] for r in rows} == {"true"}


@pytest.mark.parametrize(("body", "code"), [
    (_body(name="filter_by_nothing", created_after="yesterday"), 174),
    (_body(created_after="yesterday", color="red"), 175),
    (_body(createdAfter="yesterday"), 175),  # camelCase only on v5
    (_body(created_before="yesterday"), 176),
    (_body(created_after="not a date"), 177),
    (_body(created_after="2024-01-01 00:00:00", created_before="2025-06-01 00:00:00"), 177),
    (_body(created_after="2024-06-01 00:00:00"), 177),  # open range measured to now
    (_body(created_after="2025-10-02", created_before="2025-10-01"), 177),
    (_body(fields=["id", "bogus"], created_after="yesterday"), 177),
    (_body(fields=["id"] * 151, created_after="yesterday"), 177),
    (_body("prospect", "filter_by_updated_at", ["id", "grade"], updated_after="yesterday"), 177),
    (_body("prospect", "filter_by_updated_at", updated_after="yesterday", deleted="maybe"), 177),
    (_body(created_after="yesterday", prospectOnly="perhaps"), 177),
])
def test_create_errors(api: Api, body: dict[str, Any], code: int) -> None:
    r = api.post(CREATE4, json=body)
    assert r.status_code == 400
    assert r.json()["@attributes"]["err_code"] == code


def test_body_errors(api: Api) -> None:
    r = api.post(CREATE4, data=b"", headers={"Content-Type": "application/json"})
    assert r.json()["@attributes"]["err_code"] == 152
    r = api.post(CREATE4, data=b"{nope", headers={"Content-Type": "application/json"})
    assert r.json()["@attributes"]["err_code"] == 150
    r = api.post(CREATE4, data=b"{}", headers={"Content-Type": "text/plain"})
    assert r.json()["@attributes"]["err_code"] == 151


def test_queue_runs_one_export_at_a_time_in_creation_order(api_factory) -> None:  # type: ignore[no-untyped-def]
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
    r = api.post(f"/api/export/version/4/do/cancel/id/{a}")
    assert r.json()["@attributes"]["err_code"] == 178
    # an export created now starts at once: the canceled one left the queue
    c = _create(api, body)["id"]
    api.sim.advance(11)
    assert _read(api, c)["state"] == "Processing"
    q = api.get("/api/export/version/4/do/query", params={"sort_order": "ascending"}).json()
    assert q["result"]["total_results"] == 3
    assert [e["id"] for e in q["result"]["export"]] == [a, b, c]
    assert all("resultRefs" not in e for e in q["result"]["export"])
    one = api.get("/api/export/version/4/do/query", params={"status": "Complete"}).json()
    assert one["result"]["export"]["id"] == a


def test_failed_and_wrapped_and_expired(api_factory) -> None:  # type: ignore[no-untyped-def]
    api = api_factory({"export_failure_count": 1, "export_reply_wrapped": True})
    body = _body(fields=["id"], created_after="2025-10-01 00:00:00",
                 created_before="2025-10-05 00:00:00")
    failed = _create(api, body)["export"]["id"]
    ok = _create(api, body)["export"]["id"]
    assert _finish(api, failed)["export"]["state"] == "Failed"
    rep = _read(api, ok)["export"]
    assert rep["state"] == "Complete"
    url = _refs(rep)[0]
    assert api.get(url).ok
    api.admin("exports/expire", {"id": ok})
    rep = _read(api, ok)["export"]
    assert rep["isExpired"] is True
    assert "resultRefs" not in rep
    r = api.get(url)
    assert r.status_code == 400
    assert r.json()["@attributes"]["err_code"] == 178
    other = _create(api, body)["export"]["id"]
    api.sim.advance(7 * 86400 + 10)
    api = Api(api.sim)  # the old access token has expired too
    assert _read(api, other)["export"]["isExpired"] is True


def test_v5_export(api: Api) -> None:
    body = {"object": "visitorActivity", "fields": ["id", "prospectId", "createdAt"],
            "procedure": {"name": "filter_by_created_at",
                          "arguments": {"createdAfter": "2025-10-01T00:00:00-04:00",
                                        "createdBefore": "2025-10-20T00:00:00-04:00"}}}
    rep = _create(api, body, version=5)
    rep = _finish(api, rep["id"], version=5)
    header, rows, _ = _download(api, rep)
    assert header == ["id", "prospectId", "createdAt"]
    assert rows
    assert all(_refs(rep)[0].startswith(f"{api.url}/api/v5/exports/") for _ in rows[:1])
    r = api.post("/api/v5/exports", json={"object": "visitorActivity"})
    assert r.status_code == 400
    assert r.json()["code"] == 176



def test_v5_cancel_list_and_reply_knobs(api_factory) -> None:  # type: ignore[no-untyped-def]
    api = api_factory({"export_processing_seconds": 100, "export_rows_per_file": 10**6,
                       "export_v5_result_refs_always_array": True,
                       "export_result_refs_key": "resultsRef"})
    body = {"object": "visitor-activities", "fields": ["id"],
            "procedure": {"name": "filter_by_updated_at",
                          "arguments": {"updated_after": "2025-10-01T00:00:00Z"}}}
    first = _create(api, body, version=5)["id"]
    second = _create(api, body, version=5)["id"]
    r = api.post(f"/api/v5/exports/{second}/do/cancel")
    assert r.json()["state"] == "Canceled"
    listed = api.get("/api/v5/exports").json()["values"]
    assert {e["id"] for e in listed} == {first, second}
    api.sim.advance(200)
    rep = _read(api, first, version=5)
    assert isinstance(rep["resultsRef"], list)
    assert len(rep["resultsRef"]) == 1
