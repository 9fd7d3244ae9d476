"""Auth flows, flow inference and one-line config errors (hermetic: a fake token host)."""

from __future__ import annotations

import json
import typing as t
import urllib.parse

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tap_pardot.auth import (
    AuthError,
    LegacyAuthenticator,
    build_authenticator,
    token_error_message,
)
from tap_pardot.limits import BudgetExhausted, RequestGate
from tap_pardot.settings import ConfigError, Settings, check_config, infer_auth_flow

OAUTH = {"client_id": "cid", "client_secret": "S3CRET", "refresh_token": "rt",
         "pardot_business_unit_id": "0Uv000000000001AAA", "start_date": "2025-01-01T00:00:00Z"}


def fake_response(status: int, body: t.Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if not isinstance(body, bytes) else body
    response.headers["Content-Type"] = "application/json"
    return response


class FakePost:
    def __init__(self, *replies: requests.Response) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, url: str, form: dict[str, str]) -> requests.Response:
        self.calls.append((url, form))
        return self.replies.pop(0)


def build(config: dict, flow: str, post: t.Any, api: str = "https://pi.pardot.com",
          auth: str = "https://login.salesforce.com") -> t.Any:
    """The authenticator for `flow`, on these hosts (no call is made here)."""
    settings = Settings.parse({**config, "api_base_url": api, "auth_base_url": auth})
    return build_authenticator(config, flow, settings, post=post)


def prepared(url: str = "https://pi.pardot.com/api/v5/objects/prospects") -> t.Any:
    return requests.Request("GET", url).prepare()


