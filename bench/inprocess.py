"""The CPU time of one route, served in-process: requests handed to the ASGI application
one after the other (no HTTP server, no load generator, no other request in flight), so
that a change's effect on a route is measured without the machine's other load. With
``--profile``, cProfile of the event loop's thread (with ``--tottime``, ordered by each
function's own time); a synchronous endpoint's work runs in
worker threads, which cProfile does not see (use py-spy on this command for those).

Routes: ``healthz`` (the reference of every benchmark), ``calculate`` (POST
/v1/sla/calculate), ``intake`` (POST /v1/inquiries, a web-chat message with one
document), ``queue`` (GET /v1/inquiries?limit=50 over 20,000 inquiries), ``detail`` (GET
/v1/inquiries/{id}), and the actions ``assign``, ``request-info`` and ``answer``; ``detail``
and the actions each request on an inquiry of its own.

Needs a PostgreSQL server (BENCH_POSTGRES_URL, default the local test server); a
database is created for the run and dropped afterwards.
Run: `.venv/bin/python -m bench.inprocess intake [N] [--profile [--tottime]] [--statements]`
(N requests in five batches, default 1000: the least CPU per request of a batch and the
median are printed; ``--statements``: the SQL statements per request that go through
SQLAlchemy).
"""

from __future__ import annotations

import cProfile
import gc
import json
import pstats
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import anyio
from fastapi import FastAPI
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from app.cli import migrate_and_seed
from app.core.config import get_settings
from app.core.security import create_token
from app.main import create_app
from bench.bench_api import calculations
from bench.bench_inquiries import ACTIONS, FILL, intake_body
from bench.bench_shortcuts import Call, json_call, send_one
from bench.server import in_process_database

ROUTES = (
    "healthz",
    "calculate",
    "intake",
    "queue",
    "detail",
    *(action for action, _ in ACTIONS),
)


async def _calls(
    app: FastAPI, route: str, tokens: dict[str, str], n: int
) -> tuple[Callable[[int], Call], int]:
    """How to make request ``i`` of ``route``, and the status it must get."""
    if route == "healthz":
        return lambda i: Call("GET", "/healthz"), 200
    if route == "calculate":
        bodies = calculations()
        officer = tokens["officer"]
        return lambda i: json_call("/v1/sla/calculate", officer, bodies[i % len(bodies)]), 200
    if route == "intake":
        integration = tokens["integration"]
        return lambda i: json_call("/v1/inquiries", integration, intake_body(f"m-{i}")), 201
    officer = ((b"authorization", f"Bearer {tokens['officer']}".encode()),)
    if route == "queue":
        return lambda i: Call("GET", "/v1/inquiries", query=b"limit=50", headers=officer), 200
    ids = []
    for i in range(n):
        status, body = await send_one(
            app, json_call("/v1/inquiries", tokens["integration"], intake_body(f"a-{i}"))
        )
        assert status == 201, body
        ids.append(json.loads(body)["id"])
    if route == "detail":
        return lambda i: Call("GET", f"/v1/inquiries/{ids[i]}", headers=officer), 200
    payload = dict(ACTIONS)[route]
    return lambda i: json_call(f"/v1/inquiries/{ids[i]}/{route}", tokens["officer"], payload), 200


class _Statements:
    """The statements SQLAlchemy executes while counting (``--statements``), by their
    first words; reads sent by ``app.core.db.read_in_session`` and on the event loop's own
    connections do not pass through it and are not counted."""

    def __init__(self) -> None:
        self.counting = False
        self.seen: Counter[str] = Counter()
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.counting:
            self.seen[" ".join(statement.split())[:60]] += 1

    def report(self, n: int) -> None:
        print(f"{sum(self.seen.values()) / n:.1f} statements per request through SQLAlchemy:")
        for statement, count in self.seen.most_common():
            print(f"  {count / n:4.1f}  {statement}")


async def _run(app: FastAPI, route: str, tokens: dict[str, str], n: int, profile: bool) -> None:
    warm = 100
    make, expect = await _calls(app, route, tokens, n + warm)
    for i in range(warm):
        status, body = await send_one(app, make(i))
        assert status == expect, (status, body[:300])
    gc.collect()
    gc.freeze()
    profiler = cProfile.Profile() if profile else None
    statements = _Statements() if "--statements" in sys.argv else None
    if statements:
        statements.counting = True
    # The requests in five batches: the least CPU per request of a batch is the figure
    # least disturbed by the machine's other work, the median the typical one.
    batches, costs = 5, []
    if profiler:
        profiler.enable()
    for b in range(batches):
        started = time.process_time()
        for i in range(warm + n * b // batches, warm + n * (b + 1) // batches):
            status, body = await send_one(app, make(i))
            assert status == expect, (status, body[:300])
        costs.append((time.process_time() - started) / (n // batches))
    if profiler:
        profiler.disable()
    if statements:
        statements.counting = False
    costs.sort()
    print(
        f"{route}: {costs[0] * 1e6:.0f} us of CPU per request at least,"
        f" {costs[batches // 2] * 1e6:.0f} us median of {batches} batches, {n} requests"
        + (" (profiler on)" if profiler else "")
    )
    if statements:
        statements.report(n)
    if profiler:
        order = "tottime" if "--tottime" in sys.argv else "cumulative"
        pstats.Stats(profiler).sort_stats(order).print_stats(50)


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if not args or args[0] not in ROUTES:
        print(
            f"usage: python -m bench.inprocess {{{'|'.join(ROUTES)}}} [N] [--profile]"
            " [--statements]"
        )
        return 2
    route, n = args[0], int(args[1]) if len(args) > 1 else 1000
    with in_process_database("infodesk_inprocess") as url:
        get_settings.cache_clear()
        migrate_and_seed()
        if route == "queue":
            engine = create_engine(url)
            with engine.begin() as connection:
                connection.execute(text(FILL), {"rows": 20000})
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE inquiry"))
            engine.dispose()
        settings = get_settings()
        tokens = {
            role: create_token(settings, sub=f"bench-{role}", roles=[role], office="KANWIL-ACEH")
            for role in ("officer", "integration")
        }
        app = create_app(settings)

        async def serve() -> None:
            async with app.router.lifespan_context(app):
                await _run(app, route, tokens, n, "--profile" in sys.argv)

        anyio.run(serve)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
