"""Personal data (UU 27/2022): every full read of an identity number is recorded; a
person's data can be exported and erased on request; requester data is anonymised after
the retention period. Statistics and the audit trail survive."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.inquiries.models import Inquiry, OutboxMessage
from app.privacy import retention
from app.privacy.models import PrivacyEvent
from tests.api.test_inquiries import OFFICE, act, new_inquiry
from tests.channels.test_inbound import created, simple
from tests.conftest import TokenFactory

NIK = "1171024108900001"
EMAIL = "cut.nyak@example.com"
READS = "/v1/audit/personal-data-reads"


def _inquiry(client: TestClient, auth: TokenFactory, **overrides: Any) -> str:
    body = new_inquiry(channel_message_id="pd-" + uuid.uuid4().hex[:8], **overrides)
    response = client.post("/v1/inquiries", json=body, headers=auth("integration"))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _compliance(auth: TokenFactory) -> dict[str, str]:
    return auth("compliance", office=None, sub="kepatuhan-1")


def test_full_identity_reads_are_recorded_and_listed_for_compliance(
    client: TestClient, auth: TokenFactory
) -> None:
    iid = _inquiry(client, auth)
    officer = auth("officer", sub="officer-7")
    detail = client.get(f"/v1/inquiries/{iid}", headers=officer)
    assert detail.json()["requester"]["nik"] == NIK
    # Masked views are not recorded: a list, the head of office, another office.
    assert client.get("/v1/inquiries", headers=officer).status_code == 200
    assert (
        client.get(f"/v1/inquiries/{iid}", headers=auth("head")).json()["requester"]["nik"] != NIK
    )
    assert (
        client.get(
            f"/v1/inquiries/{iid}", headers=auth("officer", office="KPPBC-LANGSA")
        ).status_code
        == 404
    )
    # An action's response shows the numbers too.
    assert act(client, auth, iid, "assign", {"assignee": "u1"}, sub="u1").status_code == 200

    listed = client.get(READS, params={"inquiry_id": iid}, headers=_compliance(auth))
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [(i["actor"], i["fields"]) for i in items] == [
        ("u1", ["nik", "npwp"]),
        ("officer-7", ["nik", "npwp"]),
    ]
    assert items[0]["office_code"] == OFFICE
    for role in ("officer", "supervisor", "admin", "head"):
        assert client.get(READS, headers=auth(role)).status_code == 403


def test_reads_page_by_id(client: TestClient, auth: TokenFactory) -> None:
    iid = _inquiry(client, auth)
    for n in range(3):
        client.get(f"/v1/inquiries/{iid}", headers=auth("officer", sub=f"o{n}"))
    first = client.get(
        READS, params={"inquiry_id": iid, "limit": 2}, headers=_compliance(auth)
    ).json()
    assert [i["actor"] for i in first["items"]] == ["o2", "o1"]
    rest = client.get(
        READS,
        params={"inquiry_id": iid, "limit": 2, "before_id": first["next_before_id"]},
        headers=_compliance(auth),
    ).json()
    assert [i["actor"] for i in rest["items"]] == ["o0"]
    assert rest["next_before_id"] is None


def test_export_holds_everything_on_the_person_and_is_audited(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    email = f"pd-{uuid.uuid4().hex[:6]}@example.com"
    _inquiry(client, auth, requester={**new_inquiry()["requester"], "email": email})
    other = _inquiry(client, auth, requester={"name": "Orang Lain", "email": "lain@example.com"})
    complaint = client.post(
        "/v1/public/complaints",
        json={
            "office_code": OFFICE,
            "name": "Cut Nyak Dhien",
            "contact": {"email": email.upper()},
            "reference": None,
            "category": "ordinary",
            "message": "Jawaban terlambat.",
        },
    )
    assert complaint.status_code == 201, complaint.text
    response = client.get(
        "/v1/requesters/export", params={"email": email.upper()}, headers=_compliance(auth)
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert [i["requester"]["email"] for i in data["inquiries"]] == [email]
    exported = data["inquiries"][0]
    assert exported["requester"]["nik"] == NIK
    assert exported["documents"]
    assert exported["messages"]
    assert other not in response.text
    assert [c["number"] for c in data["complaints"]] == [complaint.json()["number"]]
    event = session.exec(select(PrivacyEvent).order_by(PrivacyEvent.id.desc())).first()  # type: ignore[union-attr]
    assert event is not None
    assert event.action == "export"
    assert event.subject_kind == "email"
    assert email not in str(event.model_dump())
    assert event.counts == {"inquiries": 1, "complaints": 1}


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 422, "validation_failed"),
        ({"email": EMAIL, "nik": NIK}, 422, "validation_failed"),
        ({"email": "not-an-email"}, 422, "invalid_identifier"),
        ({"nik": "123"}, 422, "invalid_identifier"),
    ],
)
def test_export_needs_exactly_one_valid_identifier(
    client: TestClient, auth: TokenFactory, params: dict[str, str], status: int, code: str
) -> None:
    response = client.get("/v1/requesters/export", params=params, headers=_compliance(auth))
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


def test_only_compliance_and_admin_export_and_erase(client: TestClient, auth: TokenFactory) -> None:
    for role in ("officer", "supervisor", "head", "integration"):
        headers = auth(role)
        assert (
            client.get("/v1/requesters/export", params={"nik": NIK}, headers=headers).status_code
            == 403
        )
        erase = client.post(
            "/v1/requesters/erase", json={"nik": NIK, "reason": "x" * 5}, headers=headers
        )
        assert erase.status_code == 403
    admin = auth("admin", office=None)
    assert (
        client.get("/v1/requesters/export", params={"nik": NIK}, headers=admin).status_code == 200
    )


def test_erasure_removes_the_person_and_keeps_the_statistics(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    nik = "1171024108900002"
    iid = _inquiry(client, auth, requester={**new_inquiry()["requester"], "nik": nik})
    assert act(client, auth, iid, "answer", {"message": "Jawaban kami."}).status_code == 200
    before = client.get(f"/v1/inquiries/{iid}", headers=auth("officer")).json()

    erased = client.post(
        "/v1/requesters/erase",
        json={"nik": nik, "reason": "Permohonan penghapusan 12/2026"},
        headers=_compliance(auth),
    )
    assert erased.status_code == 200, erased.text
    counts = erased.json()["counts"]
    assert counts["inquiries"] == 1
    assert counts["documents"] == 3
    assert counts["messages"] >= 2

    after = client.get(f"/v1/inquiries/{iid}", headers=auth("officer")).json()
    assert after["requester"] == {
        "name": "Anonim",
        "email": None,
        "phone": None,
        "handle": None,
        "nik": None,
        "npwp": None,
        "organization": None,
    }
    assert after["message"] == "[dihapus]"
    assert {m["body"] for m in after["messages"]} == {"[dihapus]"}
    assert after["documents"] == []
    # What statistics need stays.
    for key in ("reference", "office_code", "status", "received_at", "sla", "answered_at"):
        assert after[key] == before[key], key
    events = client.get(f"/v1/inquiries/{iid}/events", headers=auth("officer")).json()["items"]
    assert [e["action"] for e in events][:1] == ["created"]
    again = client.get("/v1/requesters/export", params={"nik": nik}, headers=_compliance(auth))
    assert again.json()["inquiries"] == []
    rows = session.exec(select(OutboxMessage).where(OutboxMessage.inquiry_id == uuid.UUID(iid)))
    assert all(r.status != "pending" and r.body == "[dihapus]" for r in rows)
    event = session.exec(select(PrivacyEvent).where(PrivacyEvent.action == "erase")).first()
    assert event is not None
    assert event.reason == "Permohonan penghapusan 12/2026"
    assert nik not in str(event.model_dump())


def test_erasure_removes_stored_mail(client: TestClient, auth: TokenFactory) -> None:
    sender = f"pd-{uuid.uuid4().hex[:6]}@example.com"
    body = created(
        client, auth, simple(message_id=f"{uuid.uuid4().hex}@example.com", sender=sender)
    )
    iid = body["inquiry_id"]
    emails = client.get(f"/v1/inquiries/{iid}/emails", headers=auth("officer")).json()["items"]
    raw_url = f"/v1/inquiries/{iid}/emails/{emails[0]['id']}/raw"
    assert client.get(raw_url, headers=auth("officer")).status_code == 200
    erased = client.post(
        "/v1/requesters/erase",
        json={"email": sender, "reason": "Permohonan"},
        headers=_compliance(auth),
    )
    assert erased.status_code == 200, erased.text
    assert erased.json()["counts"]["emails"] == 1
    assert client.get(raw_url, headers=auth("officer")).status_code == 404
    listed = client.get(f"/v1/inquiries/{iid}/emails", headers=auth("officer")).json()["items"]
    assert listed[0]["sender"] is None


def test_retention_anonymises_only_what_is_past_its_period(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    now = datetime(2032, 6, 1, tzinfo=UTC)
    old, recent = _inquiry(client, auth), _inquiry(client, auth)
    for iid, closed in (
        (old, now - timedelta(days=5 * 366)),
        (recent, now - timedelta(days=4 * 365)),
    ):
        inquiry = session.get(Inquiry, uuid.UUID(iid))
        assert inquiry is not None
        inquiry.status, inquiry.closed_at = "closed", closed
        session.add(inquiry)
    session.flush()

    @contextmanager
    def same() -> Iterator[Session]:
        yield session

    assert retention.run(now, dry_run=True, transaction=same) >= 1
    assert retention.run(now, transaction=same) >= 1
    session.expire_all()
    assert session.get(Inquiry, uuid.UUID(old)).requester_name == "Anonim"  # type: ignore[union-attr]
    assert session.get(Inquiry, uuid.UUID(recent)).requester_nik == NIK  # type: ignore[union-attr]
    assert retention.run(now, transaction=same) == 0
    event = session.exec(select(PrivacyEvent).where(PrivacyEvent.action == "retention")).first()
    assert event is not None
    assert event.counts["inquiries"] >= 1


@pytest.mark.parametrize(
    ("now", "years", "expected"),
    [
        (datetime(2031, 6, 1, tzinfo=UTC), 5, datetime(2026, 6, 1, tzinfo=UTC)),
        (datetime(2032, 2, 29, tzinfo=UTC), 5, datetime(2027, 2, 28, tzinfo=UTC)),
    ],
)
def test_retention_cutoff_counts_calendar_years(
    now: datetime, years: int, expected: datetime
) -> None:
    assert retention.cutoff(now, years) == expected


def test_an_npwp_document_shown_in_full_is_recorded(client: TestClient, auth: TokenFactory) -> None:
    body = new_inquiry(channel_message_id="pd-doc-" + uuid.uuid4().hex[:6])
    body["requester"] = {"name": "PT Contoh", "email": "pt@example.com"}
    body["documents"] = [{"type": "npwp", "number": "01.234.567.4-901.000"}]
    iid = client.post("/v1/inquiries", json=body, headers=auth("integration")).json()["id"]
    assert (
        client.get(f"/v1/inquiries/{iid}", headers=auth("officer", sub="o-doc")).status_code == 200
    )
    items = client.get(READS, params={"inquiry_id": iid}, headers=_compliance(auth)).json()["items"]
    assert [(i["actor"], i["fields"]) for i in items] == [("o-doc", ["documents"])]


def test_erasure_takes_the_inquiry_out_of_search(client: TestClient, auth: TokenFactory) -> None:
    nik = "1171024108900003"
    word = "kuskusprivasi"
    iid = _inquiry(
        client,
        auth,
        requester={**new_inquiry()["requester"], "nik": nik},
        message=f"Apakah {word} boleh dikirim?",
    )
    assert act(client, auth, iid, "answer", {"message": f"Ya, {word} boleh."}).status_code == 200

    def found() -> list[str]:
        response = client.get("/v1/search", params={"q": word}, headers=auth("officer"))
        assert response.status_code == 200, response.text
        return [hit["id"] for hit in response.json()["items"]]

    assert found() == [iid]
    erased = client.post(
        "/v1/requesters/erase", json={"nik": nik, "reason": "Permohonan"}, headers=_compliance(auth)
    )
    assert erased.status_code == 200, erased.text
    assert found() == []
