"""Migration 0007 credits the inquiries answered before it to their first responder, from
the audit trail, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, select

import app.models  # noqa: F401
from app.core.db import make_engine
from app.core.migrations import upgrade
from app.inquiries.models import Inquiry, InquiryEvent
from app.offices.models import Office
from tests.conftest import DATABASES, Databases

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def _inquiry(office: str, n: int, first_response: bool) -> Inquiry:
    return Inquiry(
        reference=f"IQ-BACKF{n:03d}",
        office_code=office,
        channel="email",
        policy_code="default",
        status="answered" if first_response else "new",
        requester_name="Teuku Umar",
        received_at=T0,
        due_at=T0 + timedelta(days=2),
        at_risk_at=T0 + timedelta(days=1),
        first_response_at=T0 + timedelta(hours=3) if first_response else None,
        survey_code=f"survey-backfill-{n}",
        created_by="integration-1",
    )


def _event(inquiry: Inquiry, action: str, actor: str, hours: int) -> InquiryEvent:
    return InquiryEvent(
        inquiry_id=inquiry.id, action=action, actor=actor, at=T0 + timedelta(hours=hours)
    )


NEW_COLUMNS = {"first_responder", "first_response_working_seconds"}


@pytest.mark.parametrize("kind", DATABASES)
def test_first_responder_is_backfilled_from_the_events(databases: Databases, kind: str) -> None:
    url = databases.new(kind)
    upgrade(url, "0006")  # before the evaluation release: inquiries without the columns
    answered, escalated, untouched = (
        _inquiry("KPPBC-BACKFILL", 1, True),
        _inquiry("KPPBC-BACKFILL", 2, True),
        _inquiry("KPPBC-BACKFILL", 3, False),
    )
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            columns = {c["name"] for c in inspect(session.connection()).get_columns("inquiry")}
            assert not NEW_COLUMNS & columns
            session.add(Office(code="KPPBC-BACKFILL", name="Backfill", timezone="Asia/Jakarta"))
            session.flush()
            table = Inquiry.__table__  # type: ignore[attr-defined]
            for inquiry in (answered, escalated, untouched):
                # Only the columns the table has at 0006 (later migrations add more).
                values = {k: v for k, v in inquiry.model_dump().items() if k in columns}
                session.execute(table.insert().values(**values))
            session.add_all(
                [
                    _event(answered, "create", "integration-1", 0),
                    _event(answered, "assign", "budi", 1),
                    _event(answered, "answer", "ani", 3),
                    _event(answered, "answer", "budi", 5),  # a later answer: not the first
                    _event(escalated, "escalate", "cici", 2),
                    _event(escalated, "answer", "dedi", 4),
                    _event(untouched, "assign", "budi", 1),
                ]
            )
            session.commit()
    finally:
        engine.dispose()

    upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rows = session.exec(select(Inquiry).where(Inquiry.office_code == "KPPBC-BACKFILL"))
            found = {
                r.reference: (r.first_responder, r.first_response_working_seconds) for r in rows
            }
        assert found == {
            answered.reference: ("ani", None),
            escalated.reference: ("cici", None),
            untouched.reference: (None, None),
        }
    finally:
        engine.dispose()
