"""Ask a real Pardot SANDBOX the open questions of the API notes, and print what it answers.

    make live-check            (or: python scripts/live_check.py [--json] [--max-wait 300])

Credentials come from the environment, under the tap's own setting names:
TAP_PARDOT_CLIENT_ID, TAP_PARDOT_CLIENT_SECRET, TAP_PARDOT_REFRESH_TOKEN (or
TAP_PARDOT_USERNAME + TAP_PARDOT_PRIVATE_KEY for the JWT flow), TAP_PARDOT_PARDOT_BUSINESS_UNIT_ID;
TAP_PARDOT_IS_SANDBOX (default true), TAP_PARDOT_API_BASE_URL, TAP_PARDOT_AUTH_BASE_URL
(and TAP_PARDOT_JWT_AUDIENCE, TAP_PARDOT_AUTH_FLOW, TAP_PARDOT_PRIVATE_KEY_PASSPHRASE).

It spends fewer than 30 API calls in all (the token call included; a counter refuses the 30th),
creates a few tiny exports and cancels any that has not finished before it exits, and prints no
secret. Each check below is a small function; CHECKS lists them in the order they run, which is
also their priority when the call budget runs short. Output: one line per question of the notes'
open-questions list, then a block to paste into an issue. Nothing here asserts a reading:
it reports which one Pardot supports.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import json
import os
import re
import sys
import time
import typing as t
from dataclasses import asdict, dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlparse

import requests

from tap_pardot.auth import AuthError, build_authenticator
from tap_pardot.settings import ConfigError, Settings, check_config

CALL_LIMIT = 30  # the 30th call is refused
HELD_FOR_RESULTS = 4  # two polls and one download of the Q6 export, one read of the Q8 one
CREATE_PROPS = "id,status,isExpired,createdAt,updatedAt"
READ_PROPS = CREATE_PROPS + ",resultRefs"
FINISHED = ("Complete", "Failed", "Canceled")
SETTLED = (*FINISHED, "finished before cancel", "not cancelable")  # no cancel left to try
UNREAD = "not read"
ENV = "TAP_PARDOT_"
SECRET_KEYS = ("client_secret", "refresh_token", "private_key", "private_key_passphrase",
               "client_id", "username", "pardot_business_unit_id")
DOWNLOAD_BYTES = 65536
ATOM = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
NAIVE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
QUESTIONS = {
    "Q1": "v5 export create/read without the `fields` query parameter",
    "Q2": "snake_case procedure argument on v5 create",
    "Q3": "procedure name case-sensitivity",
    "Q4": "`object` property on v5 create",
    "Q5": "v5 export create: HTTP status and body",
    "Q6": "v5 export CSV: headers, dates, booleans, custom field names",
    "Q7": "CSV formula escaping (\\= \\+ \\@)",
    "Q8": "resultRefs of a Complete export with no data",
    "Q9": "flagged export procedures and prospect fields",
    "Q10": "array custom field on v5 read by id",
    "Q11": "page-token cap warning code (101 or 203)",
    "Q12": "v3/v4 query deleted=all",
    "Q13": "v3/v4 campaign timestamps",
    "Q14": "v3/v4 export default `deleted`",
    "Q15": "export window edges and the 1-year error",
    "Q16": "`deleted` on a v5 object without a recycle bin",
    "Q17": "paths: engagement-studio-programs, external-activities",
    "Q18": "relationship (dot) fields in v5 exports",
    "Q19": "session (type 5) visitor activities via export",
    "Q20": "v3/v4 error transport (HTTP status, Content-Type)",
    "Q21": "prospect score / assignedToId types",
    "Q22": "post-2023 renames (list-emails isOperational)",
    "Q23": "URL length of a long `fields` list",
    "Q24": "legacy api_key login",
    "Q25": "maxFileSizeBytes bounds",
    "Q26": "tagged-objects / form-fields / folder-contents updatedAt filter",
    "DATE": "`Date` response header",
    "USAGE": "X-Return-Api-Usage: 1 -> x-api-usage header",
    "ACCOUNT": "v5 account maximumDailyApiCalls / apiCallsUsed",
}
NOT_ASKABLE = {
    "Q11": "needs 100,000 records of one token sequence; not settle-able in a few calls",
    "Q14": "needs a v3/v4 export and a count of deleted rows; not within the budget",
    "Q15": "needs records sitting on a window edge; not settle-able cheaply",
    "Q23": "needs hundreds of custom fields; not settle-able cheaply",
    "Q24": "needs legacy email/password/user_key credentials; this check uses OAuth only",
    "Q25": "probing it costs exports; the tap leaves maxFileSizeBytes unset",
}


class OutOfCalls(Exception):
    """The call budget is spent (the rest is kept for cancelling exports)."""


@dataclass
class Ask:
    asked: str
    status: str
    observed: str


@dataclass
class Answer:
    q: str
    asks: list[Ask] = field(default_factory=list)
    reading: str = ""


@dataclass
class Reply:
    status: int | None
    headers: t.Mapping[str, str]
    body: t.Any  # parsed JSON, or None
    text: str
    export: Export | None = None  # the export a create call made

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def failed(self) -> bool:
        """Not 2xx, or a v3/v4 `stat: fail` envelope (which may come with HTTP 200)."""
        attributes = self.body.get("@attributes") if isinstance(self.body, dict) else None
        stat = attributes.get("stat") if isinstance(attributes, dict) else None
        return not self.ok or stat == "fail" or "<rsp stat=\"fail\"" in self.text[:200]

    def error(self) -> tuple[int | None, str]:
        """(code, message) of a v5 or v3/v4 error envelope (JSON or XML)."""
        body = self.body
        if isinstance(body, dict) and "code" in body:
            return _int(body.get("code")), str(body.get("message", ""))
        if isinstance(body, dict) and isinstance(body.get("@attributes"), dict):
            return _int(body["@attributes"].get("err_code")), str(body.get("err", ""))
        if m := re.search(r'<err code="(\d+)"[^>]*>(.*?)</err>', self.text, re.S):
            return int(m.group(1)), m.group(2)
        return None, self.text[:120].replace("\n", " ")

    def summary(self) -> str:
        """`code N: message` for an error, else the keys of the JSON reply."""
        if self.status is None:
            return self.text
        if self.failed:
            code, message = self.error()
            return f"code {code}: {message[:160]}"
        if isinstance(self.body, dict):
            return "keys " + ",".join(self.body)
        return f"{len(self.text)} bytes"


@dataclass
class Export:
    id: int
    label: str
    status: str | None = None
    refs: t.Any = UNREAD
    created: float = field(default_factory=time.monotonic)


def _int(value: t.Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def atom(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def export_of(body: t.Any) -> dict:
    """The Export resource of a reply (v5 bodies are unwrapped; accept a wrapper)."""
    if isinstance(body, dict) and isinstance(body.get("export"), dict):
        return body["export"]
    return body if isinstance(body, dict) else {}


def status_of(resource: dict) -> str | None:
    return resource.get("status") or resource.get("state")


class Live:
    """One run: a counting session, the tap's authenticator, what the checks learned."""

    def __init__(self, config: dict, flow: str, *, max_wait: float, poll_seconds: float) -> None:
        settings = Settings.parse(config)
        self.api = settings.api_base_url
        self.auth_host = settings.auth_base_url
        self.secrets = [str(config[k]) for k in SECRET_KEYS if config.get(k)]
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "tap-pardot-live-check"
        self.used = 0
        self.held = HELD_FOR_RESULTS  # released when the export results are fetched
        self.deadline = time.monotonic() + max_wait
        self.poll_seconds = poll_seconds
        self.answers: dict[str, Answer] = {}
        self.exports: list[Export] = []
        self.anchor: dt.datetime | None = None  # latest prospect updatedAt (the server's clock)
        self.now: dt.datetime | None = None  # from the Date header
        self.prospect_id: int | None = None
        self.scalar_cf: dict | None = None
        self.array_cf: dict | None = None
        self.v3_error: Reply | None = None
        self.v3_version = 4
        self.q26: dict[str, str] = {}  # object -> reading
        self.auth = build_authenticator(config, flow, settings, post=self._token_post)

    # ---- the budget ------------------------------------------------------------------------
    def open_exports(self) -> list[Export]:
        return [e for e in self.exports if e.status not in SETTLED]

    def spend(self, reserve: int) -> None:
        """Count one call; refuse it when it would eat the calls kept for `reserve` cancels."""
        if self.used + 1 + reserve >= CALL_LIMIT:
            raise OutOfCalls
        self.used += 1

    def left(self) -> int:
        return CALL_LIMIT - 1 - self.used - len(self.open_exports()) - self.held

    def _token_post(self, url: str, form: dict[str, str]) -> requests.Response:
        self.spend(len(self.open_exports()) + self.held)
        return self.session.post(url, data=form, timeout=60)

    # ---- calls -------------------------------------------------------------------------------
    def call(self, method: str, url: str, *, params: dict | None = None, body: t.Any = None,
             headers: dict | None = None, kind: str = "api", stream: bool = False) -> Reply:
        """One API call. kind: api, create (keeps a call for its cancel) or cancel.

        An api call or a create may not eat the calls kept for cancels or held for results.
        """
        reserve = 0 if kind == "cancel" else (
            len(self.open_exports()) + self.held + (kind == "create"))
        if not self.auth.is_token_valid():
            self.auth.update_access_token()  # counted by _token_post
            self.secrets.append(str(self.auth.access_token))
        self.spend(reserve)
        if not url.startswith("http"):
            url = self.api + url
        request = requests.Request(method, url, params=params, json=body, headers=headers)
        prepared = self.auth.authenticate_request(self.session.prepare_request(request))
        try:
            response = self.session.send(prepared, timeout=60, stream=stream)
        except requests.RequestException as exc:
            return Reply(None, {}, None, f"no reply ({type(exc).__name__})")
        if self.now is None and (date := response.headers.get("Date")):
            with contextlib.suppress(TypeError, ValueError):
                self.now = parsedate_to_datetime(date)
        text = _head(response) if stream else response.text
        parsed = None
        if not stream or not 200 <= response.status_code < 300:  # a file is not parsed
            with contextlib.suppress(ValueError):
                parsed = json.loads(text)
        return Reply(response.status_code, response.headers, parsed, text[:DOWNLOAD_BYTES])

    def v5(self, path: str, **params: t.Any) -> Reply:
        return self.call("GET", f"/api/v5/{path}", params=params or None)

    def create(self, label: str, body: dict, *, props: str | None = CREATE_PROPS) -> Reply:
        """POST /api/v5/exports; an accepted export is tracked until finished or canceled."""
        params = {"fields": props} if props else None
        reply = self.call("POST", "/api/v5/exports", params=params, body=body, kind="create")
        resource = export_of(reply.body)
        if reply.ok and _int(resource.get("id")) is not None:
            reply.export = Export(int(resource["id"]), label, status_of(resource))
            self.exports.append(reply.export)
        return reply

    def export(self, label: str) -> Export | None:
        return next((e for e in self.exports if e.label == label), None)

    def read_export(self, export: Export) -> Reply:
        reply = self.call("GET", f"/api/v5/exports/{export.id}", params={"fields": READ_PROPS})
        resource = export_of(reply.body)
        if reply.ok and status_of(resource):
            export.status = status_of(resource)
            export.refs = resource.get("resultRefs", resource.get("resultsRef", "absent"))
        return reply

    def cancel(self, export: Export) -> Reply:
        reply = self.call("POST", f"/api/v5/exports/{export.id}/do/cancel",
                          params={"fields": "id,status"}, kind="cancel")
        resource = export_of(reply.body)
        if reply.ok:
            export.status = status_of(resource) or "Canceled"
        elif reply.status is not None and reply.status < 500:
            done = "already" in reply.error()[1].lower()  # "…already been completed or failed."
            export.status = "finished before cancel" if done else "not cancelable"
        return reply

    def wait_for(self, export: Export, polls: int) -> Reply | None:
        """Poll on a doubling schedule until finished, `polls` reads, the deadline or the
        budget's end (whichever comes first)."""
        reply, gap, last = None, self.poll_seconds, export.created
        while (export.status not in FINISHED or (export.status == "Complete"
                                                  and export.refs == UNREAD)) and self.left() >= 1:
            wake = last + gap
            if wake > self.deadline or polls < 1:
                break
            time.sleep(max(0.0, wake - time.monotonic()))
            reply, last, gap, polls = self.read_export(export), time.monotonic(), gap * 2, polls - 1
        return reply

    def download(self, url: str) -> Reply:
        host = urlparse(url).hostname or ""
        own = urlparse(self.api).hostname
        if host != own and not host.endswith(".pardot.com"):
            return Reply(None, {}, None, f"not downloaded: resultRefs host {host} is not Pardot's")
        return self.call("GET", url, stream=True)

    # ---- answers -----------------------------------------------------------------------------
    def ask(self, q: str, asked: str, reply: Reply | None, observed: str | None = None) -> None:
        answer = self.answers.setdefault(q, Answer(q))
        status = "-" if reply is None or reply.status is None else str(reply.status)
        if observed is None:
            observed = reply.summary() if reply is not None else ""
        answer.asks.append(Ask(asked, status, observed))

    def read(self, q: str, reading: str) -> None:
        self.answers.setdefault(q, Answer(q)).reading = reading

    def reading(self, q: str) -> str:
        answer = self.answers.get(q)
        return answer.reading if answer else ""

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if len(secret) >= 4:
                text = text.replace(secret, "[redacted]")
        return text


