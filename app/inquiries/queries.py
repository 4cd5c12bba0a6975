"""Reading inquiries: one with everything, the work queue, the audit trail, and the
requester's public ticket lookup."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import and_, not_, or_
from sqlalchemy import select as sql_select
from sqlalchemy.sql.selectable import Select
from sqlmodel import Session, col, select

from app.calendar.cache import CalendarCache
from app.calendar.engine import WorkingCalendar
from app.core.channels import Channel
from app.core.db import RawWriter, read_in_session
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
    MessageView,
    PublicTicket,
    QueueQuery,
    SlaView,
    TemplateUse,
)
from app.inquiries.states import Status
from app.inquiries.workflow import etag
from app.sla.engine import SlaPolicy
from app.sla.models import SlaPolicyRecord
from app.sla.policies import PolicyCache

_INQUIRY = Inquiry.__table__  # type: ignore[attr-defined]
_DOCUMENT = InquiryDocument.__table__  # type: ignore[attr-defined]
_MESSAGE = InquiryMessage.__table__  # type: ignore[attr-defined]
_CONSULTATION = Consultation.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Parts:
    """An inquiry's documents, messages and consultations, in display order: rows with
    their tables' columns."""

    documents: list[Any] = field(default_factory=list)
    messages: list[Any] = field(default_factory=list)
    consultations: list[Any] = field(default_factory=list)
    deliveries: dict[int, DeliveryView] = field(default_factory=dict)


