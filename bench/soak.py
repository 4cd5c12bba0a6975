"""Load and faults on PostgreSQL against a real server (`make soak`).

1. Load: 10,000 inquiries posted by 32 clients, interleaved with assigns, answers and
   work-queue reads. Aim: 0 lost, 0 duplicated, 0 5xx; the inquiries, their "created",
   "assign" and "answer" events in the database match the 2xx the clients got.
2. Faults: the same load (2,000 more inquiries) while the service's database connections
   are killed three times (pg_terminate_backend). Aim: every 5xx is a 503 with
   Retry-After (clients retry it), the service answers a database read again within 5 s
   of each kill, and the same database check holds (nothing half-written).
3. A locked inquiry: another transaction holds its row while 50 actions on it arrive at
   once. Aim: every action answers within lock_timeout + 1 s with 503, 409 or 412, and
   an unrelated read meanwhile answers in under 100 ms.

Each check prints PASS or MISS; the exit status is 1 on any MISS. The GET /healthz rate
measured in the same run is printed for scale. Needs a PostgreSQL server
(BENCH_POSTGRES_URL, default the local test server); a database is created for the run
and dropped afterwards. Run: `make soak` or `.venv/bin/python -m bench.soak`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import platform
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text

from bench.loadgen import load, request_bytes
from bench.server import create_database, drop_database, running_server

CLIENTS = int(os.environ.get("SOAK_CLIENTS", "32"))
LOAD_INQUIRIES = int(os.environ.get("SOAK_INQUIRIES", "10000"))
FAULT_INQUIRIES = int(os.environ.get("SOAK_FAULT_INQUIRIES", "2000"))
KILLS = 3
RECOVERY_SECONDS = 5.0
PARALLEL_ACTIONS = 50
READ_LIMIT_MS = 100.0
OFFICE = "KANWIL-ACEH"
OFFICER = "soak-officer"

CHECKS: list[bool] = []


def check(ok: bool, line: str) -> None:
    CHECKS.append(ok)
    print(f"  {'PASS' if ok else 'MISS'}  {line}", flush=True)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closed it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(
        self, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> Reply:
        payload = b"" if body is None else json.dumps(body).encode()
        raw = request_bytes(method, path, self.host, payload, headers)
        for attempt in range(2):
            if self.streams is None:
                self.streams = await asyncio.open_connection("127.0.0.1", self.port)
            reader, writer = self.streams
            try:
                writer.write(raw)
                return await _read(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                writer.close()
                self.streams = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()


async def _read(reader: asyncio.StreamReader) -> Reply:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name:
            headers[name.strip().lower().decode()] = value.strip().decode()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return Reply(status, headers, body)


@dataclass
class Tally:
    """What the clients saw."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    created: int = 0
    assigned: int = 0
    answered: int = 0
    bad_5xx: list[str] = field(default_factory=list)
    retried_503: int = 0


def _inquiry(run: str, i: int) -> dict[str, Any]:
    return {
        "office_code": OFFICE,
        "channel": "webchat",
        "channel_message_id": f"soak-{run}-{i}",
        "requester": {"name": "Pemohon Soak", "email": f"p{i}@example.com"},
        "subject": "Pertanyaan",
        "message": "Bagaimana cara mengurus kiriman yang tertahan?",
        "documents": [{"type": "awb", "number": "126-12345675"}],
    }


async def _call(
    client: Client,
    tally: Tally,
    kind: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Any = None,
    *,
    retry: bool,
) -> Reply:
    """One request; a 503 with Retry-After is retried (after the wait it asks for) when
    ``retry``, any other 5xx is recorded as bad."""
    while True:
        reply = await client.send(method, path, headers, body)
        tally.statuses[(kind, reply.status)] += 1
        if reply.status < 500:
            return reply
        if reply.status == 503 and "retry-after" in reply.headers and retry:
            tally.retried_503 += 1
            await asyncio.sleep(min(float(reply.headers["retry-after"]), 5.0))
            continue
        if reply.status != 503 or "retry-after" not in reply.headers or not retry:
            tally.bad_5xx.append(f"{kind} {reply.status} {reply.body[:120]!r}")
        return reply