def _head(response: requests.Response) -> str:
    """The first DOWNLOAD_BYTES of a streamed body, cut at the last full line."""
    data = b""
    try:
        for chunk in response.iter_content(8192):
            data += chunk
            if len(data) >= DOWNLOAD_BYTES:
                data = data[: data.rfind(b"\n") + 1] or data
                break
    except requests.RequestException:
        pass
    finally:
        response.close()
    return data.decode("utf-8", errors="replace")


# ---- windows ----------------------------------------------------------------------------------
def recent_window(lv: Live) -> dict[str, str]:
    """The day up to the latest prospect update (the server's own clock and timezone)."""
    end = lv.anchor or lv.now or dt.datetime.now(dt.timezone.utc)
    return {"updatedAfter": atom(end - dt.timedelta(days=1)),
            "updatedBefore": atom(end + dt.timedelta(seconds=1))}


def empty_window(lv: Live) -> dict[str, str]:
    """One second just after the latest prospect update: nothing should fall in it."""
    end = lv.anchor or lv.now or dt.datetime.now(dt.timezone.utc)
    return {"updatedAfter": atom(end + dt.timedelta(seconds=1)),
            "updatedBefore": atom(end + dt.timedelta(seconds=2))}


def probe_body(lv: Live, name: str = "Prospect/FilterByUpdatedAt", **extra: t.Any) -> dict:
    body = {"fields": ["id", "updatedAt"],
            "procedure": {"name": name, "arguments": empty_window(lv)}}
    body.update(extra)
    return body


