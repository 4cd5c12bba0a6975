"""The reports on PostgreSQL with 1,000,000 inquiries and 200,000 survey responses.

Each report (IKM, SLA by month, SLA by day, officers; JSON and CSV) for one office and
one year through the HTTP endpoint of a real uvicorn server: 20 runs each after one
warm-up, aim p99 <= 1 s (with 20 runs, the slowest run).

The data is generated in SQL (``generate_series``), not through the API: 5 offices,
received every ~60 s from 2025-01-01 to late 2026, 90% given a first response by one of
20 officers per office, one survey response for every fourth responded inquiry in the
first 800,000.

Needs a PostgreSQL server (BENCH_POSTGRES_URL, default the local test server); a database
is created for the run and dropped afterwards.
Run: `.venv/bin/python -m bench.bench_reports`.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text

from bench.server import create_database, drop_database, running_server

ROWS = int(os.environ.get("BENCH_REPORT_ROWS", "1000000"))
SURVEYS = int(os.environ.get("BENCH_REPORT_SURVEYS", "200000"))
RUNS = int(os.environ.get("BENCH_REPORT_RUNS", "20"))
OFFICE, YEAR = "KANWIL-ACEH", 2025
AIM_MS = 1000.0

FILL_INQUIRIES = """
INSERT INTO inquiry (
    id, reference, office_code, channel, policy_code, status, subject, message,
    requester_name, requester_email, received_at, due_at, at_risk_at, paused_working_seconds,
    first_response_at, sla_outcome, first_responder, first_response_working_seconds,
    answered_at, escalated_at, survey_code, created_by, version, created_at, updated_at
)
SELECT
    gen_random_uuid(),
    'R' || lpad(i::text, 9, '0'),
    (ARRAY['KANWIL-ACEH','KPPBC-BANDA-ACEH','KPPBC-LHOKSEUMAWE','KPPBC-LANGSA',
           'KPPBC-MEULABOH'])[1 + i % 5],
    (ARRAY['email','webchat','social'])[1 + i % 3],
    'default',
    CASE WHEN responded THEN (CASE WHEN escalated THEN 'escalated' ELSE 'answered' END)
         ELSE 'new' END,
    'Pertanyaan ' || i,
    'Isi pertanyaan nomor ' || i,
    'Pemohon ' || i,
    'p' || i || '@example.com',
    t,
    t + interval '2 days',
    t + interval '1 day',
    0,
    CASE WHEN responded THEN t + response END,
    CASE WHEN responded THEN (CASE WHEN response <= interval '2 days' THEN 'met'
                                   ELSE 'missed' END) END,
    CASE WHEN responded THEN 'officer-' || (i % 5) || '-' || ((i / 5) % 20) END,
    CASE WHEN responded THEN (extract(epoch FROM response) / 3)::int END,
    CASE WHEN responded AND NOT escalated THEN t + response END,
    CASE WHEN responded AND escalated THEN t + response END,
    'rs' || i,
    'bench',
    1,
    t,
    t
FROM (
    SELECT i, t,
           i % 10 <> 0 AS responded,
           i % 7 = 0 AS escalated,
           make_interval(secs => 600 + (hashint4(i)::bigint & 262143)) AS response
    FROM (
        SELECT i, timestamptz '2025-01-01 00:00+07' + (i * interval '60 seconds') AS t
        FROM generate_series(1, :rows) AS i
    ) AS base
) AS rows
"""

FILL_SURVEYS = """
INSERT INTO survey_response (
    inquiry_id, office_code, channel, u1, u2, u3, u4, u5, u6, u7, u8, u9, submitted_at
)
SELECT id, office_code, channel,
       1 + (h & 3), 1 + ((h >> 2) & 3), 2 + ((h >> 4) & 1), 4, 2 + ((h >> 5) & 1),
       3 + ((h >> 6) & 1), 3 + ((h >> 7) & 1), 2 + ((h >> 8) & 1), 1 + ((h >> 9) & 3),
       first_response_at + interval '1 day'
