"""Bearer-token authentication and role checks.

Tokens come from the organisation's identity provider (RS256, a PEM public key or a
JWKS URL) or, in development and tests, from ``infodesk token`` (HS256 with the
configured secret). The algorithm is chosen by the key that is configured, never by
the token: an RS256 key is never used as an HMAC secret and ``none`` is never accepted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

import httpx
from fastapi import Depends
from fastapi.security import HTTPBearer
from jose import jwt
from jose.exceptions import JOSEError
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import HTTPConnection

from app.core.channels import Channel
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
    # The channels an integration posts for; None (no claim) is every channel.
    channels: frozenset[Channel] | None = Field(default=None, min_length=1)

    def has_any(self, roles: frozenset[Role] | set[Role]) -> bool:
        """Whether the caller holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)

    @property
    def cross_office(self) -> bool:
        return self.has_any(CROSS_OFFICE_ROLES)

    def may_read_office(self, office_code: str) -> bool:
        """Whether the caller may read data of ``office_code``."""
        return self.cross_office or self.office == office_code

    def may_use_channel(self, channel: str) -> bool:
        """Whether the token's ``channels`` claim, when it has one, names ``channel``."""
        return self.channels is None or channel in self.channels


def _unauthorized(detail: str) -> Unauthorized:
    error = 'Bearer realm="infodesk", error="invalid_token"'
    return Unauthorized(detail, headers={"WWW-Authenticate": error})


class JwksCache:
    """The identity provider's signing keys, fetched with httpx and kept for a while.

    One fetch at a time: concurrent requests with an unknown ``kid`` wait for the fetch
    in progress instead of starting their own. After a failed fetch the next one waits,
    doubling from one second to five minutes, so a flood of unknown ``kid`` values cannot
    hammer the identity provider. Keys older than ``max_stale`` are dropped when they
    cannot be refreshed. ``generation`` changes whenever the set of keys does; verified
    tokens are cached per generation, so a withdrawn key stops verifying at once.
    """

    MIN_BACKOFF = 1.0
    MAX_BACKOFF = 300.0
    UNKNOWN_KID_INTERVAL = 60.0

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at = 0.0
        self._attempted_at = 0.0
        self._retry_at = 0.0
        self._backoff = 0.0
        self._lock = asyncio.Lock()
        self._transport = transport
        self.generation = 0

    async def key(
        self, url: str, kid: str | None, ttl: float, max_stale: float = float("inf")
    ) -> dict[str, Any]:
        await self.refresh_if_due(url, kid, ttl, max_stale)
        if not self._keys:
            raise _unauthorized("signing keys of the identity provider are unavailable")
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        if kid is None or kid not in self._keys:
            raise _unauthorized("token signed with an unknown key")
        return self._keys[kid]

    async def refresh_if_due(
        self, url: str, kid: str | None, ttl: float, max_stale: float = float("inf")
    ) -> None:
        """Fetch the keys when they are older than ``ttl`` (or ``kid`` is new to them)."""
        if self._needs_refresh(kid, ttl):
            attempted = self._attempted_at
            async with self._lock:
                # Another request may have fetched while this one waited.
                if self._attempted_at == attempted and self._needs_refresh(kid, ttl):
                    await self._refresh(url, max_stale)

    def _needs_refresh(self, kid: str | None, ttl: float) -> bool:
        now = time.monotonic()
        if now < self._retry_at:
            return False
        if not self._keys or now - self._fetched_at > ttl:
            return True
        # An unknown kid may be a rotated key: refetch, but at most once a minute.
        return kid not in self._keys and now - self._attempted_at > self.UNKNOWN_KID_INTERVAL

    async def _refresh(self, url: str, max_stale: float) -> None:
        self._attempted_at = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=5.0, transport=self._transport) as client:
                response = await client.get(url)
                response.raise_for_status()
                keys = {
                    k.get("kid", ""): k for k in response.json()["keys"] if k.get("kty") == "RSA"
                }
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
            self._backoff = min(max(self._backoff * 2, self.MIN_BACKOFF), self.MAX_BACKOFF)
            self._retry_at = time.monotonic() + self._backoff
            if self._keys and time.monotonic() - self._fetched_at > max_stale:
                self._set_keys({})
            return
        self._backoff = 0.0
        self._retry_at = 0.0
        self._fetched_at = time.monotonic()
        if keys != self._keys:
            self._set_keys(keys)

    def _set_keys(self, keys: dict[str, dict[str, Any]]) -> None:
        self._keys = keys
        self.generation += 1
        verified_tokens.clear()


jwks_cache = JwksCache()


async def _verification_key(settings: Settings, header: dict[str, Any]) -> tuple[Any, str]:
    alg = header.get("alg")
    if alg == "HS256" and settings.jwt_secret:
        return settings.jwt_secret, "HS256"
    if alg == "RS256" and settings.jwt_public_key:
        return settings.jwt_public_key, "RS256"
    if alg == "RS256" and settings.jwt_jwks_url:
        key = await jwks_cache.key(
            settings.jwt_jwks_url,
            header.get("kid"),
            settings.jwks_cache_seconds,
            settings.jwks_max_stale_seconds,
        )
        return key, "RS256"
    raise _unauthorized("token algorithm not accepted")


class _VerifiedTokens:
    """Tokens already verified, with their principals, for at most five minutes.

    Verifying a signature costs far more than the rest of a typical request. Entries are
    keyed on the token's decoded parts (a token has one canonical form, so variants of a
    token cannot fill the cache) and on the fingerprint of the keys that verified it.
    """

    MAX_AGE = 300.0

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
        expires = min(float(claims["exp"]), time.time() + self.MAX_AGE)
        self._entries[key] = (principal, float(claims.get("nbf", 0)), expires)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


