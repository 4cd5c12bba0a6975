"""SLA and calendar endpoints through HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.inquiries.models import Inquiry
from tests.conftest import TokenFactory

WORKED_EXAMPLES = [
    ("2026-11-23T09:00:00+07:00", "2026-11-23", False, "2026-11-24T17:00:00+07:00"),
    ("2026-11-23T15:30:00+07:00", "2026-11-24", True, "2026-11-25T17:00:00+07:00"),
    ("2026-11-28T10:00:00+07:00", "2026-11-30", False, "2026-12-01T17:00:00+07:00"),
    ("2026-12-23T16:00:00+07:00", "2026-12-28", True, "2026-12-29T17:00:00+07:00"),
]


def _calculate(client: TestClient, auth: TokenFactory, **body: object) -> dict[str, object]:
    payload = {"office_code": "KANWIL-ACEH", "channel": "email", **body}
    response = client.post("/v1/sla/calculate", json=payload, headers=auth("officer"))
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize(("received", "day1", "late", "due"), WORKED_EXAMPLES)
def test_worked_examples(
    client: TestClient, auth: TokenFactory, received: str, day1: str, late: bool, due: str
) -> None:
    result = _calculate(client, auth, received_at=received)
    assert result["due_at"] == due
    assert result["start_day"] == day1
    assert result["late_intake"] is late
    assert result["timezone"] == "Asia/Jakarta"
    assert result["policy_code"] == "default"


def test_explanation_names_skipped_days(client: TestClient, auth: TokenFactory) -> None:
    result = _calculate(client, auth, received_at="2026-12-23T16:00:00+07:00")
    skipped = {s["date"]: s["reason"] for s in result["skipped_days"]}  # type: ignore[attr-defined]
    assert skipped["2026-12-24"] == "Cuti Bersama Hari Raya Natal"
    assert skipped["2026-12-25"] == "Hari Raya Natal"
    assert {"2026-12-26", "2026-12-27"} <= set(skipped)
    assert result["counted_days"] == ["2026-12-28", "2026-12-29"]
    assert "Natal" in str(result["explanation"])


def test_utc_input_answers_in_office_time(client: TestClient, auth: TokenFactory) -> None:
    result = _calculate(client, auth, received_at="2026-11-23T02:00:00Z")
    assert result["received_at"] == "2026-11-23T09:00:00+07:00"
    assert result["due_at"] == "2026-11-24T17:00:00+07:00"


def test_pauses_extend_the_due_time(client: TestClient, auth: TokenFactory) -> None:
    result = _calculate(
        client,
        auth,
        received_at="2026-11-23T09:00:00+07:00",
        paused=[{"start": "2026-11-23T10:00:00+07:00", "end": "2026-11-23T11:00:00+07:00"}],
    )
    assert result["paused_working_seconds"] == 3600
    assert result["due_at"] == "2026-11-25T08:30:00+07:00"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"received_at": "2026-11-23T09:00:00"}, "#/received_at"),
        ({"received_at": "2026-11-23T09:00:00+07:00", "channel": "fax"}, "#/channel"),
        ({"received_at": "1999-01-01T09:00:00+07:00"}, "#/received_at"),
        ({"received_at": "2199-01-01T09:00:00+07:00"}, "#/received_at"),
        ({"received_at": "not a date"}, "#/received_at"),
    ],
)
def test_bad_calculations_are_422(
    client: TestClient, auth: TokenFactory, body: dict[str, object], pointer: str
) -> None:
    payload = {"office_code": "KANWIL-ACEH", **body}
    response = client.post("/v1/sla/calculate", json=payload, headers=auth("officer"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert pointer in [e.get("pointer") for e in response.json()["errors"]]


def test_unknown_office_or_policy_is_404(client: TestClient, auth: TokenFactory) -> None:
    for body in (
        {"office_code": "KPPBC-NOWHERE", "received_at": "2026-11-23T09:00:00+07:00"},
        {
            "office_code": "KANWIL-ACEH",
            "received_at": "2026-11-23T09:00:00+07:00",
            "policy_code": "nope",
        },
    ):
        response = client.post("/v1/sla/calculate", json=body, headers=auth("officer"))
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"


def test_working_time(client: TestClient, auth: TokenFactory) -> None:
    body = {
        "office_code": "KANWIL-ACEH",
        "start": "2026-11-23T09:00:00+07:00",
        "end": "2026-11-24T09:00:00+07:00",
    }
    response = client.post("/v1/sla/working-time", json=body, headers=auth("unit"))
    assert response.status_code == 200, response.text
    # Mon 09:00-12:15 and 13:00-17:00 (7h15), Tue 07:30-09:00 (1h30).
    assert response.json()["working_seconds"] == (7 * 60 + 15 + 90) * 60
    backwards = {**body, "start": body["end"], "end": body["start"]}
    response = client.post("/v1/sla/working-time", json=backwards, headers=auth("unit"))
    assert response.status_code == 422


def test_calendar_lists_days_with_reasons(client: TestClient, auth: TokenFactory) -> None:
    response = client.get(
        "/v1/offices/KANWIL-ACEH/calendar",
        params={"from": "2026-12-21", "to": "2026-12-27"},
        headers=auth("officer"),
    )
    assert response.status_code == 200, response.text
    days = {d["date"]: d for d in response.json()["days"]}
    assert len(days) == 7
    assert days["2026-12-21"]["working"] is True
    assert days["2026-12-21"]["closing_at"] == "2026-12-21T17:00:00+07:00"
    assert days["2026-12-21"]["hours"] == [
        {"start": "07:30:00", "end": "12:15:00"},
        {"start": "13:00:00", "end": "17:00:00"},
    ]
    assert days["2026-12-24"]["reason"] == "Cuti Bersama Hari Raya Natal"
    assert days["2026-12-25"]["working"] is False
    assert days["2026-12-26"]["reason"] == "Akhir pekan"
    too_long = client.get(
        "/v1/offices/KANWIL-ACEH/calendar",
        params={"from": "2026-01-01", "to": "2027-06-01"},
        headers=auth("officer"),
    )
    assert too_long.status_code == 422


def _inquiry(session: Session, received: str, due: str, outcome: str | None = None) -> uuid.UUID:
    inquiry = Inquiry(
        reference=f"IQ-T{uuid.uuid4().hex[:8].upper()}",
        office_code="KANWIL-ACEH",
        channel="email",
        policy_code="default",
        status="answered" if outcome else "new",
        requester_name="Pemohon",
        survey_code=uuid.uuid4().hex,
        created_by="test",
        received_at=datetime.fromisoformat(received),
        due_at=datetime.fromisoformat(due),
        at_risk_at=datetime.fromisoformat(due),
        sla_outcome=outcome,
        first_response_at=datetime.fromisoformat(received) if outcome else None,
    )
    session.add(inquiry)
    session.flush()
    return inquiry.id


def test_override_moves_open_due_times_only(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    open_id = _inquiry(session, "2026-11-23T09:00:00+07:00", "2026-11-24T17:00:00+07:00")
    fixed_id = _inquiry(session, "2026-11-23T09:10:00+07:00", "2026-11-24T17:00:00+07:00", "met")
    untouched = _inquiry(session, "2026-11-16T09:00:00+07:00", "2026-11-17T17:00:00+07:00")
    admin = auth("admin")
    closure = {
        "start_date": "2026-11-24",
        "end_date": "2026-11-24",
        "kind": "closed",
        "reason": "Banjir",
    }
    created = client.post("/v1/offices/KANWIL-ACEH/calendar/overrides", json=closure, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["recomputed_inquiries"] == 1

    def due(inquiry_id: uuid.UUID) -> datetime:
        session.expire_all()
        row = session.get(Inquiry, inquiry_id)
        assert row is not None
        return row.due_at

    assert due(open_id) == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # Wed 17:00 WIB
    assert due(fixed_id) == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert due(untouched) == datetime(2026, 11, 17, 10, 0, tzinfo=UTC)

    calculated = _calculate(client, auth, received_at="2026-11-23T09:00:00+07:00")
    assert calculated["due_at"] == "2026-11-25T17:00:00+07:00"
    assert {"date": "2026-11-24", "reason": "Banjir"} in calculated["skipped_days"]  # type: ignore[operator]

    listed = client.get("/v1/offices/KANWIL-ACEH/calendar/overrides", headers=auth("officer"))
    assert [o["reason"] for o in listed.json()["items"]] == ["Banjir"]

    override_id = created.json()["id"]
    removed = client.delete(
        f"/v1/offices/KANWIL-ACEH/calendar/overrides/{override_id}", headers=admin
    )
    assert removed.status_code == 204
    assert removed.headers["x-recomputed-inquiries"] == "1"
    assert due(open_id) == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    again = _calculate(client, auth, received_at="2026-11-23T09:00:00+07:00")
    assert again["due_at"] == "2026-11-24T17:00:00+07:00"


def test_open_override_on_a_saturday_and_reduced_hours(
    client: TestClient, auth: TokenFactory
) -> None:
    admin = auth("admin")
    saturday = {
        "start_date": "2026-11-28",
        "end_date": "2026-11-28",
        "kind": "open",
        "hours": [{"start": "08:00", "end": "12:00"}],
        "reason": "Layanan Sabtu",
    }
    assert (
        client.post(
            "/v1/offices/KANWIL-ACEH/calendar/overrides", json=saturday, headers=admin
        ).status_code
        == 201
    )
    result = _calculate(client, auth, received_at="2026-11-28T09:00:00+07:00")
    assert result["start_day"] == "2026-11-28"
    assert result["due_at"] == "2026-11-30T17:00:00+07:00"
    ramadan = {
        "start_date": "2026-11-30",
        "end_date": "2026-11-30",
        "kind": "open",
        "hours": [{"start": "08:00", "end": "15:00"}],
        "reason": "Jam kerja khusus",
    }
    assert (
        client.post(
            "/v1/offices/KANWIL-ACEH/calendar/overrides", json=ramadan, headers=admin
        ).status_code
        == 201
    )
    # Closing moves to 15:00, and the late-intake cut-off with it (13:00).
    late = _calculate(client, auth, received_at="2026-11-30T13:00:00+07:00")
    assert late["late_intake"] is True
    assert late["due_at"] == "2026-12-02T17:00:00+07:00"
    on_time = _calculate(client, auth, received_at="2026-11-30T12:59:59+07:00")
    assert on_time["late_intake"] is False
    assert on_time["due_at"] == "2026-12-01T17:00:00+07:00"


@pytest.mark.parametrize(
    "body",
    [
        {"start_date": "2026-11-25", "end_date": "2026-11-24", "kind": "closed", "reason": "x"},
        {"start_date": "2026-11-25", "end_date": "2026-11-25", "kind": "open", "reason": "x"},
        {
            "start_date": "2026-11-25",
            "end_date": "2026-11-25",
            "kind": "closed",
            "reason": "x",
            "hours": [{"start": "08:00", "end": "09:00"}],
        },
        {
            "start_date": "2026-11-25",
            "end_date": "2026-11-25",
            "kind": "open",
            "reason": "x",
            "hours": [{"start": "10:00", "end": "09:00"}],
        },
        {
            "start_date": "2026-11-25",
            "end_date": "2026-11-25",
            "kind": "open",
            "reason": "x",
            "hours": [{"start": "08:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}],
        },
        {"start_date": "2026-11-25", "end_date": "2026-11-25", "kind": "closed", "reason": ""},
        {"start_date": "2026-11-25", "end_date": "2026-11-25", "kind": "shut", "reason": "x"},
        {"start_date": "2019-12-31", "end_date": "2019-12-31", "kind": "closed", "reason": "x"},
    ],
)
def test_bad_overrides_are_422(
    client: TestClient, auth: TokenFactory, body: dict[str, object]
) -> None:
    response = client.post(
        "/v1/offices/KANWIL-ACEH/calendar/overrides", json=body, headers=auth("admin")
    )
    assert response.status_code == 422, response.text


def test_overrides_and_policies_need_admin(client: TestClient, auth: TokenFactory) -> None:
    closure = {
        "start_date": "2026-11-25",
        "end_date": "2026-11-25",
        "kind": "closed",
        "reason": "x",
    }
    for role in ("officer", "coordinator", "supervisor", "head", "compliance"):
        response = client.post(
            "/v1/offices/KANWIL-ACEH/calendar/overrides", json=closure, headers=auth(role)
        )
        assert response.status_code == 403, role
        response = client.put("/v1/sla/policies/default", json={}, headers=auth(role))
        assert response.status_code == 403, role


def test_weekly_hours(client: TestClient, auth: TokenFactory) -> None:
    hours = client.get("/v1/offices/KPPBC-LANGSA/calendar/hours", headers=auth("officer"))
    assert hours.json()["is_default"] is True
    assert hours.json()["friday"] == [
        {"start": "07:30:00", "end": "11:30:00"},
        {"start": "13:15:00", "end": "17:00:00"},
    ]
    week = {
        d: [{"start": "08:00", "end": "16:00"}]
        for d in ("monday", "tuesday", "wednesday", "thursday", "friday")
    }
    week |= {"saturday": [{"start": "08:00", "end": "12:00"}], "sunday": []}
    put = client.put("/v1/offices/KPPBC-LANGSA/calendar/hours", json=week, headers=auth("admin"))
    assert put.status_code == 200, put.text
    assert put.json()["is_default"] is False
    result = client.post(
        "/v1/sla/calculate",
        json={"office_code": "KPPBC-LANGSA", "received_at": "2026-11-28T09:00:00+07:00"},
        headers=auth("officer"),
    ).json()
    assert result["start_day"] == "2026-11-28"
    assert result["due_at"] == "2026-11-30T16:00:00+07:00"
    reset = client.delete("/v1/offices/KPPBC-LANGSA/calendar/hours", headers=auth("admin"))
    assert reset.json()["is_default"] is True


def test_hours_are_wall_clock_strings_as_the_schema_says(
    client: TestClient, auth: TokenFactory
) -> None:
    # The schema's pattern (HH:MM or HH:MM:SS, no offset, no fraction) is the whole rule.
    for start in ("07:30:00+07:00", "07:30Z", "07:30:00.5", "07:30:00.000", "7:30", 27000):
        week = {"monday": [{"start": start, "end": "16:00"}]}
        put = client.put(
            "/v1/offices/KPPBC-LANGSA/calendar/hours", json=week, headers=auth("admin")
        )
        assert put.status_code == 422, (start, put.text)
        assert put.json()["errors"][0]["pointer"] == "#/monday/0/start"


def test_policies_choose_the_most_specific(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    admin = auth("admin")
    listed = client.get("/v1/sla/policies", headers=auth("officer")).json()["items"]
    assert [p["code"] for p in listed] == ["default"]
    assert listed[0]["target_working_days"] == 2
    webchat = {"channel": "webchat", "target_working_days": 1, "late_intake_minutes": 60}
    created = client.put("/v1/sla/policies/webchat-fast", json=webchat, headers=admin)
    assert created.status_code == 201, created.text
    clash = client.put("/v1/sla/policies/another", json=webchat, headers=admin)
    assert clash.status_code == 409

    chat = _calculate(client, auth, received_at="2026-11-23T15:30:00+07:00", channel="webchat")
    assert chat["policy_code"] == "webchat-fast"
    assert chat["due_at"] == "2026-11-23T17:00:00+07:00"
    mail = _calculate(client, auth, received_at="2026-11-23T15:30:00+07:00", channel="email")
    assert mail["policy_code"] == "default"

    open_id = _inquiry(session, "2026-11-23T09:00:00+07:00", "2026-11-24T17:00:00+07:00")
    changed = client.put("/v1/sla/policies/default", json={"target_working_days": 3}, headers=admin)
    assert changed.status_code == 200, changed.text
    # At least this one; inquiries that other tests committed under the default policy, in
    # offices of their own, move too.
    assert int(changed.headers["x-recomputed-inquiries"]) >= 1
    session.expire_all()
    row = session.get(Inquiry, open_id)
    assert row is not None
    assert row.due_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    scoped_default = client.put(
        "/v1/sla/policies/default", json={"channel": "email"}, headers=admin
    )
    assert scoped_default.status_code == 422
    unknown_office = client.put(
        "/v1/sla/policies/x", json={"office_code": "KPPBC-NOPE"}, headers=admin
    )
    assert unknown_office.status_code == 422


def test_a_policy_change_that_keeps_due_times_moves_the_at_risk_instant(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    """The queue reads an inquiry's state from its stored due and at-risk instants, so a
    change that moves only the at-risk instant (the warning's length) is written too."""
    open_id = _inquiry(session, "2026-11-23T09:00:00+07:00", "2026-11-24T17:00:00+07:00")
    before = session.get(Inquiry, open_id)
    assert before is not None
    version = before.version
    changed = client.put(
        "/v1/sla/policies/default", json={"warn_before_working_minutes": 60}, headers=auth("admin")
    )
    assert changed.status_code == 200, changed.text
    assert int(changed.headers["x-recomputed-inquiries"]) >= 1
    session.expire_all()
    row = session.get(Inquiry, open_id)
    assert row is not None
    assert row.due_at == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # 17:00 WIB, unchanged
    assert row.at_risk_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # one working hour before
    assert row.version == version + 1
