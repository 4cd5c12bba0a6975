"""Bearer tokens: what is accepted and what is refused with 401 or 403."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jose import jwt

from app.core import security
from app.core.config import DEVELOPMENT_JWT_SECRET, Settings, get_settings
from tests.conftest import TokenFactory


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "officer-7",
        "roles": ["officer"],
        "office": "KANWIL-ACEH",
        "aud": "infodesk",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _hs(claims: dict[str, Any], secret: str | None = None) -> str:
    return str(jwt.encode(claims, secret or get_settings().jwt_secret, algorithm="HS256"))


def _get(client: TestClient, token: str) -> httpx.Response:
    return client.get("/v1/offices", headers={"Authorization": f"Bearer {token}"})


def _assert_401(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "unauthorized"


@pytest.fixture(scope="module")
def rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_valid_token_is_accepted(client: TestClient) -> None:
    assert _get(client, _hs(_claims())).status_code == 200


@pytest.mark.parametrize(
    "claims",
    [
        _claims(exp=int(time.time()) - 10),
        _claims(aud="another-service"),
        _claims(aud=None),
        _claims(nbf=int(time.time()) + 3600),
        _claims(exp=None),
        _claims(roles=[]),
        _claims(roles=["superuser"]),
        _claims(sub=None),
        _claims(roles=["integration"], channels=["webchat", "fax"]),
        _claims(roles=["integration"], channels=[]),
        _claims(roles=["integration"], channels="webchat"),
    ],
    ids=[
        "expired",
        "other-audience",
        "no-audience",
        "not-yet-valid",
        "no-exp",
        "no-roles",
        "unknown-role",
        "no-sub",
        "unknown-channel",
        "no-channels",
        "channels-not-a-list",
    ],
)
def test_bad_claims_are_refused(client: TestClient, claims: dict[str, Any]) -> None:
    _assert_401(_get(client, _hs(claims)))


def test_other_key_none_alg_and_garbage_are_refused(client: TestClient) -> None:
    _assert_401(_get(client, _hs(_claims(), secret="another-secret-" + "y" * 40)))
    unsigned = _b64(b'{"alg":"none","typ":"JWT"}') + "." + _b64(json.dumps(_claims()).encode())
    _assert_401(_get(client, unsigned + "."))
    _assert_401(_get(client, "not-a-jwt"))
    missing = client.get("/v1/offices")
    _assert_401(missing)
    basic = client.get("/v1/offices", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    _assert_401(basic)


def test_role_without_right_gets_403(client: TestClient, auth: TokenFactory) -> None:
    response = client.post(
        "/v1/offices", json={"code": "KPPBC-Y", "name": "Y"}, headers=auth("officer", "head")
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.fixture
def rs256(rsa_pair: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    _, public = rsa_pair
    monkeypatch.setenv("INFODESK_JWT_PUBLIC_KEY", public)
    monkeypatch.setenv("INFODESK_JWT_ISSUER", "https://sso.example.go.id")
    get_settings.cache_clear()
    yield public
    get_settings.cache_clear()


def test_rs256_public_key_and_issuer(
    client: TestClient, rsa_pair: tuple[str, str], rs256: str
) -> None:
    private, public = rsa_pair
    good = jwt.encode(_claims(iss="https://sso.example.go.id"), private, algorithm="RS256")
    assert _get(client, good).status_code == 200
    _assert_401(
        _get(client, jwt.encode(_claims(iss="https://evil.example"), private, algorithm="RS256"))
    )
    _assert_401(_get(client, jwt.encode(_claims(), private, algorithm="RS256")))
    # HS/RS confusion: an HS256 token whose HMAC key is the public key must not pass.
    _assert_401(_get(client, _hmac_signed(_claims(iss="https://sso.example.go.id"), public)))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hmac_signed(claims: dict[str, Any], key: str) -> str:
    signing_input = _b64(b'{"alg":"HS256","typ":"JWT"}') + "." + _b64(json.dumps(claims).encode())
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def test_jwks_keys_are_fetched_and_cached(
    client: TestClient, rsa_pair: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, public = rsa_pair
    from jose import jwk

    public_jwk = jwk.construct(public, algorithm="RS256").to_dict()
    public_jwk.update({"kid": "k1", "use": "sig"})
    public_jwk = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in public_jwk.items()}
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        return httpx.Response(200, json={"keys": [public_jwk]})

    monkeypatch.setenv("INFODESK_JWT_JWKS_URL", "https://sso.example.go.id/jwks")
    get_settings.cache_clear()
    monkeypatch.setattr(
        security, "jwks_cache", security.JwksCache(transport=httpx.MockTransport(handler))
    )
    try:
        token = jwt.encode(_claims(), private, algorithm="RS256", headers={"kid": "k1"})
        assert _get(client, token).status_code == 200
        assert _get(client, token).status_code == 200
        assert len(calls) == 1
        _assert_401(
            _get(
                client,
                jwt.encode(_claims(), private, algorithm="RS256", headers={"kid": "unknown"}),
            )
        )
    finally:
        get_settings.cache_clear()


def test_development_secret_refused_in_production() -> None:
    with pytest.raises(ValueError, match="development JWT secret"):
        Settings(env="production", jwt_secret=DEVELOPMENT_JWT_SECRET)
    with pytest.raises(ValueError, match="no JWT verification key"):
        Settings(env="production", jwt_secret=None)
    assert Settings(env="development", jwt_secret=None).jwt_secret == DEVELOPMENT_JWT_SECRET
    # With the identity provider's key configured, the public development secret is off.
    with_idp = Settings(env="development", jwt_secret=None, jwt_jwks_url="https://sso.example/jwks")
    assert with_idp.jwt_secret is None
