"""Reading inquiries: one with everything, the work queue, the audit trail, and the
requester's public ticket lookup."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, not_, or_
from sqlmodel import Session, col, select

from app.calendar.cache import CalendarCache
from app.calendar.engine import WorkingCalendar
from app.core.channels import Channel
from app.core.errors import InvalidField, NotFound
from app.core.security import Principal, Role
from app.inquiries import access, hooks
from app.inquiries.clock import view as clock_view
from app.inquiries.models import (
    Consultation,
    Inquiry,
    InquiryDocument,
    InquiryEvent,
    InquiryMessage,
    OutboxMessage,
)
from app.inquiries.schemas import (
    ConsultationView,
    DeliveryView,
    DocumentView,
    EventView,
    InquiryDetail,
    InquiryPage,
    InquiryReceipt,
    InquirySummary,
    MessageView,
    PublicTicket,
    RequesterView,
    SlaView,
    TemplateUse,
)
from app.inquiries.states import Status
from app.inquiries.workflow import etag
from app.sla.engine import SlaPolicy
from app.sla.models import SlaPolicyRecord
from app.sla.policies import PolicyCache

Sort = Literal["due_at", "-received_at"]


@dataclass(frozen=True, slots=True)
class Parts:
    """An inquiry's documents, messages and consultations, in display order."""

    documents: list[InquiryDocument] = field(default_factory=list)
    messages: list[InquiryMessage] = field(default_factory=list)
    consultations: list[Consultation] = field(default_factory=list)
    deliveries: dict[int, DeliveryView] = field(default_factory=dict)


class Viewer:
    """Builds the public views of inquiries for one caller at one instant."""

    def __init__(
        self,
        session: Session,
        calendars: CalendarCache,
        policies: PolicyCache,
        principal: Principal,
        now: datetime,
    ) -> None:
        self.session = session
        self.calendars = calendars
        self.policies = policies
        self.principal = principal
        self.now = now
        # A page holds many inquiries of few offices and policies.
        self._clocks: dict[tuple[str, str], tuple[WorkingCalendar, SlaPolicy]] = {}

    def _clock_inputs(self, inquiry: Inquiry) -> tuple[WorkingCalendar, SlaPolicy]:
        key = (inquiry.office_code, inquiry.policy_code)
        found = self._clocks.get(key)
        if found is None:
            record = self.policies.resolve(
                self.session, inquiry.office_code, Channel(inquiry.channel), inquiry.policy_code
            )
            found = self._clocks[key] = (
                self.calendars.get(self.session, inquiry.office_code),
                self.policies.engine_policy(record),
            )
        return found

    def sla(self, inquiry: Inquiry) -> SlaView:
        """The inquiry's SLA clock now."""
        calendar, policy = self._clock_inputs(inquiry)
        clock = clock_view(calendar, policy, inquiry, self.now)
        return SlaView(
            policy_code=inquiry.policy_code,
            due_at=clock.due_at,
            start_day=clock.start_day,
            late_intake=clock.late_intake,
            state=clock.state,
            working_seconds_left=clock.working_seconds_left,
            at_risk_at=clock.at_risk_at,
            first_response_at=inquiry.first_response_at,
            outcome=inquiry.sla_outcome,
        )

    def requester(self, inquiry: Inquiry, *, in_list: bool) -> RequesterView:
        """The requester, NIK and NPWP masked in lists and for roles that do not need them."""
        full = not in_list and access.may_read_identity_numbers(
            self.session, self.principal, inquiry
        )
        return RequesterView(
            name=inquiry.requester_name,
            email=inquiry.requester_email,
            phone=inquiry.requester_phone,
            handle=inquiry.requester_handle,
            nik=inquiry.requester_nik if full else access.mask(inquiry.requester_nik),
            npwp=inquiry.requester_npwp if full else access.mask(inquiry.requester_npwp),
            organization=inquiry.requester_organization,
        )

    def _summary_fields(self, inquiry: Inquiry, *, in_list: bool) -> dict[str, Any]:
        return {
            "id": inquiry.id,
            "reference": inquiry.reference,
            "office_code": inquiry.office_code,
            "channel": inquiry.channel,
            "status": inquiry.status,
            "subject": inquiry.subject,
            "requester": self.requester(inquiry, in_list=in_list),
            "assignee": inquiry.assignee,
            "received_at": inquiry.received_at,
            "ticket_number": inquiry.ticket_number,
            "escalated_unit_code": inquiry.escalated_unit_code,
            "sla": self.sla(inquiry),
            "etag": etag(inquiry),
        }

    def document(self, inquiry: Inquiry, document: InquiryDocument) -> DocumentView:
        """A document; numbers that contain a tax number are masked like the requester's."""
        number = document.number
        if document.type in access.IDENTITY_DOCUMENTS and not access.may_read_identity_numbers(
            self.session, self.principal, inquiry
        ):
            number = access.mask(number) or ""
        return DocumentView(type=document.type, number=number, legacy=document.legacy)

    def _parts(self, inquiry: Inquiry) -> Parts:
        session = self.session
        return Parts(
            documents=list(
                session.exec(
                    select(InquiryDocument)
                    .where(InquiryDocument.inquiry_id == inquiry.id)
                    .order_by(col(InquiryDocument.id))
                )
            ),
            messages=list(
                session.exec(
                    select(InquiryMessage)
                    .where(InquiryMessage.inquiry_id == inquiry.id)
                    .order_by(col(InquiryMessage.sent_at), col(InquiryMessage.id))
                )
            ),
            consultations=list(
                session.exec(
                    select(Consultation)
                    .where(Consultation.inquiry_id == inquiry.id)
                    .order_by(col(Consultation.id))
                )
            ),
            deliveries={
                o.message_id: DeliveryView(
                    status=o.status,
                    attempts=o.attempts,
                    delivered_at=o.delivered_at,
                    last_error=o.last_error,
                )
                for o in session.exec(
                    select(OutboxMessage).where(OutboxMessage.inquiry_id == inquiry.id)
                )
                if o.message_id is not None
            },
        )

    def receipt(self, inquiry: Inquiry) -> InquiryReceipt:
        """What the posting integration gets back."""
        return InquiryReceipt(
            id=inquiry.id,
            reference=inquiry.reference,
            office_code=inquiry.office_code,
            channel=Channel(inquiry.channel),
            status=Status(inquiry.status),
            received_at=inquiry.received_at,
            sla=self.sla(inquiry),
            etag=etag(inquiry),
        )

    def summary(self, inquiry: Inquiry) -> InquirySummary:
        """An inquiry as a list shows it."""
        return InquirySummary(**self._summary_fields(inquiry, in_list=True))

    def detail(self, inquiry: Inquiry) -> InquiryDetail:
        """An inquiry with its messages, documents and consultations."""
        parts = self._parts(inquiry)
        documents, messages, consultations = parts.documents, parts.messages, parts.consultations
        return InquiryDetail(
            **self._summary_fields(inquiry, in_list=False),
            channel_account=inquiry.channel_account,
            message=inquiry.message,
            previous_inquiry_id=inquiry.previous_inquiry_id,
            documents=[self.document(inquiry, d) for d in documents],
            messages=[
                MessageView(
                    id=m.id or 0,
                    direction=m.direction,
                    kind=m.kind,
                    body=m.body,
                    author=m.author,
                    sent_at=m.sent_at,
                    template=template_use(m),
                    delivery=parts.deliveries.get(m.id or 0),
                )
                for m in messages
            ],
            consultations=[consultation_view(c) for c in consultations],
            answered_at=inquiry.answered_at,
            escalated_at=inquiry.escalated_at,
            resolved_at=inquiry.resolved_at,
            closed_at=inquiry.closed_at,
        )