def accepted_or(reply: Reply, code: int, yes: str, no: str) -> str:
    if reply.ok:
        return yes
    got, _ = reply.error()
    return no if got == code else f"other: refused with HTTP {reply.status}, code {got}"


def probe_export(lv: Live, q: str, asked: str, body: dict, code: int, yes: str,
                 no: str) -> None:
    """Create an export meant to be refused; if accepted, cancel it at once."""
    reply = lv.create(q, body)
    lv.ask(q, asked, reply)
    lv.read(q, accepted_or(reply, code, yes, no))
    if reply.export and reply.export.status not in FINISHED:
        lv.ask(q, f"POST /api/v5/exports/{reply.export.id}/do/cancel", lv.cancel(reply.export))


# ---- the checks -------------------------------------------------------------------------------
def check_account(lv: Live) -> None:
    reply = lv.call("GET", "/api/v5/objects/account", headers={"X-Return-Api-Usage": "1"},
                    params={"fields": "id,maximumDailyApiCalls,apiCallsUsed"})
    date = reply.headers.get("Date")
    lv.ask("DATE", "GET /api/v5/objects/account", reply, f"Date: {date or 'absent'}")
    lv.read("DATE", "present: pace and window by the server's clock" if date else "absent")
    usage = reply.headers.get("x-api-usage")
    lv.ask("USAGE", "GET /api/v5/objects/account (X-Return-Api-Usage: 1)", reply,
           f"x-api-usage: {usage or 'absent'}")
    lv.read("USAGE", "header returned" if usage else "no x-api-usage header")
    body = reply.body if reply.ok and isinstance(reply.body, dict) else {}
    observed = (f"maximumDailyApiCalls={body.get('maximumDailyApiCalls')}, "
                f"apiCallsUsed={body.get('apiCallsUsed')}") if body else reply.summary()
    lv.ask("ACCOUNT", "GET /api/v5/objects/account?fields=id,maximumDailyApiCalls,apiCallsUsed",
           reply, observed)
    lv.read("ACCOUNT", f"not settled: HTTP {reply.status}" if not reply.ok else "both exposed"
            if "apiCallsUsed" in body and "maximumDailyApiCalls" in body else "not returned")


