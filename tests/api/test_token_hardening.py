"""Tokens that must not pass, and a token cache that one token cannot grow.

Each case here was accepted once: spellings of one token in non-canonical base64, a
16 MB Authorization header, tokens without ``iat`` or with ``exp`` far in the future, a
token whose key the identity provider had withdrawn, and JWKS fetches on every unknown
``kid``. The JWKS comes from a real HTTP server on the loopback interface.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jose import jwk, jwt

from app.core import security
from app.core.config import get_settings
from tests.api.test_auth import _assert_401, _claims, _get, _hs

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.fixture(autouse=True)
def _empty_token_cache() -> Iterator[None]:
    security.verified_tokens.clear()
    yield
    security.verified_tokens.clear()


@pytest.mark.parametrize(
    "spell",
    [
        lambda sig: sig + "!!!!",
        lambda sig: sig + "====",
        lambda sig: sig[:10] + "**" + sig[10:],
        lambda sig: sig + "=",
        lambda sig: sig + "A",
        # The same bytes with another unused trailing bit (an HS256 signature leaves two).
        lambda sig: sig[:-1] + _B64[_B64.index(sig[-1]) ^ 1],
    ],
    ids=["bangs", "padding", "stars", "one-pad", "extra-char", "trailing-bits"],
)
def test_only_the_canonical_spelling_of_a_token_passes(client: TestClient, spell: Any) -> None:
    token = _hs(_claims())
    assert _get(client, token).status_code == 200
    head, _, sig = token.rpartition(".")
    variant = head + "." + spell(sig)
    assert variant != token
    _assert_401(_get(client, variant))


def test_variants_of_one_token_do_not_grow_the_cache(client: TestClient) -> None:
    token = _hs(_claims())
    assert _get(client, token).status_code == 200
    head, _, sig = token.rpartition(".")
    for n in range(40):
        _assert_401(_get(client, f"{head}.{sig}{'=' * (n % 3 + 1)}{'!' * n}"))
    assert len(security.verified_tokens) == 1


def test_an_oversized_authorization_header_is_refused(client: TestClient) -> None:
    response = _get(client, "a" * (9 * 1024))
    assert response.status_code == 431
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "header_too_large"
    assert "x-request-id" in response.headers


def test_oversized_request_headers_are_refused(client: TestClient) -> None:
    headers = {f"x-filler-{n}": "f" * 1000 for n in range(40)}
    response = client.get("/healthz", headers=headers)
    assert response.status_code == 431
    assert response.json()["code"] == "header_too_large"
    assert client.get("/healthz", headers=dict(list(headers.items())[:5])).status_code == 200


@pytest.mark.parametrize(
    "claims",
    [
        _claims(iat=None),
        _claims(exp=10**30),
        _claims(exp=int(time.time()) + 13 * 3600),
        _claims(iat=int(time.time()) + 3600, nbf=None),
        _claims(iat="yesterday"),
    ],
    ids=["no-iat", "exp-1e30", "lifetime-13h", "issued-in-future", "iat-not-a-number"],
)
def test_tokens_without_iat_or_living_too_long_are_refused(
    client: TestClient, claims: dict[str, Any]
) -> None:
    _assert_401(_get(client, _hs(claims)))


def test_the_lifetime_cap_is_configurable(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _hs(_claims(exp=int(time.time()) + 2 * 3600))
    assert _get(client, token).status_code == 200
    monkeypatch.setenv("INFODESK_JWT_MAX_LIFETIME_SECONDS", "3600")
    get_settings.cache_clear()
    try:
        _assert_401(_get(client, token))
        with pytest.raises(ValueError, match="at most 3600 seconds"):
            security.create_token(get_settings(), sub="x", roles=["officer"])
    finally:
        get_settings.cache_clear()


def test_cached_tokens_are_verified_again_after_five_minutes(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _hs(_claims(exp=int(time.time()) + 3600))
    key = security._cache_key(token, get_settings())
    assert _get(client, token).status_code == 200
    assert security.verified_tokens.get(key) is not None
    later = time.time() + security.verified_tokens.MAX_AGE + 1
    monkeypatch.setattr(security.time, "time", lambda: later)
    assert security.verified_tokens.get(key) is None


# -- a JWKS served over HTTP on the loopback interface


class _Jwks:
    """What the identity provider's JWKS endpoint answers, and how often it was asked."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.status = 200
        self.calls = 0
        self.delay = 0.0


