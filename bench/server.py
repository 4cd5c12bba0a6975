"""Start a throw-away infodesk server for a benchmark and stop it afterwards."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def create_database(prefix: str = "infodesk_bench") -> tuple[str, str]:
    """A new, empty PostgreSQL database for one run: its name and URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{os.getpid()}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    return name, url


def drop_database(name: str) -> None:
    """Drop a database made by ``create_database``."""
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def in_process_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database made for the run, with this process's environment set to
    serve the application on it in-process (development settings, quiet logs, no worker
    delivering the outbox, files in a temporary folder); its URL. Dropped afterwards."""
    from app.core.db import get_engine

    name, url = create_database(prefix)
    storage = tempfile.mkdtemp(prefix=f"{prefix}-")
    os.environ.update(
        {
            "INFODESK_ENV": "development",
            "INFODESK_LOG_LEVEL": "WARNING",
            "INFODESK_DATABASE_URL": url,
            "INFODESK_EMBEDDED_WORKER": "false",
            "INFODESK_STORAGE_DIR": storage,
            "INFODESK_MAIL_OUTBOX_DIR": storage,
        }
    )
    try:
        yield url
    finally:
        get_engine().dispose()
        drop_database(name)
        shutil.rmtree(storage, ignore_errors=True)


def timed_call(
    port: int, method: str, path: str, token: str | None, body: object = None
) -> tuple[float, dict[str, object]]:
    """One JSON request to the server on ``port``: its time in milliseconds and the body."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers
    )
    t0 = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        payload = response.read()
    return (time.perf_counter() - t0) * 1000, json.loads(payload) if payload else {}


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(env: dict[str, str]) -> float:
    """CPU time (user and system) the server of ``running_server`` has used so far: a
    cost per request that other load on the machine does not blur, as throughput is."""
    fields = Path(f"/proc/{env['BENCH_SERVER_PID']}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds() -> float | None:
    """CPU time (user and system) of this machine's PostgreSQL processes so far, which
    includes the other databases' work, and that of the backends that have ended (their
    parent, the postmaster, counts them once it has reaped them); None when none can be
    seen (a server elsewhere)."""
    total, seen = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        name, _, rest = raw.partition("(")[2].rpartition(")")
        if name.startswith("postgres"):
            fields = rest.split()
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
            seen = True
    return total / os.sysconf("SC_CLK_TCK") if seen else None


@contextmanager
def running_server(
    database_url: str | None = None,
    workers: int = 1,
    app: str = "app.asgi:app",
    migrate: bool = True,
    log_level: str = "WARNING",
) -> Iterator[tuple[int, dict[str, str]]]:
    """Migrate (unless told not to) and serve ``app`` on a free port; yields the port and
    the server's environment."""
    with tempfile.TemporaryDirectory(prefix="infodesk-bench-") as tmp:
        env = {
            **os.environ,
            "INFODESK_ENV": "development",
            "INFODESK_LOG_LEVEL": log_level,
            "INFODESK_DATABASE_URL": database_url or f"sqlite:///{tmp}/bench.db",
        }
        port = free_port()
        if migrate:
            subprocess.run(
                [sys.executable, "-m", "app.cli", "migrate"], cwd=ROOT, env=env, check=True
            )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the benchmark server did not start") from None
                    time.sleep(0.2)
            # The server's process id, for ``cpu_seconds``.
            yield port, {**env, "BENCH_SERVER_PID": str(server.pid)}
        finally:
            server.terminate()
            server.wait(timeout=10)