async def _worker(
    port: int,
    tokens: dict[str, dict[str, str]],
    run: str,
    numbers: itertools.count[int],
    total: int,
    tally: Tally,
    *,
    retry: bool,
) -> None:
    client = Client(port)
    integration, officer = tokens["integration"], tokens["officer"]
    try:
        while (i := next(numbers)) < total:
            reply = await _call(
                client,
                tally,
                "post",
                "POST",
                "/v1/inquiries",
                integration,
                _inquiry(run, i),
                retry=retry,
            )
            if reply.status != 201:
                continue
            tally.created += 1
            iid = reply.json()["id"]
            if i % 4 in (0, 1):
                assigned = await _call(
                    client,
                    tally,
                    "assign",
                    "POST",
                    f"/v1/inquiries/{iid}/assign",
                    officer,
                    {"assignee": OFFICER},
                    retry=retry,
                )
                tally.assigned += assigned.status == 200
            if i % 4 == 1:
                answer = await _call(
                    client,
                    tally,
                    "answer",
                    "POST",
                    f"/v1/inquiries/{iid}/answer",
                    officer,
                    {"message": "Silakan lengkapi dokumen di kantor kami."},
                    retry=retry,
                )
                tally.answered += answer.status == 200
            if i % 4 == 2:
                await _call(
                    client,
                    tally,
                    "queue",
                    "GET",
                    "/v1/inquiries?limit=50",
                    officer,
                    retry=retry,
                )
    finally:
        client.close()


async def _load(
    port: int,
    tokens: dict[str, dict[str, str]],
    run: str,
    total: int,
    tally: Tally,
    *,
    retry: bool,
) -> float:
    numbers = itertools.count()
    started = time.perf_counter()
    await asyncio.gather(
        *(_worker(port, tokens, run, numbers, total, tally, retry=retry) for _ in range(CLIENTS))
    )
    return time.perf_counter() - started


def _database_counts(url: str, run: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        row = connection.execute(
            text(
                """
                SELECT
                  (SELECT count(*) FROM inquiry i
                     JOIN inquiry_message m ON m.inquiry_id = i.id AND m.direction = 'inbound'
                    WHERE m.channel_message_id LIKE :run) AS inquiries,
                  (SELECT count(DISTINCT m.channel_message_id) FROM inquiry_message m
                    WHERE m.channel_message_id LIKE :run) AS distinct_messages,
                  (SELECT count(*) FROM inquiry_event e WHERE e.action = 'created'
                     AND e.inquiry_id IN (SELECT inquiry_id FROM inquiry_message
                                           WHERE channel_message_id LIKE :run)) AS created,
                  (SELECT count(*) FROM inquiry_event e WHERE e.action = 'assign'
                     AND e.inquiry_id IN (SELECT inquiry_id FROM inquiry_message
                                           WHERE channel_message_id LIKE :run)) AS assigned,
                  (SELECT count(*) FROM inquiry_event e WHERE e.action = 'answer'
                     AND e.inquiry_id IN (SELECT inquiry_id FROM inquiry_message
                                           WHERE channel_message_id LIKE :run)) AS answered,
                  (SELECT count(*) FROM inquiry i WHERE i.status = 'answered'
                     AND i.id IN (SELECT inquiry_id FROM inquiry_message
                                   WHERE channel_message_id LIKE :run)) AS answered_status
                """
            ),
            {"run": f"soak-{run}-%"},
        ).one()
    engine.dispose()
    return dict(row._mapping)


def _report_load(label: str, tally: Tally, seconds: float, url: str, run: str, total: int) -> None:
    requests = sum(tally.statuses.values())
    by_kind = ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(tally.statuses.items()))
    print(f"  {requests} requests in {seconds:.1f} s ({requests / seconds:.0f} req/s): {by_kind}")
    counts = _database_counts(url, run)
    print(f"  database: {counts}")
    check(not tally.bad_5xx, f"{label}: no 5xx but a 503 with Retry-After ({tally.bad_5xx[:3]})")
    check(
        tally.created == total and counts["inquiries"] == tally.created,
        f"{label}: {tally.created} of {total} posts got 201, database holds "
        f"{counts['inquiries']} (0 lost)",
    )
    check(
        counts["distinct_messages"] == counts["inquiries"] == counts["created"],
        f"{label}: {counts['distinct_messages']} distinct messages, {counts['created']} "
        "'created' events (0 duplicated)",
    )
    check(
        counts["assigned"] == tally.assigned
        and counts["answered"] == tally.answered == counts["answered_status"],
        f"{label}: assigns 200/db {tally.assigned}/{counts['assigned']}, answers 200/db/status "
        f"{tally.answered}/{counts['answered']}/{counts['answered_status']} (nothing half-written)",
    )