def check_prospects(lv: Live) -> None:
    """The latest prospect (anchors every window), with the flagged fields doNotSell, grade."""
    fields = ["id", "updatedAt", "score", "assignedToId", "doNotSell", "grade"]
    refused: list[str] = []
    reply = None
    for _ in range(3):
        reply = lv.v5("objects/prospects", fields=",".join(fields), orderBy="updatedAt DESC",
                      limit=1)
        lv.ask("Q9", f"GET /api/v5/objects/prospects?fields={','.join(fields)}", reply)
        code, message = reply.error()
        named = [f for f in fields if f != "id" and re.search(rf"\b{f}\b", message)]
        if reply.ok or code != 51 or not named:
            break
        refused += named
        fields = [f for f in fields if f not in named]
    flagged = [f for f in ("doNotSell", "grade") if f not in refused]
    lv.read("Q9", f"fields: {', '.join(flagged) or 'none'} accepted; "
            f"{', '.join(refused) or 'none'} refused (51)" if reply and reply.ok
            else f"fields: not settled (HTTP {reply.status if reply else '-'})")
    values = reply.body.get("values") if reply and reply.ok and isinstance(reply.body, dict) \
        else None
    if values:
        row = values[0]
        lv.prospect_id = _int(row.get("id"))
        try:
            lv.anchor = dt.datetime.fromisoformat(str(row.get("updatedAt")))
        except ValueError:
            lv.anchor = None
        if lv.anchor and lv.anchor.tzinfo is None:
            lv.anchor = lv.anchor.replace(tzinfo=dt.timezone.utc)
        types = {k: type(row[k]).__name__ for k in ("score", "assignedToId") if k in row}
        lv.ask("Q21", "(same prospects query) value types", reply, json.dumps(types))
        lv.read("Q21", ", ".join(f"{k} {v}" for k, v in types.items()) or "not returned")
    else:
        lv.ask("Q21", "(same prospects query)", reply, "no prospect visible")
        lv.read("Q21", "not settled: no prospect visible to this user")


def check_custom_fields(lv: Live) -> None:
    reply = lv.v5("objects/custom-fields", limit=200,
                  fields="id,fieldId,apiFieldId,type,isRecordMultipleResponses")
    values = reply.body.get("values", []) if reply.ok and isinstance(reply.body, dict) else []
    for cf in values:
        kind = re.sub(r"[^a-z]", "", str(cf.get("type", "")).lower())
        is_array = kind in ("checkbox", "multiselect") or cf.get("isRecordMultipleResponses")
        if is_array and lv.array_cf is None:
            lv.array_cf = cf
        if not is_array and lv.scalar_cf is None and cf.get("apiFieldId"):
            lv.scalar_cf = cf
    lv.ask("Q10", "GET /api/v5/objects/custom-fields?fields=id,fieldId,apiFieldId,type,"
           "isRecordMultipleResponses", reply,
           f"{len(values)} fields, array-typed: {'yes' if lv.array_cf else 'none'}"
           if reply.ok else None)


def check_main_export(lv: Live) -> None:
    """The one real export (Q6), whose create reply answers Q5."""
    fields = ["id", "email", "updatedAt", "isDoNotEmail", "optedOut", "phone", "score"]
    if lv.scalar_cf:
        fields.append(str(lv.scalar_cf["apiFieldId"]))
    body = {"fields": fields,
            "procedure": {"name": "Prospect/FilterByUpdatedAt", "arguments": recent_window(lv)}}
    reply = lv.create("Q6", body)
    asked = f"POST /api/v5/exports?fields={CREATE_PROPS} (Prospect/FilterByUpdatedAt, 1 day)"
    lv.ask("Q5", asked, reply)
    if not reply.ok and lv.now and lv.anchor and (lv.now - lv.anchor).days > 300:
        body["procedure"]["arguments"] = {  # the latest update is old: the last day instead
            "updatedAfter": atom(lv.now - dt.timedelta(days=1)), "updatedBefore": atom(lv.now)}
        reply = lv.create("Q6", body)
        lv.ask("Q5", asked.replace("1 day", "last day by the Date header"), reply)
    resource = export_of(reply.body)
    if reply.ok:
        key = "status" if "status" in resource else "state" if "state" in resource else None
        lv.read("Q5", f"HTTP {reply.status}; body "
                + ("id only" if set(resource) == {"id"} else "with the requested properties")
                + (f"; the status under `{key}`" if key else ""))
    else:
        lv.read("Q5", "not settled: the create was refused")
        lv.read("Q6", "not settled: the export create was refused (see Q5)")


def check_q1_create(lv: Live) -> None:
    """A create without ?fields=, over an empty window: it also serves as the Q8 export."""
    reply = lv.create("Q8", probe_body(lv), props=None)
    lv.ask("Q1", "POST /api/v5/exports (no ?fields=)", reply)
    keys = set(export_of(reply.body))
    create = ("(a) 400 on create" if not reply.ok and reply.status == 400 else
              "(b) id-only reply on create" if reply.ok and keys == {"id"} else
              f"create {'returns ' + ','.join(sorted(keys)) if reply.ok else 'other'}")
    lv.read("Q1", create)
    if not reply.ok:  # the Q8 export, made the documented way
        lv.ask("Q8", f"POST /api/v5/exports?fields={CREATE_PROPS} (empty window)",
               lv.create("Q8", probe_body(lv)))


def check_q1_read(lv: Live) -> None:
    export = lv.export("Q6") or lv.export("Q8")
    if export is None:
        lv.read("Q1", lv.reading("Q1") + "; read not asked (no export)")
        return
    reply = lv.call("GET", f"/api/v5/exports/{export.id}")
    lv.ask("Q1", f"GET /api/v5/exports/{export.id} (no ?fields=)", reply)
    resource = export_of(reply.body)
    if reply.ok and status_of(resource):
        export.status = status_of(resource)
    read = ("(a) 400 on read" if reply.status == 400 else
            "(b) id-only on read" if reply.ok and set(resource) == {"id"} else
            f"read {'returns ' + ','.join(resource) if reply.ok else 'other'}")
    lv.read("Q1", f"{lv.reading('Q1')}; {read}")


