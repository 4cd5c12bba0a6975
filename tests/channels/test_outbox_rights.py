"""Complaint responses travel through the outbox but stay out of supervisors' and admins'
sight: the rows name the complainant and the complaint (only compliance reads those, and
compliance sees nothing else there)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.inquiries.models import OutboxMessage
from tests.conftest import TokenFactory

OFFICE = "KANWIL-ACEH"


def _complaint_mail(client: TestClient, auth: TokenFactory, session: Session) -> OutboxMessage:
    """A complaint answered by compliance: its response row in the outbox, made dead."""
    body = {
        "office_code": OFFICE,
        "name": "Teuku Umar",
        "contact": {"email": "pelapor.rahasia@example.com"},
        "category": "ordinary",
        "message": "Petugas tidak sopan.",
    }
    number = client.post("/v1/public/complaints", json=body).json()["number"]
    compliance = auth("compliance", office=None, sub="kepatuhan-1")
    responded = client.post(
        f"/v1/complaints/{number}/respond", json={"message": "Ditindaklanjuti."}, headers=compliance
    )
    assert responded.status_code == 200, responded.text
    row = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == "pelapor.rahasia@example.com")
        .order_by(col(OutboxMessage.id).desc())
    ).first()
    assert row is not None
    assert row.kind == "complaint_response"
    assert row.inquiry_id is None
    assert number in (row.subject or "")
    row.status, row.attempts, row.last_error = "dead", 1, "SMTP 550 5.1.1"
    session.add(row)
    session.commit()
    return row


def _inquiry_mail(client: TestClient, auth: TokenFactory, session: Session) -> OutboxMessage:
    """The acknowledgement of an email inquiry, made dead like the complaint's row."""
    body = {
        "office_code": OFFICE,
        "channel": "email",
        "channel_message_id": "rights-1@example.com",
        "requester": {"name": "Cut Nyak", "email": "cut.nyak@example.com"},
        "subject": "Tarif bea masuk",
        "message": "Berapa tarif bea masuk untuk kopi?",
    }
    created = client.post("/v1/inquiries", json=body, headers=auth("integration"))
    assert created.status_code == 201, created.text
    row = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.inquiry_id).is_not(None))
        .where(OutboxMessage.recipient == "cut.nyak@example.com")
        .order_by(col(OutboxMessage.id).desc())
    ).first()
    assert row is not None
    row.status, row.attempts, row.last_error = "dead", 1, "SMTP 550 5.1.1"
    session.add(row)
    session.commit()
    return row


def test_supervisors_and_admins_never_see_complaint_responses(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    complaint = _complaint_mail(client, auth, session)
    inquiry = _inquiry_mail(client, auth, session)
    supervisor = auth("supervisor", office=OFFICE)
    admin = auth("admin", office=None)
    for headers, params in (
        (supervisor, {"limit": 200}),
        (supervisor, {"status": "dead", "limit": 200}),
        (admin, {"status": "dead", "limit": 200}),
        (admin, {"office_code": OFFICE, "status": "dead", "limit": 200}),
    ):
        listed = client.get("/v1/outbox", params=params, headers=headers)
        assert listed.status_code == 200, listed.text
        ids = [r["id"] for r in listed.json()["items"]]
        assert inquiry.id in ids  # the list works, and shows inquiries' mail
        assert complaint.id not in ids
        assert "pelapor.rahasia" not in listed.text
        assert "ADU-" not in listed.text

    # Paging never reaches it either.
    cursor = None
    seen: list[int] = []
    while True:
        params: dict[str, object] = {"status": "dead", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/outbox", params=params, headers=supervisor).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert inquiry.id in seen
    assert complaint.id not in seen

    for headers in (supervisor, admin):
        refused = client.post(f"/v1/outbox/{complaint.id}/retry", headers=headers)
        assert refused.status_code == 404, refused.text
        assert refused.json()["code"] == "outbox_message_not_found"
    session.refresh(complaint)
    assert complaint.status == "dead"
    retried = client.post(f"/v1/outbox/{inquiry.id}/retry", headers=supervisor)
    assert retried.status_code == 200, retried.text


def test_compliance_sees_and_retries_complaint_responses_only(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    complaint = _complaint_mail(client, auth, session)
    inquiry = _inquiry_mail(client, auth, session)
    compliance = auth("compliance", office=None, sub="kepatuhan-2")
    listed = client.get("/v1/outbox", params={"status": "dead", "limit": 200}, headers=compliance)
    assert listed.status_code == 200, listed.text
    ids = [r["id"] for r in listed.json()["items"]]
    assert complaint.id in ids
    assert inquiry.id not in ids
    assert all(r["kind"] == "complaint_response" for r in listed.json()["items"])

    refused = client.post(f"/v1/outbox/{inquiry.id}/retry", headers=compliance)
    assert refused.status_code == 404, refused.text
    session.refresh(inquiry)
    assert inquiry.status == "dead"
    retried = client.post(f"/v1/outbox/{complaint.id}/retry", headers=compliance)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending"
