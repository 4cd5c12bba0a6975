"""Email in through HTTP: new inquiries, threading, the noise guard, bounces, duplicates
(also racing, with real commits), attachments and raw mail, refusals and rights."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.channels.inbound import EMPTY_TEXT
from app.channels.mime import parse_email
from app.channels.models import InboundEmail
from app.core.config import get_settings
from app.inquiries.models import Inquiry, OutboxMessage
from app.main import create_app
from tests.conftest import TokenFactory

CORPUS = Path(__file__).parent / "mime"
OFFICE = "KANWIL-ACEH"
URL = f"/v1/channels/email/inbound?office_code={OFFICE}"
DELIVERY = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
REFERENCE = "IQ-7K3F9QX2"


def mail(name: str, **replace: str) -> bytes:
    raw = (CORPUS / name).read_bytes()
    for old, new in replace.items():
        raw = raw.replace(old.encode(), new.encode())
    return raw


def simple(
    message_id: str | None = "m1@example.com",
    sender: str = "Rina Wati <rina@example.com>",
    subject: str = "Pertanyaan",
    body: str = "Apakah laptop bekas kena bea masuk?",
    extra: str = "",
) -> bytes:
    head = f"From: {sender}\r\nTo: info.aceh@beacukai.go.id\r\nSubject: {subject}\r\n"
    if message_id:
        head += f"Message-ID: <{message_id}>\r\n"
    head += extra + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    return (head + body + "\r\n").encode()


def post(client: TestClient, auth: TokenFactory, raw: bytes, url: str = URL, **who: Any) -> Any:
    headers = {**auth("integration", **who), "Content-Type": "message/rfc822"}
    return client.post(url, content=raw, headers=headers)


def created(client: TestClient, auth: TokenFactory, raw: bytes) -> dict[str, Any]:
    response = post(client, auth, raw)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["outcome"] == "created"
    return body


def detail(client: TestClient, auth: TokenFactory, inquiry_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/inquiries/{inquiry_id}", headers=auth("officer"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def inbound_messages(client: TestClient, auth: TokenFactory, iid: str) -> list[dict[str, Any]]:
    messages = detail(client, auth, iid)["messages"]
    return [m for m in messages if m["direction"] == "inbound"]


def count(session: Session, model: Any) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


def outbox_of(
    client: TestClient, auth: TokenFactory, session: Session, inquiry_id: str, action: str
) -> OutboxMessage:
    officer = auth("officer", sub="officer-1")
    assigned = client.post(
        f"/v1/inquiries/{inquiry_id}/assign", json={"assignee": "officer-1"}, headers=officer
    )
    assert assigned.status_code == 200, assigned.text
    done = client.post(
        f"/v1/inquiries/{inquiry_id}/{action}",
        json={"message": "Mohon kirim resi."},
        headers=officer,
    )
    assert done.status_code == 200, done.text
    rows = session.exec(
        select(OutboxMessage).where(OutboxMessage.inquiry_id == uuid.UUID(inquiry_id))
    ).all()
    assert rows
    return rows[-1]


def test_a_mail_becomes_an_inquiry(client: TestClient, auth: TokenFactory) -> None:
    result = created(client, auth, mail("qp_indonesian.eml"))
    assert result["reference"].startswith("IQ-")
    assert result["reason"] is None
    inquiry = detail(client, auth, result["inquiry_id"])
    assert inquiry["channel"] == "email"
    assert inquiry["subject"] == "Pertanyaan tentang impor barang kiriman"
    assert inquiry["requester"]["email"] == "siti.rahma@example.co.id"
    assert inquiry["requester"]["name"] == "Siti Rahmawati"
    assert "USD 450 — apakah dikenakan bea masuk" in inquiry["message"]
    assert inquiry["status"] == "new"
    assert inquiry["sla"]["due_at"]


def test_the_same_message_id_twice_is_a_duplicate(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    # Other tests' workers commit to the run's database: count what this test adds.
    inquiries, mails = count(session, Inquiry), count(session, InboundEmail)
    first = created(client, auth, mail("qp_indonesian.eml"))
    again = post(client, auth, mail("qp_indonesian.eml"))
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    assert again.json()["inquiry_id"] == first["inquiry_id"]
    assert again.json()["reference"] == first["reference"]
    assert count(session, Inquiry) == inquiries + 1
    assert count(session, InboundEmail) == mails + 1


def test_a_mail_without_message_id_is_keyed_by_its_bytes(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    raw = mail("no_message_id.eml")
    first = created(client, auth, raw)
    assert post(client, auth, raw).json()["outcome"] == "duplicate"
    other = post(client, auth, raw.replace(b"Sabtu", b"Minggu"))
    assert other.json()["outcome"] == "created"
    assert other.json()["inquiry_id"] != first["inquiry_id"]
    row = session.exec(
        select(InboundEmail).where(InboundEmail.inquiry_id == uuid.UUID(first["inquiry_id"]))
    ).one()
    assert row.message_id is None
    assert row.raw_sha256 == hashlib.sha256(raw).hexdigest()


def test_html_and_charsets_reach_the_inquiry(client: TestClient, auth: TokenFactory) -> None:
    html = detail(client, auth, created(client, auth, mail("html_only.eml"))["inquiry_id"])
    assert "laptop dengan kode HS 8471.30.20" in html["message"]
    assert "<p>" not in html["message"]
    assert "alert" not in html["message"]
    latin = detail(client, auth, created(client, auth, mail("iso_8859_1.eml"))["inquiry_id"])
    assert latin["subject"] == "Importación de café"
    assert latin["requester"]["name"] == "José Muñoz"
    cp1252 = detail(client, auth, created(client, auth, mail("windows_1252.eml"))["inquiry_id"])
    assert "“bea keluar” sebesar € 120" in cp1252["message"]
    b64 = detail(client, auth, created(client, auth, mail("base64_subject.eml"))["inquiry_id"])
    assert b64["subject"] == "Pengiriman paket — status tertahan di gudang ✓"


def test_attachments_and_the_raw_mail_are_kept(client: TestClient, auth: TokenFactory) -> None:
    raw = mail("pdf_attachment.eml")
    iid = created(client, auth, raw)["inquiry_id"]
    listed = client.get(f"/v1/inquiries/{iid}/emails", headers=auth("officer"))
    assert listed.status_code == 200, listed.text
    [entry] = listed.json()["items"]
    assert entry["message_id"] == "pdf-2026-11-26@example.com"
    assert entry["sender"] == "iqbal@example.com"
    assert entry["outcome"] == "created"
    assert entry["size"] == len(raw)
    assert entry["sha256"] == hashlib.sha256(raw).hexdigest()
    [pdf] = entry["attachments"]
    assert pdf["filename"] == "Invoice 2026-11 — final.pdf"
    assert pdf["content_type"] == "application/pdf"

    got = client.get(f"/v1/inquiries/{iid}/attachments/{pdf['id']}", headers=auth("supervisor"))
    assert got.status_code == 200
    assert got.content.startswith(b"%PDF-1.4")
    assert len(got.content) == pdf["size"]
    assert hashlib.sha256(got.content).hexdigest() == pdf["sha256"]
    assert got.headers["content-type"] == "application/pdf"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Invoice 2026-11 _ final.pdf"')
    assert "filename*=UTF-8''Invoice%202026-11%20%E2%80%94%20final.pdf" in disposition
    assert got.headers["x-content-type-options"] == "nosniff"

    whole = client.get(f"/v1/inquiries/{iid}/emails/{entry['id']}/raw", headers=auth("officer"))
    assert whole.status_code == 200
    assert whole.content == raw
    assert whole.headers["content-type"] == "message/rfc822"


def test_reading_mail_needs_the_rights_to_the_inquiry(
    client: TestClient, auth: TokenFactory
) -> None:
    iid = created(client, auth, mail("pdf_attachment.eml"))["inquiry_id"]
    [entry] = client.get(f"/v1/inquiries/{iid}/emails", headers=auth("officer")).json()["items"]
    att = entry["attachments"][0]["id"]
    paths = [
        f"/v1/inquiries/{iid}/emails",
        f"/v1/inquiries/{iid}/emails/{entry['id']}/raw",
        f"/v1/inquiries/{iid}/attachments/{att}",
    ]
    for path in paths:
        assert client.get(path, headers=auth("officer", office="KPPBC-LANGSA")).status_code == 404
        assert client.get(path, headers=auth("integration")).status_code == 404
        assert client.get(path).status_code == 401
        assert client.get(path, headers=auth("compliance", office=None)).status_code == 200
    other = created(client, auth, mail("qp_indonesian.eml"))["inquiry_id"]
    # An attachment or mail of one inquiry is not reachable through another.
    assert client.get(paths[1].replace(iid, other), headers=auth("officer")).status_code == 404
    assert client.get(paths[2].replace(iid, other), headers=auth("officer")).status_code == 404


def test_a_reply_to_our_mail_is_a_follow_up_without_the_quotes(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    iid = created(client, auth, mail("qp_indonesian.eml"))["inquiry_id"]
    outbox = outbox_of(client, auth, session, iid, "request-info")
    assert detail(client, auth, iid)["status"] == "awaiting_requester"
    # From another address than the requester's: our Message-ID is what threads it.
    raw = mail(
        "reply_gmail_en.eml",
        **{
            DELIVERY: str(outbox.delivery_id),
            "siti.rahma@example.co.id>\nTo": "ayah@example.com>\nTo",
        },
    )
    response = post(client, auth, raw)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "follow_up"
    assert response.json()["inquiry_id"] == iid
    after = detail(client, auth, iid)
    assert after["status"] == "in_progress"
    assert after["messages"][-1]["kind"] == "follow_up"
    assert after["messages"][-1]["body"] == (
        "One more question: can I pick the parcel up in Banda Aceh myself?"
    )
    [_, reply] = client.get(f"/v1/inquiries/{iid}/emails", headers=auth("officer")).json()["items"]
    assert reply["outcome"] == "follow_up"
    assert reply["inquiry_message_id"] == after["messages"][-1]["id"]


def test_a_reply_to_an_earlier_mail_of_the_inquiry_follows_up(
    client: TestClient, auth: TokenFactory
) -> None:
    iid = created(client, auth, simple("first@example.com"))["inquiry_id"]
    reply = simple(
        "second@example.com",
        sender="Orang Lain <lain@example.org>",
        body="Saya rekan Rina; ini tambahan informasinya.",
        extra="In-Reply-To: <first@example.com>\r\n",
    )
    response = post(client, auth, reply)
    assert response.json()["outcome"] == "follow_up"
    assert response.json()["inquiry_id"] == iid


def test_the_reference_in_the_subject_threads_only_the_requester(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    first = created(client, auth, mail("qp_indonesian.eml"))
    iid, reference = first["inquiry_id"], first["reference"]
    # Outlook reply: our Message-ID there is unknown (another office's, say), so the
    # reference decides; the sender's address differs in case only.
    own = post(client, auth, mail("reply_outlook.eml", **{REFERENCE: reference}))
    assert own.json()["outcome"] == "follow_up", own.text
    assert own.json()["inquiry_id"] == iid
    body = detail(client, auth, iid)["messages"][-1]["body"]
    assert body.startswith("Terima kasih, berikut foto resi")
    assert "Original Message" not in body
    assert "Mohon kirimkan foto resi" not in body

    gmail = post(client, auth, mail("reply_gmail_id.eml", **{REFERENCE: reference.lower()}))
    assert gmail.json()["outcome"] == "follow_up"
    assert detail(client, auth, iid)["messages"][-1]["body"] == (
        "Baik Pak, dokumen sudah saya kirim lewat portal tadi pagi."
    )

    stranger = simple("x1@evil.example", sender="mallory@evil.example", subject=f"Re: {reference}")
    response = post(client, auth, stranger)
    assert response.status_code == 201
    assert response.json()["outcome"] == "created"
    assert response.json()["inquiry_id"] != iid
    assert len(inbound_messages(client, auth, iid)) == 3


def test_the_ticket_number_in_the_subject_threads_the_requester(
    client: TestClient, auth: TokenFactory
) -> None:
    iid = created(client, auth, simple("t1@example.com"))["inquiry_id"]
    officer = auth("officer", sub="officer-1")
    client.post(f"/v1/inquiries/{iid}/assign", json={"assignee": "officer-1"}, headers=officer)
    escalated = client.post(
        f"/v1/inquiries/{iid}/escalate",
        json={"unit_code": "PERBEND", "reason": "cek", "message": "Diteruskan."},
        headers=officer,
    )
    assert escalated.status_code == 200, escalated.text
    ticket = escalated.json()["ticket_number"]
    reply = simple("t2@example.com", sender="RINA@example.com", subject=f"Tiket {ticket.lower()}")
    response = post(client, auth, reply)
    assert response.json()["outcome"] == "follow_up"
    assert response.json()["inquiry_id"] == iid
    glued = simple("t3@example.com", sender="rina@example.com", subject=f"Re:Tiket-{ticket}")
    assert post(client, auth, glued).json()["inquiry_id"] == iid


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("auto_reply.eml", "Auto-Submitted: auto-replied"),
        ("bulk.eml", "Precedence: bulk"),
        ("bounce.eml", "delivery status report"),
    ],
)
def test_noise_is_recorded_and_ignored(
    client: TestClient, auth: TokenFactory, session: Session, name: str, reason: str
) -> None:
    inquiries = count(session, Inquiry)
    response = post(client, auth, mail(name))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "outcome": "ignored",
        "inquiry_id": None,
        "reference": None,
        "reason": reason,
    }
    assert count(session, Inquiry) == inquiries
    message_id = parse_email(mail(name)).message_id
    [row] = session.exec(select(InboundEmail).where(InboundEmail.message_id == message_id)).all()
    assert row.outcome == "ignored"
    assert row.reason == reason
    assert row.inquiry_id is None
    assert post(client, auth, mail(name)).json()["outcome"] == "duplicate"


def test_a_bounce_of_our_mail_marks_the_delivery(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    iid = created(client, auth, mail("qp_indonesian.eml"))["inquiry_id"]
    outbox = outbox_of(client, auth, session, iid, "answer")
    response = post(client, auth, mail("bounce.eml", **{DELIVERY: str(outbox.delivery_id)}))
    assert response.json()["outcome"] == "ignored"
    assert response.json()["reason"] == "delivery status report; 1 delivery marked bounced"
    session.refresh(outbox)
    assert outbox.status == "bounced"
    assert outbox.last_error == "bounced: smtp; 550 5.1.1 User unknown"
    assert len(inbound_messages(client, auth, iid)) == 1


def test_a_bounce_for_another_office_marks_nothing(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    iid = created(client, auth, mail("qp_indonesian.eml"))["inquiry_id"]
    outbox = outbox_of(client, auth, session, iid, "answer")
    raw = mail("bounce.eml", **{DELIVERY: str(outbox.delivery_id)})
    response = post(
        client,
        auth,
        raw,
        url="/v1/channels/email/inbound?office_code=KPPBC-LANGSA",
        office="KPPBC-LANGSA",
    )
    assert response.json()["reason"] == "delivery status report"
    session.refresh(outbox)
    assert outbox.status == "pending"


def test_a_bounce_of_a_row_without_inquiry_marks_it(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    # A complaint response: an outbox row of the office without an inquiry.
    outbox = OutboxMessage(
        office_code=OFFICE,
        kind="complaint_response",
        channel="email",
        recipient="rina@example.com",
        subject="Pengaduan",
        body="Tanggapan atas pengaduan Anda.",
    )
    session.add(outbox)
    session.flush()
    response = post(client, auth, mail("bounce.eml", **{DELIVERY: str(outbox.delivery_id)}))
    assert response.status_code == 200, response.text
    assert response.json()["reason"] == "delivery status report; 1 delivery marked bounced"
    session.refresh(outbox)
    assert outbox.status == "bounced"
    assert outbox.last_error == "bounced: smtp; 550 5.1.1 User unknown"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (mail("broken_mime.eml"), "email_unreadable"),
        (mail("unknown_charset.eml"), "email_unreadable"),
        (mail("charset_idna.eml"), "email_unreadable"),
        (mail("charset_nul.eml"), "email_unreadable"),
        (mail("param_without_value.eml"), "email_unreadable"),
        (mail("no_from.eml"), "email_no_sender"),
        (simple(sender="not an address"), "email_no_sender"),
        (b"", "email_unreadable"),
    ],
)
def test_unreadable_mail_is_a_422_and_writes_nothing(
    client: TestClient, auth: TokenFactory, session: Session, raw: bytes, code: str
) -> None:
    inquiries, mails = count(session, Inquiry), count(session, InboundEmail)
    response = post(client, auth, raw)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert count(session, InboundEmail) == mails
    assert count(session, Inquiry) == inquiries


def test_long_and_empty_texts_are_bounded(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    long = simple("long@example.com", subject="S" * 900, body="kata " * 9000)
    inquiry = detail(client, auth, created(client, auth, long)["inquiry_id"])
    assert len(inquiry["subject"]) == 300
    assert len(inquiry["message"]) == 20_000
    empty = simple("empty@example.com", body="")
    assert detail(client, auth, created(client, auth, empty)["inquiry_id"])["message"] == EMPTY_TEXT
    stored = session.exec(
        select(InboundEmail).where(InboundEmail.message_id == "long@example.com")
    ).one()
    assert stored.subject is not None
    assert len(stored.subject) == 300


def test_posting_needs_the_office_integration(client: TestClient, auth: TokenFactory) -> None:
    raw = simple()
    headers = {"Content-Type": "message/rfc822"}
    assert client.post(URL, content=raw, headers={**auth("officer"), **headers}).status_code == 403
    assert client.post(URL, content=raw, headers={**auth("admin"), **headers}).status_code == 403
    other = post(client, auth, raw, office="KPPBC-LANGSA")
    assert other.status_code == 403
    assert client.post(URL, content=raw, headers=headers).status_code == 401
    wrong_type = client.post(
        URL, content=raw, headers={**auth("integration"), "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    nowhere = post(
        client,
        auth,
        raw,
        url="/v1/channels/email/inbound?office_code=KPPBC-NOWHERE",
        office="KPPBC-NOWHERE",
    )
    assert nowhere.status_code == 404
    assert post(client, auth, raw, url="/v1/channels/email/inbound").status_code == 422


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("INFODESK_MAX_EMAIL_BYTES", "2000")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_a_mail_over_the_limit_is_a_413(small_limit: None, auth: TokenFactory) -> None:
    # The limit is read when the application is made; no database is reached.
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        response = post(client, auth, simple(body="x" * 3000))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "email_too_large"


def test_a_streamed_mail_over_the_limit_has_the_same_code(
    small_limit: None, auth: TokenFactory
) -> None:
    # No Content-Length: the middleware counts the bytes as they come.
    def chunks() -> Iterator[bytes]:
        yield simple(body="x" * 3000)

    headers = {**auth("integration"), "Content-Type": "message/rfc822"}
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        response = client.post(URL, content=chunks(), headers=headers)
    assert response.status_code == 413
    assert response.json()["code"] == "email_too_large"
