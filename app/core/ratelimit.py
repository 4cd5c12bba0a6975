"""Rate limits of the unauthenticated endpoints.

A moving window: at most ``limit`` calls in any 60 seconds per key. Counts live in this
process's memory by default (one process), or in Redis when several processes serve
(``INFODESK_RATE_LIMIT_STORAGE=redis://host:6379/0``) through the maintained ``limits``
package, so that the limit is the configured one whatever the number of workers.

In memory the windows are kept by ``LocalWindows`` below, not by ``limits``'
``MemoryStorage``: that one never forgets a key it has seen (an emptied window stays in
its table) and rescans the whole table every 10 ms on a timer thread while calls come in.
The public endpoints count one key per survey code or ticket number and address, so the
scan grows with every requester and holds the interpreter lock: measured with
`python -m bench.bench_survey` (SQLite, 60,000 codes, one run each on a shared machine),
server CPU per submission fell from 1,712 us to 1,449 us with ``LocalWindows``, which
forgets a key one window after its last call and sweeps once per window.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import lru_cache

from fastapi import Request
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.core.errors import RateLimited

logger = logging.getLogger("infodesk.ratelimit")

WINDOW_SECONDS = 60.0


class LocalWindows:
    """Moving windows of one process: for each key, the instants of its calls in the last
    ``window`` seconds (at most ``limit`` of them)."""

    def __init__(
        self, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window = window
        self.clock = clock
        self._calls: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + window

    def hit(self, key: tuple[str, ...], limit: int) -> float | None:
        """Count a call for ``key``: None when within ``limit``, else the seconds until
        the window has room again (the call is not counted)."""
        now = self.clock()
        start = now - self.window
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(start)
                self._next_sweep = now + self.window
            calls = self._calls.get(key)
            if calls is None:
                calls = self._calls[key] = deque()
            while calls and calls[0] <= start:
                calls.popleft()
            if len(calls) >= limit:
                return calls[-limit] + self.window - now
            calls.append(now)
            return None

    def __len__(self) -> int:
        return len(self._calls)

    def _sweep(self, start: float) -> None:
        # Keys whose last call left the window: their windows are empty.
        stale = [key for key, calls in self._calls.items() if not calls or calls[-1] <= start]
        for key in stale:
            del self._calls[key]


@lru_cache(maxsize=64)
def _per_minute(limit: int) -> RateLimitItem:
    return RateLimitItemPerMinute(limit)


class RateLimiter:
    """At most ``limit`` calls per minute for each key, in ``storage_uri``."""

    def __init__(
        self, limit: int, storage_uri: str = "memory://", prefix: str = "infodesk"
    ) -> None:
        self.limit = limit
        self.local: LocalWindows | None = None
        if storage_uri.startswith("memory"):
            self.local = LocalWindows()
            return
        self.storage = storage_from_string(storage_uri, wrap_exceptions=True, key_prefix=prefix)
        self.strategy = MovingWindowRateLimiter(self.storage)

    def close(self) -> None:
        """Close the connections to a shared store (none for memory)."""
        if self.local is not None:
            return
        client = getattr(self.storage, "storage", None)
        if client is not None and hasattr(client, "close"):
            client.close()
            client.connection_pool.disconnect()

    def hit(self, *key: str, limit: int | None = None) -> None:
        """Count a call for ``key``; RateLimited (429) when over the limit. When the shared
        store cannot be reached the call passes (logged): the limits guard against abuse,
        they must not take the public pages down with Redis."""
        limit = limit or self.limit
        if self.local is not None:
            wait = self.local.hit(key, limit)
            if wait is None:
                return
        else:
            wait = self._shared_hit(key, limit)
            if wait is None:
                return
        retry = max(1, math.ceil(wait))
        raise RateLimited("Too many lookups; try again later.", headers={"Retry-After": str(retry)})

    def _shared_hit(self, key: tuple[str, ...], limit: int) -> float | None:
        item = _per_minute(limit)
        try:
            if self.strategy.hit(item, *key):
                return None
            stats = self.strategy.get_window_stats(item, *key)
        except StorageError as exc:
            logger.warning("rate limit store unavailable: %s", type(exc.storage_error).__name__)
            return None
        return stats.reset_time - time.time()


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
