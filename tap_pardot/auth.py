"""Credentials: Salesforce OAuth (refresh token, JWT bearer, client credentials) and the
legacy Pardot api_key login. Secrets travel in form bodies, never in URLs.

Token calls are made through `post`, a callable the stream passes in, so that they go
through the run's request gate and count toward `max_api_calls` like every other call.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import typing as t

import jwt
import requests
from singer_sdk.authenticators import (
    APIAuthenticatorBase,
    OAuthAuthenticator,
    OAuthJWTAuthenticator,
)
from typing_extensions import override

from tap_pardot.settings import Settings

# Salesforce access tokens carry no `expires_in`; sessions default to 2 hours.
TOKEN_LIFETIME_SECONDS = 3600
BU_HEADER = "Pardot-Business-Unit-Id"

Post = t.Callable[[str, dict[str, str]], requests.Response]


class AuthError(Exception):
    """Credentials were refused; the message is one line naming the settings to check."""


_GRANT_HINTS = {
    "refresh_token": "check `refresh_token` (expired or revoked?) and `client_id`",
    "jwt_bearer": "check `username`, `private_key` and that the user is pre-authorized "
    "for the connected app",
    "client_credentials": "check the connected app's client-credentials run-as user; "
    "this flow needs your My Domain host as `auth_base_url`",
}


def token_error_message(flow: str, response: requests.Response, url: str) -> str:
    """One line explaining a failed Salesforce token request."""
    try:
        body = response.json()
        error = str(body.get("error", ""))
        detail = str(body.get("error_description", "")).strip()
    except ValueError:
        error, detail = "", ""
    if not error:
        return (
            f"No Salesforce token endpoint at {url} (HTTP {response.status_code}): "
            "check `auth_base_url` / `is_sandbox`"
        )
    if error.startswith("invalid_client"):
        return (
            f"Salesforce rejected the client ({error}: {detail}): "
            "check `client_id` and `client_secret`"
        )
    hint = _GRANT_HINTS.get(flow, "check the credentials")
    return f"Salesforce refused the {flow} grant ({error}: {detail}): {hint}"


class _GatedTokenMixin:
    """Token refresh through the gate, with one-line errors; `invalidate()` forces one."""

    flow: str
    _post: Post
    _lock: threading.RLock
    access_token: str | None
    last_refreshed: dt.datetime | None
    expires_in: int | None
    auth_endpoint: str

    def invalidate(self, rejected_token: str | None = None) -> None:
        """Drop the token, unless another thread already replaced the rejected one."""
        with self._lock:
            if rejected_token is None or rejected_token == self.access_token:
                self.last_refreshed = None

    def update_access_token(self) -> None:
        """Fetch a token with a form-encoded POST through the gate."""
        with self._lock:
            # attr-defined: is_token_valid and oauth_request_payload are the SDK class's
            if self.last_refreshed is not None and self.is_token_valid():  # type: ignore[attr-defined]
                return
            requested_at = dt.datetime.now(dt.timezone.utc)
            try:
                payload = self.oauth_request_payload  # type: ignore[attr-defined]
                response = self._post(self.auth_endpoint, payload)
            except requests.exceptions.ConnectionError:
                msg = f"Cannot reach the Salesforce token host {self.auth_endpoint}: " \
                    "check `auth_base_url` / `is_sandbox`"
                raise AuthError(msg) from None
            if response.status_code != 200:
                raise AuthError(token_error_message(self.flow, response, self.auth_endpoint))
            try:
                body = response.json()
                self.access_token = body["access_token"]
            except (ValueError, KeyError):
                msg = f"The token host {self.auth_endpoint} answered without an access " \
                    "token: check `auth_base_url`"
                raise AuthError(msg) from None
            expires = body.get("expires_in") or TOKEN_LIFETIME_SECONDS
            self.expires_in = int(expires)
            self.last_refreshed = requested_at


class PardotOAuthAuthenticator(_GatedTokenMixin, OAuthAuthenticator):
    """Refresh-token and client-credentials flows."""

    def __init__(
        self,
        *,
        flow: str,
        auth_endpoint: str,
        client_id: str,
        client_secret: str | None,
        business_unit_id: str,
        post: Post,
        refresh_token: str | None = None,
    ) -> None:
        super().__init__(
            auth_endpoint=auth_endpoint,
            client_id=client_id,
            client_secret=client_secret,
            default_expiration=TOKEN_LIFETIME_SECONDS,
        )
        self.flow = flow
        self._refresh_token = refresh_token
        self._post = post
        self._lock = threading.RLock()
        self.auth_headers[BU_HEADER] = business_unit_id

    @property
    @override
    def oauth_request_body(self) -> dict[str, t.Any]:
        body = {
            "grant_type": self.flow,
            "client_id": self.client_id or "",
            "client_secret": self.client_secret or "",
        }
        if self.flow == "refresh_token":
            body["refresh_token"] = self._refresh_token or ""
        return body


class PardotJWTAuthenticator(_GatedTokenMixin, OAuthJWTAuthenticator):
    """JWT bearer flow: an RS256 assertion iss=client_id, sub=username, aud=token host."""

    def __init__(
        self,
        *,
        auth_endpoint: str,
        audience: str,
        client_id: str,
        username: str,
        private_key: str,
        private_key_passphrase: str | None,
        business_unit_id: str,
        post: Post,
    ) -> None:
        super().__init__(
            auth_endpoint=auth_endpoint,
            client_id=client_id,
            private_key=private_key,
            private_key_passphrase=private_key_passphrase,
            default_expiration=TOKEN_LIFETIME_SECONDS,
        )
        self.flow = "jwt_bearer"
        self._username = username
        self._audience = audience
        self._post = post
        self._lock = threading.RLock()
        self.auth_headers[BU_HEADER] = business_unit_id

    @property
    @override
    def oauth_request_body(self) -> dict[str, t.Any]:
        now = dt.datetime.now(dt.timezone.utc)
        return {
            "iss": self.client_id,
            "sub": self._username,
            "aud": self._audience,
            "exp": math.floor((now + dt.timedelta(minutes=3)).timestamp()),
        }

    @property
    @override
    def oauth_request_payload(self) -> dict[str, t.Any]:
        try:
            return super().oauth_request_payload
        except (ValueError, TypeError, jwt.exceptions.PyJWTError) as ex:
            msg = f"Setting `private_key` is not a usable PEM RSA key ({type(ex).__name__})"
            raise AuthError(msg) from None


class LegacyAuthenticator(APIAuthenticatorBase):
    """Pardot api_key login (API v3/v4): `Authorization: Pardot api_key=…, user_key=…`."""

    def __init__(
        self, *, login_url: str, email: str, password: str, user_key: str, post: Post
    ) -> None:
        super().__init__()
        self.flow = "legacy"
        self._login_url = login_url
        self._email = email
        self._password = password
        self._user_key = user_key
        self._post = post
        self._lock = threading.RLock()
        self.api_key: str | None = None

    @property
    def access_token(self) -> str | None:
        """The current api key (named like the OAuth token for the stream's retry logic)."""
        return self.api_key

    def invalidate(self, rejected_token: str | None = None) -> None:
        """Drop the api key (error 1), unless another thread already replaced it."""
        with self._lock:
            if rejected_token is None or rejected_token == self.api_key:
                self.api_key = None

    def login(self) -> None:
        """POST email/password/user_key as a form; read the api_key from the JSON reply."""
        with self._lock:
            if self.api_key:
                return
            form = {"email": self._email, "password": self._password,
                    "user_key": self._user_key, "format": "json"}
            try:
                response = self._post(self._login_url, form)
                body = response.json()
            except requests.exceptions.ConnectionError:
                msg = f"Cannot reach the Pardot host {self._login_url}: check `api_base_url`"
                raise AuthError(msg) from None
            except ValueError:
                msg = f"No Pardot login endpoint at {self._login_url} " \
                    f"(HTTP {response.status_code}): check `api_base_url` / `is_sandbox`"
                raise AuthError(msg) from None
            if body.get("api_key"):
                self.api_key = str(body["api_key"])
                return
            attrs = body.get("@attributes") or {}
            code = attrs.get("err_code", "?")
            err = body.get("err", "login failed")
            msg = f"Pardot legacy login failed (error {code}: {err}): " \
                "check `email`, `password` and `user_key`"
            raise AuthError(msg)

    def update_access_token(self) -> None:
        """Log in if no api key is held (the OAuth authenticators' name for it)."""
        self.login()

    @override
    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if not self.api_key:
            self.login()
        request.headers["Authorization"] = (
            f"Pardot api_key={self.api_key}, user_key={self._user_key}"
        )
        return request


Authenticator = PardotOAuthAuthenticator | PardotJWTAuthenticator | LegacyAuthenticator


def token_in(request: requests.PreparedRequest | None) -> str | None:
    """The bearer token or api_key a request was sent with."""
    header = (request.headers.get("Authorization") if request is not None else None) or ""
    if header.startswith("Bearer "):
        return header[7:]
    if "api_key=" in header:
        return header.split("api_key=", 1)[1].split(",", 1)[0].strip()
    return None


def build_authenticator(
    config: t.Mapping[str, t.Any], flow: str, settings: Settings, *, post: Post
) -> Authenticator:
    """The authenticator for `flow` from the config's credentials (already checked)."""
    bu = str(config.get("pardot_business_unit_id") or "")
    token_endpoint = f"{settings.auth_base_url}/services/oauth2/token"
    if flow == "legacy":
        return LegacyAuthenticator(
            login_url=f"{settings.api_base_url}/api/login/version/{settings.api_version}",
            email=config["email"], password=config["password"],
            user_key=config["user_key"], post=post,
        )
    if flow == "jwt_bearer":
        return PardotJWTAuthenticator(
            auth_endpoint=token_endpoint, audience=settings.jwt_audience,
            client_id=config["client_id"], username=config["username"],
            private_key=config["private_key"],
            private_key_passphrase=config.get("private_key_passphrase"),
            business_unit_id=bu, post=post,
        )
    return PardotOAuthAuthenticator(
        flow=flow, auth_endpoint=token_endpoint, client_id=config["client_id"],
        client_secret=config.get("client_secret"), refresh_token=config.get("refresh_token"),
        business_unit_id=bu, post=post,
    )