def check_q2(lv: Live) -> None:
    body = probe_body(lv)
    body["procedure"]["arguments"] = {"updated_after": body["procedure"]["arguments"][
        "updatedAfter"], "updated_before": body["procedure"]["arguments"]["updatedBefore"]}
    probe_export(lv, "Q2", "POST /api/v5/exports (arguments updated_after/updated_before)",
                 body, 175, "(a) snake_case accepted as an alias", "(b) 175 unknown argument")


def check_q3(lv: Live) -> None:
    probe_export(lv, "Q3", "POST /api/v5/exports (procedure.name prospect/filterbyupdatedat)",
                 probe_body(lv, "prospect/filterbyupdatedat"), 174,
                 "case-insensitive (accepted)", "case-sensitive (174)")


def check_q4(lv: Live) -> None:
    probe_export(lv, "Q4", 'POST /api/v5/exports (body adds "object": "prospect")',
                 probe_body(lv, object="prospect"), 154, "ignored (accepted)", "refused (154)")


def check_q9_procedures(lv: Live) -> None:
    window = empty_window(lv)
    for name, args in (("Campaign/FilterByUpdatedAt", window),
                       ("Prospect/FilterByLastActivity",
                        {"lastActivityAfter": window["updatedAfter"],
                         "lastActivityBefore": window["updatedBefore"]})):
        reading = lv.reading("Q9")
        probe_export(lv, "Q9", f"POST /api/v5/exports (procedure {name})",
                     {"fields": ["id"], "procedure": {"name": name, "arguments": args}}, 174,
                     f"{name} enabled", f"{name} refused (174)")
        lv.read("Q9", f"{reading}; {lv.reading('Q9')}")


def check_q19(lv: Live) -> None:
    """Visitor activities with an explicit type list that includes 5 (Session)."""
    args = {**recent_window(lv), "type": [1, 5]}
    reply = lv.create("Q19", {"fields": ["id", "type", "createdAt"],
                              "procedure": {"name": "VisitorActivity/FilterByUpdatedAt",
                                            "arguments": args}})
    lv.ask("Q19", "POST /api/v5/exports (VisitorActivity/FilterByUpdatedAt, type [1, 5])", reply)
    lv.read("Q19", accepted_or(reply, 177, "type list with 5 accepted", "refused (177)"))


def check_q16(lv: Live) -> None:
    reply = lv.v5("objects/visitor-activities", fields="id", deleted="true", limit=1)
    lv.ask("Q16", "GET /api/v5/objects/visitor-activities?deleted=true", reply)
    lv.read("Q16", "ignored (200)" if reply.ok else f"refused (HTTP {reply.status})")


def check_q17(lv: Live) -> None:
    readings = []
    for documented, other in (("/api/v5/objects/engagement-studio-programs",
                               "/api/v5/objects/engagement-programs"),
                              ("/api/v5/external-activities",
                               "/api/v5/objects/external-activities")):
        reply = lv.call("GET", documented, params={"fields": "id", "limit": 1})
        lv.ask("Q17", f"GET {documented}", reply)
        readings.append(f"{documented.rsplit('/', 1)[1]} documented path "
                        f"{'works' if reply.ok else f'HTTP {reply.status}'}")
        if reply.status in (404, 405):
            second = lv.call("GET", other, params={"fields": "id", "limit": 1})
            lv.ask("Q17", f"GET {other}", second)
            readings[-1] += f", {other} {'works' if second.ok else f'HTTP {second.status}'}"
    lv.read("Q17", "; ".join(readings))


def _v3_query(lv: Live, obj: str, version: int, **params: t.Any) -> Reply:
    return lv.call("GET", f"/api/{obj}/version/{version}/do/query",
                   params={"format": "json", "limit": 1, **params})


def _total(reply: Reply) -> int | None:
    result = reply.body.get("result") if isinstance(reply.body, dict) else None
    return _int(result.get("total_results")) if isinstance(result, dict) else None


def check_q12(lv: Live) -> None:
    version = 4
    reply = _v3_query(lv, "prospect", version, deleted="all", output="simple")
    lv.ask("Q12", "GET /api/prospect/version/4/do/query?deleted=all", reply)
    if reply.failed and reply.error()[0] == 89:  # the account must use v3
        lv.v3_error, version = reply, 3
        reply = _v3_query(lv, "prospect", version, deleted="all", output="simple")
        lv.ask("Q12", "GET /api/prospect/version/3/do/query?deleted=all", reply)
    lv.v3_version = version
    if reply.failed:
        lv.v3_error = reply
        code, _ = reply.error()
        lv.read("Q12", "(a) error 27" if code == 27 else f"refused with code {code}")
        return
    totals = {"all": _total(reply)}
    lv.read("Q12", f"accepted (total_results {totals['all']}); reading not settled")
    for value in (None, "true"):  # compare with the default walk, then with deleted=true
        params = {"deleted": value} if value else {}
        other = _v3_query(lv, "prospect", version, output="simple", **params)
        lv.ask("Q12", f"GET /api/prospect/version/{version}/do/query"
               + (f"?deleted={value}" if value else " (no deleted)"), other)
        totals[value or "default"] = _total(other)
        lv.read("Q12", q12_reading(totals))


def q12_reading(totals: dict[str, int | None]) -> str:
    """The reading from total_results with deleted=all, without deleted, with deleted=true."""
    every, default, true = totals["all"], totals.get("default"), totals.get("true")
    counts = ", ".join(f"{k}={v}" for k, v in totals.items())
    counts = f"accepted: total_results {counts} -> "
    if every is None or default is None or ("true" in totals and true is None):
        return counts + "ambiguous: no total_results"
    if true is None:
        return counts + ("ignored, unless the recycle bin is empty" if every == default
                         else "taken as true or honoured")
    return counts + ("ambiguous: nothing in the recycle bin" if true == 0 else
                     "taken as true" if every == true else "ignored" if every == default else
                     "honoured as all" if every == true + default else "ambiguous")


