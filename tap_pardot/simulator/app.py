"""The Simulator: wires the store, clock, knobs and APIs to one HTTP port on 127.0.0.1."""

from __future__ import annotations

import itertools
import random
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from . import admin, legacy_extras
from .auth import Credentials
from .clock import Clock
from .data import Store
from .exports import Exports
from .http import ApiError, Handler, OAuthError, Request, Response, Router, Server, json_response
from .knobs import Knobs
from .legacy import Legacy, xml_error
from .schema import BY_V5_PATH, STREAMS, StreamSpec
from .stats import Stats
from .timefmt import TimeFormatter, parse_iso
from .timeouts import GatewayTimeout
from .v5 import V5

MSG_66 = "You have exceeded your concurrent request limit.  Please wait, before trying again"


class Simulator:
    """A local Pardot API. `Simulator(knobs, seed).start()` returns its base URL."""

    def __init__(self, knobs: dict[str, Any] | None = None, seed: int = 1,
                 port: int = 0) -> None:
        self.knobs = Knobs(knobs)
        self.seed = seed
        self.port = port
        self.clock = Clock(parse_iso(self.knobs["clock_start"]), self.knobs["clock_rate"])
        self.store = Store(seed, self.knobs.snapshot(), self.clock.now())
        self.stats = Stats()
        self.creds = Credentials(self)
        self.v5 = V5(self)
        self.legacy = Legacy(self)
        self.exports = Exports(self)
        self.rng = random.Random(f"{seed}:faults")
        self.url = ""
        self._tf = TimeFormatter(self.knobs["timezone"])
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.router = Router()
        self._api_calls = itertools.count(1)  # API calls served (for fault_5xx_after_calls)
        self._routes()

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self, port: int | None = None) -> str:
        handler = type("SimHandler", (Handler,), {"sim": self})
        self._server = Server(("127.0.0.1", self.port if port is None else port), handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True,
                                        name=f"pardot-sim-{self.port}")
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Simulator:
        if not self._server:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def credentials(self) -> dict[str, str]:
        k = self.knobs
        return {
            "client_id": k["client_id"],
            "client_secret": k["client_secret"],
            "refresh_token": k["refresh_token"],
            "pardot_business_unit_id": k["business_unit_id"],
            "username": k["username"],
            "email": k["email"],
            "password": k["password"],
            "user_key": k["user_key"],
        }

    @property
    def tf(self) -> TimeFormatter:
        tz = self.knobs["timezone"]
        if self._tf.tz_name != tz:
            self._tf = TimeFormatter(tz)
        return self._tf

    # ---- Python conveniences (same as the /_sim/ admin endpoints) --------------------------------
    def get_stats(self) -> dict[str, Any]:
        return self.stats.snapshot()

    def reset_stats(self) -> None:
        self.stats.reset()

    def truth(self, stream: str) -> list[dict[str, Any]]:
        return admin.truth_records(self, stream)

    def mutate(self, stream: str, body: dict[str, Any]) -> dict[str, list[Any]]:
        return self.store.mutate(stream, body, self.clock.now())

    def set_knobs(self, changes: dict[str, Any]) -> dict[str, Any]:
        return admin.apply_knobs(self, changes)

    def set_now(self, iso: str) -> None:
        self.clock.set(parse_iso(iso))

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def expire_exports(self, export_id: int | None = None) -> list[int]:
        return self.exports.expire(export_id)

    # ---- routing --------------------------------------------------------------------------------
    def _routes(self) -> None:
        r = self.router.add
        ex, lg, _v5 = self.exports, self.legacy, self.v5
        r("POST", r"/services/oauth2/token", self.creds.token, "oauth", "token")
        r("POST,GET", r"/api/login/version/(?P<v>[34])",
          lambda q: self.creds.login(q, int(q.params["v"])), "login", "login")
        r("POST", r"/api/v5/exports", lambda q: ex.create(q, 5), "export5", "export_create")
        r("GET", r"/api/v5/exports", lambda q: ex.query(q, 5), "export5", "export_query")
        r("GET", r"/api/v5/exports/(?P<id>\d+)", lambda q: ex.read(q, 5), "export5",
          "export_read")
        r("POST", r"/api/v5/exports/(?P<id>\d+)/do/cancel", lambda q: ex.cancel(q, 5),
          "export5", "export_cancel")
        r("GET", r"/api/v5/exports/(?P<id>\d+)/results/(?P<file>\d+)",
          lambda q: ex.download(q), "export5", "export_download")
        base3 = r"/api/export/version/(?P<v>[34])/do"
        r("POST", base3 + r"/create", lambda q: ex.create(q, int(q.params["v"])), "export3",
          "export_create")
        r("GET,POST", base3 + r"/read/id/(?P<id>\d+)", lambda q: ex.read(q, int(q.params["v"])),
          "export3", "export_read")
        r("GET,POST", base3 + r"/query", lambda q: ex.query(q, int(q.params["v"])), "export3",
          "export_query")
        r("POST,GET", base3 + r"/cancel/id/(?P<id>\d+)",
          lambda q: ex.cancel(q, int(q.params["v"])), "export3", "export_cancel")
        r("GET", base3 + r"/downloadResults/id/(?P<id>\d+)/file/(?P<file>\d+)",
          lambda q: ex.download(q), "export3", "export_download")
        legacy_extras.register(self, r)
        r("GET", r"/api/v5/imports", lambda q: self.v5.query(q, STREAMS["imports"]), "v5",
          "query")
        r("GET", r"/api/v5/external-activities", self._v5_external_activities, "v5", "query")
        r("GET", r"/api/v5/external-activities/(?P<id>\w+)", self._v5_external_activity, "v5",
          "read")
        r("GET", r"/api/v5/objects/(?P<path>[a-z-]+)", self._v5_query, "v5", "query")
        r("GET", r"/api/v5/objects/(?P<path>[a-z-]+)/(?P<id>\w+)", self._v5_read, "v5", "read")
        r("GET,POST", r"/api/(?P<obj>\w+)/version/(?P<v>[34])/do/query", lg.query, "v3", "query")
        admin.register(self, r)

    def _v5_query(self, req: Request) -> Response:
        if req.params["path"] == "account":
            return self._v5_account(req)
        return self.v5.query(req, self._v5_object(req.params["path"]))

    def _v5_object(self, path: str) -> StreamSpec:
        """The object at `/api/v5/objects/<path>`. Where sources name two paths, one answers
        per reading and the other 404s (open question 17): engagement programs at
        `engagement-studio-programs` (the docs, AB) or `engagement-programs` (SRV 2023 perf
        configs), knob `v5_engagement_programs_path`; external activities, see below."""
        internal = self.knobs["v5_engagement_programs_path"] == "internal"
        if path in ("engagement-programs", "engagement-studio-programs"):
            if (path == "engagement-programs") != internal:
                raise ApiError(404, "Object not found", status=404)
            path = "engagement-studio-programs"
        spec = BY_V5_PATH.get(path)
        if spec is None:
            raise ApiError(404, "Object not found", status=404)
        if spec.name == "external_activities":
            self._external_activities_at(top=False)
        return spec

    def _external_activities_at(self, top: bool) -> None:
        """External activities are queried at one path per reading (knob
        `v5_external_activities_path`): today's docs (3P) `/api/v5/external-activities`, or
        Pardot's 2023 framework (SRV) `/api/v5/objects/external-activities`; the other 404s."""
        if (self.knobs["v5_external_activities_path"] == "top") != top:
            raise ApiError(404, "Not Found", status=404)

    def _v5_external_activities(self, req: Request) -> Response:
        self._external_activities_at(top=True)
        return self.v5.query(req, STREAMS["external_activities"])

    def _v5_external_activity(self, req: Request) -> Response:
        self._external_activities_at(top=True)
        return self.v5.read(req, STREAMS["external_activities"], req.params["id"])

    def _v5_account(self, req: Request) -> Response:
        """The v5 `account` singleton (SRV): one record, `fields` required; its daily limit and
        today's calls (this one too) are live."""
        table = self.store.tables["account"]
        limit = int(self.knobs["daily_call_limit"])
        used = self.stats.daily_used(self.tf.local(self.clock.now())[:10])
        spec = table.spec
        with self.store.lock:
            row = table.row(0)
        row[spec.index["maximum_daily_api_calls"]] = limit or 100000
        row[spec.index["api_calls_used"]] = used
        fields = self.v5.fields(spec, req.query.get("fields"), False)
        return json_response(self.v5.value(spec, row, fields))

    def _v5_read(self, req: Request) -> Response:
        if req.params["path"] == "account":  # a singleton: read without an id (SRV)
            raise ApiError(404, "Object not found", status=404)
        return self.v5.read(req, self._v5_object(req.params["path"]), req.params["id"])

    # ---- request pipeline ---------------------------------------------------------------------
    def serve(self, handler: Handler, req: Request) -> None:
        route, params, other = self.router.match(req.method, req.path)
        if route is None:
            status = 405 if other else 404
            handler.send(json_response({"code": status, "message": "Not Found" if status == 404
                                        else "Method Not Allowed"}, status))
            return
        req.params = params
        if route.family == "admin":
            handler.send(admin.safe(route.handler, req))
            return
        self.stats.count(route.kind)
        counted = route.family not in ("oauth", "login")
        level = self.stats.enter() if counted else 0
        left = not counted

        def leave() -> None:
            nonlocal left
            if not left:
                left = True
                self.stats.leave()

        try:
            handler.send(self._gated(route.family, route.kind, route.handler, req, level), leave)
        finally:
            leave()

    def _gated(self, family: str, kind: str, fn: Callable[[Request], Response], req: Request,
               level: int) -> Response:
        k = self.knobs
        try:
            if k["latency_ms"]:
                time.sleep(k["latency_ms"] / 1000.0)
            if level and k["max_concurrent_requests"] and level > k["max_concurrent_requests"]:
                raise ApiError(66, MSG_66)
            served = next(self._api_calls) if family not in ("oauth", "login") else 0
            if family not in ("oauth", "login") and (
                    self.knobs.take("fault_5xx_count")
                    or 0 < k["fault_5xx_after_calls"] < served
                    or (k["fault_5xx_rate"] and self.rng.random() < k["fault_5xx_rate"])):
                status = self.rng.choice(k["fault_5xx_statuses"])
                self.stats.error(status)
                return Response(status, b"<html><body>Service Unavailable</body></html>",
                                "text/html")
            if (family not in ("oauth", "login") and kind != "export_download"
                    and self.knobs.take("fault_malformed_count")):
                self.stats.error("malformed")
                return Response(200, b'{"values": [{"id": 1, "email": "cut-off', "application/json")
            if family == "oauth":
                return fn(req)
            if family != "login":
                self.creds.check(req, family)
                day = self.tf.local(self.clock.now())[:10]
                limit = int(k["daily_call_limit"])
                counts = kind != "export_download" or k["downloads_count_toward_limit"]
                if counts and not self.stats.spend(day, limit):
                    raise ApiError(122, "Daily API rate limit met")
                if k["return_api_usage"] and req.headers.get("X-Return-Api-Usage") == "1":
                    resp = fn(req)
                    used = self.stats.daily_used(day)
                    resp.headers["x-api-usage"] = f"{used}/{limit or 100000}"
                    return resp
            return fn(req)
        except ApiError as e:
            self.stats.error(e.code)
            return self.render_error(family, req, e)
        except GatewayTimeout:
            self.stats.error(504)
            return Response(504, b"<html><body><h1>504 Gateway Time-out</h1></body></html>",
                            "text/html")
        except OAuthError as e:
            self.stats.error(e.error)
            return json_response({"error": e.error, "error_description": e.description},
                                 e.status)
        except Exception:  # a simulator bug: answer like Pardot's internal error
            traceback.print_exc(file=sys.stderr)
            self.stats.error(183)
            return self.render_error(family, req, ApiError(
                183, "An internal error occurred, please try your request again", status=500))

    def render_error(self, family: str, req: Request, e: ApiError) -> Response:
        k = self.knobs
        if family in ("v5", "export5"):
            table = k["v5_error_status"]
            status = e.status or table.get(str(e.code), table["default"])
            return json_response({"code": e.code, "message": e.message}, status, e.headers)
        table = k["v3_error_status"]
        status = e.status or table.get(str(e.code), table["default"])
        fmt = req.arg("format") or ("json" if family == "export3" else "xml")
        if fmt == "json":
            resp = json_response({"@attributes": {"stat": "fail", "version": 1,
                                                  "err_code": e.code}, "err": e.message},
                                 status, e.headers)
            resp.content_type = k["v3_error_content_type"]
            return resp
        return Response(status, xml_error(e.code, e.message), "application/xml; charset=utf-8",
                        e.headers)

