"""Complaints (pengaduan): intake from the public and other channels, numbering, due times
on the office calendar, and linking to the complainant's inquiry.

The workflow that follows (reading, review, response, closing) is in
:mod:`app.evaluation.complaint_workflow`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.calendar.cache import CalendarCache
from app.calendar.engine import CalendarRangeError, WorkingCalendar
from app.core.config import get_settings
from app.core.db import increment_counter, utcnow
from app.core.errors import Forbidden, InvalidField
from app.core.security import Principal
from app.evaluation.complaint_schemas import ComplaintIn, ComplaintRecord
from app.evaluation.models import Complaint, ComplaintCategory, ComplaintCounter, ComplaintEvent
from app.inquiries import identifiers
from app.inquiries.models import Inquiry
from app.offices.models import Office
from app.sla.engine import DueResult, SlaPolicy, compute_due

PUBLIC_ACTOR = "public"


# -- numbering


def complaint_number(office_code: str, year: int, value: int) -> str:
    """The printed complaint number ``ADU-<OFFICE>-<YYYY>-<NNNNNN>``."""
    return f"ADU-{office_code}-{year}-{value:06d}"


def allocate_number(session: Session, office_code: str, year: int) -> str:
    """The next number of ``office_code`` in ``year``, gap-free: one upsert creates or
    advances the counter and keeps its row locked until the transaction ends (PostgreSQL;
    SQLite writers hold the database lock), and a rollback takes the increment with it.
    Never ``max() + 1``."""
    table = ComplaintCounter.__table__  # type: ignore[attr-defined]
    value = increment_counter(session, table, {"office_code": office_code, "year": year})
    return complaint_number(office_code, year, value)


# -- due times


@dataclass(frozen=True)
class ComplaintDue:
    first_response: DueResult
    final: DueResult

    @property
    def explanation(self) -> str:
        return (
            f"First response: {self.first_response.explanation}\n\n"
            f"Final response: {self.final.explanation}"
        )


def complaint_due(
    calendar: WorkingCalendar, received_at: datetime, first_days: int, final_days: int
) -> ComplaintDue:
    """Both due times by the inquiries' rule (day 1, working days, closing time of the
    last), for ``first_days`` and ``final_days`` working days."""
    return ComplaintDue(
        compute_due(calendar, SlaPolicy("complaint-first", first_days), received_at),
        compute_due(calendar, SlaPolicy("complaint", final_days), received_at),
    )


# -- intake


def _contact(data: ComplaintIn) -> tuple[str | None, str | None]:
    email = phone = None
    try:
        if data.contact.email and data.contact.email.strip():
            email = identifiers.normalize_email(data.contact.email)
    except identifiers.IdentifierError as exc:
        raise InvalidField("#/contact/email", exc.message) from None
    try:
        if data.contact.phone and data.contact.phone.strip():
            phone = identifiers.normalize_phone(data.contact.phone)
    except identifiers.IdentifierError as exc:
        raise InvalidField("#/contact/phone", exc.message) from None
    return email, phone


def _linked_inquiry(
    session: Session,
    office_code: str,
    reference: str | None,
    email: str | None,
    phone: str | None,
) -> uuid.UUID | None:
    """The inquiry of the complaint's office that ``reference`` names, only when the
    complainant is its requester."""
    if not reference:
        return None
    inquiry = session.exec(
        select(Inquiry)
        .where(or_(col(Inquiry.reference) == reference, col(Inquiry.ticket_number) == reference))
        .where(col(Inquiry.office_code) == office_code)
    ).first()
    if inquiry is None:
        return None
    same_email = email is not None and email.lower() == (inquiry.requester_email or "").lower()
    same_phone = phone is not None and phone == inquiry.requester_phone
    return inquiry.id if same_email or same_phone else None


def create_complaint(
    *,
    session: Session,
    calendars: CalendarCache,
    data: ComplaintIn,
    principal: Principal | None,
    now: datetime | None = None,
) -> Complaint:
    """Record a complaint: from the public (``principal`` None, source web, received now)
    or recorded by an integration or compliance (:class:`ComplaintRecord`)."""
    now = now or utcnow()
    source: str
    if isinstance(data, ComplaintRecord):
        source, received_at = data.source, data.received_at
        if received_at > now + timedelta(minutes=5):
            raise InvalidField("#/received_at", "received_at lies in the future")
    else:
        source, received_at = "web", now
    if principal is not None and not principal.may_read_office(data.office_code):
        raise Forbidden("this office is outside your scope")
    office = session.get(Office, data.office_code)
    if office is None:
        raise InvalidField("#/office_code", f"No office with code {data.office_code}.")
    category = session.get(ComplaintCategory, data.category)
    if category is None:
        codes = ", ".join(session.exec(select(ComplaintCategory.code)).all())
        raise InvalidField("#/category", f"Unknown category; one of: {codes}.")
    email, phone = _contact(data)
    calendar = calendars.get(session, office.code, fresh=True, version=office.calendar_version)
    first_days = get_settings().complaint_first_response_working_days
    try:
        due = complaint_due(calendar, received_at, first_days, category.target_working_days)
    except CalendarRangeError as exc:
        raise InvalidField("#/received_at", str(exc)) from exc
    year = received_at.astimezone(calendar.tz).year
    complaint = Complaint(
        number=allocate_number(session, office.code, year),
        office_code=office.code,
        source=source,
        category=category.code,
        name=data.name,
        email=email,
        phone=phone,
        reference=data.reference,
        inquiry_id=_linked_inquiry(session, office.code, data.reference, email, phone),
        message=data.message,
        status="received",
        received_at=received_at,
        first_response_due_at=due.first_response.due_at,
        due_at=due.final.due_at,
        due_explanation=due.explanation,
        created_by=principal.sub if principal else PUBLIC_ACTOR,
        created_at=now,
        updated_at=now,
    )
    session.add(complaint)
    record_event(session, complaint, principal, "created", None, "received", {"source": source})
    session.flush()
    return complaint


def record_event(
    session: Session,
    complaint: Complaint,
    principal: Principal | None,
    action: str,
    from_status: str | None,
    to_status: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """An entry of the complaint's audit trail, at the complaint's ``updated_at``."""
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            action=action,
            actor=principal.sub if principal else PUBLIC_ACTOR,
            actor_roles=sorted(r.value for r in principal.roles) if principal else [],
            from_status=from_status,
            to_status=to_status,
            details=details or {},
            at=complaint.updated_at,
        )
    )