def check_q20(lv: Live) -> None:
    reply = lv.v3_error
    asked = "(the v3/v4 error above)"
    if reply is None:
        reply = _v3_query(lv, "prospect", lv.v3_version, sort_by="no_such_field")
        asked = f"GET /api/prospect/version/{lv.v3_version}/do/query?sort_by=no_such_field"
    ctype = reply.headers.get("Content-Type", "absent")
    lv.ask("Q20", asked, reply, f"{reply.summary()}; Content-Type: {ctype}")
    lv.read("Q20", f"error envelope with HTTP {reply.status}, {ctype.split(';')[0]}"
            if reply.failed else "no error produced")


def check_q10(lv: Live) -> None:
    if lv.array_cf is None or lv.prospect_id is None:
        lv.read("Q10", "not asked: no array-typed custom field or no prospect")
        return
    name = str(lv.array_cf.get("apiFieldId"))
    reply = lv.v5(f"objects/prospects/{lv.prospect_id}", fields=f"id,{name}")
    value = reply.body.get(name, "absent") if reply.ok and isinstance(reply.body, dict) else None
    lv.ask("Q10", f"GET /api/v5/objects/prospects/{{id}}?fields=id,<{lv.array_cf.get('type')} "
           "field>", reply, f"value type {type(value).__name__}" if reply.ok else None)
    lv.read("Q10", f"read by id returns it ({type(value).__name__})" if reply.ok
            else f"refused (code {reply.error()[0]})")


def check_q26(lv: Live) -> None:
    """Runs twice: before the exports and after, for objects the held calls kept it from."""
    since = atom((lv.anchor or lv.now or dt.datetime.now(dt.timezone.utc))
                 - dt.timedelta(days=30))
    objects = ("tagged-objects", "form-fields", "folder-contents")
    for obj in objects:
        lv.q26.setdefault(obj, "not asked (call budget)")
        lv.read("Q26", "; ".join(f"{k} {v}" for k, v in lv.q26.items()))
    for obj in objects:
        if not lv.q26[obj].startswith("not asked"):
            continue
        reply = lv.v5(f"objects/{obj}", fields="id,updatedAt", updatedAtAfterOrEqualTo=since,
                      orderBy="updatedAt ASC", limit=1)
        lv.ask("Q26", f"GET /api/v5/objects/{obj}?updatedAtAfterOrEqualTo=&orderBy=updatedAt",
               reply)
        lv.q26[obj] = "updatedAt ok" if reply.ok else f"refused (code {reply.error()[0]})"
        lv.read("Q26", "; ".join(f"{k} {v}" for k, v in lv.q26.items()))


def analyse_csv(text: str, cf: dict | None) -> tuple[str, str, str, str]:
    """(Q6 observed, Q6 reading, Q7 observed, Q7 reading) from a file's first lines.

    No data value is shown except the first updatedAt and the boolean columns' values.
    """
    bom = text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        return "empty file", "not settled: empty file", "no values", "not observable"
    header, data = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
    col = {name: i for i, name in enumerate(header)}
    style = ("camelCase" if "updatedAt" in col else "snake_case" if "updated_at" in col
             else "other")
    date_col = col.get("updatedAt", col.get("updated_at"))
    sample = data[0][date_col] if data and date_col is not None else ""
    dates = ("ATOM with offset" if ATOM.match(sample) else
             "naive YYYY-MM-DD HH:MM:SS" if NAIVE.match(sample) else f"other {sample!r}")
    bools = sorted({r[i] for r in data for n, i in col.items()
                    if n in ("isDoNotEmail", "optedOut", "is_do_not_email", "opted_out")})
    custom = "none requested"
    if cf:
        custom = ("__c" if cf.get("apiFieldId") in col else
                  "bare" if cf.get("fieldId") in col else "other")
    observed = (f"header={','.join(header)}; updatedAt sample={sample!r}; boolean values="
                f"{bools}; BOM={bom}; {len(data)} rows read")
    reading = (f"headers {style}; dates {dates if data else 'not seen'}; booleans "
               f"{'/'.join(bools) or 'not seen'}; custom field {custom}")
    escaped = {c for c, i in col.items() for r in data if r[i][:2] in ("\\=", "\\+", "\\@")}
    raw = {c for c, i in col.items() for r in data if r[i][:1] in ("=", "+", "@")}
    q7 = (f"backslash-escaped =+@ in columns: {sorted(escaped) or 'none'}; unescaped =+@ in "
          f"columns: {sorted(raw) or 'none'}")
    q7_reading = ("escaping applied" if escaped and not raw else
                  "escaping dropped (values verbatim)" if raw and not escaped else
                  "mixed: see columns" if raw else
                  "not observable: no value starting with = + @ in the rows read")
    return observed, reading, q7, q7_reading


def check_exports(lv: Live) -> None:
    """Wait for the Q6 export, read its first file (Q6, Q7); then the empty one (Q8)."""
    lv.held = 0
    main = lv.export("Q6")
    if main is not None:
        reply = lv.wait_for(main, polls=3)
        lv.ask("Q6", f"GET /api/v5/exports/{main.id}?fields={READ_PROPS} (polled)", reply,
               f"status {main.status}, resultRefs {_refs(main.refs)}")
        refs = ref_list(main.refs)
        if main.status == "Complete" and refs:
            body = lv.download(str(refs[0]))
            if body.ok:
                observed, reading, q7, q7_reading = analyse_csv(body.text, lv.scalar_cf)
                lv.ask("Q6", "GET <first resultRefs URL> (first 64 KiB)", body, observed)
                lv.read("Q6", reading)
                lv.ask("Q7", "(the same file) values starting with = + @", body, q7)
                lv.read("Q7", q7_reading)
            else:
                lv.ask("Q6", "GET <first resultRefs URL>", body)
                lv.read("Q6", "not settled: the download failed")
        elif not lv.reading("Q6"):
            lv.read("Q6", f"not settled: export {main.status or 'unknown'}, resultRefs "
                    f"{_refs(main.refs)} when polling stopped")
    empty = lv.export("Q8")
    if empty is not None:
        reply = lv.wait_for(empty, polls=2)
        lv.ask("Q8", f"GET /api/v5/exports/{empty.id}?fields={READ_PROPS} (empty window)",
               reply, f"status {empty.status}, resultRefs {_refs(empty.refs)}")
        lv.read("Q8", f"not settled: export {empty.status or 'unknown'}"
                if empty.status != "Complete" else f"resultRefs {_refs(empty.refs)}"
                if not ref_list(empty.refs) else "not settled: the window held data")


