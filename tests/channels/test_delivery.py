"""Delivery without a worker: acknowledgement texts, subjects, the back-off schedule, the
mail a row becomes, the outbox API and the delivery state on an inquiry's messages."""

from __future__ import annotations

import email
import smtplib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.policy import default
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.channels.outcomes import Attempt
from app.channels.smtp import (
    MailJob,
    attempt_from_error,
    build_message,
    parse_smtp_url,
    wire_bytes,
)
from app.channels.targets import Sender, SmtpTarget
from app.channels.worker import next_attempt_at
from app.core.config import get_settings
from app.inquiries import texts
from app.inquiries.models import InquiryEvent, OutboxMessage
from tests.api.test_inquiries import act, new_inquiry
from tests.conftest import TokenFactory

# -- texts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "zone", "expected"),
    [
        ("2026-12-01T10:00:00+00:00", "Asia/Jakarta", "Selasa, 1 Desember 2026 pukul 17.00 WIB"),
        ("2026-12-01T10:00:00+00:00", "Asia/Makassar", "Selasa, 1 Desember 2026 pukul 18.00 WITA"),
        ("2026-12-01T10:00:00+00:00", "Asia/Jayapura", "Selasa, 1 Desember 2026 pukul 19.00 WIT"),
        # Crossing midnight changes the day and month in the office's zone.
        ("2026-08-31T17:30:00+00:00", "Asia/Jayapura", "Selasa, 1 September 2026 pukul 02.30 WIT"),
        ("2027-01-03T01:05:00+00:00", "Asia/Jakarta", "Minggu, 3 Januari 2027 pukul 08.05 WIB"),
        ("2026-05-15T09:00:00+00:00", "Asia/Pontianak", "Jumat, 15 Mei 2026 pukul 16.00 WIB"),
        ("2026-02-02T01:00:00+00:00", "Asia/Jakarta", "Senin, 2 Februari 2026 pukul 08.00 WIB"),
        ("2026-11-26T08:00:00+00:00", "Asia/Jakarta", "Kamis, 26 November 2026 pukul 15.00 WIB"),
        ("2026-11-25T08:00:00+00:00", "Asia/Jakarta", "Rabu, 25 November 2026 pukul 15.00 WIB"),
        ("2026-11-28T08:00:00+00:00", "Asia/Jakarta", "Sabtu, 28 November 2026 pukul 15.00 WIB"),
    ],
)
def test_due_time_in_indonesian_words(instant: str, zone: str, expected: str) -> None:
    assert texts.in_words(datetime.fromisoformat(instant), zone) == expected


def test_due_time_outside_indonesia_names_the_offset_and_refuses_naive() -> None:
    assert texts.in_words(datetime(2026, 12, 1, 10, tzinfo=UTC), "UTC").endswith("10.00 UTC+0")
    with pytest.raises(ValueError, match="naive"):
        texts.in_words(datetime(2026, 12, 1, 10), "Asia/Jakarta")


def test_acknowledgement_names_reference_and_due_time() -> None:
    body = texts.acknowledgement(
        "Budi", "IQ-7K3F9QX2", datetime(2026, 12, 1, 10, tzinfo=UTC), "Asia/Jakarta"
    )
    assert body.startswith("Yth. Budi,")
    assert "nomor referensi IQ-7K3F9QX2" in body
    assert "paling lambat Selasa, 1 Desember 2026 pukul 17.00 WIB" in body
    assert "SIPUMA" in body


@pytest.mark.parametrize(
    ("theirs", "ticket", "expected"),
    [
        ("Bea masuk laptop", None, "Re: Bea masuk laptop [IQ-7K3F9QX2]"),
        ("Re: Bea masuk laptop", None, "Re: Bea masuk laptop [IQ-7K3F9QX2]"),
        ("RE: re: Fwd: Bea masuk", None, "Re: Bea masuk [IQ-7K3F9QX2]"),
        ("Re: Bea masuk [IQ-7K3F9QX2]", None, "Re: Bea masuk [IQ-7K3F9QX2]"),
        (
            "Re: Bea masuk [IQ-7K3F9QX2]",
            "KANWIL-ACEH-2026-000001",
            "Re: Bea masuk [IQ-7K3F9QX2 / KANWIL-ACEH-2026-000001]",
        ),
        (None, None, "Re: Permintaan informasi [IQ-7K3F9QX2]"),
        ("Bls: Balas: pertanyaan", None, "Re: pertanyaan [IQ-7K3F9QX2]"),
    ],
)
def test_reply_subject(theirs: str | None, ticket: str | None, expected: str) -> None:
    assert texts.subject("IQ-7K3F9QX2", theirs, ticket) == expected


