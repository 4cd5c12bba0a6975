"""Inquiry intake and the work queue on PostgreSQL.

1. Intake: POST /v1/inquiries at 32 concurrent clients, each post a new message, against
   GET /healthz on the same server in the same run (aim: >= 0.20x healthz throughput,
   p99 <= 100 ms). Loaded by wrk when the machine has it, else by bench/loadgen.py.
2. The first page of the work queue (GET /v1/inquiries, soonest due first) with 1,000,000
   inquiries in the database (aim: p99 <= 25 ms).

Needs a PostgreSQL server (BENCH_POSTGRES_URL, default the local test server); a database
is created for the run and dropped afterwards.
Run: `make bench` or `.venv/bin/python -m bench.bench_inquiries`.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text

from bench import wrk
from bench.loadgen import LoadResult, load, request_bytes
from bench.server import cpu_seconds, create_database, drop_database, running_server

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
QUEUE_ROWS = int(os.environ.get("BENCH_QUEUE_ROWS", "1000000"))
QUEUE_SAMPLES = int(os.environ.get("BENCH_QUEUE_SAMPLES", "300"))

FILL = """
INSERT INTO inquiry (
    id, reference, office_code, channel, policy_code, status, subject, message,
    requester_name, requester_email, received_at, due_at, at_risk_at, paused_working_seconds,
    survey_code, created_by, version, created_at, updated_at
)
SELECT
    gen_random_uuid(),
    'B' || lpad(i::text, 9, '0'),
    (ARRAY['KANWIL-ACEH','KPPBC-BANDA-ACEH','KPPBC-LHOKSEUMAWE','KPPBC-LANGSA',
           'KPPBC-MEULABOH'])[1 + i % 5],
    (ARRAY['email','webchat','social'])[1 + i % 3],
    'default',
    (ARRAY['new','in_progress','awaiting_requester','answered','escalated','resolved',
           'closed'])[1 + (i / 7) % 7],
    'Pertanyaan ' || i,
    'Isi pertanyaan nomor ' || i,
    'Pemohon ' || i,
    'p' || i || '@example.com',
    t,
    t + interval '2 days',
    t + interval '1 day',
    0,
    'bench' || i,
    'bench',
    1,
    t,
    t
