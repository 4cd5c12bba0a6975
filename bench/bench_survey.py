"""HTTP throughput of POST /v1/public/surveys/{code} against GET /healthz on the same
server, in the same run.

Target (issue 8): survey submission at >= 30% of healthz throughput. Every submission
answers a different open survey: the script creates one answered inquiry through the API
and copies its row (new id, reference and survey code) for the rest, so that seeding
takes seconds. All load comes from one address, so the public rate limit is raised for
the run (INFODESK_PUBLIC_LOOKUPS_PER_MINUTE); the limiter itself still runs on every
request.
Run: `.venv/bin/python -m bench.bench_survey` (BENCH_DATABASE_URL for PostgreSQL).
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import sys
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import load, request_bytes
from bench.server import running_server

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
SURVEYS = int(os.environ.get("BENCH_SURVEYS", "60000"))
TARGET = 0.30


def _call(port: int, method: str, path: str, body: object, token: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, object] = json.loads(response.read())
        return result


def _seed(port: int, env: dict[str, str]) -> list[str]:
    """``SURVEYS`` open surveys; their codes."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("INFODESK_")})
    from sqlalchemy import insert, select

    # Every model, so that the SQLite functions the search triggers call are registered.
    import app.models  # noqa: F401
    from app.core.config import get_settings
    from app.core.db import make_engine
    from app.core.security import create_token
    from app.inquiries.models import Inquiry

    get_settings.cache_clear()
    settings = get_settings()

    def token(role: str) -> str:
        return create_token(settings, sub="bench", roles=[role], office="KANWIL-ACEH")

    created = _call(
        port,
        "POST",
        "/v1/inquiries",
        {
            "office_code": "KANWIL-ACEH",
            "channel": "webchat",
            "requester": {"name": "Bench", "email": "bench@example.com"},
            "message": "Berapa lama proses keberatan?",
        },
        token("integration"),
    )
    _call(
        port, "POST", f"/v1/inquiries/{created['id']}/answer", {"message": "Ya"}, token("officer")
    )
    engine = make_engine(settings.database_url)
    table = Inquiry.__table__  # type: ignore[attr-defined]
    codes: list[str] = []
    with engine.begin() as connection:
        template = dict(
            connection.execute(select(table).where(table.c.id == uuid.UUID(str(created["id"]))))
            .mappings()
            .one()
        )
        rows = []
        for _ in range(SURVEYS):
            code = secrets.token_urlsafe(12)
            codes.append(code)
            rows.append(
                {
                    **template,
                    "id": uuid.uuid4(),
                    "reference": "IQ-" + secrets.token_hex(6).upper(),
                    "survey_code": code,
                }
            )
        for start in range(0, len(rows), 5000):
            connection.execute(insert(table), rows[start : start + 5000])
    engine.dispose()
    return codes


def _server_cpu() -> float | None:
    """CPU seconds the benchmark's server (this process's child) has used, on Linux.

    Throughput shares the machine with whatever else runs; CPU per request does not
    depend on that share, so it is printed beside the throughput."""
    try:
        pid = os.getpid()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        fields = Path(f"/proc/{children[-1]}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def main() -> int:
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cores={os.cpu_count()} "
        f"python={platform.python_version()}"
    )
    print(f"load: {CONNECTIONS} keep-alive connections, {SECONDS:.0f} s per run, 1 server worker")
    os.environ["INFODESK_PUBLIC_LOOKUPS_PER_MINUTE"] = "1000000000"
    os.environ["INFODESK_EMBEDDED_WORKER"] = "false"
    database_url = os.environ.get("BENCH_DATABASE_URL")
    with running_server(database_url) as (port, env):
        print(f"database: {env['INFODESK_DATABASE_URL'].split(':')[0]}")
        codes = _seed(port, env)
        print(f"seeded {len(codes)} open surveys")
        host = f"127.0.0.1:{port}"
        headers = {"Content-Type": "application/json"}
        body = json.dumps(
            {
                "answers": {f"U{i}": (4 if i == 4 else 3) for i in range(1, 10)},
                "respondent": {"age_band": "30-39", "sex": "P", "education": "SMA"},
                "suggestion": "Pelayanan cepat.",
            }
        ).encode()
        used = iter(codes)

        def submit(_: int) -> bytes:
            code = next(used)  # each request answers another survey
            return request_bytes("POST", f"/v1/public/surveys/{code}", host, body, headers)

        healthz = request_bytes("GET", "/healthz", host)
        results = []
        cpu_us: list[float] = []
        for label, make, expect in (
            ("GET /healthz", lambda i: healthz, 200),
            ("POST /v1/public/surveys/{code}", submit, 201),
            ("GET /healthz (again)", lambda i: healthz, 200),
        ):
            before = _server_cpu()
            result = load(
                label,
                "127.0.0.1",
                port,
                make,
                connections=CONNECTIONS,
                seconds=SECONDS,
                expect=expect,
            )
            after = _server_cpu()
            print(result.line())
            results.append(result)
            if before is not None and after is not None and result.requests:
                # The warm-up's requests are in the CPU time too.
                cpu_us.append((after - before) / (result.requests * (1 + 1 / SECONDS)) * 1e6)
    health = (results[0].rps + results[2].rps) / 2
    ratio = results[1].rps / health
    verdict = "PASS" if ratio >= TARGET and results[1].errors == 0 else "MISS"
    if len(cpu_us) == 3:
        health_cpu = (cpu_us[0] + cpu_us[2]) / 2
        print(
            f"server CPU per request: healthz {health_cpu:.0f} us, survey submission "
            f"{cpu_us[1]:.0f} us ({health_cpu / cpu_us[1]:.0%} of healthz's rate at full CPU)"
        )
    print(f"survey submission / healthz throughput: {ratio:.0%} (target >= 30%) {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
