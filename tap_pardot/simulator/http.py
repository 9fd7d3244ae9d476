"""HTTP plumbing: request/response objects, errors, the router and the threaded server."""

from __future__ import annotations

import base64
import email.utils
import json
import re
import socket
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


class ApiError(Exception):
    """A Pardot error: code + message, rendered in the calling API's envelope."""

    def __init__(self, code: int, message: str, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.headers = headers or {}


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


class DropConnection(Exception):
    """Raised by a body iterator to cut the connection part-way (fault injection)."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Any
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    _form: dict[str, str] | None = None

    @property
    def form(self) -> dict[str, str]:
        if self._form is None:
            ctype = (self.headers.get("Content-Type") or "").lower()
            if self.body and "json" not in ctype:
                self._form = dict(parse_qsl(self.body.decode("utf-8", "replace"),
                                            keep_blank_values=True))
            else:
                self._form = {}
        return self._form

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A parameter from the query string or a form body."""
        if name in self.form:
            return self.form[name]
        return self.query.get(name, default)

    def args(self) -> dict[str, str]:
        merged = dict(self.query)
        merged.update(self.form)
        return merged

    def basic_auth(self) -> tuple[str, str] | None:
        auth = self.headers.get("Authorization") or ""
        if not auth.lower().startswith("basic "):
            return None
        try:
            user, _, pw = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except ValueError:
            return None
        return user, pw


@dataclass
class Response:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, body, "application/json; charset=utf-8", dict(headers or {}))


@dataclass
class Route:
    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    handler: Callable[[Request], Response]
    family: str  # oauth | login | v5 | v3 | export3 | export5 | admin
    kind: str  # stats bucket


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, methods: str, pattern: str, handler: Callable[[Request], Response],
            family: str, kind: str) -> None:
        self.routes.append(Route(tuple(methods.split(",")), re.compile(pattern + r"/?$"),
                                 handler, family, kind))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, path params, path matched with another method)."""
        other = False
        for r in self.routes:
            m = r.pattern.match(path)
            if m:
                if method in r.methods:
                    return r, m.groupdict(), False
                other = True
        return None, {}, other


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PardotSimulator/1.0"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall per small reply
    sim: Any = None  # set on the subclass made per simulator

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header (RFC 7231) of every reply: the simulator's clock, not the
        machine's, so a client can read Pardot's "now" from it."""
        return email.utils.formatdate(self.sim.clock.now_f(), usegmt=True)

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(self.command, parts.path,
                      dict(parse_qsl(parts.query, keep_blank_values=True)), self.headers, body)
        self.sim.serve(self, req)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def send(self, resp: Response, done: Callable[[], None] | None = None) -> None:
        """Write resp; `done` runs just before the last bytes go out, so a client that
        waits for this response cannot have its next request overlap with this one."""
        done = done or (lambda: None)
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        if isinstance(resp.body, (bytes, bytearray)):
            self.send_header("Content-Length", str(len(resp.body)))
            done()
            self.end_headers()
            self.wfile.write(resp.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in resp.body:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            done()
            self.wfile.write(b"0\r\n\r\n")
        except DropConnection:
            done()
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except BaseException:
            done()
            raise


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-response are normal here; other errors are printed."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)
