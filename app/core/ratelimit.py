"""Rate limits of the unauthenticated endpoints, with the maintained ``limits`` package.

Counts live in memory by default (one process), or in Redis when several processes
serve (``INFODESK_RATE_LIMIT_STORAGE=redis://host:6379/0``), so that the limit is the
configured one whatever the number of workers. A moving window: at most ``limit`` calls
in any 60 seconds.
"""

from __future__ import annotations

import logging
import math
import time
from functools import lru_cache

from fastapi import Request
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.core.errors import RateLimited

logger = logging.getLogger("infodesk.ratelimit")


@lru_cache(maxsize=64)
def _per_minute(limit: int) -> RateLimitItem:
    return RateLimitItemPerMinute(limit)


class RateLimiter:
    """At most ``limit`` calls per minute for each key, in ``storage_uri``."""

    def __init__(
        self, limit: int, storage_uri: str = "memory://", prefix: str = "infodesk"
    ) -> None:
        self.limit = limit
        options = {} if storage_uri.startswith("memory") else {"key_prefix": prefix}
        self.storage = storage_from_string(storage_uri, wrap_exceptions=True, **options)
        self.strategy = MovingWindowRateLimiter(self.storage)

    def close(self) -> None:
        """Close the connections to a shared store (none for memory)."""
        client = getattr(self.storage, "storage", None)
        if client is not None and hasattr(client, "close"):
            client.close()
            client.connection_pool.disconnect()

    def hit(self, *key: str, limit: int | None = None) -> None:
        """Count a call for ``key``; RateLimited (429) when over the limit. When the shared
        store cannot be reached the call passes (logged): the limits guard against abuse,
        they must not take the public pages down with Redis."""
        item = _per_minute(limit or self.limit)
        try:
            if self.strategy.hit(item, *key):
                return
            stats = self.strategy.get_window_stats(item, *key)
        except StorageError as exc:
            logger.warning("rate limit store unavailable: %s", type(exc.storage_error).__name__)
            return
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited("Too many lookups; try again later.", headers={"Retry-After": str(retry)})


def limit_public(request: Request, key: str | None = None, *, area: str = "client") -> None:
    """The public endpoints' limit: one budget per client address (``area`` names it)
    and, for ``key`` (a code or number being looked up), one per key and address.
    RateLimited (429) when over either. No budget is shared by all addresses, so no one
    can use up the requester's own lookups.

    The client address is the proxy's unless uvicorn trusts it for X-Forwarded-For
    (FORWARDED_ALLOW_IPS: list only your own proxies there, docs/security.md)."""
    limiter: RateLimiter = request.app.state.public_limiter
    client = request.client.host if request.client else "unknown"
    limiter.hit(area, client)
    if key is not None:
        limiter.hit(key, client)