@pytest.fixture
def jwks_server() -> Iterator[tuple[_Jwks, str]]:
    state = _Jwks()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.calls += 1
            time.sleep(state.delay)
            body = json.dumps({"keys": state.keys}).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/jwks"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def rsa_key() -> tuple[str, dict[str, Any]]:
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
    public_jwk = jwk.construct(public, algorithm="RS256").to_dict()
    public_jwk = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in public_jwk.items()}
    public_jwk.update({"kid": "k1", "use": "sig"})
    return private, public_jwk


@pytest.fixture
def idp(
    jwks_server: tuple[_Jwks, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[_Jwks, security.JwksCache]]:
    state, url = jwks_server
    monkeypatch.setenv("INFODESK_JWT_JWKS_URL", url)
    monkeypatch.delenv("INFODESK_JWT_SECRET", raising=False)
    get_settings.cache_clear()
    cache = security.JwksCache()
    monkeypatch.setattr(security, "jwks_cache", cache)
    try:
        yield state, cache
    finally:
        get_settings.cache_clear()


def _rs(private: str, kid: str = "k1") -> str:
    return str(jwt.encode(_claims(), private, algorithm="RS256", headers={"kid": kid}))


def test_a_withdrawn_key_stops_verifying_cached_tokens(
    client: TestClient,
    idp: tuple[_Jwks, security.JwksCache],
    rsa_key: tuple[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, _ = idp
    private, public_jwk = rsa_key
    state.keys = [public_jwk]
    token = _rs(private)
    assert _get(client, token).status_code == 200
    assert _get(client, token).status_code == 200
    assert state.calls == 1
    state.keys = []
    # The next refresh (cache time 0) finds the key gone.
    monkeypatch.setenv("INFODESK_JWKS_CACHE_SECONDS", "0")
    get_settings.cache_clear()
    _assert_401(_get(client, token))
    assert state.calls >= 2  # refetched (with a cache time of 0, on every look)


def test_keys_too_stale_are_dropped_when_the_provider_is_down(
    client: TestClient,
    idp: tuple[_Jwks, security.JwksCache],
    rsa_key: tuple[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, _ = idp
    private, public_jwk = rsa_key
    state.keys = [public_jwk]
    token = _rs(private)
    assert _get(client, token).status_code == 200
    state.status = 503
    monkeypatch.setenv("INFODESK_JWKS_CACHE_SECONDS", "0")
    get_settings.cache_clear()
    # Down, but the keys are fresh enough: they keep serving.
    assert _get(client, _rs(private)).status_code == 200
    monkeypatch.setenv("INFODESK_JWKS_MAX_STALE_SECONDS", "0")
    get_settings.cache_clear()
    idp[1]._retry_at = 0.0  # past the back-off of the first failure
    _assert_401(_get(client, token))


def test_unknown_kids_do_not_hammer_the_provider(
    idp: tuple[_Jwks, security.JwksCache], rsa_key: tuple[str, dict[str, Any]]
) -> None:
    state, cache = idp
    private, public_jwk = rsa_key
    state.keys = [public_jwk]
    state.delay = 0.2
    settings = get_settings()

    async def many(kids: list[str]) -> list[BaseException | security.Principal]:
        calls = [security.decode_token(_rs(private, kid), settings) for kid in kids]
        return await asyncio.gather(*calls, return_exceptions=True)

    # Twenty requests at once: one fetch between them.
    results = asyncio.run(many(["k1"] * 20))
    assert all(isinstance(r, security.Principal) for r in results)
    assert state.calls == 1
    # Unknown kids: at most one refetch a minute, not one per request.
    results = asyncio.run(many([f"rotated-{n}" for n in range(20)]))
    assert all(isinstance(r, security.Unauthorized) for r in results)
    assert state.calls == 1
    # A failing provider is retried only after a back-off that doubles.
    state.status = 500
    cache._fetched_at = time.monotonic() - 2 * 3600  # the keys are due for refresh
    asyncio.run(many(["k1"] * 5))
    assert state.calls == 2
    asyncio.run(many(["k1"] * 5))
    assert state.calls == 2
    assert cache._backoff == security.JwksCache.MIN_BACKOFF
    cache._retry_at = 0.0
    asyncio.run(many(["k1"]))
    assert state.calls == 3
    assert cache._backoff == 2 * security.JwksCache.MIN_BACKOFF


def test_a_chunked_body_over_the_limit_gets_413(client: TestClient, auth: Any) -> None:
    limit = get_settings().max_body_bytes

    def chunks() -> Iterator[bytes]:
        yield b'{"message": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = client.post(
        "/v1/sla/calculate",
        content=chunks(),
        headers={**auth("integration"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"