FROM (
    SELECT i, timestamptz '2024-01-01 00:00+07' + (i * interval '1 minute') AS t
    FROM generate_series(1, :rows) AS i
) AS rows
"""


def _token(env: dict[str, str], role: str) -> str:
    os.environ.update({k: v for k, v in env.items() if k.startswith("INFODESK_")})
    from app.core.config import get_settings
    from app.core.security import create_token

    get_settings.cache_clear()
    return create_token(get_settings(), sub=f"bench-{role}", roles=[role], office="KANWIL-ACEH")


# Issue 9's aims for intake at 32 connections.
INTAKE_RATIO_AIM = 0.20
INTAKE_P99_AIM_MS = 100.0


def intake_body(message_id: str) -> dict[str, object]:
    """A new web-chat message with one document."""
    return {
        "office_code": "KANWIL-ACEH",
        "channel": "webchat",
        "channel_message_id": message_id,
        "requester": {"name": "Pemohon", "email": "pemohon@example.com"},
        "subject": "Pertanyaan",
        "message": "Bagaimana cara mengurus kiriman yang tertahan?",
        "documents": [{"type": "awb", "number": "126-12345675"}],
    }


def _intake(port: int, env: dict[str, str]) -> None:
    host = f"127.0.0.1:{port}"
    token = _token(env, "integration")
    if wrk.available():
        started = cpu_seconds(env)
        health: LoadResult = wrk.load(
            "GET /healthz", port, "/healthz", connections=CONNECTIONS, seconds=SECONDS, warmup=0
        )
        health_cpu = (cpu_seconds(env) - started) / health.requests
        print(health.line())
        wrk.load(
            "POST /v1/inquiries (warm-up)",
            port,
            "/v1/inquiries",
            method="POST",
            token=token,
            template=json.dumps(intake_body("warm-{{id}}")).encode(),
            connections=CONNECTIONS,
            seconds=1,
            warmup=0,
        )
        started = cpu_seconds(env)
        intake: LoadResult = wrk.load(
            "POST /v1/inquiries",
            port,
            "/v1/inquiries",
            method="POST",
            token=token,
            template=json.dumps(intake_body("bench-{{id}}")).encode(),
            connections=CONNECTIONS,
            seconds=SECONDS,
            warmup=0,
        )
        intake_cpu = (cpu_seconds(env) - started) / intake.requests
        print(intake.line())
        print(
            f"server CPU per request: healthz {health_cpu * 1000:.2f} ms, intake "
            f"{intake_cpu * 1000:.2f} ms (healthz / intake: {health_cpu / intake_cpu:.2f}x)"
        )
    else:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        run = uuid.uuid4().hex[:8]

        def post(i: int) -> bytes:
            body = json.dumps(intake_body(f"bench-{run}-{i}-{uuid.uuid4().hex[:6]}")).encode()
            return request_bytes("POST", "/v1/inquiries", host, body, headers)

        healthz = request_bytes("GET", "/healthz", host)
        health = load(
            "GET /healthz",
            "127.0.0.1",
            port,
            lambda i: healthz,
            connections=CONNECTIONS,
            seconds=SECONDS,
        )
        print(health.line())
        intake = load(
            "POST /v1/inquiries",
            "127.0.0.1",
            port,
            post,
            connections=CONNECTIONS,
            seconds=SECONDS,
            expect=201,
        )
        print(intake.line())
    ratio = intake.rps / health.rps
    p99 = intake.percentile(99)
    print(
        f"intake / healthz throughput: {ratio:.2f}x (aim >= {INTAKE_RATIO_AIM:.2f}x) "
        f"{'PASS' if ratio >= INTAKE_RATIO_AIM else 'MISS'}; p99 {p99:.1f} ms "
        f"(aim <= {INTAKE_P99_AIM_MS:.0f} ms) {'PASS' if p99 <= INTAKE_P99_AIM_MS else 'MISS'}"
        + ("" if intake.errors == 0 else f"; {intake.errors} ERRORS")
    )


def _queue(port: int, env: dict[str, str], url: str) -> None:
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text(FILL), {"rows": QUEUE_ROWS})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE inquiry"))
        total = connection.execute(text("SELECT count(*) FROM inquiry")).scalar_one()
    engine.dispose()
    print(
        f"work queue: {total:,} inquiries in the database "
        f"(filled in {time.perf_counter() - started:.1f} s)"
    )
    token = _token(env, "officer")
    for label, query in (
        ("first page, soonest due", "limit=50"),
        ("first page, status=new", "status=new&limit=50"),
        ("first page, newest first", "sort=-received_at&limit=50"),
    ):
        latencies = []
        for _ in range(QUEUE_SAMPLES):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/inquiries?{query}",
                headers={"Authorization": f"Bearer {token}"},
            )
            t0 = time.perf_counter()
            with urllib.request.urlopen(request) as response:
                items = json.loads(response.read())["items"]
            latencies.append((time.perf_counter() - t0) * 1000)
        latencies.sort()
        p99 = latencies[int(0.99 * (len(latencies) - 1))]
        print(
            f"  {label:<28} {len(items)} items  p50 {statistics.median(latencies):6.2f} ms  "
            f"p99 {p99:6.2f} ms (aim <= 25 ms) {'PASS' if p99 <= 25 else 'MISS'}"
        )


def main() -> int:
    print(
        f"machine: {platform.machine()} cores={os.cpu_count()} python={platform.python_version()}"
    )
    print(
        f"load: {CONNECTIONS} keep-alive connections, {SECONDS:.0f} s per run, 1 server worker, "
        f"PostgreSQL, {'wrk' if wrk.available() else 'bench/loadgen.py'}"
    )
    name, url = create_database()
    try:
        with running_server(url) as (port, env):
            _intake(port, env)
            _queue(port, env, url)
    finally:
        drop_database(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
