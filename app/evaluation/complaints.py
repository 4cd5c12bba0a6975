"""Complaints (pengaduan): intake from the public and other channels, due times on the
office calendar, and the compliance unit's workflow ``received -> in_review -> responded
-> closed`` with an audit trail.

Complaints are handled by internal compliance, never by the officers they may concern:
only ``compliance`` (all offices), ``head`` (own office) and ``admin`` read them, only
``compliance`` acts on them. Nothing here is shown with an inquiry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Insert, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.calendar.cache import CalendarCache
from app.calendar.engine import CalendarRangeError, WorkingCalendar
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, InvalidField, NotFound
from app.core.security import Principal, Role
from app.evaluation.complaint_schemas import ComplaintIn, ComplaintRecord
from app.evaluation.models import Complaint, ComplaintCategory, ComplaintCounter, ComplaintEvent
from app.inquiries import identifiers, texts
from app.inquiries.models import Inquiry, OutboxMessage
from app.offices.models import Office
from app.sla.engine import DueResult, SlaPolicy, compute_due

READERS = frozenset({Role.compliance, Role.head, Role.admin})
HANDLERS = frozenset({Role.compliance})
PUBLIC_ACTOR = "public"


class ComplaintNotFound(NotFound):
    code, title = "complaint_not_found", "Complaint not found"


class ComplaintTransition(Conflict):
    code, title = "complaint_transition_not_allowed", "Not allowed in the complaint's status"


class ComplaintChanged(Conflict):
    code, title = "complaint_changed", "Complaint changed meanwhile"


# -- numbering


def complaint_number(office_code: str, year: int, value: int) -> str:
    """The printed complaint number ``ADU-<OFFICE>-<YYYY>-<NNNNNN>``."""
    return f"ADU-{office_code}-{year}-{value:06d}"


def allocate_number(session: Session, office_code: str, year: int) -> str:
    """The next number of ``office_code`` in ``year``, gap-free: one upsert creates or
    advances the counter and keeps its row locked until the transaction ends (PostgreSQL;
    SQLite writers hold the database lock), and a rollback takes the increment with it.
    Never ``max() + 1``."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = ComplaintCounter.__table__  # type: ignore[attr-defined]
    insert: Insert = module.insert(table).values(office_code=office_code, year=year, last_value=1)
    statement = insert.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=["office_code", "year"], set_={"last_value": table.c.last_value + 1}
    ).returning(table.c.last_value)
    return complaint_number(office_code, year, int(session.execute(statement).scalar_one()))


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
    session: Session, reference: str | None, email: str | None, phone: str | None
) -> uuid.UUID | None:
    """The inquiry ``reference`` names, only when the complainant is its requester."""
    if not reference:
        return None
    inquiry = session.exec(
        select(Inquiry).where(
            or_(col(Inquiry.reference) == reference, col(Inquiry.ticket_number) == reference)
        )
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
        if received_at.utcoffset() is None:
            raise InvalidField("#/received_at", "received_at needs a time zone offset")
        if received_at > now + timedelta(minutes=5):
            raise InvalidField("#/received_at", "received_at lies in the future")
    else:
        source, received_at = "web", now
    if principal is not None and not principal.may_see_office(data.office_code):
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
        inquiry_id=_linked_inquiry(session, data.reference, email, phone),
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
    _event(session, complaint, principal, "created", None, "received", {"source": source})
    session.flush()
    return complaint


def _event(
    session: Session,
    complaint: Complaint,
    principal: Principal | None,
    action: str,
    from_status: str | None,
    to_status: str | None,
    details: dict[str, Any] | None = None,
) -> None:
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


# -- reading


def ensure_reader(principal: Principal) -> None:
    """Only compliance, the head of office and admins see complaints."""
    if not principal.has_any(READERS):
        raise Forbidden("complaints are handled by internal compliance")


def get_complaint(*, session: Session, principal: Principal, number: str) -> Complaint:
    """The complaint ``number`` if the caller may see it (404 otherwise, not 403: the
    number of another office's complaint is not confirmed)."""
    ensure_reader(principal)
    complaint = session.exec(select(Complaint).where(Complaint.number == number[:64])).first()
    if complaint is None or not principal.may_see_office(complaint.office_code):
        raise ComplaintNotFound(f"No complaint {number[:64]}.")
    return complaint


def complaint_events(*, session: Session, complaint: Complaint) -> list[ComplaintEvent]:
    """The complaint's audit trail, oldest first."""
    return list(
        session.exec(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint.id)
            .order_by(col(ComplaintEvent.id))
        ).all()
    )


@dataclass(frozen=True)
class ComplaintFilter:
    office_code: str | None = None
    status: str | None = None
    category: str | None = None
    source: str | None = None
    received_from: date | None = None  # UTC dates, inclusive
    received_to: date | None = None
    overdue: bool | None = None


