"""Auth: Salesforce token endpoint, business unit header checks, legacy api_key login."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .conftest import Api

V5_PATH = "/api/v5/objects/prospects?fields=id"


def _token(url: str, **kw: Any) -> requests.Response:
    return requests.post(f"{url}/services/oauth2/token", **kw, timeout=30)


def test_refresh_token_form_body_and_query_with_basic(api: Api) -> None:
    c = api.sim.credentials
    r = _token(api.url, data={"grant_type": "refresh_token", "refresh_token": c["refresh_token"],
                              "client_id": c["client_id"], "client_secret": c["client_secret"]})
    body = r.json()
    assert r.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == api.url
    assert "expires_in" not in body
    # singer-io style: grant in the query string, client credentials in HTTP Basic
    r = _token(api.url, params={"grant_type": "refresh_token",
                                "refresh_token": c["refresh_token"]},
               auth=(c["client_id"], c["client_secret"]))
    assert r.status_code == 200
    tok = r.json()["access_token"]
    r = requests.get(api.url + V5_PATH, timeout=30, headers={
        "Authorization": f"Bearer {tok}", "Pardot-Business-Unit-Id": c["pardot_business_unit_id"]})
    assert r.status_code == 200


@pytest.mark.parametrize(("data", "error"), [
    ({"grant_type": "refresh_token", "refresh_token": "nope"}, "invalid_grant"),
    ({"grant_type": "refresh_token", "client_id": "bad"}, "invalid_client_id"),
    ({"grant_type": "client_credentials", "client_secret": "bad"}, "invalid_client"),
    ({"grant_type": "magic"}, "unsupported_grant_type"),
])
def test_token_errors(api: Api, data: dict[str, str], error: str) -> None:
    c = api.sim.credentials
    base = {"client_id": c["client_id"], "client_secret": c["client_secret"],
            "refresh_token": c["refresh_token"]}
    r = _token(api.url, data={**base, **data})
    assert r.status_code == 400
    assert r.json()["error"] == error


def test_client_credentials_and_password_grants(api: Api) -> None:
    c = api.sim.credentials
    cc = {"grant_type": "client_credentials"}
    assert _token(api.url, data=cc, auth=(c["client_id"], c["client_secret"])).ok
    pw = {"grant_type": "password", "client_id": c["client_id"],
          "client_secret": c["client_secret"], "username": c["username"],
          "password": c["password"]}
    assert _token(api.url, data=pw).ok


def _rsa() -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return priv, pub.decode()


def test_jwt_bearer(api_factory: Callable[..., Api]) -> None:
    priv, pub = _rsa()
    other, _ = _rsa()
    api = api_factory({"jwt_public_key_pem": pub})
    c = api.sim.credentials
    claims = {"iss": c["client_id"], "sub": c["username"], "aud": api.url,
              "exp": int(time.time()) + 300}
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    ok = jwt.encode(claims, priv, algorithm="RS256")
    assert _token(api.url, data={"grant_type": grant, "assertion": ok}).ok
    forged = jwt.encode(claims, other, algorithm="RS256")
    assert _token(api.url, data={"grant_type": grant, "assertion": forged}).status_code == 400
    expired = jwt.encode({**claims, "exp": int(time.time()) - 10}, priv, algorithm="RS256")
    assert _token(api.url, data={"grant_type": grant, "assertion": expired}).status_code == 400
    api.sim.set_knobs({"jwt_public_key_pem": None})  # unverified: any well-formed assertion
    assert _token(api.url, data={"grant_type": grant, "assertion": forged}).ok


def test_token_expires_after_ttl_and_after_calls(api_factory: Callable[..., Api]) -> None:
    api = api_factory({"token_ttl_seconds": 600, "token_max_calls": 3})
    for _ in range(3):
        assert api.get(V5_PATH).status_code == 200
    r = api.get(V5_PATH)
    assert r.status_code == 401
    assert r.json()["code"] == 184
    api2 = Api(api.sim)
    assert api2.get(V5_PATH).ok
    api.sim.advance(601)
    r = api2.get(V5_PATH)
    assert (r.status_code, r.json()["code"]) == (401, 184)


def test_business_unit_header(api: Api) -> None:
    auth = {"Authorization": api.headers["Authorization"]}
    r = requests.get(api.url + V5_PATH, headers=auth, timeout=30)
    assert r.json()["code"] == 181
    r = requests.get(api.url + V5_PATH, timeout=30,
                     headers={**auth, "Pardot-Business-Unit-Id": "xyz"})
    assert r.json()["code"] == 182
    r = requests.get(api.url + V5_PATH,
                     headers={**auth, "Pardot-Business-Unit-Id": "0Uv000000000009AAA"}, timeout=30)
    assert r.status_code == 400
    assert r.json()["code"] == 201
    r = requests.get(api.url + V5_PATH, timeout=30)
    assert (r.status_code, r.json()["code"]) == (401, 49)


def _login(url: str, version: int = 4, /, **creds: str) -> requests.Response:
    return requests.post(f"{url}/api/login/version/{version}", timeout=30,
                         data={**creds, "format": "json"})


def test_legacy_login_and_api_key_header(api: Api) -> None:
    c = api.sim.credentials
    creds = {"email": c["email"], "password": c["password"], "user_key": c["user_key"]}
    r = _login(api.url, **creds)
    key = r.json()["api_key"]
    assert len(key) == 32
    assert _login(api.url, 3, **creds).json()["api_key"] == key  # same key while valid
    xml = requests.post(f"{api.url}/api/login/version/3", data=creds, timeout=30)
    assert f"<api_key>{key}</api_key>" in xml.text
    q = "/api/prospect/version/4/do/query?format=json&output=bulk&limit=1"
    for header in (f"Pardot api_key={key}, user_key={c['user_key']}",
                   f"Pardot user_key={c['user_key']},api_key={key}"):
        r = requests.get(api.url + q, headers={"Authorization": header}, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["@attributes"]["stat"] == "ok"
    # the legacy header is refused on v5
    r = requests.get(api.url + V5_PATH, headers={"Authorization": f"Pardot api_key={key}, "
                                                  f"user_key={c['user_key']}"}, timeout=30)
    assert r.json()["code"] == 126
    # expired key -> code 1; a new login gives a new key
    api.sim.advance(3601)
    r = requests.get(api.url + q, headers={"Authorization": f"Pardot api_key={key}, "
                                            f"user_key={c['user_key']}"}, timeout=30)
    assert r.status_code == 401
    assert r.json() == {"@attributes": {"stat": "fail", "version": 1, "err_code": 1},
                        "err": "Invalid API key or user key"}
    assert _login(api.url, **creds).json()["api_key"] != key


def test_legacy_login_failures(api: Api) -> None:
    c = api.sim.credentials
    r = _login(api.url, email=c["email"], password="wrong", user_key=c["user_key"])
    assert r.json()["@attributes"]["err_code"] == 15
    assert r.json()["err"] == "Login failed"
    xml = requests.post(f"{api.url}/api/login/version/3", data={"email": "x"}, timeout=30)
    assert '<err code="15">Login failed</err>' in xml.text
    api.sim.set_knobs({"legacy_api_key_retired": True})
    r = _login(api.url, email=c["email"], password=c["password"], user_key=c["user_key"])
    assert r.json()["@attributes"]["err_code"] == 199


def test_unsigned_jwt_shape_is_checked(api: Api) -> None:
    c = api.sim.credentials
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).decode().rstrip("=")
    body = base64.urlsafe_b64encode(json.dumps({"iss": c["client_id"]}).encode()).decode()
    r = _token(api.url, data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                              "assertion": f"{header}.{body.rstrip('=')}.sig"})
    assert r.json()["error"] == "invalid_grant"
