"""The delivery worker against a real SMTP server (aiosmtpd on loopback) and real,
committed data: headers and threading, per-inquiry order, retries and dead rows, the
.eml fallback, an SMTP server down then up, webhooks through the same worker."""

from __future__ import annotations

import asyncio
import email
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.channels.worker import Worker
from app.core.config import get_settings
from app.core.db import utcnow
from app.inquiries.models import OutboxMessage
from app.main import create_app
from tests.channels.receiver import Receiver, Reply
from tests.conftest import TokenFactory


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """An aiosmtpd handler that keeps every mail and refuses recipients on request."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        # A substring of the recipient -> the SMTP reply refusing it.
        self.refuse: dict[str, str] = {}
        self.delay = 0.0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        for needle, reply in self.refuse.items():
            if needle in address:
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        parsed = email.message_from_bytes(envelope.original_content, policy=default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def to(self, recipient: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == recipient]

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return True
            time.sleep(0.02)
        return False


class SmtpServer:
    """aiosmtpd on a loopback port, started and stopped by the test."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.sink = SmtpSink()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def use_settings(monkeypatch: pytest.MonkeyPatch, **values: str | None) -> None:
    for name, value in values.items():
        if value is None:
            monkeypatch.delenv(f"INFODESK_{name.upper()}", raising=False)
        else:
            monkeypatch.setenv(f"INFODESK_{name.upper()}", value)
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    use_settings(monkeypatch, smtp_url=server.url, mail_from="layanan@beacukai.example")
    yield server
    server.stop()


@pytest.fixture
def live(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def office(live: TestClient, auth: TokenFactory) -> str:
    code = f"KPPBC-MAIL-{uuid.uuid4().hex[:6].upper()}"
    response = live.post(
        "/v1/offices", json={"code": code, "name": "Mail"}, headers=auth("admin", office=None)
    )
    assert response.status_code == 201, response.text
    return code


def email_inquiry(
    live: TestClient, auth: TokenFactory, office: str, requester: str, **extra: Any
) -> dict[str, Any]:
    body = {
        "office_code": office,
        "channel": "email",
        "channel_message_id": f"{uuid.uuid4().hex}@mail.example.com",
        "requester": {"name": "Budi Santoso", "email": requester},
        "subject": "Tarif bea masuk laptop",
        "message": "Berapa tarif bea masuk laptop bekas?",
        **extra,
    }
    response = live.post("/v1/inquiries", json=body, headers=auth("integration", office=office))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def answer(live: TestClient, auth: TokenFactory, office: str, iid: str, text: str) -> None:
    response = live.post(
        f"/v1/inquiries/{iid}/answer",
        json={"message": text},
        headers=auth("officer", office=office),
    )
    assert response.status_code == 200, response.text


def rows_of(engine: Engine, office: str) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.office_code == office)
                .order_by(col(OutboxMessage.id))
            )
        )


