"""The worker under faults of single rows and of its own: an unsendable row fails alone,
the Message-ID and the webhook body never change between attempts, a lease running out
releases the unsent rows, and failures are logged without their messages."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.channels.mailbox_models import Mailbox
from app.channels.worker import Worker
from app.inquiries.models import Inquiry
from tests.channels import test_delivery_worker as shared
from tests.channels.test_delivery_worker import (
    SmtpServer,
    closing,
    drain,
    email_inquiry,
    first_webhook_failed,
    make_due,
    rows_of,
    use_settings,
)
from tests.conftest import TokenFactory

# The worker tests' fixtures: a real SMTP server, the app, a fresh office, clean-ups.
smtp = shared.smtp
live = shared.live
office = shared.office
_fresh_settings = shared._fresh_settings
_close_workers = shared._close_workers


@pytest.fixture(autouse=True)
def _no_mailbox_left(engine: Engine) -> Iterator[None]:
    """Mailboxes these tests write are removed again (others check that none exists)."""
    yield
    with Session(engine) as session:
        for code in WRITTEN:
            mailbox = session.get(Mailbox, code)
            if mailbox is not None:
                session.delete(mailbox)
        session.commit()
    WRITTEN.clear()


WRITTEN: list[str] = []


def _mailbox(engine: Engine, office: str, address: str) -> None:
    """An office mailbox written straight to the table (as one stored before the API
    checked its address)."""
    with Session(engine) as session:
        mailbox = session.get(Mailbox, office) or Mailbox(office_code=office, address=address)
        mailbox.address = address
        session.add(mailbox)
        session.commit()
    WRITTEN.append(office)


def test_an_unsendable_row_fails_alone_and_the_batch_is_recorded(
    smtp: SmtpServer, live: TestClient, auth: TokenFactory, office: str, engine: Engine
) -> None:
    _mailbox(engine, office, "lâyanan@beacukai.go.id")
    other = live.post(
        "/v1/offices",
        json={"code": office + "-B", "name": "Mail B"},
        headers=auth("admin", office=None),
    )
    assert other.status_code == 201, other.text
    bad = f"bad.{uuid.uuid4().hex[:8]}@example.com"
    good = f"good.{uuid.uuid4().hex[:8]}@example.com"
    email_inquiry(live, auth, office, bad)
    email_inquiry(live, auth, office + "-B", good)
    worker = closing(Worker(office_codes=[office, office + "-B"]))
    assert worker.run_once() == 2
    (dead,) = rows_of(engine, office)
    assert (dead.status, dead.attempts, dead.locked_by) == ("dead", 1, None)
    assert dead.last_error == "UnicodeEncodeError"
    (sent,) = rows_of(engine, office + "-B")
    assert (sent.status, sent.attempts) == ("delivered", 1)
    assert len(smtp.sink.to(good)) == 1
    assert worker.run_once() == 0


def test_the_message_id_does_not_follow_the_mailbox(
    smtp: SmtpServer,
    live: TestClient,
    auth: TokenFactory,
    office: str,
    engine: Engine,
) -> None:
    requester = f"rudi.{uuid.uuid4().hex[:8]}@example.com"
    email_inquiry(live, auth, office, requester)
    smtp.sink.refuse = {requester: "451 4.2.0 try again"}
    _mailbox(engine, office, "layanan@kanwil-satu.example")
    worker = closing(Worker(office_codes=[office]))
    assert worker.run_once() == 1
    # The office's mailbox changes before the retry: the id stays.
    _mailbox(engine, office, "layanan@kanwil-dua.example")
    smtp.sink.refuse = {}
    make_due(engine, office)
    assert drain(worker) == 1
    (row,) = rows_of(engine, office)
    (mail,) = smtp.sink.to(requester)
    assert mail["From"] == "layanan@kanwil-dua.example"
    assert mail["Message-ID"] == f"<infodesk.{row.delivery_id}@beacukai.example>"


def test_the_message_id_domain_setting(
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    live: TestClient,
    auth: TokenFactory,
    office: str,
    engine: Engine,
) -> None:
    use_settings(monkeypatch, message_id_domain="infodesk.beacukai.go.id")
    requester = f"sari.{uuid.uuid4().hex[:8]}@example.com"
    email_inquiry(live, auth, office, requester)
    assert drain(closing(Worker(office_codes=[office]))) == 1
    (row,) = rows_of(engine, office)
    (mail,) = smtp.sink.to(requester)
    assert mail["Message-ID"] == f"<infodesk.{row.delivery_id}@infodesk.beacukai.go.id>"


def test_rows_not_started_before_the_lease_half_are_released_unchanged(
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    live: TestClient,
    auth: TokenFactory,
    office: str,
    engine: Engine,
) -> None:
    use_settings(monkeypatch, delivery_lease_seconds="1.0", smtp_connections="1")
    smtp.sink.delay = 0.3
    for i in range(6):
        email_inquiry(live, auth, office, f"lease{i}.{uuid.uuid4().hex[:6]}@example.com")
    worker = closing(Worker(office_codes=[office]))
    assert worker.run_once() == 6
    rows = rows_of(engine, office)
    sent = [r for r in rows if r.status == "delivered"]
    waiting = [r for r in rows if r.status == "pending"]
    # Sends start only in the first half second: two or three of 0.3 s each.
    assert 1 <= len(sent) <= 3, [r.status for r in rows]
    assert len(sent) + len(waiting) == 6
    assert len(smtp.sink.messages) == len(sent)
    for row in waiting:
        # Released as they were: not counted, no error, due at once for any worker.
        assert (row.attempts, row.last_error, row.locked_by, row.locked_until) == (
            0,
            None,
            None,
            None,
        )
    smtp.sink.delay = 0.0
    assert drain(worker) == len(waiting)
    assert all(r.status == "delivered" and r.attempts == 1 for r in rows_of(engine, office))
    assert len(smtp.sink.messages) == 6


def test_a_retried_webhook_body_is_the_same_bytes(
    smtp: SmtpServer,
    live: TestClient,
    auth: TokenFactory,
    office: str,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with first_webhook_failed(live, auth, office, monkeypatch) as (receiver, posted, worker):
        # The inquiry changes between the attempts.
        with Session(engine) as session:
            session.connection().execute(
                update(Inquiry.__table__)  # type: ignore[attr-defined]
                .where(Inquiry.__table__.c.id == uuid.UUID(posted["id"]))  # type: ignore[attr-defined]
                .values(requester_handle="dewi-renamed")
            )
            session.commit()
        make_due(engine, office)
        assert worker.run_once() == 1
        assert receiver.wait_for(2)
        first, second = receiver.received[:2]
        assert (first.status, second.status) == (500, 200)
        assert first.body == second.body
        assert second.payload["data"]["requester_handle"] == "dewi-42"
        assert second.payload["data"]["reference"] == posted["reference"]


class _FailingWorker(Worker):
    def run_once(self) -> int:
        self.stop.set()
        raise RuntimeError("cannot send to budi.rahasia@example.com about NPWP 01.234.567.8")


def test_a_failed_round_is_logged_without_its_message(
    caplog: pytest.LogCaptureFixture, engine: Engine
) -> None:
    worker = _FailingWorker(engine=engine)
    with caplog.at_level(logging.ERROR, logger="infodesk.worker"):
        worker.run()
    assert [r.getMessage() for r in caplog.records] == ["delivery round failed: RuntimeError"]
    assert "budi.rahasia" not in caplog.text
    assert all(r.exc_info is None for r in caplog.records)
