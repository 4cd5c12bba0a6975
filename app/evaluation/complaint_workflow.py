"""Complaints after intake: reading them, and the compliance unit's workflow
``received -> in_review -> responded -> closed`` with an audit trail.

Complaints are handled by internal compliance, never by the officers they may concern:
only ``compliance`` (all offices) and ``head`` (own office) read them, only
``compliance`` acts on them. Nothing here is shown with an inquiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, or_
from sqlmodel import Session, col, select

from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.security import Principal, Role
from app.evaluation.complaint_intake import record_event
from app.evaluation.models import Complaint, ComplaintCategory, ComplaintEvent
from app.evaluation.report_scope import local_midnight
from app.inquiries import texts
from app.inquiries.models import OutboxMessage
from app.offices.models import Office

READERS = frozenset({Role.compliance, Role.head})
HANDLERS = frozenset({Role.compliance})


class ComplaintNotFound(NotFound):
    code, title = "complaint_not_found", "Complaint not found"


class ComplaintTransition(Conflict):
    code, title = "complaint_transition_not_allowed", "Not allowed in the complaint's status"


class ComplaintChanged(Conflict):
    code, title = "complaint_changed", "Complaint changed meanwhile"


# -- reading


def ensure_reader(principal: Principal) -> None:
    """Only compliance and the head of office see complaints."""
    if not principal.has_any(READERS):
        raise Forbidden("complaints are handled by internal compliance")


def get_complaint(
    *, session: Session, principal: Principal, number: str, for_update: bool = False
) -> Complaint:
    """The complaint ``number`` if the caller may see it (404 otherwise, not 403: the
    number of another office's complaint is not confirmed); locked for the transaction
    when ``for_update``."""
    ensure_reader(principal)
    query = select(Complaint).where(Complaint.number == number[:64])
    if for_update:
        query = query.with_for_update()
    complaint = session.exec(query).first()
    if complaint is None or not principal.may_read_office(complaint.office_code):
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
    # Local dates of each complaint's office, inclusive (checked with check_dates).
    received_from: date | None = None
    received_to: date | None = None
    overdue: bool | None = None


def _received_within(
    session: Session, offices: list[str] | None, start: date | None, end: date | None
) -> ColumnElement[bool]:
    """``received_at`` on or after ``start`` and on or before ``end``, local dates of the
    complaint's office (as the reports count them)."""
    query = select(col(Office.code), col(Office.timezone))
    if offices is not None:
        query = query.where(col(Office.code).in_(offices))
    by_zone: dict[str, list[str]] = {}
    for code, zone in session.execute(query):
        by_zone.setdefault(zone, []).append(code)
    received = col(Complaint.received_at)
    parts: list[ColumnElement[bool]] = []
    for zone, codes in sorted(by_zone.items()):
        tz = ZoneInfo(zone)
        part: list[ColumnElement[bool]] = [col(Complaint.office_code).in_(codes)]
        if start is not None:
            part.append(received >= local_midnight(start, tz))
        if end is not None:
            part.append(received < local_midnight(end + timedelta(days=1), tz))
        parts.append(and_(*part))
    return or_(*parts) if parts else false()


def list_complaints(
    *, session: Session, principal: Principal, where: ComplaintFilter, limit: int, offset: int
) -> tuple[list[Complaint], int | None]:
    """Complaints the caller may see, newest first; with the next page's offset."""
    ensure_reader(principal)
    query = select(Complaint)
    offices: list[str] | None = None
    if not principal.cross_office:
        if where.office_code not in (None, principal.office):
            raise Forbidden("this office is outside your scope")
        offices = [principal.office or ""]
    elif where.office_code:
        offices = [where.office_code]
    if offices is not None:
        query = query.where(col(Complaint.office_code).in_(offices))
    for column, value in (
        (Complaint.status, where.status),
        (Complaint.category, where.category),
        (Complaint.source, where.source),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.received_from is not None or where.received_to is not None:
        query = query.where(
            _received_within(session, offices, where.received_from, where.received_to)
        )
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


def categories(*, session: Session) -> list[ComplaintCategory]:
    """The complaint categories and their targets."""
    return list(session.exec(select(ComplaintCategory).order_by(col(ComplaintCategory.code))))


# -- the workflow


def _handled(session: Session, principal: Principal, number: str, version: int | None) -> Complaint:
    """The complaint, locked until the transaction ends so that concurrent steps take
    turns and the second sees the first's status."""
    if not principal.has_any(HANDLERS):
        ensure_reader(principal)
        raise Forbidden("complaints are handled by internal compliance")
    complaint = get_complaint(session=session, principal=principal, number=number, for_update=True)
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
    record_event(session, complaint, principal, action, from_status, to_status, details)
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