def test_long_subject_keeps_the_tag_within_the_column() -> None:
    subject = texts.subject("IQ-7K3F9QX2", "x" * 400, "KANWIL-ACEH-2026-000001")
    assert len(subject) <= 300
    assert subject.endswith("[IQ-7K3F9QX2 / KANWIL-ACEH-2026-000001]")


# -- back-off ---------------------------------------------------------------------------------

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
LATER = Attempt(delivered=False, retryable=True, error="SMTP 451")


def _next(attempts: int, *, attempt: Attempt = LATER, jitter: float = 0.0, now: datetime = T0):
    return next_attempt_at(
        attempts=attempts,
        created_at=T0,
        now=now,
        attempt=attempt,
        backoff=5.0,
        max_age=86_400.0,
        jitter=jitter,
    )


def test_backoff_doubles_from_the_setting_with_bounded_jitter() -> None:
    assert _next(1) == T0 + timedelta(seconds=5)
    assert _next(2) == T0 + timedelta(seconds=10)
    assert _next(5) == T0 + timedelta(seconds=80)
    assert _next(1, jitter=1.0) == T0 + timedelta(seconds=6.25)
    # Capped at an hour (plus jitter) however many attempts.
    assert _next(30) == T0 + timedelta(hours=1)


def test_retry_after_is_honoured_and_permanent_failures_stop() -> None:
    asked = Attempt(delivered=False, retryable=True, retry_after=120.0)
    assert _next(1, attempt=asked) == T0 + timedelta(seconds=120)
    assert _next(1, attempt=Attempt(delivered=False, retryable=False, error="SMTP 550")) is None


def test_gives_up_after_about_a_day() -> None:
    assert _next(4, now=T0 + timedelta(hours=23, minutes=59, seconds=30)) is None
    assert _next(3, now=T0 + timedelta(hours=23)) is not None


# -- SMTP values ------------------------------------------------------------------------------


def test_smtp_url_forms() -> None:
    assert parse_smtp_url("smtp://mail.local") == SmtpTarget("mail.local", 25, "none")
    assert parse_smtp_url("smtp+starttls://u%40x:p%2Fw@mail.local:2587") == SmtpTarget(
        "mail.local", 2587, "starttls", "u@x", "p/w"
    )
    assert parse_smtp_url("smtps://mail.local") == SmtpTarget("mail.local", 465, "ssl")
    with pytest.raises(ValueError, match="smtp"):
        parse_smtp_url("http://mail.local")


def test_smtp_errors_map_to_attempts_without_the_address() -> None:
    refused = smtplib.SMTPRecipientsRefused(
        {"budi@example.com": (550, b"5.1.1 <budi@example.com>: user unknown")}
    )
    dead = attempt_from_error(refused)
    assert (dead.delivered, dead.retryable, dead.error) == (False, False, "SMTP 550 5.1.1")
    later = attempt_from_error(smtplib.SMTPDataError(451, b"4.3.0 try again"))
    assert (later.retryable, later.error) == (True, "SMTP 451 4.3.0")
    assert attempt_from_error(ConnectionRefusedError()).retryable
    assert attempt_from_error(smtplib.SMTPServerDisconnected()).retryable


@pytest.fixture
def message_id_domain(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("INFODESK_MESSAGE_ID_DOMAIN", "infodesk.beacukai.go.id")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_mail_headers(message_id_domain: None) -> None:
    # The Message-ID's domain is configured, never the sender's (a mailbox may change).
    delivery = uuid.uuid4()
    job = MailJob(
        delivery_id=delivery,
        sender=Sender("layanan@kanwil-aceh.beacukai.go.id", "Bea Cukai Aceh"),
        target=None,
        recipient="budi@example.com",
        subject="Re: Tarif bea masuk — laptop [IQ-7K3F9QX2]",
        body="Yth. Budi,\n\nTarif bea masuk 7,5 %.\n\nSalam",
        kind="acknowledgement",
        in_reply_to="abc@mail.example.com",
        references=("first@mail.example.com", "abc@mail.example.com"),
    )
    parsed = email.message_from_bytes(wire_bytes(job), policy=default)
    assert parsed["Message-ID"] == f"<infodesk.{delivery}@infodesk.beacukai.go.id>"
    assert parsed["From"] == "Bea Cukai Aceh <layanan@kanwil-aceh.beacukai.go.id>"
    assert parsed["Subject"] == "Re: Tarif bea masuk — laptop [IQ-7K3F9QX2]"
    assert parsed["In-Reply-To"] == "<abc@mail.example.com>"
    assert parsed["References"] == "<first@mail.example.com> <abc@mail.example.com>"
    assert parsed["Auto-Submitted"] == "auto-replied"
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "Tarif bea masuk 7,5 %." in text.get_content()
    assert text.get_content_charset() == "utf-8"
    assert "<p>Yth. Budi,</p>" in html.get_content()
    answer = build_message(
        MailJob(**{**job.__dict__, "kind": "answer", "in_reply_to": None, "references": ()})
    )
    assert answer["Auto-Submitted"] is None
    assert answer["In-Reply-To"] is None


# -- intake acknowledgement -------------------------------------------------------------------


def _email_inquiry(**overrides: Any) -> dict[str, Any]:
    return new_inquiry(
        channel="email",
        channel_account="info@kanwil-aceh.example",
        channel_message_id=f"m-{uuid.uuid4().hex}",
        subject="Re: Re: Tarif bea masuk",
        **overrides,
    )


def _rows(session: Session, inquiry_id: str) -> list[OutboxMessage]:
    return list(
        session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.inquiry_id == uuid.UUID(inquiry_id))
            .order_by(col(OutboxMessage.id))
        )
    )