FROM (
    SELECT id, office_code, channel, first_response_at, hashtext(reference) AS h
    FROM inquiry
    WHERE first_response_at IS NOT NULL
    ORDER BY reference
    LIMIT :surveys
) AS served
"""


def _token(env: dict[str, str]) -> str:
    os.environ.update({k: v for k, v in env.items() if k.startswith("INFODESK_")})
    from app.core.config import get_settings
    from app.core.security import create_token

    get_settings.cache_clear()
    return create_token(get_settings(), sub="bench-head", roles=["head"], office=OFFICE)


def _fill(url: str) -> None:
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text(FILL_INQUIRIES), {"rows": ROWS})
        connection.execute(text(FILL_SURVEYS), {"surveys": SURVEYS})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE inquiry"))
        connection.execute(text("VACUUM ANALYZE survey_response"))
        inquiries = connection.execute(text("SELECT count(*) FROM inquiry")).scalar_one()
        surveys = connection.execute(text("SELECT count(*) FROM survey_response")).scalar_one()
        in_scope = connection.execute(
            text(
                "SELECT count(*) FROM inquiry WHERE office_code = :office "
                "AND received_at >= :lo AND received_at < :hi"
            ),
            {"office": OFFICE, "lo": f"{YEAR}-01-01 00:00+07", "hi": f"{YEAR + 1}-01-01 00:00+07"},
        ).scalar_one()
    engine.dispose()
    print(
        f"data: {inquiries:,} inquiries, {surveys:,} survey responses "
        f"(filled in {time.perf_counter() - started:.1f} s); "
        f"{OFFICE} received in {YEAR}: {in_scope:,}"
    )


def _measure(port: int, token: str, path: str, accept: str) -> tuple[list[float], int]:
    def once() -> tuple[float, int]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}",
            headers={"Authorization": f"Bearer {token}", "Accept": accept},
        )
        t0 = time.perf_counter()
        with urllib.request.urlopen(request) as response:
            body = response.read()
        return (time.perf_counter() - t0) * 1000, len(body)

    once()  # warm-up: connection pool, calendar and plan caches
    samples = [once() for _ in range(RUNS)]
    return sorted(ms for ms, _ in samples), samples[-1][1]


def main() -> int:
    print(
        f"machine: {platform.machine()} cores={os.cpu_count()} python={platform.python_version()}"
    )
    print(f"reports for {OFFICE}, {YEAR}-01-01..{YEAR}-12-31; {RUNS} runs each, 1 server worker")
    name, url = create_database("infodesk_bench_reports")
    misses = 0
    try:
        with running_server(url) as (port, env):
            _fill(url)
            token = _token(env)
            period = f"office_code={OFFICE}&from={YEAR}-01-01&to={YEAR}-12-31"
            for label, path in (
                ("IKM", f"/v1/reports/ikm?{period}"),
                ("SLA by month", f"/v1/reports/sla?{period}&group_by=month"),
                ("SLA by day", f"/v1/reports/sla?{period}&group_by=day"),
                ("SLA by channel", f"/v1/reports/sla?{period}&group_by=channel"),
                ("officers", f"/v1/reports/officers?{period}"),
            ):
                for accept in ("application/json", "text/csv"):
                    latencies, size = _measure(port, token, path, accept)
                    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
                    ok = p99 <= AIM_MS
                    misses += not ok
                    kind = "csv " if accept == "text/csv" else "json"
                    print(
                        f"  {label:<15} {kind} {size:>7} B  "
                        f"p50 {statistics.median(latencies):7.1f} ms  p99 {p99:7.1f} ms "
                        f"(aim <= {AIM_MS:.0f} ms) {'PASS' if ok else 'MISS'}"
                    )
    finally:
        drop_database(name)
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
