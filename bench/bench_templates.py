"""Answers from templates on PostgreSQL, one client.

POST /v1/inquiries/{id}/answer with {"template": code} against the same route with a
hand-written {"message"} of the same length, alternating on fresh inquiries so that both
see the same database and the same noise, and GET /healthz in the same run. Aim: the
template's lookup and filling add at most 10% to the answer's median time.

Needs a PostgreSQL server (BENCH_POSTGRES_URL, default the local test server); a database
is created for the run and dropped afterwards.
Run: `.venv/bin/python -m bench.bench_templates`.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.server import create_database, drop_database, running_server, timed_call

SAMPLES = int(os.environ.get("BENCH_TEMPLATE_SAMPLES", "300"))
TEMPLATE = (
    "Kiriman Anda ({{referensi}}) memerlukan invoice. Silakan lengkapi melalui portal "
    "paling lambat {{batas_waktu}}; {{kantor}} akan memprosesnya."
)


def _token(env: dict[str, str], role: str) -> str:
    os.environ.update({k: v for k, v in env.items() if k.startswith("INFODESK_")})
    from app.core.config import get_settings
    from app.core.security import create_token

    get_settings.cache_clear()
    return create_token(get_settings(), sub=f"bench-{role}", roles=[role], office="KANWIL-ACEH")


def _summary(label: str, latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p99 = ordered[int(0.99 * (len(ordered) - 1))]
    print(f"  {label:<34} n={len(ordered):<4} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
    return p50, p99


def main() -> int:
    print(
        f"machine: {platform.machine()} cores={os.cpu_count()} python={platform.python_version()}"
    )
    print(f"one client, {SAMPLES} answers of each kind, 1 server worker, PostgreSQL")
    name, url = create_database()
    try:
        with running_server(url) as (port, env):
            integration = _token(env, "integration")
            officer = _token(env, "officer")
            coordinator = _token(env, "coordinator")
            timed_call(
                port,
                "POST",
                "/v1/templates",
                coordinator,
                {
                    "code": "kiriman-tertahan",
                    "title": "Kiriman tertahan",
                    "body": TEMPLATE,
                    "office_code": "KANWIL-ACEH",
                },
            )
            run = uuid.uuid4().hex[:8]
            by_hand: list[float] = []
            from_template: list[float] = []
            health: list[float] = []
            for i in range(2 * SAMPLES + 20):
                _, created = timed_call(
                    port,
                    "POST",
                    "/v1/inquiries",
                    integration,
                    {
                        "office_code": "KANWIL-ACEH",
                        "channel": "webchat",
                        "channel_message_id": f"bench-{run}-{i}",
                        "requester": {"name": "Pemohon", "email": "pemohon@example.com"},
                        "subject": "Pertanyaan",
                        "message": "Bagaimana cara mengurus kiriman yang tertahan?",
                    },
                )
                path = f"/v1/inquiries/{created['id']}/answer"
                if i % 2:
                    body: dict[str, str] = {"template": "kiriman-tertahan"}
                else:
                    body = {"message": "x" * len(TEMPLATE)}
                elapsed, _ = timed_call(port, "POST", path, officer, body)
                health.append(timed_call(port, "GET", "/healthz", None)[0])
                if i < 20:
                    continue  # warm-up
                (from_template if i % 2 else by_hand).append(elapsed)
            health_p50, _ = _summary("GET /healthz", health[20:])
            hand_p50, _ = _summary("answer by hand", by_hand)
            template_p50, _ = _summary("answer from a template", from_template)
            ratio = template_p50 / hand_p50
            print(
                f"  by hand / healthz p50: {hand_p50 / health_p50:.1f}x; "
                f"template / by hand p50: {ratio:.2f} (aim <= 1.10) "
                f"{'PASS' if ratio <= 1.10 else 'MISS'}"
            )
    finally:
        drop_database(name)
    return 0 if ratio <= 1.10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
