"""Production refuses weak settings, and keeps the docs and metrics closed unless told."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.core.config import DEVELOPMENT_JWT_SECRET, Settings
from app.main import create_app

STRONG = "kR7vQ2pL9sWx4Nz8Ht3Bm6Yc1Fg5Jd0Ua-VqZe"
METRICS_TOKEN = "mT4wX9qZ2sL7vB1nK8cR5yH3jD6fG0aP"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"jwt_secret": "a" * 32}, "too guessable"),
        ({"jwt_secret": "abab" * 10}, "too guessable"),
        ({"jwt_secret": "f0152f60dbab8998"}, "too guessable"),
        ({"jwt_secret": DEVELOPMENT_JWT_SECRET + " "}, "derived from the development secret"),
        ({"jwt_secret": " " + DEVELOPMENT_JWT_SECRET.upper() + "2"}, "derived from the"),
        ({"jwt_secret": None, "jwt_jwks_url": "http://sso.example/jwks"}, "https://"),
        ({"jwt_secret": STRONG, "jwt_jwks_url": "https://sso.example/jwks"}, "mint tokens"),
        ({"metrics_access": "token"}, "needs INFODESK_METRICS_TOKEN"),
        ({"metrics_access": "token", "metrics_token": "x" * 40}, "too guessable"),
    ],
    ids=[
        "one-char",
        "pattern",
        "short-hex",
        "dev-trailing-space",
        "dev-variant",
        "http-jwks",
        "hs256-beside-idp",
        "metrics-token-missing",
        "metrics-token-weak",
    ],
)
def test_weak_production_settings_are_refused(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(env="production", **{"jwt_secret": STRONG, **settings})  # type: ignore[arg-type]


def test_strong_production_settings_are_accepted() -> None:
    assert Settings(env="production", jwt_secret=STRONG).jwt_secret == STRONG
    idp = Settings(env="production", jwt_secret=None, jwt_jwks_url="https://sso.example/jwks")
    assert idp.jwt_jwks_url == "https://sso.example/jwks"
    both = Settings(
        env="production",
        jwt_secret=STRONG,
        jwt_jwks_url="https://sso.example/jwks",
        jwt_allow_hs256_with_idp=True,
    )
    assert both.jwt_secret == STRONG
    # Development keeps its conveniences: a loopback JWKS over http.
    assert Settings(env="development", jwt_jwks_url="http://127.0.0.1:9/jwks").jwt_jwks_url


def _client(**settings: object) -> Iterator[TestClient]:
    app = create_app(Settings(**{"jwt_secret": STRONG, **settings}))  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def production() -> Iterator[TestClient]:
    yield from _client(env="production")


def test_production_serves_no_docs_and_no_metrics_by_default(production: TestClient) -> None:
    for path in ("/docs", "/redoc", "/metrics"):
        assert production.get(path).status_code == 404, path
    assert production.get("/openapi.json").status_code == 200
    assert production.get("/healthz").status_code == 200


def test_metrics_behind_their_token() -> None:
    for client in _client(env="production", metrics_access="token", metrics_token=METRICS_TOKEN):
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "z" * 32})
        assert wrong.status_code == 401
        ok = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert ok.status_code == 200
        assert "infodesk_http_requests_total" in ok.text


def test_development_serves_docs_and_metrics_without_keeping_tokens(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "persistAuthorization" not in docs.text
    assert client.get("/metrics").status_code == 200
    for client in _client(env="production", docs_enabled=True, metrics_access="open"):
        assert client.get("/docs").status_code == 200
        assert client.get("/metrics").status_code == 200
