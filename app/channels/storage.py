"""Where the bytes of mails and attachments are kept: a small blob store interface and
its folder implementation, content-addressed by SHA-256.

The database keeps only keys; the store chosen by ``INFODESK_STORAGE_BACKEND`` keeps the
bytes. Writing the same content twice is harmless (same key), so a transaction that
rolls back after storing leaves at most an unreferenced blob, never a broken reference.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from app.core.config import get_settings
from app.core.errors import NotFound

_KEY = re.compile(r"^[0-9a-f]{64}$")


class BlobNotFound(NotFound):
    code, title = "blob_not_found", "Stored content not found"


class BlobStore(Protocol):
    """Keeps bytes under a key it chooses."""

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its key."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; BlobNotFound when there are none."""
        ...

    def delete(self, key: str) -> None:
        """Remove the bytes under ``key``, if any (erasure of personal data)."""
        ...


class FolderStore:
    """Blobs as files named by their SHA-256 under ``root`` (``ab/cd/abcd...``), written
    to a temporary file first and renamed, so a reader never sees half a blob."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise BlobNotFound("No stored content with that key.")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound("No stored content with that key.") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def get_store() -> BlobStore:
    """The store the settings choose."""
    settings = get_settings()
    if settings.storage_backend == "folder":
        return FolderStore(Path(settings.storage_dir))
    raise RuntimeError(f"unknown storage backend {settings.storage_backend!r}")