def template_use(message: InquiryMessage) -> TemplateUse | None:
    """Which template version the message was filled from, if any."""
    if message.template_id is None or message.template_version is None:
        return None
    return TemplateUse(
        id=message.template_id,
        code=message.template_code or "",
        version=message.template_version,
    )


def consultation_view(c: Consultation) -> ConsultationView:
    """A consultation as the API shows it."""
    return ConsultationView(
        id=c.id or 0,
        with_=c.with_role,
        unit_code=c.unit_code,
        question=c.question,
        asked_by=c.asked_by,
        asked_at=c.asked_at,
        answer=c.answer,
        answered_by=c.answered_by,
        answered_at=c.answered_at,
    )


def get_readable(session: Session, principal: Principal, inquiry_id: uuid.UUID) -> Inquiry:
    """The inquiry if the caller may read it, else NotFound."""
    inquiry = session.get(Inquiry, inquiry_id)
    if inquiry is None:
        raise NotFound("No such inquiry.")
    if not access.may_read(session, principal, inquiry):
        raise NotFound("No such inquiry.")
    return inquiry


def events(session: Session, inquiry: Inquiry) -> list[EventView]:
    """The audit trail, oldest first."""
    rows = session.exec(
        select(InquiryEvent)
        .where(InquiryEvent.inquiry_id == inquiry.id)
        .order_by(col(InquiryEvent.at), col(InquiryEvent.id))
    )
    return [
        EventView(
            id=e.id or 0,
            action=e.action,
            actor=e.actor,
            actor_roles=list(e.actor_roles),
            from_status=e.from_status,
            to_status=e.to_status,
            details=dict(e.details),
            at=e.at,
        )
        for e in rows
    ]


