"""Units belong to offices: the unit directory, escalations and consultations that name a
known unit, and a unit token that sees only its own office's unit work, and nothing new
after a reopen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

import app.models  # noqa: F401
from app.core.db import make_engine
from app.core.migrations import upgrade
from app.inquiries.models import Consultation, Inquiry
from app.offices.models import Office
from tests.api.test_inquiries import OFFICE, act, new_inquiry, post
from tests.conftest import DATABASES, Databases, TokenFactory

ESCALATE = {"unit_code": "P2", "reason": "Perlu penelitian", "message": "Tiket Anda"}


def test_default_offices_have_a_unit_directory(client: TestClient, auth: TokenFactory) -> None:
    response = client.get(f"/v1/offices/{OFFICE}/units", headers=auth("officer"))
    assert response.status_code == 200, response.text
    codes = [u["code"] for u in response.json()["items"]]
    assert codes == sorted(codes)
    assert {"P2", "PERBEND", "PKC"} <= set(codes)
    assert all(u["home_office_code"] == OFFICE for u in response.json()["items"])
    missing = client.get("/v1/offices/KPPBC-NOWHERE/units", headers=auth("officer"))
    assert missing.status_code == 404


def test_only_admins_replace_a_directory_and_it_is_checked(
    client: TestClient, auth: TokenFactory
) -> None:
    url = "/v1/offices/KPPBC-LANGSA/units"
    body = {
        "items": [
            {"code": "P2", "name": "Penindakan dan Penyidikan"},
            {"code": "P2-KANWIL", "name": "Bidang P2", "home_office_code": OFFICE},
        ]
    }
    assert client.put(url, json=body, headers=auth("supervisor")).status_code == 403
    done = client.put(url, json=body, headers=auth("admin", office=None))
    assert done.status_code == 200, done.text
    assert [(u["code"], u["home_office_code"]) for u in done.json()["items"]] == [
        ("P2", "KPPBC-LANGSA"),
        ("P2-KANWIL", OFFICE),
    ]
    listed = client.get(url, headers=auth("officer", office="KPPBC-LANGSA")).json()
    assert listed == done.json()
    for bad, code in (
        ({"items": [{"code": "P2", "name": "a"}, {"code": "P2", "name": "b"}]}, "validation"),
        ({"items": [{"code": "p2 lower", "name": "a"}]}, "validation"),
        ({"items": [{"code": "X", "name": "a", "home_office_code": "KPPBC-NONE"}]}, "unknown"),
    ):
        refused = client.put(url, json=bad, headers=auth("admin", office=None))
        assert refused.status_code == 422, refused.text
        expected = "unknown_home_office" if code == "unknown" else "validation_failed"
        assert refused.json()["code"] == expected
    # Refusals changed nothing.
    assert client.get(url, headers=auth("officer", office="KPPBC-LANGSA")).json() == done.json()


def test_escalations_and_consultations_name_a_known_unit(
    client: TestClient, auth: TokenFactory
) -> None:
    iid = post(client, auth).json()["id"]
    for action, body in (
        ("escalate", {**ESCALATE, "unit_code": "NOPE"}),
        ("consultations", {"with": "unit", "unit_code": "NOPE", "question": "?"}),
    ):
        refused = act(client, auth, iid, action, body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "unknown_unit"
    detail = client.get(f"/v1/inquiries/{iid}", headers=auth("officer")).json()
    assert detail["status"] == "new"
    assert detail["ticket_number"] is None


def test_a_unit_of_another_office_neither_reads_nor_resolves(
    client: TestClient, auth: TokenFactory
) -> None:
    iid = post(client, auth).json()["id"]
    asked = act(
        client, auth, iid, "consultations", {"with": "unit", "unit_code": "P2", "question": "?"}
    )
    assert asked.status_code == 201, asked.text
    assert act(client, auth, iid, "escalate", ESCALATE).status_code == 200
    own = auth("unit", office=OFFICE, unit="P2")
    langsa = auth("unit", office="KPPBC-LANGSA", unit="P2")
    nowhere = auth("unit", office=None, unit="P2")
    assert client.get(f"/v1/inquiries/{iid}", headers=own).status_code == 200
    for stranger in (langsa, nowhere):
        assert client.get(f"/v1/inquiries/{iid}", headers=stranger).status_code == 404
        assert client.get("/v1/inquiries", headers=stranger).json()["items"] == []
        resolved = client.post(
            f"/v1/inquiries/{iid}/resolve", json={"message": "Selesai"}, headers=stranger
        )
        assert resolved.status_code == 404
        reply = client.post(
            f"/v1/inquiries/{iid}/consultations/{asked.json()['id']}/reply",
            json={"answer": "x"},
            headers=stranger,
        )
        assert reply.status_code == 404
    assert (
        client.post(
            f"/v1/inquiries/{iid}/resolve", json={"message": "Selesai"}, headers=own
        ).status_code
        == 200
    )


def test_a_consulted_unit_reads_the_inquiry_and_is_refused_other_actions(
    client: TestClient, auth: TokenFactory
) -> None:
    iid = post(client, auth).json()["id"]
    for with_ in ({"with": "unit", "unit_code": "P2"}, {"with": "supervisor"}):
        asked = act(client, auth, iid, "consultations", {**with_, "question": "?"})
        assert asked.status_code == 201, asked.text
    to_supervisor = asked.json()["id"]
    unit = auth("unit", office=OFFICE, unit="P2")
    assert client.get(f"/v1/inquiries/{iid}", headers=unit).status_code == 200
    # It reads the inquiry, so what its roles do not allow is a 403, not a 404.
    refused = [
        client.post(
            f"/v1/inquiries/{iid}/consultations/{to_supervisor}/reply",
            json={"answer": "x"},
            headers=unit,
        ),
        client.post(f"/v1/inquiries/{iid}/messages", json={"message": "x"}, headers=unit),
        client.post(f"/v1/inquiries/{iid}/resolve", json={"message": "x"}, headers=unit),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403], [r.text for r in refused]


def test_a_unit_serving_several_offices_works_from_its_home_office(
    client: TestClient, auth: TokenFactory
) -> None:
    admin = auth("admin", office=None)
    shared = {"code": "P2-KANWIL", "name": "Bidang P2 Kanwil", "home_office_code": OFFICE}
    put = client.put("/v1/offices/KPPBC-LANGSA/units", json={"items": [shared]}, headers=admin)
    assert put.status_code == 200, put.text
    body = new_inquiry(office_code="KPPBC-LANGSA", channel_message_id="langsa-1")
    created = client.post(
        "/v1/inquiries", json=body, headers=auth("integration", office="KPPBC-LANGSA")
    )
    assert created.status_code == 201, created.text
    iid = created.json()["id"]
    escalated = client.post(
        f"/v1/inquiries/{iid}/escalate",
        json={**ESCALATE, "unit_code": "P2-KANWIL"},
        headers=auth("officer", office="KPPBC-LANGSA"),
    )
    assert escalated.status_code == 200, escalated.text
    kanwil_unit = auth("unit", office=OFFICE, unit="P2-KANWIL")
    langsa_namesake = auth("unit", office="KPPBC-LANGSA", unit="P2-KANWIL")
    assert client.get(f"/v1/inquiries/{iid}", headers=kanwil_unit).status_code == 200
    assert client.get(f"/v1/inquiries/{iid}", headers=langsa_namesake).status_code == 404


def test_after_a_reopen_the_unit_sees_nothing_new(client: TestClient, auth: TokenFactory) -> None:
    iid = post(client, auth).json()["id"]
    assert act(client, auth, iid, "escalate", ESCALATE).status_code == 200
    unit = auth("unit", office=OFFICE, unit="P2")
    resolved = client.post(
        f"/v1/inquiries/{iid}/resolve", json={"message": "Selesai"}, headers=unit
    )
    assert resolved.status_code == 200, resolved.text
    assert client.get(f"/v1/inquiries/{iid}", headers=unit).status_code == 200
    assert act(client, auth, iid, "close").status_code == 200
    assert act(client, auth, iid, "reopen").status_code == 200
    assert client.get(f"/v1/inquiries/{iid}", headers=unit).status_code == 404
    assert client.get("/v1/inquiries", headers=unit).json()["items"] == []
    # New unit work after the reopen is the unit's again.
    asked = act(
        client, auth, iid, "consultations", {"with": "unit", "unit_code": "P2", "question": "?"}
    )
    assert asked.status_code == 201
    assert client.get(f"/v1/inquiries/{iid}", headers=unit).status_code == 200


@pytest.mark.parametrize("kind", DATABASES)
def test_migration_keeps_existing_unit_work_visible(databases: Databases, kind: str) -> None:
    url = databases.new(kind)
    upgrade(url, "0008")
    t0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            session.add(Office(code="KPPBC-OLD", name="Old", timezone="Asia/Jakarta"))
            session.flush()
            inquiry = Inquiry(
                reference="IQ-UNITS0001",
                office_code="KPPBC-OLD",
                channel="email",
                policy_code="default",
                status="escalated",
                requester_name="Teuku Umar",
                received_at=t0,
                due_at=t0 + timedelta(days=2),
                at_risk_at=t0 + timedelta(days=1),
                escalated_unit_code="P2",
                escalated_at=t0 + timedelta(hours=1),
                survey_code="survey-units-1",
                created_by="integration-1",
            )
            columns = {
                r[0] if kind == "postgresql" else r[1]
                for r in session.connection().execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = 'inquiry'"
                        if kind == "postgresql"
                        else "PRAGMA table_info(inquiry)"
                    )
                )
            }
            table = Inquiry.__table__  # type: ignore[attr-defined]
            values = {k: v for k, v in inquiry.model_dump().items() if k in columns}
            session.execute(table.insert().values(**values))
            consultation = Consultation(
                inquiry_id=inquiry.id,
                with_role="unit",
                unit_code="PERBEND",
                question="?",
                asked_by="budi",
                asked_at=t0,
            )
            ctable = Consultation.__table__  # type: ignore[attr-defined]
            session.execute(
                ctable.insert().values(
                    **consultation.model_dump(exclude={"id", "unit_office_code"})
                )
            )
            session.commit()
    finally:
        engine.dispose()

    upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            row = session.get(Inquiry, inquiry.id)
            assert row is not None
            assert row.escalated_unit_office == "KPPBC-OLD"
            units = session.connection().execute(
                text(
                    "SELECT code, home_office_code FROM office_unit WHERE office_code = 'KPPBC-OLD'"
                )
            )
            assert sorted(units) == [("P2", "KPPBC-OLD"), ("PERBEND", "KPPBC-OLD")]
            office = session.connection().execute(text("SELECT unit_office_code FROM consultation"))
            assert list(office) == [("KPPBC-OLD",)]
    finally:
        engine.dispose()
