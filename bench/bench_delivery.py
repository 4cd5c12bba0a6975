"""Delivery on PostgreSQL: one `infodesk worker` process sending the outbox.

1. Mail: rows committed at once, sent over SMTP to aiosmtpd on loopback (aim: >= 100/s).
2. Webhooks: webchat rows POSTed, signed, to a loopback receiver (aim: >= 300/s).
3. Latency: with the worker idle, one row committed at a time; from the commit to its
   arrival at the SMTP server (aim: p99 < 1 s; the worker wakes on LISTEN/NOTIFY).

The SMTP server and the HTTP receiver run in this process, the worker in its own. Needs
a PostgreSQL server (BENCH_POSTGRES_URL, default the local test server); a database is
created for the run and dropped afterwards.
Run: `.venv/bin/python -m bench.bench_delivery`.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiosmtpd.controller import Controller

from bench.server import create_database, drop_database
from tests.channels.receiver import Receiver

MAILS = int(os.environ.get("BENCH_MAILS", "2000"))
HOOKS = int(os.environ.get("BENCH_HOOKS", "3000"))
SAMPLES = int(os.environ.get("BENCH_LATENCY_SAMPLES", "200"))
MAIL_AIM, HOOK_AIM, P99_AIM = 100.0, 300.0, 1.0
OFFICE = "KANWIL-ACEH"
INFODESK = Path(sys.executable).with_name("infodesk")


class Arrivals:
    """aiosmtpd handler: the arrival time of each Message-ID."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                with self.lock:
                    self.at[line.split(b":", 1)[1].strip().decode()] = time.monotonic()
        return "250 OK"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rows(engine: Any, count: int, channel: str) -> list[str]:
    from sqlmodel import Session

    from app.inquiries.models import OutboxMessage

    rows = [
        OutboxMessage(
            office_code=OFFICE,
            kind="answer",
            channel=channel,
            recipient=f"bench{i}@example.com" if channel == "email" else f"@bench{i}",
            subject="Re: Tarif bea masuk [IQ-BENCH000]" if channel == "email" else None,
            body="Yth. Bapak/Ibu,\n\nTarif bea masuk laptop adalah 0 % (ITA).\n\nSalam,\nBea Cukai",
        )
        for i in range(count)
    ]
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()
        return [str(r.delivery_id) for r in rows]


def _pending(engine: Any) -> int:
    from sqlalchemy import text

    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM outbox_message WHERE status = 'pending'")
            ).scalar_one()
        )


def _drain(engine: Any, timeout: float) -> float:
    start = time.perf_counter()
    while _pending(engine) and time.perf_counter() - start < timeout:
        time.sleep(0.02)
    return time.perf_counter() - start


MISSED: list[bool] = []


def _verdict(ok: bool) -> str:
    """PASS or MISS, remembering a miss for the exit status."""
    if not ok:
        MISSED.append(True)
    return "PASS" if ok else "MISS"


def main() -> int:
    name, url = create_database()
    workdir = Path(tempfile.mkdtemp(prefix="infodesk-bench-delivery-"))
    port = _free_port()
    env = {
        **os.environ,
        "INFODESK_DATABASE_URL": url,
        "INFODESK_ENV": "development",
        "INFODESK_SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "INFODESK_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "INFODESK_MAIL_FROM": "layanan@kanwil-aceh.example",
        "INFODESK_MAIL_OUTBOX_DIR": str(workdir / "outbox"),
        "INFODESK_STORAGE_DIR": str(workdir / "storage"),
        "INFODESK_LOG_LEVEL": "WARNING",
        "INFODESK_EMBEDDED_WORKER": "false",
    }
    os.environ.update({k: v for k, v in env.items() if k.startswith("INFODESK_")})
    arrivals = Arrivals()
    smtp = Controller(arrivals, hostname="127.0.0.1", port=port)
    smtp.start()
    worker: subprocess.Popen[bytes] | None = None
    try:
        from sqlmodel import Session

        from app.channels.webhook_schemas import WebhookEndpointCreate
        from app.channels.webhooks import create_endpoint
        from app.cli import migrate_and_seed
        from app.core.config import get_settings
        from app.core.db import get_engine

        get_settings.cache_clear()
        migrate_and_seed()
        engine = get_engine()
        print(f"# delivery on {platform.python_implementation()} {platform.python_version()}")
        worker = subprocess.Popen([str(INFODESK), "worker", "--no-imap"], env=env)
        time.sleep(2.0)  # start-up and LISTEN

        _rows(engine, MAILS, "email")
        seconds = _drain(engine, 120)
        mail_rate = MAILS / seconds
        got = len(arrivals.at)
        print(
            f"mail via SMTP: {MAILS} rows in {seconds:.2f} s = {mail_rate:.0f}/s "
            f"({got} arrived; aim >= {MAIL_AIM:.0f}/s) {_verdict(mail_rate >= MAIL_AIM)}"
        )

        with Receiver(record=False) as receiver:
            with Session(engine) as session:
                _, secret = create_endpoint(
                    session=session,
                    data=WebhookEndpointCreate(
                        office_code=OFFICE, channel="webchat", url=receiver.url
                    ),
                    created_by="bench",
                )
                session.commit()
            receiver.secret = secret
            _rows(engine, HOOKS, "webchat")
            seconds = _drain(engine, 120)
            hook_rate = HOOKS / seconds
            print(
                f"webhooks: {HOOKS} rows in {seconds:.2f} s = {hook_rate:.0f}/s "
                f"(aim >= {HOOK_AIM:.0f}/s) {_verdict(hook_rate >= HOOK_AIM)}"
            )

        time.sleep(1.5)  # idle
        latencies = []
        for _ in range(SAMPLES):
            (delivery,) = _rows(engine, 1, "email")
            committed = time.monotonic()
            key = f"<infodesk.{delivery}@kanwil-aceh.example>"
            deadline = committed + 5.0
            while key not in arrivals.at and time.monotonic() < deadline:
                time.sleep(0.001)
            latencies.append(arrivals.at.get(key, float("inf")) - committed)
            time.sleep(0.02)
        latencies.sort()
        p50 = latencies[len(latencies) // 2]
        p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
        print(
            f"commit -> arrival, idle worker: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms over {SAMPLES} mails "
            f"(aim p99 < {P99_AIM:.0f} s) {_verdict(p99 < P99_AIM)}"
        )
        engine.dispose()
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
        smtp.stop()
        from app.core.db import get_engine

        get_engine().dispose()
        drop_database(name)
    return 1 if MISSED else 0


if __name__ == "__main__":
    raise SystemExit(main())