def ref_list(refs: t.Any) -> list[str]:
    """The download URLs of a read: an array in v5, a string in v3/v4 (accept both)."""
    if isinstance(refs, list):
        return [str(r) for r in refs]
    return [refs] if isinstance(refs, str) and refs not in ("absent", UNREAD) else []


def _refs(refs: t.Any) -> str:
    if refs in ("absent", UNREAD):
        return refs
    if isinstance(refs, list):
        return f"array of {len(refs)}" if refs else "[] (empty array)"
    return "null" if refs is None else f"a {type(refs).__name__}"


def check_q19_rows(lv: Live) -> None:
    """If the budget allows, see whether type-5 rows come back in the Q19 export."""
    export = lv.export("Q19")
    if export is None or lv.left() < 2:
        return
    lv.wait_for(export, polls=2)
    refs = ref_list(export.refs)
    if export.status != "Complete" or not refs or lv.left() < 1:
        return
    body = lv.download(str(refs[0]))
    rows = list(csv.reader(io.StringIO(body.text.lstrip("\ufeff"))))
    at = rows[0].index("type") if rows and "type" in rows[0] else None
    fives = sum(1 for r in rows[1:] if at is not None and len(r) > at and r[at] == "5")
    lv.ask("Q19", "GET <first resultRefs URL>", body, f"{fives} type-5 rows of {len(rows) - 1}")
    lv.read("Q19", lv.reading("Q19") + (
        "; type-5 rows returned" if fives else "; no type-5 row in the rows read"))


def check_extras(lv: Live) -> None:
    """Cheap extra questions, only while the budget lasts."""
    version = lv.v3_version
    reply = _v3_query(lv, "campaign", version)
    result = reply.body.get("result") if isinstance(reply.body, dict) else None
    campaign = result.get("campaign") if isinstance(result, dict) else None
    campaign = campaign[0] if isinstance(campaign, list) and campaign else campaign
    keys = sorted(campaign) if isinstance(campaign, dict) else []
    lv.ask("Q13", f"GET /api/campaign/version/{version}/do/query?limit=1", reply,
           f"keys {','.join(keys)}" if keys else None)
    lv.read("Q13", ("timestamps present" if "updated_at" in keys else "no timestamps")
            if keys else "not settled: no campaign returned")
    reply = lv.v5("objects/list-emails", fields="id,isOperational", limit=1)
    lv.ask("Q22", "GET /api/v5/objects/list-emails?fields=id,isOperational", reply)
    lv.read("Q22", "isOperational accepted" if reply.ok else
            f"isOperational refused (code {reply.error()[0]})")
    probe_export(lv, "Q18", "POST /api/v5/exports (VisitorActivity fields id,prospect.email)",
                 {"fields": ["id", "prospect.email"], "procedure": {
                     "name": "VisitorActivity/FilterByUpdatedAt", "arguments": empty_window(lv)}},
                 180, "dot fields accepted", "refused (180 invalid fields)")


def cleanup(lv: Live) -> None:
    """Cancel every export this run created that is not known to be finished."""
    for export in lv.open_exports():
        reply = lv.cancel(export)
        lv.ask("CLEANUP", f"POST /api/v5/exports/{export.id}/do/cancel ({export.label})", reply,
               f"status {export.status}" if reply.ok else None)
    created = ", ".join(f"{e.id} {e.status or 'unknown'}" for e in lv.exports)
    lv.read("CLEANUP", f"exports created: {created or 'none'}")


CHECKS: list[tuple[tuple[str, ...], t.Callable[[Live], None]]] = [
    (("DATE", "USAGE", "ACCOUNT"), check_account),
    (("Q9", "Q21"), check_prospects),
    (("Q10",), check_custom_fields),
    (("Q5", "Q6"), check_main_export),
    (("Q1", "Q8"), check_q1_create),
    (("Q1",), check_q1_read),
    (("Q2",), check_q2),
    (("Q3",), check_q3),
    (("Q4",), check_q4),
    (("Q9",), check_q9_procedures),
    (("Q19",), check_q19),
    (("Q16",), check_q16),
    (("Q17",), check_q17),
    (("Q12",), check_q12),
    (("Q20",), check_q20),
    (("Q10",), check_q10),
    (("Q26",), check_q26),
    (("Q6", "Q7", "Q8"), check_exports),
    (("Q26",), check_q26),  # again, for what the calls held for the exports kept it from
    (("Q19",), check_q19_rows),
    (("Q13", "Q22", "Q18"), check_extras),
]