def make_due(engine: Engine, office: str) -> None:
    """Skip the back-off: every pending row of ``office`` is due now."""
    with Session(engine) as session:
        session.connection().execute(
            update(OutboxMessage.__table__)  # type: ignore[attr-defined]
            .where(OutboxMessage.__table__.c.office_code == office)  # type: ignore[attr-defined]
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()


@pytest.fixture(autouse=True)
def _close_workers() -> Iterator[None]:
    yield
    while OPEN_WORKERS:
        OPEN_WORKERS.pop().close()


OPEN_WORKERS: list[Worker] = []


def closing(worker: Worker) -> Worker:
    """The worker, closed (its event loop and HTTP client) after the test."""
    OPEN_WORKERS.append(worker)
    return worker


def drain(worker: Worker, rounds: int = 10) -> int:
    handled = 0
    for _ in range(rounds):
        n = worker.run_once()
        handled += n
        if n == 0:
            break
    return handled


def test_mail_goes_out_in_order_with_threading_headers(
    smtp: SmtpServer, live: TestClient, auth: TokenFactory, office: str, engine: Engine
) -> None:
    requester = f"budi.{uuid.uuid4().hex[:8]}@example.com"
    raw = (
        f"From: Budi Santoso <{requester}>\r\nTo: info@beacukai.example\r\n"
        "Subject: Tarif bea masuk laptop\r\n"
        f"Message-ID: <first-{uuid.uuid4().hex}@mail.example.com>\r\n"
        "Date: Mon, 23 Nov 2026 09:00:00 +0700\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Berapa tarif bea masuk laptop bekas?\r\n"
    ).encode()
    posted = live.post(
        f"/v1/channels/email/inbound?office_code={office}",
        content=raw,
        headers={**auth("integration", office=office), "Content-Type": "message/rfc822"},
    )
    assert posted.status_code == 201, posted.text
    iid, reference = posted.json()["inquiry_id"], posted.json()["reference"]
    first_id = raw.split(b"Message-ID: <")[1].split(b">")[0].decode()
    answer(live, auth, office, iid, "Tarif bea masuk 10 % — lihat PMK 199/2019.")

    worker = closing(Worker(office_codes=[office]))
    # The answer waits for the acknowledgement: one row of the inquiry per round.
    assert worker.run_once() == 1
    assert [m["X-Infodesk-Kind"] for m in smtp.sink.to(requester)] == ["acknowledgement"]
    assert worker.run_once() == 1
    assert worker.run_once() == 0

    ack, reply = smtp.sink.to(requester)
    rows = rows_of(engine, office)
    assert [r.status for r in rows] == ["delivered", "delivered"]
    assert all(r.delivered_at is not None and r.attempts == 1 for r in rows)
    assert ack["Message-ID"] == f"<infodesk.{rows[0].delivery_id}@beacukai.example>"
    assert reply["Message-ID"] == f"<infodesk.{rows[1].delivery_id}@beacukai.example>"
    assert ack["From"] == "layanan@beacukai.example"
    assert reply["Subject"] == f"Re: Tarif bea masuk laptop [{reference}]"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert reply["Auto-Submitted"] is None
    assert reply["In-Reply-To"] == f"<{first_id}>"
    assert reply["References"] == f"<{first_id}>"
    body = reply.get_body(("plain",))
    assert body is not None
    assert "Tarif bea masuk 10 % — lihat PMK 199/2019." in body.get_content()
    detail = live.get(f"/v1/inquiries/{iid}", headers=auth("officer", office=office)).json()
    states = [m["delivery"]["status"] for m in detail["messages"] if m["direction"] == "outbound"]
    assert states == ["delivered", "delivered"]


def test_without_smtp_the_mail_is_written_as_eml(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    live: TestClient,
    auth: TokenFactory,
    office: str,
    engine: Engine,
) -> None:
    use_settings(monkeypatch, smtp_url=None, mail_outbox_dir=str(tmp_path))
    requester = f"ani.{uuid.uuid4().hex[:8]}@example.com"
    created = email_inquiry(live, auth, office, requester)
    assert drain(closing(Worker(office_codes=[office]))) == 1
    (row,) = rows_of(engine, office)
    assert row.status == "delivered"
    written = tmp_path / f"{row.delivery_id}.eml"
    parsed = email.message_from_bytes(written.read_bytes(), policy=default)
    assert parsed["To"] == requester
    assert parsed["Subject"] == f"Re: Tarif bea masuk laptop [{created['reference']}]"
    assert parsed["Message-ID"] == f"<infodesk.{row.delivery_id}@localhost>"
    assert [p.name for p in tmp_path.iterdir()] == [written.name]


def test_smtp_down_then_up_delivers_once(
    monkeypatch: pytest.MonkeyPatch,
    live: TestClient,
    auth: TokenFactory,
    office: str,
    engine: Engine,
) -> None:
    server = SmtpServer()  # not started: nothing listens on its port
    use_settings(monkeypatch, smtp_url=server.url)
    requester = f"citra.{uuid.uuid4().hex[:8]}@example.com"
    email_inquiry(live, auth, office, requester)
    worker = closing(Worker(office_codes=[office]))
    assert worker.run_once() == 1
    (row,) = rows_of(engine, office)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error is not None
    assert row.locked_by is None
    # Back-off: not due again yet.
    wait = (row.next_attempt_at - utcnow()).total_seconds()
    assert 3.0 < wait <= 5.0 * 1.25 + 0.1
    assert worker.run_once() == 0

    server.start()
    try:
        make_due(engine, office)
        assert drain(worker) == 1
        make_due(engine, office)
        assert drain(worker) == 0
        (row,) = rows_of(engine, office)
        assert (row.status, row.attempts, row.last_error) == ("delivered", 2, None)
        assert len(server.sink.to(requester)) == 1
    finally:
        server.stop()


def test_temporary_refusal_holds_the_inquiry_and_permanent_refusal_is_dead(
    smtp: SmtpServer, live: TestClient, auth: TokenFactory, office: str, engine: Engine
) -> None:
    later = f"later.{uuid.uuid4().hex[:8]}@example.com"
    never = f"never.{uuid.uuid4().hex[:8]}@example.com"
    smtp.sink.refuse = {
        later: "451 4.2.0 Mailbox busy, try again",
        never: "550 5.1.1 <" + never + ">: no such user",
    }
    held = email_inquiry(live, auth, office, later)
    lost = email_inquiry(live, auth, office, never)
    answer(live, auth, office, held["id"], "Jawaban pertama")
    answer(live, auth, office, lost["id"], "Jawaban kedua")
    worker = closing(Worker(office_codes=[office]))
    for _ in range(3):
        make_due(engine, office)
        drain(worker)
    by_kind = {(str(r.inquiry_id), r.kind): r for r in rows_of(engine, office)}

    ack = by_kind[(held["id"], "acknowledgement")]
    assert (ack.status, ack.attempts, ack.last_error) == ("pending", 3, "SMTP 451 4.2.0")
    waiting = by_kind[(held["id"], "answer")]
    assert (waiting.status, waiting.attempts) == ("pending", 0)

    dead = by_kind[(lost["id"], "acknowledgement")]
    assert (dead.status, dead.attempts) == ("dead", 1)
    assert dead.last_error == "SMTP 550 5.1.1"
    # A dead row does not hold back the inquiry's later ones.
    assert by_kind[(lost["id"], "answer")].status == "dead"

    smtp.sink.refuse = {}
    make_due(engine, office)
    drain(worker)
    kinds = [m["X-Infodesk-Kind"] for m in smtp.sink.to(later)]
    assert kinds == ["acknowledgement", "answer"]
    assert smtp.sink.to(never) == []

    retried = live.post(f"/v1/outbox/{dead.id}/retry", headers=auth("admin", office=None))
    assert retried.status_code == 200, retried.text
    drain(worker)
    assert [m["X-Infodesk-Kind"] for m in smtp.sink.to(never)] == ["acknowledgement"]


@contextmanager
def first_webhook_failed(
    live: TestClient, auth: TokenFactory, office: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Receiver, dict[str, Any], Worker]]:
    """A web-chat endpoint of ``office`` that answers its first delivery with 500, a
    web-chat inquiry posted, and a worker that has made that first attempt."""
    use_settings(monkeypatch, secret_key=os.environ.get("INFODESK_SECRET_KEY") or "k" * 32)
    with Receiver() as receiver:
        created = live.post(
            "/v1/webhooks",
            json={"office_code": office, "channel": "webchat", "url": receiver.url},
            headers=auth("admin", office=None),
        )
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        receiver.script(Reply(500))
        body = {
            "office_code": office,
            "channel": "webchat",
            "channel_message_id": uuid.uuid4().hex,
            "requester": {"name": "Dewi", "handle": "dewi-42"},
            "message": "Apakah kopi boleh dibawa?",
        }
        posted = live.post("/v1/inquiries", json=body, headers=auth("integration", office=office))
        assert posted.status_code == 201, posted.text
        worker = closing(Worker(office_codes=[office]))
        assert worker.run_once() == 1
        yield receiver, posted.json(), worker