def list_complaints(
    *, session: Session, principal: Principal, where: ComplaintFilter, limit: int, offset: int
) -> tuple[list[Complaint], int | None]:
    """Complaints the caller may see, newest first; with the next page's offset."""
    ensure_reader(principal)
    query = select(Complaint)
    if not principal.cross_office:
        if where.office_code not in (None, principal.office):
            raise Forbidden("this office is outside your scope")
        query = query.where(Complaint.office_code == (principal.office or ""))
    elif where.office_code:
        query = query.where(Complaint.office_code == where.office_code)
    for column, value in (
        (Complaint.status, where.status),
        (Complaint.category, where.category),
        (Complaint.source, where.source),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.received_from is not None:
        start = datetime.combine(where.received_from, time(), tzinfo=utcnow().tzinfo)
        query = query.where(Complaint.received_at >= start)
    if where.received_to is not None:
        end = datetime.combine(where.received_to + timedelta(days=1), time(), utcnow().tzinfo)
        query = query.where(Complaint.received_at < end)
    if where.overdue is not None:
        late = (col(Complaint.status).in_(("received", "in_review"))) & (
            Complaint.due_at < utcnow()
        )
        query = query.where(late if where.overdue else ~late)
    rows = session.exec(
        query.order_by(col(Complaint.received_at).desc(), col(Complaint.id))
        .offset(offset)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    return list(rows[:limit]), (offset + limit if more else None)


# -- the workflow


def _handled(session: Session, principal: Principal, number: str, version: int | None) -> Complaint:
    if not principal.has_any(HANDLERS):
        ensure_reader(principal)
        raise Forbidden("complaints are handled by internal compliance")
    complaint = get_complaint(session=session, principal=principal, number=number)
    if version is not None and version != complaint.version:
        raise ComplaintChanged(f"The complaint is at version {complaint.version}, not {version}.")
    return complaint


def _move(
    session: Session,
    complaint: Complaint,
    principal: Principal,
    action: str,
    to_status: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    from_status = complaint.status
    complaint.status = to_status
    complaint.version += 1
    complaint.updated_at = now
    if complaint.first_responded_at is None and to_status in ("in_review", "responded"):
        complaint.first_responded_at = now
    session.add(complaint)
    _event(session, complaint, principal, action, from_status, to_status, details)
    session.flush()


def _send(session: Session, complaint: Complaint, subject: str, body: str) -> str:
    """Queue a text for the complainant: by email through the outbox, or record that the
    service cannot send it (a phone number only: the unit calls or writes)."""
    if complaint.email is None:
        return "not_sent"
    session.add(
        OutboxMessage(
            office_code=complaint.office_code,
            kind="complaint_response",
            channel="email",
            recipient=complaint.email,
            subject=subject,
            body=body,
        )
    )
    return "outbox"


def review_complaint(
    *, session: Session, principal: Principal, number: str, version: int | None = None
) -> Complaint:
    """Take the complaint into review: its first response (status) to the complainant."""
    now = utcnow()
    complaint = _handled(session, principal, number, version)
    if complaint.status != "received":
        raise ComplaintTransition(f"A complaint in status {complaint.status} cannot be reviewed.")
    office = session.get(Office, complaint.office_code)
    zone = office.timezone if office else "Asia/Jakarta"
    delivery = _send(
        session,
        complaint,
        f"Pengaduan {complaint.number} sedang ditindaklanjuti",
        f"Yth. {complaint.name},\n\nPengaduan Anda nomor {complaint.number} sedang kami "
        f"tindak lanjuti. Kami akan menyampaikan jawaban paling lambat "
        f"{texts.in_words(complaint.due_at, zone)}.\n\nYour complaint {complaint.number} is "
        "under review; we will respond by the time above.",
    )
    _move(session, complaint, principal, "reviewed", "in_review", now, {"delivery": delivery})
    return complaint


def respond_complaint(
    *,
    session: Session,
    principal: Principal,
    number: str,
    message: str,
    version: int | None = None,
) -> Complaint:
    """Give the complaint's response; it goes to the complainant through the outbox."""
    now = utcnow()
    complaint = _handled(session, principal, number, version)
    if complaint.status not in ("received", "in_review"):
        raise ComplaintTransition(
            f"A complaint in status {complaint.status} cannot be responded to."
        )
    delivery = _send(
        session,
        complaint,
        f"Tanggapan atas pengaduan {complaint.number}",
        f"Yth. {complaint.name},\n\n{message}\n\n---\nNomor pengaduan / Complaint number: "
        f"{complaint.number}",
    )
    complaint.response = message
    complaint.response_delivery = delivery
    complaint.responded_at = now
    _move(session, complaint, principal, "responded", "responded", now, {"delivery": delivery})
    return complaint


def close_complaint(
    *, session: Session, principal: Principal, number: str, version: int | None = None
) -> Complaint:
    """Close a complaint that has been responded to."""
    now = utcnow()
    complaint = _handled(session, principal, number, version)
    if complaint.status != "responded":
        raise ComplaintTransition("Only a complaint that has been responded to can be closed.")
    complaint.closed_at = now
    _move(session, complaint, principal, "closed", "closed", now)
    return complaint


def categories(*, session: Session) -> list[ComplaintCategory]:
    """The complaint categories and their targets."""
    return list(session.exec(select(ComplaintCategory).order_by(col(ComplaintCategory.code))))
