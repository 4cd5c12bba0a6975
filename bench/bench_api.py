"""HTTP throughput of POST /v1/sla/calculate against GET /healthz on the same server.

Target (issue 3): calculate at >= 70% of healthz throughput, same server, same run.
Loaded by wrk when the machine has it (`apt-get install wrk`), else by bench/loadgen.py,
which shares the machine's cores with the server and so flattens the ratio.
Run: `make bench` or `.venv/bin/python -m bench.bench_api`.
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import wrk
from bench.loadgen import LoadResult, load, request_bytes
from bench.server import running_server

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))


def _token(env: dict[str, str]) -> str:
    os.environ.update({k: v for k, v in env.items() if k.startswith("INFODESK_")})
    from app.core.config import get_settings
    from app.core.security import create_token

    get_settings.cache_clear()
    return create_token(get_settings(), sub="bench", roles=["officer"], office="KANWIL-ACEH")


def calculations(n: int = 1000) -> list[dict[str, str]]:
    """The bodies the benchmark posts: receipts at random instants of 2026 (a fixed seed),
    in the three channels."""
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {
            "office_code": "KANWIL-ACEH",
            "channel": rng.choice(["email", "webchat", "social"]),
            "received_at": (start + timedelta(seconds=rng.randrange(365 * 86400)))
            .astimezone()
            .isoformat(),
        }
        for _ in range(n)
    ]


def main() -> int:
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cores={os.cpu_count()} "
        f"python={platform.python_version()}"
    )
    print(f"load: {CONNECTIONS} keep-alive connections, {SECONDS:.0f} s per run, 1 server worker")
    with running_server() as (port, env):
        host = f"127.0.0.1:{port}"
        token = _token(env)
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        bodies = [json.dumps(b).encode() for b in calculations()]
        calculate = [request_bytes("POST", "/v1/sla/calculate", host, b, auth) for b in bodies]
        healthz = request_bytes("GET", "/healthz", host)

        results: list[LoadResult] = []
        for label, make in (
            ("GET /healthz", lambda i: healthz),
            ("POST /v1/sla/calculate", lambda i: calculate[i % len(calculate)]),
            ("GET /healthz (again)", lambda i: healthz),
        ):
            if wrk.available():
                posting = label.startswith("POST")
                result: LoadResult = wrk.load(
                    label,
                    port,
                    "/v1/sla/calculate" if posting else "/healthz",
                    method="POST" if posting else "GET",
                    token=token,
                    bodies=bodies if posting else (),
                    connections=CONNECTIONS,
                    seconds=SECONDS,
                )
            else:
                result = load(
                    label, "127.0.0.1", port, make, connections=CONNECTIONS, seconds=SECONDS
                )
            print(result.line())
            results.append(result)
    health = (results[0].rps + results[2].rps) / 2
    ratio = results[1].rps / health
    verdict = "PASS" if ratio >= 0.70 else "MISS"
    print(f"calculate / healthz throughput: {ratio:.0%} (target >= 70%) {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
