"""Waiting for a busy row without holding a worker thread.

Every write on one inquiry takes its row lock, so requests on one inquiry run one after
the other anyway. Without a gate each of them would wait for that lock in a worker thread
of its own: 50 actions on one locked inquiry occupy all 30 threads for ``lock_timeout``
and every other request of the process, reads included, queues behind them.

The gate lets the requests of this process on one row wait on the event loop instead, in
line, and only the first holds a thread (and a connection) while it waits for the
database. A request's whole wait, at the gate and then for the row lock, is bounded by
``INFODESK_DB_LOCK_TIMEOUT_MS``: past it the request gets 503 ``database_busy`` with
``Retry-After``, as a lock timeout in the database gives. Other processes still meet the
database's row lock, which stays the rule; the gate only keeps this process's threads free.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Request

from app.core.errors import RETRY_SOON, DatabaseBusy
from app.core.security import CurrentPrincipal

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RowGate:
    """One asyncio lock per key in use; a key's lock is dropped when nobody holds or
    waits for it, so the table holds only busy rows."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, key: Hashable, budget: float) -> AsyncIterator[float]:
        """Hold ``key``'s turn; yields the seconds spent waiting for it. Raises
        ``DatabaseBusy`` when the turn did not come within ``budget`` seconds."""
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        started = time.monotonic()
        try:
            try:
                async with asyncio.timeout(budget):
                    await lock.acquire()
            except TimeoutError:
                raise DatabaseBusy(
                    "The resource is busy; try again shortly.", headers=RETRY_SOON
                ) from None
            try:
                yield time.monotonic() - started
            finally:
                lock.release()
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


# Where a gated request keeps the instant its wait for the row must end (time.monotonic);
# the request's session shortens the database's lock wait to it (app.core.db).
LOCK_DEADLINE = "lock_deadline"


def row_gate(table: str, parameter: str) -> Callable[..., AsyncIterator[None]]:
    """A dependency that gives the writes of this process on the row of ``table`` named by
    the path parameter ``parameter`` their turn one at a time (reads pass). Declare it
    before the session, so that the turn ends after the request's transaction commits."""

    # After the caller is known: an anonymous flood never takes a turn.
    async def gate(request: Request, _principal: CurrentPrincipal) -> AsyncIterator[None]:
        key = request.path_params.get(parameter)
        if request.method in _READ_METHODS or key is None:
            yield
            return
        gates: RowGate = request.app.state.row_gate
        budget = request.app.state.settings.db_lock_timeout_ms / 1000
        async with gates.hold((table, str(key)), budget) as waited:
            if waited > 0.001:
                # The rest of the budget is what the database may still wait for the row.
                setattr(request.state, LOCK_DEADLINE, time.monotonic() + budget - waited)
            yield

    return gate


def lock_deadline(request: Any) -> float | None:
    """The instant a gated request's wait for its row must end, if it waited at the gate."""
    state = getattr(request, "state", None)
    return getattr(state, LOCK_DEADLINE, None) if state is not None else None
