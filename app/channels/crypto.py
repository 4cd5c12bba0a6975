"""Secrets kept in the database (mailbox passwords, webhook signing secrets), encrypted
with Fernet (``cryptography``) under a key derived from ``INFODESK_SECRET_KEY``."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from app.core.config import get_settings
from app.core.errors import Conflict

# Stands in for INFODESK_SECRET_KEY in development only (see Settings).
DEVELOPMENT_SECRET_KEY = "infodesk-development-secret-key-not-for-production"  # noqa: S105


class SecretKeyMissing(Conflict):
    """Production without INFODESK_SECRET_KEY: no secret can be stored (409)."""

    code, title = "secret_key_missing", "No key to store secrets with"


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the configured key (the key changed)."""


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    # Fernet wants 32 url-safe base64 bytes; any passphrase is stretched to that by SHA-256.
    digest = hashlib.sha256(secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _key() -> str:
    settings = get_settings()
    if settings.secret_key:
        return settings.secret_key
    if settings.env == "development":
        return DEVELOPMENT_SECRET_KEY
    raise SecretKeyMissing(
        "INFODESK_SECRET_KEY is not configured; secrets (mailbox passwords, webhook "
        "signing secrets) cannot be stored or read."
    )


def encrypt(plaintext: str) -> str:
    """``plaintext`` encrypted and authenticated, as ASCII text; SecretKeyMissing in
    production without INFODESK_SECRET_KEY."""
    return _fernet(_key()).encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of ``encrypt``'s output; SecretUnreadable when the key differs or
    none is configured."""
    try:
        key = _key()
    except SecretKeyMissing as exc:
        raise SecretUnreadable("no INFODESK_SECRET_KEY to decrypt stored secrets with") from exc
    try:
        return _fernet(key).decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "stored secret cannot be decrypted with INFODESK_SECRET_KEY"
        ) from exc