# ---- running and printing ---------------------------------------------------------------------
def env_config() -> tuple[dict, str | None]:
    """The tap's settings from TAP_PARDOT_* variables; the missing-credentials line, if any."""
    def env(name: str) -> str | None:
        return os.environ.get(ENV + name.upper()) or None

    config: dict[str, t.Any] = {k: env(k) for k in (
        "client_id", "client_secret", "refresh_token", "username", "private_key",
        "private_key_passphrase", "pardot_business_unit_id", "api_base_url", "auth_base_url",
        "jwt_audience", "auth_flow")}
    config = {k: v for k, v in config.items() if v}
    if "\n" not in config.get("private_key", "\n"):
        config["private_key"] = config["private_key"].replace("\\n", "\n")
    config["is_sandbox"] = (env("is_sandbox") or "true").lower() not in ("0", "false", "no")
    jwt = all(config.get(k) for k in ("client_id", "username", "private_key"))
    need = ["client_id", "username", "private_key"] if jwt else [
        "client_id", "client_secret"] + ([] if config.get("auth_flow") == "client_credentials"
                                         else ["refresh_token"])
    missing = [ENV + k.upper() for k in [*need, "pardot_business_unit_id"] if not config.get(k)]
    if not missing:
        return config, None
    return config, (
        "live_check: set TAP_PARDOT_CLIENT_ID, TAP_PARDOT_CLIENT_SECRET, TAP_PARDOT_REFRESH_TOKEN "
        "(or TAP_PARDOT_USERNAME + TAP_PARDOT_PRIVATE_KEY for JWT) and "
        f"TAP_PARDOT_PARDOT_BUSINESS_UNIT_ID; missing: {', '.join(missing)}")


def run(lv: Live, progress: bool = False) -> str | None:
    """Every check in order, then the cleanup. Returns why it stopped early, if it did.

    A spent budget or a reply of an unexpected shape ends one check, not the run; no token
    or Ctrl-C ends the run (the cleanup still cancels the exports).
    """
    stopped = None
    try:
        for questions, check in CHECKS:
            if progress:
                print(f"  asking {', '.join(questions)}", file=sys.stderr, flush=True)
            try:
                check(lv)
            except AuthError:
                raise
            except OutOfCalls:
                why = "not asked: call budget spent"
            except Exception as exc:  # one scrubbed line, never a traceback
                why = f"check failed: {type(exc).__name__}: {exc}"
            else:
                continue
            for q in questions:
                lv.read(q, lv.reading(q) or why)
    except AuthError as exc:
        stopped = f"no token: {exc}"
    except KeyboardInterrupt:
        stopped = "interrupted"
    finally:
        try:
            cleanup(lv)
        except Exception as exc:
            stopped = f"{stopped or 'cleanup'}: could not cancel every export ({exc})"
    for q, why in NOT_ASKABLE.items():
        lv.read(q, f"not asked: {why}")
    for q in QUESTIONS:
        lv.read(q, lv.reading(q) or "not asked")
    return stopped


def render(lv: Live, stopped: str | None, sandbox: bool) -> tuple[list[str], str]:
    order = [*QUESTIONS, "CLEANUP"]
    lines = []
    for q in order:
        answer = lv.answers.get(q)
        if answer is None:
            continue
        asks = " ; ".join(f"{a.asked} -> HTTP {a.status}: {a.observed}" for a in answer.asks)
        title = QUESTIONS.get(q, "exports this run created; unfinished ones canceled")
        lines.append(f"{q:<7} {title} | {asks or '-'} => {answer.reading}")
    host = urlparse(lv.api).hostname
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    block = [f"tap-pardot live-check, {when}, api host {host}, sandbox={sandbox}, "
             f"{lv.used} API calls"]
    block += [f"{q}: {lv.answers[q].reading}" for q in order if q in lv.answers]
    if stopped:
        block.append(f"stopped early: {stopped}")
    return [lv.scrub(line) for line in lines], lv.scrub("\n".join(block))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--max-wait", type=float, default=300,
                        help="seconds to wait for the exports in all (default 300)")
    parser.add_argument("--allow-production", action="store_true",
                        help="run although TAP_PARDOT_IS_SANDBOX is false")
    parser.add_argument("--poll-seconds", type=float, default=30,
                        help="first export poll after this many seconds, then doubling")
    args = parser.parse_args(argv)
    config, missing = env_config()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    try:
        flow = check_config(config)
    except ConfigError as exc:
        print(f"live_check: {exc} (set the matching TAP_PARDOT_* variable)", file=sys.stderr)
        return 2
    host = urlparse(Settings.parse(config).api_base_url).hostname or ""
    if not config["is_sandbox"] and not config.get("api_base_url") and not args.allow_production:
        print("live_check: TAP_PARDOT_IS_SANDBOX is false: this check is meant for a sandbox "
              "(pass --allow-production to run it anyway)", file=sys.stderr)
        return 2
    if os.environ.get("CI") and host not in ("127.0.0.1", "localhost", "::1"):
        print("live_check: refusing to call a real Pardot host under CI", file=sys.stderr)
        return 2
    lv = Live(config, flow, max_wait=args.max_wait, poll_seconds=args.poll_seconds)
    if not args.json:
        print(f"live-check against {host}: under {CALL_LIMIT} API calls, up to "
              f"{int(args.max_wait)} s of export waiting", flush=True)
    stopped = run(lv, progress=not args.json)
    if stopped and not any(answer.asks for answer in lv.answers.values()):
        print(lv.scrub(f"live_check: {stopped}"), file=sys.stderr)  # nothing was asked
        return 1
    lines, block = render(lv, stopped, bool(config["is_sandbox"]))
    if args.json:
        doc = {"calls_used": lv.used, "call_limit": CALL_LIMIT, "stopped": stopped,
               "answers": [asdict(lv.answers[q]) for q in [*QUESTIONS, "CLEANUP"]
                           if q in lv.answers], "issue_block": block}
        print(lv.scrub(json.dumps(doc, indent=1)))
    else:
        print("\n".join(lines))
        print(f"\nAPI calls used: {lv.used} (the {CALL_LIMIT}th would have been refused)")
        print("\n---- paste into an issue ----\n" + block + "\n---- end ----")
    if stopped:
        print(lv.scrub(f"live_check: stopped early: {stopped}"), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # outside the checks: the type only, never a traceback
        print(f"live_check: failed ({type(exc).__name__})", file=sys.stderr)
        sys.exit(1)
