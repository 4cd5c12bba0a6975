"""A small in-process sliding-window rate limiter for unauthenticated endpoints.

Per process: with several workers each keeps its own counts, so the effective limit is
the configured one times the workers, still enough to stop guessing at scale.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

from fastapi import Request

from app.core.errors import RateLimited


class RateLimiter:
    """At most ``limit`` calls per ``window`` seconds for each key."""

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._calls: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int | None = None) -> None:
        """Count a call for ``key``; RateLimited (429) when over the limit."""
        limit = limit or self.limit
        now = time.monotonic()
        with self._lock:
            calls = self._calls.get(key)
            if calls is None:
                # Under a flood of keys, forget the least recently seen, not everyone.
                while len(self._calls) >= self.max_keys:
                    self._calls.popitem(last=False)
                calls = self._calls[key] = deque()
            else:
                self._calls.move_to_end(key)
            while calls and now - calls[0] >= self.window:
                calls.popleft()
            if len(calls) >= limit:
                retry = max(1, int(self.window - (now - calls[0])) + 1)
                raise RateLimited(
                    "Too many lookups; try again later.", headers={"Retry-After": str(retry)}
                )
            calls.append(now)


def limit_public(
    request: Request, key: str | None = None, *, factor: int = 3, area: str = "client"
) -> None:
    """The public endpoints' limit: one budget per client address (``area`` names it),
    and, for ``key`` (a code or number being looked up), ``factor`` times that budget of
    its own against guessing from many addresses. RateLimited (429) when over either.

    The client address is the proxy's unless uvicorn trusts it for X-Forwarded-For
    (FORWARDED_ALLOW_IPS)."""
    limiter: RateLimiter = request.app.state.public_limiter
    client = request.client.host if request.client else "unknown"
    limiter.hit(f"{area}:{client}")
    if key is not None:
        limiter.hit(key, limiter.limit * factor)