def _encode_cursor(sort: str, value: datetime, inquiry_id: uuid.UUID) -> str:
    raw = json.dumps([sort, value.isoformat(), str(inquiry_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[datetime, uuid.UUID]:
    invalid = InvalidField("cursor", "cursor is not one this service issued for this sort")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        issued_for, value, inquiry_id = json.loads(raw)
        if not (isinstance(value, str) and isinstance(inquiry_id, str)) or issued_for != sort:
            raise invalid
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None or not 1971 <= moment.year <= 2100:
            raise invalid
        return moment, uuid.UUID(inquiry_id)
    except (ValueError, TypeError, OverflowError) as exc:
        raise invalid from exc


def list_inquiries(
    *,
    session: Session,
    principal: Principal,
    now: datetime,
    status: list[Status] | None = None,
    office_code: str | None = None,
    channel: Channel | None = None,
    assignee: str | None = None,
    sla_state: str | None = None,
    due_before: datetime | None = None,
    q: str | None = None,
    sort: Sort = "due_at",
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Inquiry], str | None]:
    """A page of the inquiries the caller may see, filtered, by due time or newest first."""
    access.ensure_may_list(principal)
    query = select(Inquiry)
    scope = access.readable(principal)
    if scope is not None:
        query = query.where(scope)
    if office_code is not None:
        query = query.where(Inquiry.office_code == office_code)
    if status:
        query = query.where(col(Inquiry.status).in_([s.value for s in status]))
    if channel is not None:
        query = query.where(Inquiry.channel == channel.value)
    if assignee is not None:
        query = query.where(Inquiry.assignee == (principal.sub if assignee == "me" else assignee))
    if due_before is not None:
        query = query.where(Inquiry.due_at < due_before)
    if sla_state is not None:
        query = query.join(
            SlaPolicyRecord, col(SlaPolicyRecord.code) == col(Inquiry.policy_code)
        ).where(sla_condition(sla_state, now))
    if q:
        # The full-text index (app.search): words in any of their forms, personal data
        # never matched.
        only = office_code or (
            principal.office
            if not principal.cross_office and Role.unit not in principal.roles
            else None
        )
        query = query.where(hooks.text_condition(session, q, only))
    key = col(Inquiry.due_at) if sort == "due_at" else col(Inquiry.received_at)
    if cursor is not None:
        value, last_id = _decode_cursor(cursor, sort)
        if sort == "due_at":
            query = query.where(or_(key > value, and_(key == value, col(Inquiry.id) > last_id)))
        else:
            query = query.where(or_(key < value, and_(key == value, col(Inquiry.id) < last_id)))
    if sort == "due_at":
        query = query.order_by(key, col(Inquiry.id))
    else:
        query = query.order_by(key.desc(), col(Inquiry.id).desc())
    rows = list(session.exec(query.limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        moment = last.due_at if sort == "due_at" else last.received_at
        next_cursor = _encode_cursor(sort, moment, last.id)
    return rows, next_cursor


def sla_condition(state: str, now: datetime) -> Any:
    """A SQL condition selecting the inquiries whose SLA state is ``state`` at ``now``
    (the work queue's filter; the SLA report counts breaches by the same rule)."""
    # The engine works in whole seconds; so does the comparison with at_risk_at.
    now = now.replace(microsecond=0)
    open_, outcome = col(Inquiry.sla_outcome).is_(None), col(Inquiry.sla_outcome)
    due, since = col(Inquiry.due_at), col(Inquiry.awaiting_since)
    # Awaiting the requester under a policy that pauses: the clock stands still, unless it
    # had run out before the pause began (then it stays breached).
    pausing = and_(
        col(Inquiry.status) == Status.awaiting_requester,
        col(SlaPolicyRecord.pause_when_awaiting_requester).is_(True),
        since.is_not(None),
    )
    running = and_(open_, not_(pausing))
    conditions = {
        "met": outcome == "met",
        "missed": outcome == "missed",
        "paused": and_(open_, pausing, due >= since),
        "breached": or_(and_(running, due < now), and_(open_, pausing, due < since)),
        "at_risk": and_(running, col(Inquiry.at_risk_at) < now, due >= now),
        "on_track": and_(running, col(Inquiry.at_risk_at) >= now),
    }
    return conditions[state]


def page(viewer: Viewer, rows: list[Inquiry], next_cursor: str | None) -> InquiryPage:
    """The list response."""
    return InquiryPage(items=[viewer.summary(r) for r in rows], next_cursor=next_cursor)


def public_ticket(session: Session, ticket_number: str, contact: str) -> PublicTicket:
    """The ticket's status for a requester who proves it is theirs by its contact."""
    inquiry = session.exec(select(Inquiry).where(Inquiry.ticket_number == ticket_number)).first()
    if inquiry is None or not _contact_matches(inquiry, contact):
        raise NotFound("No ticket with that number and contact.")
    status = Status(inquiry.status)
    shown = (
        status if status in (Status.escalated, Status.resolved, Status.closed) else Status.escalated
    )
    return PublicTicket(
        ticket_number=ticket_number,
        reference=inquiry.reference,
        status=shown.value,
        received_at=inquiry.received_at,
        escalated_at=inquiry.escalated_at,
        resolved_at=inquiry.resolved_at,
        closed_at=inquiry.closed_at,
    )


def _contact_matches(inquiry: Inquiry, contact: str) -> bool:
    from app.inquiries import identifiers

    given = contact.strip()
    if "@" in given:
        try:
            return (
                identifiers.normalize_email(given).lower()
                == (inquiry.requester_email or "").lower()
            )
        except identifiers.IdentifierError:
            return False
    try:
        return identifiers.normalize_phone(given) == inquiry.requester_phone
    except identifiers.IdentifierError:
        return False
