"""Complaints through HTTP on SQLite and PostgreSQL: intake, numbering, due times on the
office calendar, the workflow with its audit trail and outbox, and who sees what."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.evaluation.models import Complaint, ComplaintCounter, ComplaintEvent
from app.inquiries.models import Inquiry, OutboxMessage
from app.main import create_app
from tests.api.test_concurrency import _all_at_once
from tests.api.test_inquiries import new_inquiry
from tests.conftest import TokenFactory

OFFICE = "KANWIL-ACEH"
JAKARTA = ZoneInfo("Asia/Jakarta")


def complaint(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "office_code": OFFICE,
        "name": "Teuku Umar",
        "contact": {"email": "teuku.umar@example.com"},
        "reference": None,
        "category": "ordinary",
        "message": "Jawaban atas pertanyaan saya terlambat.",
    }
    body.update(overrides)
    return body


def record(client: TestClient, auth: TokenFactory, role: str = "integration", **kw: Any) -> Any:
    body = {**complaint(), "source": "sipuma", "received_at": "2026-11-23T09:00:00+07:00"}
    body.update(kw)
    return client.post("/v1/complaints", json=body, headers=auth(role))


def compliance(auth: TokenFactory) -> dict[str, str]:
    return auth("compliance", office=None, sub="kepatuhan-1")


def test_public_complaint_gets_a_number_and_due_times(
    client: TestClient, auth: TokenFactory
) -> None:
    first = client.post("/v1/public/complaints", json=complaint())
    assert first.status_code == 201, first.text
    second = client.post(
        "/v1/public/complaints", json=complaint(contact={"phone": "0812 1111 2222"})
    )
    assert second.status_code == 201, second.text
    year = datetime.now(JAKARTA).year
    a, b = first.json()["number"], second.json()["number"]
    prefix = f"ADU-{OFFICE}-{year}-"
    assert a.startswith(prefix)
    assert int(b.removeprefix(prefix)) == int(a.removeprefix(prefix)) + 1
    body = first.json()
    assert body["status"] == "received"
    assert body["received_at"] < body["first_response_due_at"] <= body["due_at"]
    # The complainant's own data is not echoed back.
    assert "teuku" not in first.text.lower()


def test_due_times_use_the_office_calendar(client: TestClient, auth: TokenFactory) -> None:
    # Monday 23 November 2026, 09:00 WIB: day 1 is the day of receipt.
    ordinary = record(client, auth, category="ordinary")
    assert ordinary.status_code == 201, ordinary.text
    inspect = record(client, auth, category="misconduct_inspection")
    first = datetime.fromisoformat(ordinary.json()["first_response_due_at"]).astimezone(JAKARTA)
    due = datetime.fromisoformat(ordinary.json()["due_at"]).astimezone(JAKARTA)
    # Three working days: Mon 23, Tue 24, Wed 25; five: to Fri 27, at the office's closing.
    assert first.date().isoformat() == "2026-11-25"
    assert due.date().isoformat() == "2026-11-27"
    assert first.time() == due.time()
    long_due = datetime.fromisoformat(inspect.json()["due_at"]).astimezone(JAKARTA)
    # Sixty working days skip weekends and the year-end holidays: well into February.
    assert long_due.date() > datetime(2027, 2, 10, tzinfo=JAKARTA).date()

    number = ordinary.json()["number"]
    detail = client.get(f"/v1/complaints/{number}", headers=compliance(auth)).json()
    assert detail["source"] == "sipuma"
    assert detail["created_by"] == "u1"
    assert "First response" in detail["due_explanation"]
    assert "day 1 is the day of receipt" in detail["due_explanation"]
    assert "Day 1: Mon 2026-11-23" in detail["due_explanation"]
    assert [e["action"] for e in detail["events"]] == ["created"]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (complaint(contact={}), "#/contact"),
        (complaint(contact={"email": " ", "phone": ""}), "#/contact"),
        (complaint(contact={"email": "not-an-email"}), "#/contact/email"),
        (complaint(contact={"phone": "12345"}), "#/contact/phone"),
        (complaint(category="rude"), "#/category"),
        (complaint(office_code="KPPBC-NOPE"), "#/office_code"),
        (complaint(message="   "), "#/message"),
        (complaint(message="nul \x00"), "#/message"),
        ({k: v for k, v in complaint().items() if k != "name"}, "#/name"),
    ],
)
def test_bad_complaints_are_422_and_nothing_is_written(
    client: TestClient, session: Session, body: dict[str, Any], pointer: str
) -> None:
    before = len(session.exec(select(Complaint.id)).all())
    response = client.post("/v1/public/complaints", json=body)
    assert response.status_code == 422, response.text
    assert pointer in [e.get("pointer") for e in response.json()["errors"]]
    assert len(session.exec(select(Complaint.id)).all()) == before


def test_recording_checks_source_date_and_rights(client: TestClient, auth: TokenFactory) -> None:
    assert record(client, auth, source="web").status_code == 422
    assert record(client, auth, received_at="2099-01-01T00:00:00+07:00").status_code == 422
    assert record(client, auth, received_at="2026-11-23T09:00:00").status_code == 422
    for role in ("officer", "coordinator", "supervisor", "head", "unit"):
        assert record(client, auth, role=role).status_code == 403, role
    elsewhere = client.post(
        "/v1/complaints",
        json={
            **complaint(office_code="KANWIL-ACEH"),
            "source": "fax",
            "received_at": "2026-11-23T09:00:00+07:00",
        },
        headers=auth("integration", office="KPPBC-LANGSA"),
    )
    assert elsewhere.status_code == 403
    by_compliance = record(client, auth, role="compliance", source="in_person")
    assert by_compliance.status_code == 201, by_compliance.text


def _inquiry(client: TestClient, auth: TokenFactory, session: Session) -> Inquiry:
    body = new_inquiry(channel_message_id=f"ig-{uuid.uuid4().hex}")
    created = client.post("/v1/inquiries", json=body, headers=auth("integration"))
    assert created.status_code == 201, created.text
    inquiry = session.get(Inquiry, uuid.UUID(created.json()["id"]))
    assert inquiry is not None
    return inquiry


def test_reference_is_linked_only_when_the_contact_matches(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    inquiry = _inquiry(client, auth, session)
    cases = [
        ({"email": "Cut.Nyak@EXAMPLE.com"}, True),  # the requester's, domain case aside
        ({"phone": "+62 812-3456-7890"}, True),
        ({"email": "someone.else@example.com"}, False),
        ({"phone": "0813 0000 0000"}, False),
    ]
    for contact, linked in cases:
        made = client.post(
            "/v1/public/complaints", json=complaint(contact=contact, reference=inquiry.reference)
        )
        assert made.status_code == 201, made.text
        number = made.json()["number"]
        detail = client.get(f"/v1/complaints/{number}", headers=compliance(auth)).json()
        assert detail["reference"] == inquiry.reference
        assert detail["inquiry_id"] == (str(inquiry.id) if linked else None), contact


def test_workflow_with_outbox_and_audit(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    number = client.post("/v1/public/complaints", json=complaint()).json()["number"]
    url = f"/v1/complaints/{number}"
    assert client.post(f"{url}/close", headers=compliance(auth)).status_code == 409

    reviewed = client.post(f"{url}/review", headers=compliance(auth))
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["status"] == "in_review"
    assert reviewed.json()["first_responded_at"] is not None
    assert client.post(f"{url}/review", headers=compliance(auth)).json()["code"] == (
        "complaint_transition_not_allowed"
    )
    stale = client.post(
        f"{url}/respond", json={"message": "x"}, headers={**compliance(auth), "If-Match": '"1"'}
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "complaint_changed"

    responded = client.post(
        f"{url}/respond",
        json={"message": "Petugas kami sudah diberi pembinaan. Mohon maaf."},
        headers={**compliance(auth), "If-Match": f'"{reviewed.json()["version"]}"'},
    )
    assert responded.status_code == 200, responded.text
    body = responded.json()
    assert body["status"] == "responded"
    assert body["response_delivery"] == "outbox"
    assert body["first_responded_at"] == reviewed.json()["first_responded_at"]
    mail = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "complaint_response")
        .where(OutboxMessage.recipient == "teuku.umar@example.com")
        .order_by(col(OutboxMessage.id))
    ).all()
    assert len(mail) == 2  # the review's status notice, then the response
    assert number in mail[-1].body
    assert "pembinaan" in mail[-1].body
    assert mail[-1].inquiry_id is None
    assert (mail[-1].office_code, mail[-1].channel) == (OFFICE, "email")

    closed = client.post(f"{url}/close", headers=compliance(auth))
    assert closed.status_code == 200
    assert closed.json()["closed_at"] is not None
    assert [(e["action"], e["to_status"]) for e in closed.json()["events"]] == [
        ("created", "received"),
        ("reviewed", "in_review"),
        ("responded", "responded"),
        ("closed", "closed"),
    ]
    assert closed.json()["events"][2]["actor"] == "kepatuhan-1"
    assert (
        client.post(f"{url}/respond", json={"message": "x"}, headers=compliance(auth)).status_code
        == 409
    )


def test_phone_only_response_is_recorded_as_not_sent(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    made = client.post("/v1/public/complaints", json=complaint(contact={"phone": "08129998888"}))
    number = made.json()["number"]
    before = len(session.exec(select(OutboxMessage.id)).all())
    responded = client.post(
        f"/v1/complaints/{number}/respond",
        json={"message": "Kami telepon."},
        headers=compliance(auth),
    )
    assert responded.status_code == 200, responded.text
    assert responded.json()["response_delivery"] == "not_sent"
    assert responded.json()["events"][-1]["details"] == {"delivery": "not_sent"}
    assert len(session.exec(select(OutboxMessage.id)).all()) == before


def test_who_sees_complaints(client: TestClient, auth: TokenFactory) -> None:
    aceh = client.post("/v1/public/complaints", json=complaint()).json()["number"]
    langsa = client.post(
        "/v1/public/complaints", json=complaint(office_code="KPPBC-LANGSA")
    ).json()["number"]
    for role in ("officer", "coordinator", "supervisor", "unit", "integration"):
        headers = auth(role)
        assert client.get("/v1/complaints", headers=headers).status_code == 403, role
        assert client.get(f"/v1/complaints/{aceh}", headers=headers).status_code == 403, role
        refused = client.post(f"/v1/complaints/{aceh}/review", headers=headers)
        assert refused.status_code == 403, role
    head = auth("head", office=OFFICE)
    listed = client.get("/v1/complaints", headers=head).json()["items"]
    numbers = {c["number"] for c in listed}
    assert aceh in numbers
    assert langsa not in numbers
    assert {c["office_code"] for c in listed} == {OFFICE}
    assert client.get(f"/v1/complaints/{langsa}", headers=head).status_code == 404
    assert (
        client.get(
            "/v1/complaints", params={"office_code": "KPPBC-LANGSA"}, headers=head
        ).status_code
        == 403
    )
    assert client.post(f"/v1/complaints/{aceh}/review", headers=head).status_code == 403
    everything = client.get("/v1/complaints", params={"limit": 200}, headers=compliance(auth))
    assert {aceh, langsa} <= {c["number"] for c in everything.json()["items"]}
    # Administrators run the service; complaints are not theirs to read.
    for headers in (auth("admin", office=None), auth("admin", office=OFFICE)):
        assert client.get("/v1/complaints", headers=headers).status_code == 403
        assert client.get(f"/v1/complaints/{aceh}", headers=headers).status_code == 403
        assert client.post(f"/v1/complaints/{aceh}/review", headers=headers).status_code == 403
    filtered = client.get(
        "/v1/complaints",
        params={"office_code": "KPPBC-LANGSA", "status": "received", "source": "web"},
        headers=compliance(auth),
    ).json()["items"]
    assert langsa in {c["number"] for c in filtered}
    assert {c["office_code"] for c in filtered} == {"KPPBC-LANGSA"}
    assert (
        client.get("/v1/complaints/ADU-NOPE-2026-000001", headers=compliance(auth)).status_code
        == 404
    )


def test_complaints_stay_out_of_the_inquiry(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    inquiry = _inquiry(client, auth, session)
    made = client.post(
        "/v1/public/complaints",
        json=complaint(contact={"email": "cut.nyak@example.com"}, reference=inquiry.reference),
    )
    number = made.json()["number"]
    detail = client.get(f"/v1/inquiries/{inquiry.id}", headers=auth("officer"))
    assert detail.status_code == 200
    assert number not in detail.text
    assert "ADU-" not in detail.text
    assert "complaint_id" not in detail.text
    # Nor in the audit trail of the inquiry.
    events = client.get(f"/v1/inquiries/{inquiry.id}/events", headers=auth("supervisor"))
    assert number not in events.text


def test_paging_and_categories(client: TestClient, auth: TokenFactory) -> None:
    for _ in range(3):
        assert client.post("/v1/public/complaints", json=complaint()).status_code == 201
    page = client.get("/v1/complaints", params={"limit": 2}, headers=compliance(auth)).json()
    assert len(page["items"]) == 2
    assert page["next_offset"] == 2
    received = [c["received_at"] for c in page["items"]]
    assert received == sorted(received, reverse=True)
    categories = client.get("/v1/complaints/categories", headers=compliance(auth)).json()
    targets = {c["code"]: c["target_working_days"] for c in categories}
    assert targets == {
        "information": 5,
        "ordinary": 5,
        "misconduct": 14,
        "misconduct_inspection": 60,
    }


def test_public_complaints_are_rate_limited(client: TestClient) -> None:
    statuses = [
        client.post("/v1/public/complaints", json=complaint(category="nope")).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429


@pytest.mark.parametrize(
    "received_at",
    [
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-14:00",  # after year 9999 in UTC
        "1900-01-01T00:00:00+07:00",
        "2150-01-01T00:00:00+07:00",
    ],
)
def test_recorded_date_out_of_range_is_422(
    client: TestClient, auth: TokenFactory, session: Session, received_at: str
) -> None:
    before = len(session.exec(select(Complaint.id)).all())
    refused = record(client, auth, received_at=received_at)
    assert refused.status_code == 422, refused.text
    assert "#/received_at" in [e.get("pointer") for e in refused.json()["errors"]]
    assert len(session.exec(select(Complaint.id)).all()) == before


@pytest.mark.parametrize(
    ("field", "value", "pointer"),
    [
        ("name", "Teuku\x00Umar", "#/name"),
        ("reference", "IQ-\x00", "#/reference"),
        ("contact", {"email": "a\x00@example.com"}, "#/contact/email"),
        ("message", "baris\x00", "#/message"),
    ],
)
def test_nul_characters_are_refused_everywhere(
    client: TestClient, auth: TokenFactory, field: str, value: Any, pointer: str
) -> None:
    refused = record(client, auth, **{field: value})
    assert refused.status_code == 422, refused.text
    assert pointer in [e.get("pointer") for e in refused.json()["errors"]]
    number = client.post("/v1/public/complaints", json=complaint(message="ok")).json()["number"]
    nul = client.post(
        f"/v1/complaints/{number}/respond", json={"message": "\x00"}, headers=compliance(auth)
    )
    assert nul.status_code == 422
    assert "#/message" in [e.get("pointer") for e in nul.json()["errors"]]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"to": "9999-12-31"}, "to"),
        ({"from": "0001-01-01"}, "from"),
        ({"from": "2026-11-24", "to": "2026-11-23"}, "to"),
        ({"to": "2026-13-01"}, "to"),
    ],
)
def test_list_dates_are_checked_naming_the_parameter(
    client: TestClient, auth: TokenFactory, params: dict[str, str], name: str
) -> None:
    refused = client.get("/v1/complaints", params=params, headers=compliance(auth))
    assert refused.status_code == 422, refused.text
    assert name in [e.get("parameter") for e in refused.json()["errors"]]


def test_list_dates_are_local_dates_of_the_office(client: TestClient, auth: TokenFactory) -> None:
    # 01:00 WIB on Tuesday 24 November is still Monday 23 November in UTC.
    made = record(client, auth, source="letter", received_at="2026-11-24T01:00:00+07:00")
    assert made.status_code == 201, made.text
    number = made.json()["number"]

    def listed(**dates: str) -> set[str]:
        params = {"source": "letter", "office_code": OFFICE, "limit": 200, **dates}
        page = client.get("/v1/complaints", params=params, headers=compliance(auth))
        assert page.status_code == 200, page.text
        return {c["number"] for c in page.json()["items"]}

    assert number in listed(**{"from": "2026-11-24", "to": "2026-11-24"})
    assert number not in listed(**{"from": "2026-11-23", "to": "2026-11-23"})
    assert number in listed(**{"from": "2026-11-24"})
    assert number not in listed(**{"to": "2026-11-23"})
    assert number in listed(**{"to": "2036-12-31"})
    head = auth("head", office=OFFICE)
    mine = client.get(
        "/v1/complaints", params={"from": "2026-11-24", "to": "2026-11-24"}, headers=head
    )
    assert number in {c["number"] for c in mine.json()["items"]}


def test_reference_links_only_an_inquiry_of_the_complaints_office(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    inquiry = _inquiry(client, auth, session)
    assert inquiry.office_code == OFFICE
    contact = {"email": "cut.nyak@example.com"}
    elsewhere = client.post(
        "/v1/public/complaints",
        json=complaint(office_code="KPPBC-LANGSA", contact=contact, reference=inquiry.reference),
    )
    assert elsewhere.status_code == 201, elsewhere.text
    detail = client.get(
        f"/v1/complaints/{elsewhere.json()['number']}", headers=compliance(auth)
    ).json()
    assert detail["reference"] == inquiry.reference
    assert detail["inquiry_id"] is None
    here = client.post(
        "/v1/public/complaints", json=complaint(contact=contact, reference=inquiry.reference)
    )
    linked = client.get(f"/v1/complaints/{here.json()['number']}", headers=compliance(auth))
    assert linked.json()["inquiry_id"] == str(inquiry.id)


# -- concurrent steps on committed data: exactly one wins


@pytest.fixture
def live_client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.slow
def test_concurrent_responses_one_wins(
    live_client: TestClient, auth: TokenFactory, engine: Any
) -> None:
    office = f"KPPBC-ADU-{uuid.uuid4().hex[:6].upper()}"
    made = live_client.post(
        "/v1/offices", json={"code": office, "name": "Race"}, headers=auth("admin", office=None)
    )
    assert made.status_code == 201, made.text
    filed = live_client.post("/v1/public/complaints", json=complaint(office_code=office))
    assert filed.status_code == 201, filed.text
    number = filed.json()["number"]
    try:
        results = _all_at_once(
            [
                lambda i=i: live_client.post(
                    f"/v1/complaints/{number}/respond",
                    json={"message": f"Tanggapan {i}"},
                    headers=compliance(auth),
                )
                for i in range(6)
            ]
        )
        statuses = sorted(r.status_code for r in results)
        assert statuses == [200] + [409] * 5, [r.text for r in results]
        assert {r.json()["code"] for r in results if r.status_code == 409} == {
            "complaint_transition_not_allowed"
        }
        with Session(engine) as own:
            mail = own.exec(select(OutboxMessage).where(OutboxMessage.office_code == office)).all()
            assert len(mail) == 1
            row = own.exec(select(Complaint).where(Complaint.number == number)).one()
            events = own.exec(
                select(ComplaintEvent).where(ComplaintEvent.complaint_id == row.id)
            ).all()
            assert [e.action for e in events].count("responded") == 1
            assert row.version == 2
    finally:
        with Session(engine) as own:
            ids = select(Complaint.id).where(Complaint.office_code == office)
            own.execute(delete(ComplaintEvent).where(col(ComplaintEvent.complaint_id).in_(ids)))
            own.execute(delete(Complaint).where(col(Complaint.office_code) == office))
            own.execute(delete(ComplaintCounter).where(col(ComplaintCounter.office_code) == office))
            own.execute(delete(OutboxMessage).where(col(OutboxMessage.office_code) == office))
            own.commit()
