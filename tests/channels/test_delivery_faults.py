"""Delivery faults at scale, with real processes and a real SMTP server: a worker killed
with SIGKILL in the middle of a batch, then restarted, loses nothing and repeats only
with the same Message-ID; two workers on PostgreSQL over 1,000 rows deliver each once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.channels.worker import Worker
from app.core.config import get_settings
from app.inquiries.models import OutboxMessage
from tests.channels.test_delivery_worker import SmtpServer, use_settings

INFODESK = Path(sys.executable).with_name("infodesk")


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()


def office_rows(engine: Engine, count: int) -> tuple[str, dict[str, str]]:
    """``count`` committed pending mails of a new office code (rows without an inquiry, as
    complaint responses are); returns the office and delivery id -> recipient."""
    office = f"KPPBC-BULK-{uuid.uuid4().hex[:6].upper()}"
    rows = [
        OutboxMessage(
            office_code=office,
            kind="complaint_response",
            channel="email",
            recipient=f"r{i}.{office.lower()}@example.com",
            subject=f"Tanggapan {i}",
            body=f"Isi tanggapan nomor {i}",
        )
        for i in range(count)
    ]
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()
        return office, {f"<infodesk.{r.delivery_id}@beacukai.example>": r.recipient for r in rows}


def status_counts(engine: Engine, office: str) -> dict[str, int]:
    with Session(engine) as session:
        return dict(
            session.exec(  # type: ignore[call-overload]
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.office_code == office)
                .group_by(col(OutboxMessage.status))
            ).all()
        )


def start_worker(
    office: str, server: SmtpServer, database_url: str, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "INFODESK_DATABASE_URL": database_url,
        "INFODESK_SMTP_URL": server.url,
        "INFODESK_MAIL_FROM": "layanan@beacukai.example",
        "INFODESK_DELIVERY_BATCH_SIZE": "50",
        "INFODESK_DELIVERY_LEASE_SECONDS": "2",
        "INFODESK_LOG_LEVEL": "WARNING",
    }
    with log.open("ab") as errors:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(  # noqa: S603 (our own command)
            [str(INFODESK), "worker", "--no-imap", "--office", office],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )


@pytest.mark.slow
def test_sigkill_mid_batch_then_restart_loses_nothing(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    office, expected = office_rows(engine, 300)
    log = tmp_path / "worker.log"
    server = SmtpServer().start()
    server.sink.delay = 0.01  # ~100 mails/s: the kill lands inside a batch of 50
    try:
        first = start_worker(office, server, database_url, log)
        try:
            assert server.sink.wait_for(75, timeout=60), "the first worker sent too little"
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        assert first.returncode == -signal.SIGKILL
        killed_at = len(server.sink.messages)
        assert killed_at < len(expected), "the worker finished before it was killed"
        assert status_counts(engine, office).get("pending", 0) > 0

        second = start_worker(office, server, database_url, log)
        try:
            deadline = time.monotonic() + 90
            while status_counts(engine, office) != {"delivered": len(expected)}:
                assert second.poll() is None, log.read_text()
                assert time.monotonic() < deadline, status_counts(engine, office)
                time.sleep(0.2)
        finally:
            second.send_signal(signal.SIGTERM)
            code = second.wait(30)
        assert code == 0, log.read_text()
    finally:
        server.stop()

    received = Counter(m["Message-ID"] for m in server.sink.messages)
    # Every row arrived; nothing arrived that was not a row of ours.
    assert set(received) == set(expected)
    for message in server.sink.messages:
        assert expected[message["Message-ID"]] == message["To"]
    # A repeat is only the mail the killed worker had sent but not recorded: same id.
    repeats = sum(received.values()) - len(expected)
    assert repeats <= 50


@pytest.mark.slow
def test_two_postgres_workers_deliver_a_thousand_rows_once_each(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("several workers share the outbox on PostgreSQL only (SKIP LOCKED)")
    office, expected = office_rows(engine, 1000)
    server = SmtpServer().start()
    use_settings(monkeypatch, smtp_url=server.url, mail_from="layanan@beacukai.example")
    handled: list[int] = [0, 0]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(index: int) -> None:
        try:
            with Worker(office_codes=[office], batch_size=50) as worker:
                start.wait()
                idle = 0
                while idle < 3:
                    n = worker.run_once()
                    handled[index] += n
                    idle = idle + 1 if n == 0 else 0
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        server.stop()
    assert errors == []
    assert sum(handled) == 1000
    received = Counter(m["Message-ID"] for m in server.sink.messages)
    assert set(received) == set(expected)
    assert set(received.values()) == {1}
    assert status_counts(engine, office) == {"delivered": 1000}
    assert min(handled) > 0, handled