verified_tokens = _VerifiedTokens()

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def canonical_parts(token: str) -> tuple[bytes, bytes, bytes]:
    """The decoded header, payload and signature of a compact JWS; 401 unless each part
    is canonical unpadded base64url (python-jose alone also accepts padding, stray
    characters and non-zero trailing bits, which would give one token many spellings)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise _unauthorized("malformed token")
    decoded = []
    for part in parts:
        if len(part) % 4 == 1 or not _BASE64URL.fullmatch(part):
            raise _unauthorized("malformed token: not canonical base64url")
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        if base64.urlsafe_b64encode(raw).rstrip(b"=") != part.encode():
            raise _unauthorized("malformed token: not canonical base64url")
        decoded.append(raw)
    return decoded[0], decoded[1], decoded[2]


@lru_cache(maxsize=16)
def _key_fingerprint(*material: object) -> str:
    return hashlib.sha256(repr(material).encode()).hexdigest()


def _cache_key(token: str, settings: Settings) -> tuple[object, ...]:
    """A verified token is remembered under its own spelling: only canonical spellings are
    ever verified (``canonical_parts``), so one token has one key, and a cached token skips
    decoding its parts again (about 8 µs of `POST /v1/sla/calculate`'s 200 µs in-process,
    docs/performance.md, *Shortcuts around FastAPI*)."""
    fingerprint = _key_fingerprint(
        settings.jwt_secret,
        settings.jwt_public_key,
        settings.jwt_jwks_url,
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.jwt_max_lifetime_seconds,
    )
    return (token, fingerprint, jwks_cache.generation)


async def decode_token(token: str, settings: Settings) -> Principal:
    """Validate ``token`` (signature, exp, nbf, iat, lifetime, aud, iss); its principal."""
    if settings.jwt_jwks_url:
        # A malformed token is refused before it can make the keys be fetched. Keys due
        # for refresh are refreshed before the cache is read, so that a cached token whose
        # key the provider has withdrawn is found out (the new key set has a new generation).
        canonical_parts(token)
        await jwks_cache.refresh_if_due(
            settings.jwt_jwks_url,
            None,
            settings.jwks_cache_seconds,
            settings.jwks_max_stale_seconds,
        )
    cached = verified_tokens.get(_cache_key(token, settings))
    if cached is not None:
        return cached
    principal, claims = await _verify(token, settings)
    # The key set may have changed while the token was verified: cache under the new one.
    verified_tokens.put(_cache_key(token, settings), principal, claims)
    return principal


# Clock skew allowed between the identity provider and this server.
LEEWAY_SECONDS = 60


async def _verify(token: str, settings: Settings) -> tuple[Principal, dict[str, Any]]:
    canonical_parts(token)  # the one spelling of a token, before anything else reads it
    try:
        header = jwt.get_unverified_header(token)
    except JOSEError as exc:
        raise _unauthorized("malformed token") from exc
    key, algorithm = await _verification_key(settings, header)
    # python-jose passes a token that has no "aud" (or "iss") unless asked to require it.
    options = {
        "require_exp": True,
        "require_iat": True,
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
    _check_lifetime(claims, settings.jwt_max_lifetime_seconds)
    try:
        return Principal.model_validate(claims), claims
    except ValidationError as exc:
        raise _unauthorized("token claims are incomplete or invalid") from exc


def _check_lifetime(claims: dict[str, Any], max_lifetime: int) -> None:
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, int | float) or not isinstance(expires, int | float):
        raise _unauthorized("token rejected: iat and exp must be numbers")
    if issued > time.time() + LEEWAY_SECONDS:
        raise _unauthorized("token rejected: issued in the future")
    if expires - issued > max_lifetime:
        raise _unauthorized(f"token rejected: lifetime exceeds {max_lifetime} seconds")


def create_token(
    settings: Settings,
    *,
    sub: str,
    roles: list[str],
    office: str | None = None,
    unit: str | None = None,
    name: str | None = None,
    channels: list[str] | None = None,
    ttl: timedelta = timedelta(hours=8),
) -> str:
    """A HS256 token signed with the configured secret (development and tests)."""
    if not settings.jwt_secret:
        raise RuntimeError("creating tokens needs INFODESK_JWT_SECRET (HS256)")
    if ttl.total_seconds() > settings.jwt_max_lifetime_seconds:
        raise ValueError(
            f"a token may live at most {settings.jwt_max_lifetime_seconds} seconds "
            "(INFODESK_JWT_MAX_LIFETIME_SECONDS)"
        )
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
    if channels is not None:
        claims["channels"] = [Channel(c).value for c in channels]
    return str(jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))


class BearerPrincipal(HTTPBearer):
    """FastAPI's ``HTTPBearer`` (so that the OpenAPI document declares ``bearerAuth``)
    giving the verified caller itself: one dependency per request instead of the
    scheme's and a second one taking its credentials."""

    async def __call__(self, request: HTTPConnection) -> Principal:  # type: ignore[override]
        """The caller, or 401 when the request carries no valid bearer token."""
        credentials = await super().__call__(request)
        if credentials is None:
            raise Unauthorized(
                "a bearer token is required",
                headers={"WWW-Authenticate": 'Bearer realm="infodesk"'},
            )
        return await decode_token(credentials.credentials, get_settings())


current_principal = BearerPrincipal(
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="A JWT from the organisation's identity provider.",
    auto_error=False,
)


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
