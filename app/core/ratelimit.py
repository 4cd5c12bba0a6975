"""A small in-process sliding-window rate limiter for unauthenticated endpoints."""

from __future__ import annotations

import threading
import time
from collections import deque

from app.core.errors import RateLimited


class RateLimiter:
    """At most ``limit`` calls per ``window`` seconds for each key."""

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count a call for ``key``; RateLimited (429) when over the limit."""
        now = time.monotonic()
        with self._lock:
            calls = self._calls.get(key)
            if calls is None:
                if len(self._calls) >= self.max_keys:
                    self._calls.clear()  # under a flood of keys, forget rather than grow
                calls = self._calls[key] = deque()
            while calls and now - calls[0] >= self.window:
                calls.popleft()
            if len(calls) >= self.limit:
                retry = max(1, int(self.window - (now - calls[0])) + 1)
                raise RateLimited(
                    "Too many lookups; try again later.", headers={"Retry-After": str(retry)}
                )
            calls.append(now)
