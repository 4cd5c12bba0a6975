"""Secrets kept in the database (mailbox passwords, webhook signing secrets), encrypted
with Fernet (``cryptography``) under a key derived from ``INFODESK_SECRET_KEY``."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from app.core.config import get_settings

# Stands in for INFODESK_SECRET_KEY in development only (see Settings).
DEVELOPMENT_SECRET_KEY = "infodesk-development-secret-key-not-for-production"  # noqa: S105


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
    raise RuntimeError("INFODESK_SECRET_KEY is required to store or read secrets in production")


def encrypt(plaintext: str) -> str:
    """``plaintext`` encrypted and authenticated, as ASCII text."""
    return _fernet(_key()).encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of ``encrypt``'s output; SecretUnreadable when the key differs."""
    try:
        return _fernet(_key()).decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "stored secret cannot be decrypted with INFODESK_SECRET_KEY"
        ) from exc