@pytest.mark.parametrize(
    ("config", "flow"),
    [
        (OAUTH, "refresh_token"),
        ({**OAUTH, "username": "u", "private_key": "k"}, "jwt_bearer"),
        ({"email": "e", "password": "p", "user_key": "k"}, "legacy"),
        ({"client_id": "c", "client_secret": "s", "auth_base_url": "https://x.my.salesforce.com"},
         "client_credentials"),
        ({**OAUTH, "auth_flow": "client_credentials"}, "client_credentials"),
    ],
)
def test_flow_inferred_from_keys(config: dict, flow: str) -> None:
    assert infer_auth_flow(config) == flow


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"start_date": "2025-01-01T00:00:00Z"}, "No credentials"),
        ({"client_id": "c", "client_secret": "s"}, "`refresh_token`"),
        ({**OAUTH, "auth_flow": "client_credentials"}, "`auth_base_url`"),
        ({**OAUTH, "pardot_business_unit_id": None}, "`pardot_business_unit_id`"),
        ({**OAUTH, "auth_flow": "jwt_bearer"}, "`username`"),
        ({"email": "e", "password": "p", "user_key": "k"}, "api_version"),
        ({**OAUTH, "timezone": "Mars/Olympus"}, "`timezone`"),
        ({**OAUTH, "stream_sync_modes": {"prospects": "fast"}}, "stream_sync_modes.prospects"),
    ],
)
def test_config_errors_are_one_line_naming_the_setting(config: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_config(config)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_refresh_token_flow_posts_a_form_and_sets_headers() -> None:
    post = FakePost(fake_response(200, {"access_token": "AT1", "instance_url": "x"}))
    auth = build(OAUTH, "refresh_token", post)
    request = auth(prepared())
    url, form = post.calls[0]
    assert url == "https://login.salesforce.com/services/oauth2/token"
    assert form == {"grant_type": "refresh_token", "client_id": "cid",
                    "client_secret": "S3CRET", "refresh_token": "rt"}
    assert "rt" not in url
    assert request.headers["Authorization"] == "Bearer AT1"
    assert request.headers["Pardot-Business-Unit-Id"] == "0Uv000000000001AAA"
    assert auth.expires_in  # Salesforce sends no expires_in: a default applies


def test_invalidate_forces_one_refresh() -> None:
    post = FakePost(fake_response(200, {"access_token": "AT1"}),
                    fake_response(200, {"access_token": "AT2"}))
    auth = build(OAUTH, "refresh_token", post)
    auth(prepared())
    auth.invalidate("some-other-token")  # another thread already refreshed: no-op
    assert auth(prepared()).headers["Authorization"] == "Bearer AT1"
    auth.invalidate("AT1")
    assert auth(prepared()).headers["Authorization"] == "Bearer AT2"
    assert len(post.calls) == 2


@pytest.mark.parametrize(
    ("status", "body", "needle"),
    [
        (400, {"error": "invalid_client_id", "error_description": "client identifier invalid"},
         "`client_id` and `client_secret`"),
        (400, {"error": "invalid_client", "error_description": "invalid client credentials"},
         "`client_id` and `client_secret`"),
        (400, {"error": "invalid_grant", "error_description": "expired access/refresh token"},
         "`refresh_token`"),
        (404, b"<html>not found</html>", "`auth_base_url`"),
    ],
)
def test_token_errors_name_the_setting(status: int, body: t.Any, needle: str) -> None:
    post = FakePost(fake_response(status, body))
    auth = build(OAUTH, "refresh_token", post)
    with pytest.raises(AuthError) as info:
        auth(prepared())
    assert needle in str(info.value)
    assert "S3CRET" not in str(info.value)


def test_token_error_message_for_jwt() -> None:
    reply = fake_response(400, {"error": "invalid_grant", "error_description": "user hasn't "
                                "approved this consumer"})
    assert "`private_key`" in token_error_message("jwt_bearer", reply, "x")


def test_jwt_bearer_assertion() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    config = {**OAUTH, "username": "me@example.com", "private_key": pem}
    post = FakePost(fake_response(200, {"access_token": "JWT-AT"}))
    auth = build(config, "jwt_bearer", post, auth="https://acme.my.salesforce.com")
    assert auth(prepared()).headers["Authorization"] == "Bearer JWT-AT"
    url, form = post.calls[0]
    assert url == "https://acme.my.salesforce.com/services/oauth2/token"  # My Domain
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(form["assertion"], key.public_key(), algorithms=["RS256"],
                        audience="https://login.salesforce.com")  # never the My Domain URL
    assert claims["iss"] == "cid"
    assert claims["sub"] == "me@example.com"


@pytest.mark.parametrize(("extra", "audience"), [
    ({"is_sandbox": True}, "https://test.salesforce.com"),
    ({"jwt_audience": "https://acme.my.site.com"}, "https://acme.my.site.com"),
])
def test_jwt_audience_by_sandbox_or_setting(extra: dict, audience: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    config = {**OAUTH, "username": "me@example.com", "private_key": pem, **extra}
    post = FakePost(fake_response(200, {"access_token": "JWT-AT"}))
    auth = build(config, "jwt_bearer", post, auth="https://acme.my.salesforce.com")
    auth(prepared())
    claims = jwt.decode(post.calls[0][1]["assertion"], key.public_key(), algorithms=["RS256"],
                        audience=audience)
    assert claims["aud"] == audience


def test_jwt_bad_key_is_one_line() -> None:
    config = {**OAUTH, "username": "u", "private_key": "not a key"}
    auth = build(config, "jwt_bearer", FakePost(), api="a", auth="b")
    with pytest.raises(AuthError, match="`private_key`"):
        auth(prepared())


def test_legacy_login_header_and_failure() -> None:
    config = {"email": "e@x", "password": "pw", "user_key": "uk", "api_version": 4}
    post = FakePost(fake_response(200, {"api_key": "K1"}))
    auth = build(config, "legacy", post, auth="")
    assert isinstance(auth, LegacyAuthenticator)
    request = auth(prepared())
    assert request.headers["Authorization"] == "Pardot api_key=K1, user_key=uk"
    url, form = post.calls[0]
    assert url == "https://pi.pardot.com/api/login/version/4"
    assert "pw" not in urllib.parse.urlparse(url).query
    assert form["password"] == "pw"
    failing = FakePost(fake_response(400, {"@attributes": {"stat": "fail", "err_code": 15},
                                           "err": "Login failed"}))
    auth = LegacyAuthenticator(login_url="u", email="e", password="p", user_key="k",
                               post=failing)
    with pytest.raises(AuthError, match="error 15"):
        auth(prepared())


def test_gate_budget_and_stop() -> None:
    gate = RequestGate(max_concurrency=2, max_calls=2)
    releases = [gate.acquire(), gate.acquire()]
    assert gate.in_flight == 2
    for release in releases:
        release()
    assert gate.peak_in_flight == 2
    with pytest.raises(BudgetExhausted, match="max_api_calls=2"):
        gate.acquire()
    assert gate.calls == 2