class Viewer:
    """Builds the public views of inquiries for one caller at one instant."""

    def __init__(
        self,
        session: Session | None,
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

    def _db(self) -> Session:
        # Only a page whose clocks came from memory is built without a session.
        assert self.session is not None, "this view reads the database"
        return self.session

    def _clock_inputs(self, inquiry: Inquiry) -> tuple[WorkingCalendar, SlaPolicy]:
        key = (inquiry.office_code, inquiry.policy_code)
        found = self._clocks.get(key)
        if found is None:
            session = self._db()
            record = self.policies.resolve(
                session, inquiry.office_code, Channel(inquiry.channel), inquiry.policy_code
            )
            found = self._clocks[key] = (
                self.calendars.get(session, inquiry.office_code),
                self.policies.engine_policy(record),
            )
        return found

    def clocks_in_memory(self, rows: Sequence[Any]) -> bool:
        """Take the calendars and policies of ``rows`` from the caches, without the
        database; False when one of them must be read first (then the page is built
        with a session)."""
        for row in rows:
            key = (row.office_code, row.policy_code)
            if key in self._clocks:
                continue
            record = self.policies.peek(row.office_code, Channel(row.channel), row.policy_code)
            calendar = self.calendars.peek(row.office_code)
            if record is None or calendar is None:
                return False
            self._clocks[key] = (calendar, self.policies.engine_policy(record))
        return True

    def sla(self, inquiry: Inquiry) -> SlaView:
        """The inquiry's SLA clock now."""
        return SlaView.model_validate(self._sla_fields(inquiry))

    def _sla_fields(self, inquiry: Inquiry) -> dict[str, Any]:
        calendar, policy = self._clock_inputs(inquiry)
        clock = clock_view(calendar, policy, inquiry, self.now)
        return {
            "policy_code": inquiry.policy_code,
            "due_at": clock.due_at,
            "start_day": clock.start_day,
            "late_intake": clock.late_intake,
            "state": clock.state,
            "working_seconds_left": clock.working_seconds_left,
            "at_risk_at": clock.at_risk_at,
            "first_response_at": inquiry.first_response_at,
            "outcome": inquiry.sla_outcome,
        }

    def _requester_fields(self, inquiry: Inquiry, *, in_list: bool) -> dict[str, Any]:
        # NIK and NPWP masked in lists and for roles that do not need them.
        full = not in_list and access.may_read_identity_numbers(self._db(), self.principal, inquiry)
        return {
            "name": inquiry.requester_name,
            "email": inquiry.requester_email,
            "phone": inquiry.requester_phone,
            "handle": inquiry.requester_handle,
            "nik": inquiry.requester_nik if full else access.mask(inquiry.requester_nik),
            "npwp": inquiry.requester_npwp if full else access.mask(inquiry.requester_npwp),
            "organization": inquiry.requester_organization,
        }

    def _summary_fields(self, inquiry: Inquiry, *, in_list: bool) -> dict[str, Any]:
        return {
            "id": inquiry.id,
            "reference": inquiry.reference,
            "office_code": inquiry.office_code,
            "channel": inquiry.channel,
            "status": inquiry.status,
            "subject": inquiry.subject,
            "requester": self._requester_fields(inquiry, in_list=in_list),
            "assignee": inquiry.assignee,
            "received_at": inquiry.received_at,
            "ticket_number": inquiry.ticket_number,
            "escalated_unit_code": inquiry.escalated_unit_code,
            "sla": self._sla_fields(inquiry),
            "etag": etag(inquiry),
        }

    def document(self, inquiry: Inquiry, document: InquiryDocument) -> DocumentView:
        """A document; numbers that contain a tax number are masked like the requester's."""
        number = document.number
        if document.type in access.IDENTITY_DOCUMENTS and not access.may_read_identity_numbers(
            self._db(), self.principal, inquiry
        ):
            number = access.mask(number) or ""
        return DocumentView(type=document.type, number=number, legacy=document.legacy)

    def _parts(self, inquiry: Inquiry) -> Parts:
        # Rows, not ORM objects, in one round trip (``read_in_session``): the views only
        # read them, and the ORM's identity map and instance state, and SQLAlchemy's
        # execution of each statement, cost more than the reads (docs/performance.md,
        # *The detail in one round trip*).
        return _parts_of(read_in_session(self._db(), _part_reads(inquiry.id)))

    def readable(self, inquiry_id: uuid.UUID) -> tuple[Any, Parts]:
        """The inquiry (a row with its table's columns) and its parts, read together in
        one round trip, if the caller may read it; else NotFound."""
        found, *parts = read_in_session(
            self._db(),
            (sql_select(_INQUIRY).where(_INQUIRY.c.id == inquiry_id), *_part_reads(inquiry_id)),
        )
        inquiry = readable_or_404(self._db(), self.principal, found[0] if found else None)
        return inquiry, _parts_of(parts)

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

    def summary(self, inquiry: Inquiry) -> dict[str, Any]:
        """An inquiry as a list shows it: the fields of an ``InquirySummary``, which the
        page validates at once (one validation of the page costs less than three models
        built for each of its rows: docs/performance.md, *The queue from its stored
        instants*)."""
        return self._summary_fields(inquiry, in_list=True)

    def detail(self, inquiry: Inquiry, parts: Parts | None = None) -> InquiryDetail:
        """An inquiry with its messages, documents and consultations (``parts``, read
        here unless given)."""
        parts = self._parts(inquiry) if parts is None else parts
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


def _part_reads(inquiry_id: uuid.UUID) -> tuple[Select[Any], ...]:
    """The reads of an inquiry's documents, messages, consultations and deliveries."""
    documents, messages = _DOCUMENT.c, _MESSAGE.c
    consultations, outbox = _CONSULTATION.c, _OUTBOX.c
    return (
        sql_select(_DOCUMENT).where(documents.inquiry_id == inquiry_id).order_by(documents.id),
        sql_select(_MESSAGE)
        .where(messages.inquiry_id == inquiry_id)
        .order_by(messages.sent_at, messages.id),
        sql_select(_CONSULTATION)
        .where(consultations.inquiry_id == inquiry_id)
        .order_by(consultations.id),
        sql_select(
            outbox.message_id,
            outbox.status,
            outbox.attempts,
            outbox.delivered_at,
            outbox.last_error,
        ).where(outbox.inquiry_id == inquiry_id, outbox.message_id.is_not(None)),
    )


def _parts_of(found: Sequence[list[Any]]) -> Parts:
    """The parts from the rows of ``_part_reads``."""
    documents, messages, consultations, deliveries = found
    return Parts(
        documents=documents,
        messages=messages,
        consultations=consultations,
        deliveries={
            o.message_id: DeliveryView(
                status=o.status,
                attempts=o.attempts,
                delivered_at=o.delivered_at,
                last_error=o.last_error,
            )
            for o in deliveries
        },
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
    return readable_or_404(session, principal, session.get(Inquiry, inquiry_id))


def readable_or_404(session: Session, principal: Principal, inquiry: Inquiry | None) -> Inquiry:
    """``inquiry`` (an entity or a row of its table) if it exists and the caller may read
    it; else NotFound, the same for both, so that a refusal does not tell it exists."""
    if inquiry is None or not access.may_read(session, principal, inquiry):
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


# What a page shows of each inquiry: its summary and its clock, no more.
QUEUE_COLUMNS = tuple(
    getattr(Inquiry.__table__.c, name)  # type: ignore[attr-defined]
    for name in (
        "id",
        "reference",
        "office_code",
        "channel",
        "status",
        "subject",
        "requester_name",
        "requester_email",
        "requester_phone",
        "requester_handle",
        "requester_nik",
        "requester_npwp",
        "requester_organization",
        "assignee",
        "received_at",
        "ticket_number",
        "escalated_unit_code",
        "policy_code",
        "due_at",
        "at_risk_at",
        "paused_working_seconds",
        "awaiting_since",
        "sla_outcome",
        "first_response_at",
        "version",
    )
)


# Built once: selects are immutable, and each ``where`` below makes a new one; building
# the 25 columns' select for each request was about a twentieth of a page's CPU.
_QUEUE_SELECT: Select[Any] = sql_select(*QUEUE_COLUMNS)


def queue_statement(
    principal: Principal, now: datetime, query: QueueQuery, text: Any = None
) -> Select[Any]:
    """The select of a page of the inquiries the caller may see (``QUEUE_COLUMNS``),
    filtered, by due time or newest first, one row more than the page to tell whether
    another follows. ``text``: the condition for ``query.q`` (``hooks.text_condition``),
    which needs the session."""
    access.ensure_may_list(principal)
    statement: Select[Any] = _QUEUE_SELECT
    scope = access.readable(principal)
    if scope is not None:
        statement = statement.where(scope)
    if query.office_code is not None:
        statement = statement.where(col(Inquiry.office_code) == query.office_code)
    if query.status:
        statement = statement.where(col(Inquiry.status).in_([s.value for s in query.status]))
    if query.channel is not None:
        statement = statement.where(col(Inquiry.channel) == query.channel.value)
    if query.assignee is not None:
        assignee = principal.sub if query.assignee == "me" else query.assignee
        statement = statement.where(col(Inquiry.assignee) == assignee)
    if query.due_before is not None:
        statement = statement.where(col(Inquiry.due_at) < query.due_before)
    if query.sla_state is not None:
        statement = statement.join(
            SlaPolicyRecord, col(SlaPolicyRecord.code) == col(Inquiry.policy_code)
        ).where(sla_condition(query.sla_state, now))
    if text is not None:
        statement = statement.where(text)
    sort = query.sort
    key = col(Inquiry.due_at) if sort == "due_at" else col(Inquiry.received_at)
    if query.cursor is not None:
        value, last_id = _decode_cursor(query.cursor, sort)
        if sort == "due_at":
            statement = statement.where(
                or_(key > value, and_(key == value, col(Inquiry.id) > last_id))
            )
        else:
            statement = statement.where(
                or_(key < value, and_(key == value, col(Inquiry.id) < last_id))
            )
    if sort == "due_at":
        statement = statement.order_by(key, col(Inquiry.id))
    else:
        statement = statement.order_by(key.desc(), col(Inquiry.id).desc())
    return statement.limit(query.limit + 1)


def _text(session: Session, principal: Principal, query: QueueQuery) -> Any:
    """The condition for ``query.q``: the full-text index (app.search), words in any of
    their forms, personal data never matched."""
    if not query.q:
        return None
    only = query.office_code or (
        principal.office
        if not principal.cross_office and Role.unit not in principal.roles
        else None
    )
    return hooks.text_condition(session, query.q, only)


def page(viewer: Viewer, rows: Sequence[Any], query: QueueQuery) -> InquiryPage:
    """The list response from the rows of ``queue_statement``."""
    next_cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        last = rows[-1]
        moment = last.due_at if query.sort == "due_at" else last.received_at
        next_cursor = _encode_cursor(query.sort, moment, last.id)
    return InquiryPage.model_validate(
        {"items": [viewer.summary(r) for r in rows], "next_cursor": next_cursor}
    )


def queue_page(viewer: Viewer, query: QueueQuery) -> InquiryPage:
    """A page of the work queue, read through the viewer's session."""
    session = viewer._db()
    statement = queue_statement(
        viewer.principal, viewer.now, query, _text(session, viewer.principal, query)
    )
    return page(viewer, session.execute(statement).all(), query)


async def queue_page_at_once(
    reader: RawWriter, viewer: Viewer, query: QueueQuery
) -> InquiryPage | None:
    """``queue_page`` on the event loop, without a session: on PostgreSQL, with the
    calendars and policies of the page in memory and no text filter. None when it
    cannot be done there (the caller then runs ``queue_page``). What this saves,
    measured with `python -m bench.bench_inquiries queue`: docs/performance.md."""
    if query.q:
        return None
    principal, now = viewer.principal, viewer.now
    rows = await reader.rows_at_once(
        partial(queue_statement, principal, now, query),
        same_as=_queue_read_key(principal, now, query),
    )
    if rows is None or not viewer.clocks_in_memory(rows):
        return None
    return page(viewer, rows, query)


def _queue_read_key(principal: Principal, now: datetime, query: QueueQuery) -> Hashable:
    """All that ``queue_statement`` reads of its arguments (without a text filter): the
    caller's roles, office and unit (``access.readable``), their subject only for
    ``assignee=me``, the filters, and ``now`` only for an SLA state (exactly: such
    reads are not shared). The
    officers of an office asking for their first page share one key; building the
    statement and its cache key again was about a twentieth of a page's CPU."""
    return (
        "queue",
        principal.roles,
        principal.office,
        principal.unit,
        principal.sub if query.assignee == "me" else None,
        now if query.sla_state else None,
        # Every field of the query, so that a new filter cannot be forgotten here.
        *(tuple(v) if isinstance(v := getattr(query, name), list) else v for name in _FIELDS),
    )


_FIELDS = tuple(QueueQuery.model_fields)


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