def test_intake_acknowledges_once(client: TestClient, auth: TokenFactory, session: Session) -> None:
    body = _email_inquiry()
    created = client.post("/v1/inquiries", json=body, headers=auth("integration"))
    assert created.status_code == 201, created.text
    repeat = client.post("/v1/inquiries", json=body, headers=auth("integration"))
    assert repeat.status_code == 200
    inquiry = created.json()
    rows = _rows(session, inquiry["id"])
    assert [(r.kind, r.status, r.office_code) for r in rows] == [
        ("acknowledgement", "pending", "KANWIL-ACEH")
    ]
    ack = rows[0]
    assert ack.recipient == "cut.nyak@example.com"
    assert ack.subject == f"Re: Tarif bea masuk [{inquiry['reference']}]"
    assert inquiry["reference"] in ack.body
    # Received Monday 23 November 09:00 WIB; due as the inquiry's clock says.
    assert "paling lambat Selasa, 24 November 2026 pukul 17.00 WIB" in ack.body
    due = datetime.fromisoformat(inquiry["sla"]["due_at"])
    assert texts.in_words(due, "Asia/Jakarta") in ack.body
    detail = client.get(f"/v1/inquiries/{inquiry['id']}", headers=auth("officer")).json()
    kinds = [(m["kind"], m["direction"]) for m in detail["messages"]]
    assert kinds == [("request", "inbound"), ("acknowledgement", "outbound")]
    assert detail["messages"][0]["delivery"] is None
    assert detail["messages"][1]["delivery"] == {
        "status": "pending",
        "attempts": 0,
        "delivered_at": None,
        "last_error": None,
    }