def _kill_connections(url: str, database: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        killed = connection.execute(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                "FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            ),
            {"db": database},
        ).scalar_one()
        connection.commit()
    engine.dispose()
    return int(killed)


async def _faults(
    port: int, tokens: dict[str, dict[str, str]], url: str, database: str, run: str
) -> None:
    tally = Tally()
    recoveries: list[float] = []
    killed: list[int] = []

    async def killer() -> None:
        probe = Client(port)
        for _ in range(KILLS):
            await asyncio.sleep(2.0)
            killed.append(await asyncio.to_thread(_kill_connections, url, database))
            after = time.perf_counter()
            while True:
                reply = await probe.send("GET", "/v1/inquiries?limit=1", tokens["officer"])
                if reply.status == 200:
                    break
                await asyncio.sleep(0.05)
            recoveries.append(time.perf_counter() - after)
        probe.close()

    load_task = asyncio.create_task(_load(port, tokens, run, FAULT_INQUIRIES, tally, retry=True))
    await killer()
    seconds = await load_task
    print(
        f"  killed {killed} connections; a database read answered again after "
        + ", ".join(f"{r * 1000:.0f} ms" for r in recoveries)
    )
    print(f"  503 with Retry-After (retried by the clients): {tally.retried_503}")
    check(
        len(recoveries) == KILLS and max(recoveries) < RECOVERY_SECONDS,
        f"faults: recovered by itself after each of {KILLS} kills within {RECOVERY_SECONDS:.0f} s "
        f"(slowest {max(recoveries) * 1000:.0f} ms)",
    )
    _report_load("faults", tally, seconds, url, run, FAULT_INQUIRIES)


async def _locked(
    port: int, tokens: dict[str, dict[str, str]], url: str, run: str, lock_timeout: float
) -> None:
    setup = Client(port)
    created = await setup.send("POST", "/v1/inquiries", tokens["integration"], _inquiry(run, 0))
    other = await setup.send("POST", "/v1/inquiries", tokens["integration"], _inquiry(run, 1))
    assert created.status == other.status == 201, (created.body, other.body)
    iid, other_id = created.json()["id"], other.json()["id"]
    etag = created.headers["etag"]
    setup.close()
    officer = tokens["officer"]
    actions = [
        ("assign", {"assignee": OFFICER}),
        ("request-info", {"message": "Mohon kirimkan nomor AWB."}),
        ("answer", {"message": "Silakan datang ke kantor kami."}),
    ]

    holder = create_engine(url)
    connection = holder.connect()
    connection.execute(
        text("SELECT id FROM inquiry WHERE id = :id FOR UPDATE"), {"id": uuid.UUID(iid)}
    )

    async def act(n: int) -> tuple[int, float]:
        client = Client(port)
        await client.send("GET", "/healthz", {})  # connected before the start
        name, body = actions[n % len(actions)]
        headers = {**officer, "If-Match": etag} if n % 2 else officer
        started = time.perf_counter()
        reply = await client.send("POST", f"/v1/inquiries/{iid}/{name}", headers, body)
        client.close()
        return reply.status, time.perf_counter() - started

    async def reads() -> list[tuple[int, float]]:
        client = Client(port)
        await client.send("GET", "/healthz", {})
        await asyncio.sleep(0.5)
        seen = []
        for path in ("/v1/offices", f"/v1/inquiries/{other_id}", "/v1/offices"):
            started = time.perf_counter()
            reply = await client.send("GET", path, officer)
            seen.append((reply.status, (time.perf_counter() - started) * 1000))
            await asyncio.sleep(0.5)
        client.close()
        return seen

    release = threading.Timer(lock_timeout + 2.0, connection.rollback)
    release.start()
    results, seen_reads = await asyncio.gather(
        asyncio.gather(*(act(n) for n in range(PARALLEL_ACTIONS))), reads()
    )
    release.join()
    connection.close()
    holder.dispose()
    statuses = Counter(status for status, _ in results)
    slowest = max(seconds for _, seconds in results)
    print(
        f"  {PARALLEL_ACTIONS} actions: {dict(statuses)}, slowest {slowest:.2f} s; reads "
        + ", ".join(f"{status} in {ms:.1f} ms" for status, ms in seen_reads)
    )
    check(
        set(statuses) <= {503, 409, 412} and slowest <= lock_timeout + 1.0,
        f"locked inquiry: {PARALLEL_ACTIONS} actions answered 503/409/412 within lock_timeout "
        f"+ 1 s = {lock_timeout + 1.0:.1f} s (slowest {slowest:.2f} s)",
    )
    worst = max(ms for _, ms in seen_reads)
    check(
        all(status == 200 for status, _ in seen_reads) and worst < READ_LIMIT_MS,
        f"locked inquiry: unrelated reads meanwhile answered 200 in under {READ_LIMIT_MS:.0f} ms "
        f"(slowest {worst:.1f} ms)",
    )


def _tokens(env: dict[str, str]) -> dict[str, dict[str, str]]:
    os.environ.update({k: v for k, v in env.items() if k.startswith("INFODESK_")})
    from app.core.config import get_settings
    from app.core.security import create_token

    get_settings.cache_clear()
    settings = get_settings()

    def bearer(sub: str, roles: list[str]) -> dict[str, str]:
        token = create_token(settings, sub=sub, roles=roles, office=OFFICE)
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    return {
        "integration": bearer("soak-integration", ["integration"]),
        "officer": bearer(OFFICER, ["officer"]),
    }


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print(
        f"machine: {platform.machine()} cores={os.cpu_count()} python={platform.python_version()}"
    )
    print(f"soak: {CLIENTS} clients, 1 server worker, PostgreSQL")
    name, url = create_database("infodesk_soak")
    try:
        # The expected 503s are logged as warnings; errors still show.
        with running_server(url, log_level="ERROR") as (port, env):
            tokens = _tokens(env)
            from app.core.config import get_settings

            lock_timeout = get_settings().db_lock_timeout_ms / 1000
            health = load(
                "GET /healthz",
                "127.0.0.1",
                port,
                lambda i: request_bytes("GET", "/healthz", f"127.0.0.1:{port}"),
                connections=CLIENTS,
                seconds=3,
            )
            print(health.line())
            print(f"1. load: {LOAD_INQUIRIES} inquiries with assigns, answers and queue reads")
            run = uuid.uuid4().hex[:8]
            tally = Tally()
            seconds = asyncio.run(_load(port, tokens, run, LOAD_INQUIRIES, tally, retry=False))
            rps = sum(tally.statuses.values()) / seconds
            print(f"  load throughput {rps:.0f} req/s: {rps / health.rps:.1%} of /healthz")
            _report_load("load", tally, seconds, url, run, LOAD_INQUIRIES)
            print(f"2. faults: {FAULT_INQUIRIES} inquiries, connections killed {KILLS} times")
            asyncio.run(_faults(port, tokens, url, name, uuid.uuid4().hex[:8]))
            print(
                f"3. locked inquiry: {PARALLEL_ACTIONS} parallel actions, lock_timeout "
                f"{lock_timeout:.1f} s"
            )
            asyncio.run(_locked(port, tokens, url, uuid.uuid4().hex[:8], lock_timeout))
    finally:
        drop_database(name)
    missed = CHECKS.count(False)
    print(f"soak: {len(CHECKS) - missed} PASS, {missed} MISS")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