def test_webhook_rows_go_out_through_the_same_worker(
    smtp: SmtpServer,
    live: TestClient,
    auth: TokenFactory,
    office: str,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with first_webhook_failed(live, auth, office, monkeypatch) as (receiver, _posted, worker):
        make_due(engine, office)
        assert worker.run_once() == 1
        assert receiver.wait_for(2)
        first, second = receiver.received[:2]
        assert (first.status, second.status) == (500, 200)
        assert first.webhook_id == second.webhook_id
        assert second.verified is True
        (row,) = rows_of(engine, office)
        assert (row.status, row.attempts, str(row.delivery_id)) == (
            "delivered",
            2,
            second.webhook_id,
        )


def test_the_embedded_worker_delivers_and_stops_with_the_app(
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    auth: TokenFactory,
    engine: Engine,
) -> None:
    use_settings(monkeypatch, embedded_worker="true", imap_poll_seconds="3600")
    before = {t.name for t in threading.enumerate()}
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        running = {t.name for t in threading.enumerate()} - before
        assert {"infodesk-delivery", "infodesk-imap"} <= running
        code = f"KPPBC-EMB-{uuid.uuid4().hex[:6].upper()}"
        made = client.post(
            "/v1/offices",
            json={"code": code, "name": "Embedded"},
            headers=auth("admin", office=None),
        )
        assert made.status_code == 201, made.text
        requester = f"eka.{uuid.uuid4().hex[:8]}@example.com"
        email_inquiry(client, auth, code, requester)
        deadline = time.monotonic() + 10
        while not smtp.sink.to(requester) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [m["X-Infodesk-Kind"] for m in smtp.sink.to(requester)] == ["acknowledgement"]
        metrics = client.get("/metrics").text
        assert 'infodesk_deliveries_total{channel="email",outcome="delivered"}' in metrics
    left = {t.name for t in threading.enumerate()} - before
    assert not {"infodesk-delivery", "infodesk-imap"} & left
    deadline = time.monotonic() + 5
    while rows_of(engine, code)[0].status != "delivered" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rows_of(engine, code)[0].status == "delivered"
