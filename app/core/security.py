"""Bearer-token authentication and role checks.

Tokens come from the organisation's identity provider (RS256, a PEM public key or a
JWKS URL) or, in development and tests, from ``infodesk token`` (HS256 with the
configured secret). The algorithm is chosen by the key that is configured, never by
the token: an RS256 key is never used as an HMAC secret and ``none`` is never accepted.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from jose import jwt
from jose.exceptions import JOSEError
from pydantic import BaseModel, Field, ValidationError

from app.core.config import Settings, get_settings
from app.core.errors import Forbidden, Unauthorized


class Role(StrEnum):
    """What a caller may do; a token carries one or more."""

    integration = "integration"
    officer = "officer"
    coordinator = "coordinator"
    supervisor = "supervisor"
    unit = "unit"
    head = "head"
    compliance = "compliance"
    admin = "admin"


# Roles whose holders read across every office.
CROSS_OFFICE_ROLES = frozenset({Role.compliance, Role.admin})


class Principal(BaseModel):
    """The authenticated caller, from the token's claims."""

    sub: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    roles: frozenset[Role] = Field(min_length=1)
    office: str | None = Field(default=None, max_length=64)
    unit: str | None = Field(default=None, max_length=64)

    def has_any(self, roles: frozenset[Role] | set[Role]) -> bool:
        """Whether the caller holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)

    @property
    def cross_office(self) -> bool:
        return self.has_any(CROSS_OFFICE_ROLES)

    def may_see_office(self, office_code: str) -> bool:
        """Whether the caller may read data of ``office_code``."""
        return self.cross_office or self.office == office_code


def _unauthorized(detail: str) -> Unauthorized:
    error = 'Bearer realm="infodesk", error="invalid_token"'
    return Unauthorized(detail, headers={"WWW-Authenticate": error})


class JwksCache:
    """The identity provider's signing keys, fetched with httpx and kept for a while."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at = 0.0
        self._transport = transport

    async def key(self, url: str, kid: str | None, ttl: float) -> dict[str, Any]:
        now = time.monotonic()
        stale = now - self._fetched_at > ttl
        # An unknown kid may be a rotated key: refetch, but at most once a minute.
        unknown = kid not in self._keys and now - self._fetched_at > 60
        if not self._keys or stale or unknown:
            await self._refresh(url)
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        if kid is None or kid not in self._keys:
            raise _unauthorized("token signed with an unknown key")
        return self._keys[kid]

    async def _refresh(self, url: str) -> None:
        try:
            async with httpx.AsyncClient(timeout=5.0, transport=self._transport) as client:
                response = await client.get(url)
                response.raise_for_status()
                keys = response.json()["keys"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            if self._keys:  # keep serving with the keys we have
                return
            raise _unauthorized("signing keys of the identity provider are unavailable") from exc
        self._keys = {k.get("kid", ""): k for k in keys if k.get("kty") == "RSA"}
        self._fetched_at = time.monotonic()


jwks_cache = JwksCache()


async def _verification_key(settings: Settings, header: dict[str, Any]) -> tuple[Any, str]:
    alg = header.get("alg")
    if alg == "HS256" and settings.jwt_secret:
        return settings.jwt_secret, "HS256"
    if alg == "RS256" and settings.jwt_public_key:
        return settings.jwt_public_key, "RS256"
    if alg == "RS256" and settings.jwt_jwks_url:
        key = await jwks_cache.key(
            settings.jwt_jwks_url, header.get("kid"), settings.jwks_cache_seconds
        )
        return key, "RS256"
    raise _unauthorized("token algorithm not accepted")


class _VerifiedTokens:
    """Tokens already verified, with their principals, until they expire.

    Verifying a signature costs far more than the rest of a typical request; a token is
    immutable, so once verified under a configuration it stays valid until ``exp``.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: dict[tuple[object, ...], tuple[Principal, float, float]] = {}

    def get(self, key: tuple[object, ...]) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        principal, not_before, expires = entry
        now = time.time()
        if now >= expires:
            self._entries.pop(key, None)
            return None
        return principal if now >= not_before else None

    def put(self, key: tuple[object, ...], principal: Principal, claims: dict[str, Any]) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()  # rare: more live tokens than slots; start over
        self._entries[key] = (principal, float(claims.get("nbf", 0)), float(claims["exp"]))


verified_tokens = _VerifiedTokens()


def _cache_key(token: str, settings: Settings) -> tuple[object, ...]:
    return (
        token,
        settings.jwt_secret,
        settings.jwt_public_key,
        settings.jwt_jwks_url,
        settings.jwt_issuer,
        settings.jwt_audience,
    )


async def decode_token(token: str, settings: Settings) -> Principal:
    """Validate ``token`` (signature, exp, nbf, aud, iss) and return its principal."""
    key = _cache_key(token, settings)
    cached = verified_tokens.get(key)
    if cached is not None:
        return cached
    principal, claims = await _verify(token, settings)
    verified_tokens.put(key, principal, claims)
    return principal


async def _verify(token: str, settings: Settings) -> tuple[Principal, dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(token)
    except JOSEError as exc:
        raise _unauthorized("malformed token") from exc
    key, algorithm = await _verification_key(settings, header)
    # python-jose passes a token that has no "aud" (or "iss") unless asked to require it.
    options = {
        "require_exp": True,
        "require_sub": True,
        "require_aud": True,
        "require_iss": bool(settings.jwt_issuer),
        "verify_iss": bool(settings.jwt_issuer),
    }
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options=options,
        )
    except JOSEError as exc:
        raise _unauthorized(f"token rejected: {exc}") from exc
    try:
        return Principal.model_validate(claims), claims
    except ValidationError as exc:
        raise _unauthorized("token claims are incomplete or invalid") from exc


def create_token(
    settings: Settings,
    *,
    sub: str,
    roles: list[str],
    office: str | None = None,
    unit: str | None = None,
    name: str | None = None,
    ttl: timedelta = timedelta(hours=8),
) -> str:
    """A HS256 token signed with the configured secret (development and tests)."""
    if not settings.jwt_secret:
        raise RuntimeError("creating tokens needs INFODESK_JWT_SECRET (HS256)")
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": sub,
        "roles": [Role(r).value for r in roles],
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    for claim, value in (("office", office), ("unit", unit), ("name", name)):
        if value is not None:
            claims[claim] = value
    return str(jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))


async def current_principal(request: Request) -> Principal:
    """The caller, or 401 when the request carries no valid bearer token."""
    # Read the header directly rather than through fastapi.security.HTTPBearer: one
    # dependency level less on every request. The OpenAPI document still declares the
    # scheme (app.main adds it to every operation that depends on this function).
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "a bearer token is required", headers={"WWW-Authenticate": 'Bearer realm="infodesk"'}
        )
    principal = await decode_token(token.strip(), get_settings())
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Any:
    """A dependency admitting callers that hold one of ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    async def _check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(allowed):
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"this action needs one of the roles: {names}")
        return principal

    return Depends(_check)


def ensure_office_scope(principal: Principal, office_code: str) -> None:
    """Refuse a caller who may not act on ``office_code``."""
    if not principal.may_see_office(office_code):
        raise Forbidden("this office is outside your scope")