def test_policy_can_switch_acknowledgements_off(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    policy = client.put(
        "/v1/sla/policies/aceh-webchat-quiet",
        json={"channel": "webchat", "office_code": "KANWIL-ACEH", "acknowledge": False},
        headers=auth("admin"),
    )
    assert policy.status_code in (200, 201), policy.text
    assert policy.json()["acknowledge"] is False
    assert client.get("/v1/sla/policies/default", headers=auth("admin")).json()["acknowledge"]
    quiet = client.post(
        "/v1/inquiries",
        json=new_inquiry(channel="webchat", channel_message_id=f"w-{uuid.uuid4().hex}"),
        headers=auth("integration"),
    )
    assert quiet.status_code == 201, quiet.text
    assert _rows(session, quiet.json()["id"]) == []
    loud = client.post("/v1/inquiries", json=_email_inquiry(), headers=auth("integration"))
    assert [r.kind for r in _rows(session, loud.json()["id"])] == ["acknowledgement"]


def test_escalation_subject_carries_the_ticket_number(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    created = client.post("/v1/inquiries", json=_email_inquiry(), headers=auth("integration"))
    iid = created.json()["id"]
    escalated = act(
        client, auth, iid, "escalate", {"unit_code": "P2", "reason": "teknis", "message": "m"}
    )
    assert escalated.status_code == 200, escalated.text
    number = escalated.json()["ticket_number"]
    rows = _rows(session, iid)
    assert [r.kind for r in rows] == ["acknowledgement", "escalation_notice"]
    assert rows[1].subject == f"Re: Tarif bea masuk [{created.json()['reference']} / {number}]"


# -- outbox API -------------------------------------------------------------------------------


def _dead_row(session: Session, office: str = "KANWIL-ACEH", status: str = "dead") -> OutboxMessage:
    # A row without an inquiry; not a complaint response, which only compliance sees
    # (tests/channels/test_outbox_rights.py).
    row = OutboxMessage(
        office_code=office,
        kind="notice",
        channel="email",
        recipient="pelapor@example.com",
        subject="Tanggapan pengaduan",
        body="Isi tanggapan",
        status=status,
        attempts=1,
        last_error="SMTP 550 5.1.1",
    )
    session.add(row)
    session.commit()
    return row


def test_outbox_list_scopes_and_pages(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    own = [_dead_row(session) for _ in range(3)]
    other = _dead_row(session, office="KPPBC-LANGSA")
    admin = client.get("/v1/outbox", params={"status": "dead", "limit": 200}, headers=auth("admin"))
    assert admin.status_code == 200, admin.text
    ids = [r["id"] for r in admin.json()["items"]]
    assert {r.id for r in [*own, other]} <= set(ids)
    assert ids == sorted(ids, reverse=True)

    supervisor = auth("supervisor", office="KANWIL-ACEH")
    first = client.get("/v1/outbox", params={"status": "dead", "limit": 2}, headers=supervisor)
    page = first.json()
    assert [r["id"] for r in page["items"]] == [own[2].id, own[1].id]
    assert page["items"][0]["last_error"] == "SMTP 550 5.1.1"
    assert page["items"][0]["attempts"] == 1
    rest = client.get(
        "/v1/outbox",
        params={"status": "dead", "limit": 2, "cursor": page["next_cursor"]},
        headers=supervisor,
    ).json()
    assert own[0].id in [r["id"] for r in rest["items"]]
    assert other.id not in [r["id"] for r in rest["items"]]

    foreign = client.get("/v1/outbox", params={"office_code": "KPPBC-LANGSA"}, headers=supervisor)
    assert foreign.status_code == 403
    assert foreign.json()["code"] == "outbox_office_forbidden"
    assert client.get("/v1/outbox", headers=auth("officer")).status_code == 403
    bad = client.get("/v1/outbox", params={"cursor": "nonsense!"}, headers=auth("admin"))
    assert bad.status_code == 422
    assert (
        client.get("/v1/outbox", params={"status": "lost"}, headers=auth("admin")).status_code
        == 422
    )


def test_retry_makes_a_dead_message_pending_and_audits_it(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    created = client.post("/v1/inquiries", json=_email_inquiry(), headers=auth("integration"))
    iid = created.json()["id"]
    ack = _rows(session, iid)[0]
    ack.status, ack.attempts, ack.last_error = "bounced", 1, "bounced: 5.1.1"
    session.add(ack)
    session.commit()

    supervisor = auth("supervisor", office="KANWIL-ACEH", sub="spv-1")
    assert client.post(f"/v1/outbox/{ack.id}/retry", headers=auth("officer")).status_code == 403
    elsewhere = auth("supervisor", office="KPPBC-LANGSA")
    hidden = client.post(f"/v1/outbox/{ack.id}/retry", headers=elsewhere)
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "outbox_message_not_found"

    retried = client.post(f"/v1/outbox/{ack.id}/retry", headers=supervisor)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending"
    assert retried.json()["delivery_id"] == str(ack.delivery_id)
    again = client.post(f"/v1/outbox/{ack.id}/retry", headers=supervisor)
    assert again.status_code == 409
    assert again.json()["code"] == "outbox_not_retryable"
    assert client.post("/v1/outbox/999999999/retry", headers=auth("admin")).status_code == 404

    events = session.exec(
        select(InquiryEvent).where(
            InquiryEvent.inquiry_id == uuid.UUID(iid), InquiryEvent.action == "delivery_retry"
        )
    ).all()
    assert len(events) == 1
    assert events[0].actor == "spv-1"
    assert events[0].details["previous_delivery_status"] == "bounced"
    trail = client.get(f"/v1/inquiries/{iid}/events", headers=auth("officer")).json()["items"]
    assert "delivery_retry" in [e["action"] for e in trail]


def test_retry_of_a_row_without_inquiry(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    row = _dead_row(session)
    retried = client.post(f"/v1/outbox/{row.id}/retry", headers=auth("admin", office=None))
    assert retried.status_code == 200, retried.text
    session.refresh(row)
    assert row.status == "pending"
    assert row.requeued_at is not None


def test_metrics_show_the_backlog(client: TestClient, session: Session) -> None:
    _dead_row(session, status="pending")
    text = client.get("/metrics").text
    assert "infodesk_outbox_pending " in text
    assert "infodesk_outbox_oldest_pending_age_seconds " in text
