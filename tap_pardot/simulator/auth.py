"""Salesforce OAuth token endpoint, legacy Pardot login, and per-request credential checks."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from typing import Any

from .http import ApiError, OAuthError, Request, Response, json_response

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_LEGACY_RE = re.compile(r"(api_key|user_key)\s*=\s*([^,\s]+)")
_BU_RE = re.compile(r"^0Uv[0-9A-Za-z]{15}$")
ORG_ID = "00D000000000001AAA"
USER_ID = "005000000000001AAA"


class Credentials:
    """Issued access tokens and api keys, each with its issue time and call count."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.lock = threading.Lock()
        self.tokens: dict[str, list[float]] = {}  # token -> [issued (sim time), calls]
        self.api_keys: dict[str, list[float]] = {}
        self.current_api_key: str | None = None

    # ---- token endpoint ----------------------------------------------------------------------
    def token(self, req: Request) -> Response:
        k = self.sim.knobs
        p = req.args()
        basic = req.basic_auth()
        client_id = p.get("client_id") or (basic[0] if basic else None)
        client_secret = p.get("client_secret") or (basic[1] if basic else None)
        grant = p.get("grant_type")
        if not grant:
            raise OAuthError("invalid_request", "grant type not specified")
        if grant == JWT_GRANT:
            self._check_jwt(p.get("assertion") or "")
        else:
            if client_id != k["client_id"]:
                raise OAuthError("invalid_client_id", "client identifier invalid")
            if grant == "refresh_token":
                if client_secret is not None and client_secret != k["client_secret"]:
                    raise OAuthError("invalid_client", "invalid client credentials")
                if p.get("refresh_token") != k["refresh_token"]:
                    raise OAuthError("invalid_grant", "expired access/refresh token")
            elif grant == "client_credentials":
                if client_secret != k["client_secret"]:
                    raise OAuthError("invalid_client", "invalid client credentials")
            elif grant == "password":
                if client_secret != k["client_secret"]:
                    raise OAuthError("invalid_client", "invalid client credentials")
                if p.get("username") != k["username"] or p.get("password") != k["password"]:
                    raise OAuthError("invalid_grant", "authentication failure")
            else:
                raise OAuthError("unsupported_grant_type", "grant type not supported")
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        now = self.sim.clock.now_f()
        with self.lock:
            self.tokens[token] = [now, 0]
        out: dict[str, Any] = {
            "access_token": token,
            "instance_url": self.sim.url,
            "id": f"{self.sim.url}/id/{ORG_ID}/{USER_ID}",
            "token_type": "Bearer",
            "issued_at": str(int(now * 1000)),
            "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
            "scope": "pardot_api api refresh_token",
        }
        if k["token_include_expires_in"]:
            out["expires_in"] = int(k["token_ttl_seconds"])
        return json_response(out)

    def _check_jwt(self, assertion: str) -> None:
        k = self.sim.knobs
        parts = assertion.split(".")
        if len(parts) != 3:
            raise OAuthError("invalid_grant", "invalid assertion")
        try:
            header = json.loads(_b64(parts[0]))
            claims = json.loads(_b64(parts[1]))
        except ValueError as exc:
            raise OAuthError("invalid_grant", "invalid assertion") from exc
        if header.get("alg") != "RS256":
            raise OAuthError("invalid_grant", "invalid assertion")
        if claims.get("iss") != k["client_id"]:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if claims.get("sub") != k["username"]:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < time.time():
            raise OAuthError("invalid_grant", "expired authorization code")
        pem = k["jwt_public_key_pem"]
        if pem:
            import jwt

            try:
                jwt.decode(assertion, pem, algorithms=["RS256"],
                           options={"verify_aud": False, "verify_exp": False})
            except jwt.PyJWTError as exc:
                raise OAuthError("invalid_grant", "invalid assertion") from exc

    # ---- legacy login ---------------------------------------------------------------------------
    def login(self, req: Request, version: int) -> Response:
        k = self.sim.knobs
        if req.method != "POST":
            raise ApiError(126, "Invalid authentication mechanism")
        if k["legacy_api_key_retired"]:
            raise ApiError(199, "Authentication using an api_key is no longer supported. Use "
                                "Salesforce OAuth access token instead.")
        p = req.form or {}
        if not p and req.query.get("email"):
            p = req.query
        if (p.get("email") != k["email"] or p.get("password") != k["password"]
                or p.get("user_key") != k["user_key"]):
            raise ApiError(15, "Login failed")
        now = self.sim.clock.now_f()
        with self.lock:
            key = self.current_api_key
            if key is None or not self._valid(self.api_keys, key, k["api_key_ttl_seconds"],
                                              count=False):
                key = secrets.token_hex(16)
                self.api_keys[key] = [now, 0]
                self.current_api_key = key
        out: dict[str, Any] = {"api_key": key}
        if k["account_api_version"] == 4:
            out["version"] = 4
        if (req.arg("format") or "xml") == "json":
            return json_response(out)
        xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<rsp stat="ok" version="1.0">' \
              f"<api_key>{key}</api_key>" + \
              ("<version>4</version>" if "version" in out else "") + "</rsp>\n"
        return Response(200, xml.encode(), "application/xml; charset=utf-8")

    # ---- per-request checks -----------------------------------------------------------------
    def _valid(self, store: dict[str, list[float]], key: str, ttl: float,
               count: bool = True) -> bool:
        entry = store.get(key)
        if entry is None:
            return False
        max_calls = self.sim.knobs["token_max_calls"]
        if self.sim.clock.now_f() - entry[0] >= ttl:
            return False
        if max_calls and entry[1] >= max_calls:
            return False
        if count:
            entry[1] += 1
        return True

    def check(self, req: Request, family: str) -> None:
        """Raise ApiError unless the request carries valid credentials for its API family."""
        k = self.sim.knobs
        auth = (req.headers.get("Authorization") or "").strip()
        legacy_ok = family in ("v3", "export3")
        if auth.lower().startswith("bearer "):
            with self.lock:
                ok = self._valid(self.tokens, auth[7:].strip(), k["token_ttl_seconds"])
            if not ok:
                raise ApiError(184, "access_token is invalid, unknown, or malformed")
            bu = req.headers.get("Pardot-Business-Unit-Id")
            if bu is None:
                raise ApiError(181, "A required header is missing")
            bu = bu.strip()
            if not _BU_RE.match(bu):
                raise ApiError(182, "Invalid header value")
            if bu != k["business_unit_id"]:
                raise ApiError(201, "Business Unit specified in Pardot-Business-Unit-Id "
                                    "header not found or inactive")
            return
        if auth.lower().startswith("pardot "):
            if not legacy_ok:
                raise ApiError(126, "Invalid authentication mechanism")
            found = dict(_LEGACY_RE.findall(auth))
            if k["legacy_api_key_retired"]:
                raise ApiError(199, "Authentication using an api_key is no longer supported. "
                                    "Use Salesforce OAuth access token instead.")
            with self.lock:
                ok = found.get("user_key") == k["user_key"] and self._valid(
                    self.api_keys, found.get("api_key", ""), k["api_key_ttl_seconds"])
            if not ok:
                raise ApiError(1, "Invalid API key or user key")
            return
        if "api_key" in req.query or "user_key" in req.query:
            raise ApiError(49, "Access Denied")
        if legacy_ok:
            raise ApiError(1, "Invalid API key or user key")
        raise ApiError(49, "Access Denied", status=401)


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
