"""Service settings, read from the environment (prefix ``INFODESK_``)."""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Used only when INFODESK_ENV=development; start-up refuses it anywhere else.
DEVELOPMENT_JWT_SECRET = "infodesk-development-secret-not-for-production-use"  # noqa: S105

DEFAULT_DATABASE_PATH = Path("var") / "infodesk.db"


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="INFODESK_", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = f"sqlite:///./{DEFAULT_DATABASE_PATH.as_posix()}"
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str = "infodesk"
    # An HS256 secret beside the identity provider's key lets whoever holds the secret mint
    # tokens the provider never issued; production refuses it unless this says otherwise.
    jwt_allow_hs256_with_idp: bool = False
    jwks_cache_seconds: int = Field(default=3600, ge=0)
    # Keys older than this are dropped when the identity provider cannot be reached, so a
    # key it has withdrawn stops verifying tokens even while its JWKS endpoint is down.
    jwks_max_stale_seconds: int = Field(default=6 * 3600, ge=0)
    # The longest lifetime (exp - iat) a token may have; tokens without iat are refused.
    jwt_max_lifetime_seconds: int = Field(default=12 * 3600, gt=0)
    log_level: str = "INFO"
    # Database waits. A request waiting for a row lock gives up after db_lock_timeout_ms
    # (503, Retry-After), a statement after db_statement_timeout_ms, and a request waiting
    # for a pooled connection after db_pool_timeout_seconds. The worker threads that run
    # requests number db_pool_size + db_max_overflow, one connection each (docs/security.md).
    db_lock_timeout_ms: int = Field(default=5000, ge=1)
    db_statement_timeout_ms: int = Field(default=30000, ge=0)
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    # Swagger UI and ReDoc (/docs, /redoc): open in development, off in production unless
    # set. The OpenAPI document itself (/openapi.json) is the public contract and stays.
    docs_enabled: bool | None = None
    # /metrics: "open", "token" (a Bearer INFODESK_METRICS_TOKEN, as Prometheus sends
    # with its bearer_token_file) or "off"; open in development, off in production unless set.
    metrics_access: Literal["open", "token", "off"] | None = None
    metrics_token: str | None = None
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    calendar_cache_seconds: float = Field(default=5.0, ge=0)
    # Where requesters reach the service's public pages (satisfaction survey, ticket status).
    public_base_url: str = "http://127.0.0.1:8000"
    public_lookups_per_minute: int = Field(default=10, ge=1)
    # Where the public endpoints' rate-limit counts live: "memory://" (this process) or a
    # Redis URL ("redis://host:6379/0") shared by every process of the deployment.
    rate_limit_storage: str = "memory://"
    # Key for secrets kept in the database (mailbox passwords, webhook secrets).
    secret_key: str | None = None

    # -- channels: email in
    max_email_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    storage_dir: Path = Path("var") / "storage"
    # Where mail and attachment bytes are kept ("folder": storage_dir, content-addressed).
    storage_backend: Literal["folder"] = "folder"

    # -- channels: delivery and the worker
    embedded_worker: bool = True
    # Default SMTP server (smtp://host:25, smtp+starttls://user:pass@host:587,
    # smtps://host:465) and sender; an office mailbox's own settings win. Without any SMTP
    # server, mail is written as <delivery_id>.eml files to mail_outbox_dir.
    smtp_url: str | None = None
    mail_from: str = "infodesk@localhost"
    # The domain of every outbound Message-ID <infodesk.{delivery_id}@domain>; default: the
    # domain of mail_from. Never the office mailbox's, so a repeat keeps its id.
    message_id_domain: str | None = None
    mail_outbox_dir: Path = Path("var") / "outbox"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    # Connections the worker opens to one SMTP server for a batch, sending side by side.
    smtp_connections: int = Field(default=4, ge=1, le=32)
    # First retry after this, doubling with jitter, until a row is this old: then dead.
    delivery_backoff_seconds: float = Field(default=5.0, gt=0)
    delivery_max_age_seconds: float = Field(default=86_400.0, gt=0)
    delivery_batch_size: int = Field(default=200, ge=1, le=1000)
    # A worker's claim on its rows; another worker takes them again after it expires. New
    # sends start only in its first half; rows not sent by then are released unchanged.
    delivery_lease_seconds: float = Field(default=120.0, gt=0)

    # -- channels: mailboxes
    # How often the worker polls the offices' IMAP mailboxes, and how long one IMAP command
    # may take; at most imap_batch_size new mails per mailbox and round.
    imap_poll_seconds: float = Field(default=60.0, gt=0)
    imap_timeout_seconds: float = Field(default=30.0, gt=0)
    imap_batch_size: int = Field(default=200, ge=1)

    # A follow-up to an inquiry closed at most this many days ago reopens it.
    reopen_days: int = Field(default=7, ge=0)

    # -- personal data
    # Requester data is anonymised this many years after the inquiry was closed (the
    # worker checks every retention_check_seconds; `infodesk retention` runs it at once).
    retention_years: int = Field(default=5, ge=1)
    retention_check_seconds: float = Field(default=86_400.0, gt=0)

    # -- evaluation
    # Calendar days a survey stays open after the inquiry's first answer or escalation notice.
    survey_days: int = Field(default=30, ge=1)
    # Working days to a complaint's first response (status); SP4N-LAPOR guidance.
    complaint_first_response_working_days: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _refuse_development_secret(self) -> Settings:
        # The development secret stands in only when no key is configured at all: with an
        # identity provider's key set, a token signed with a public secret must not pass.
        no_key = not (self.jwt_secret or self.jwt_public_key or self.jwt_jwks_url)
        if no_key and self.env == "development":
            self.jwt_secret = DEVELOPMENT_JWT_SECRET
        if self.env != "development" and self.jwt_secret == DEVELOPMENT_JWT_SECRET:
            raise ValueError("the built-in development JWT secret is refused outside development")
        if self.env != "development":
            self._refuse_weak_production_settings()
        if self.docs_enabled is None:
            self.docs_enabled = self.env == "development"
        if self.metrics_access is None:
            self.metrics_access = "open" if self.env == "development" else "off"
        if self.metrics_access == "token" and not self.metrics_token:
            raise ValueError("INFODESK_METRICS_ACCESS=token needs INFODESK_METRICS_TOKEN")
        if self.jwt_public_key and self.jwt_jwks_url:
            raise ValueError("set INFODESK_JWT_PUBLIC_KEY or INFODESK_JWT_JWKS_URL, not both")
        if not (self.jwt_secret or self.jwt_public_key or self.jwt_jwks_url):
            raise ValueError(
                "no JWT verification key: set INFODESK_JWT_SECRET, INFODESK_JWT_PUBLIC_KEY "
                "or INFODESK_JWT_JWKS_URL"
            )
        return self

    def _refuse_weak_production_settings(self) -> None:
        secret = self.jwt_secret
        if secret is not None:
            if DEVELOPMENT_JWT_SECRET in secret.strip().casefold():
                raise ValueError(
                    "INFODESK_JWT_SECRET is derived from the development secret; "
                    "generate one, e.g. `openssl rand -base64 48`"
                )
            if len(secret) < 32 or estimated_entropy_bits(secret) < MIN_SECRET_BITS:
                raise ValueError(
                    "INFODESK_JWT_SECRET is too guessable: use at least 32 random characters "
                    f"(about {MIN_SECRET_BITS} bits), e.g. `openssl rand -base64 48`"
                )
            if (self.jwt_public_key or self.jwt_jwks_url) and not self.jwt_allow_hs256_with_idp:
                raise ValueError(
                    "INFODESK_JWT_SECRET beside the identity provider's key lets the secret's "
                    "holders mint tokens; remove it or set INFODESK_JWT_ALLOW_HS256_WITH_IDP=true"
                )
        if self.jwt_jwks_url and not self.jwt_jwks_url.lower().startswith("https://"):
            raise ValueError("INFODESK_JWT_JWKS_URL must be an https:// URL in production")
        if self.metrics_token is not None and (
            len(self.metrics_token) < 32 or estimated_entropy_bits(self.metrics_token) < 128
        ):
            raise ValueError("INFODESK_METRICS_TOKEN is too guessable: use 32+ random characters")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def request_threads(self) -> int:
        """The threads that run requests, one pooled connection each; as many request
        sessions are open at once."""
        return self.db_pool_size + self.db_max_overflow


# A secret must carry at least this many bits by the estimate below.
MIN_SECRET_BITS = 128


def estimated_entropy_bits(secret: str) -> float:
    """A generous estimate of a secret's entropy: its length times the Shannon entropy of
    its characters. Random base64 of 32 characters scores about 150 bits; a repeated
    character, a word or a short pattern repeated scores far below 128."""
    counts = Counter(secret)
    total = len(secret)
    per_char = -sum(n / total * math.log2(n / total) for n in counts.values())
    return total * per_char


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
