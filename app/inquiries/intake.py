"""Intake: new inquiries and the requester's follow-ups, both idempotent.

The same (channel, channel_message_id) posted twice, even by two racing requests, makes
one inquiry (or one follow-up): the unique constraint on inbound messages decides, and
the loser of a race reads the winner's row. An ``Idempotency-Key`` does the same for
clients without message ids, scoped to the calling client.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.calendar.cache import CalendarCache
from app.calendar.engine import CalendarRangeError, WorkingCalendar
from app.core.channels import Channel
from app.core.errors import Conflict, InvalidField, Unprocessable
from app.core.security import Principal
from app.inquiries import access, texts
from app.inquiries.clock import pause_so_far, schedule
from app.inquiries.errors import MessageIdReused
from app.inquiries.events import record, touch
from app.inquiries.models import (
    Inquiry,
    InquiryDocument,
    InquiryEvent,
    InquiryMessage,
    OutboxMessage,
)
from app.inquiries.queries import Viewer
from app.inquiries.schemas import FollowUpIn, InquiryCreate, InquiryReceipt, SlaView
from app.inquiries.states import Status
from app.inquiries.workflow import etag_of, recipient
from app.offices.service import get_office
from app.sla.engine import (
    DueResult,
    SlaPolicy,
    at_risk_at,
    compute_due,
    sla_state,
    working_seconds_left,
)
from app.sla.policies import PolicyCache, to_engine

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Clocks of integrations drift; a receipt further in the future than this is refused.
_FUTURE_TOLERANCE = timedelta(minutes=5)
# Intake writes through Core statements, without the unit of work's bookkeeping.
_INQUIRY = Inquiry.__table__  # type: ignore[attr-defined]
_MESSAGE = InquiryMessage.__table__  # type: ignore[attr-defined]
_DOCUMENT = InquiryDocument.__table__  # type: ignore[attr-defined]
_EVENT = InquiryEvent.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


def new_reference() -> str:
    """A short, unguessable, human-friendly reference such as ``IQ-7K3F9QX2``."""
    return "IQ-" + "".join(secrets.choice(_CROCKFORD) for _ in range(8))


def _received(value: datetime | None, now: datetime, pointer: str) -> datetime:
    if value is None:
        return now
    if value > now + _FUTURE_TOLERANCE:
        raise InvalidField(pointer, "received_at lies in the future")
    return value


def _by_message_id(
    session: Session, office_code: str, channel: str, message_id: str
) -> Inquiry | None:
    inquiry_id = session.exec(
        select(InquiryMessage.inquiry_id).where(
            InquiryMessage.office_code == office_code,
            InquiryMessage.channel == channel,
            InquiryMessage.channel_message_id == message_id,
        )
    ).first()
    return None if inquiry_id is None else session.get(Inquiry, inquiry_id)


def fingerprint(data: InquiryCreate) -> str:
    """A digest of the request, to tell a retry from another request under the same key."""
    return hashlib.sha256(data.model_dump_json().encode()).hexdigest()


def _existing(
    session: Session, principal: Principal, data: InquiryCreate, key: str | None
) -> Inquiry | None:
    if data.channel_message_id is not None:
        found = _by_message_id(session, data.office_code, data.channel, data.channel_message_id)
        if found is not None:
            return found
    if key is None:
        return None
    found = session.exec(
        select(Inquiry).where(Inquiry.created_by == principal.sub, Inquiry.idempotency_key == key)
    ).first()
    if found is not None and found.idempotency_fingerprint != fingerprint(data):
        raise Unprocessable(
            "This Idempotency-Key was used for a different request; use a new key.",
            errors=[{"parameter": "Idempotency-Key", "detail": "reused for another request"}],
        )
    return found


@dataclass(frozen=True, slots=True)
class Posted:
    """The outcome of a post: the receipt, whether the inquiry is new, and the id of its
    inbound message when it is."""

    receipt: InquiryReceipt
    created: bool
    message_id: int | None = None


def _insert(session: Session, table: Any, values: dict[str, Any], **conflict: Any) -> int | None:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING`` the first primary key column: the
    key, or None when a unique constraint (of ``conflict``, else any) refused the row."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        module.insert(table)
        .values(**values)
        .on_conflict_do_nothing(**conflict)
        .returning(*table.primary_key.columns)
    )
    row = session.execute(statement).first()
    return None if row is None else row[0]


def _sla_view(
    calendar: WorkingCalendar,
    policy: SlaPolicy,
    policy_code: str,
    due: DueResult,
    risk: datetime,
    now: datetime,
) -> SlaView:
    """A new inquiry's clock, from the one computation of its due time (the same view
    ``app.inquiries.clock.view`` gives of the stored inquiry)."""
    return SlaView(
        policy_code=policy_code,
        due_at=due.due_at.astimezone(calendar.tz),
        start_day=due.start_day,
        late_intake=due.late_intake,
        state=sla_state(calendar, policy, due.due_at, now),
        working_seconds_left=working_seconds_left(calendar, due.due_at, now),
        at_risk_at=risk.astimezone(calendar.tz),
        first_response_at=None,
        outcome=None,
    )


def _earlier(
    session: Session,
    calendars: CalendarCache,
    policies: PolicyCache,
    principal: Principal,
    inquiry: Inquiry,
    now: datetime,
) -> Posted:
    viewer = Viewer(session, calendars, policies, principal, now)
    return Posted(viewer.receipt(inquiry), created=False)


def create_inquiry(
    *,
    session: Session,
    calendars: CalendarCache,
    policies: PolicyCache,
    principal: Principal,
    data: InquiryCreate,
    idempotency_key: str | None,
    now: datetime,
) -> Posted:
    """Record a new inquiry; ``created`` is False when it had been posted before (same
    channel message id in the office, or the caller's same idempotency key).

    The due time is computed once, for the row and the receipt alike. No look-up first
    and no savepoint: each insert is ``ON CONFLICT DO NOTHING``, so the unique constraints
    decide (a racing post of the same message waits for the other transaction, then
    yields), and the rare loser removes the one row it wrote and answers with the
    winner's inquiry."""
    access.ensure_office_staff(principal, data.office_code)
    office = get_office(session=session, code=data.office_code)
    if not office.active:
        raise InvalidField("#/office_code", "this office does not take inquiries now")
    if data.channel == Channel.email and data.requester.email is None:
        raise InvalidField("#/requester/email", "an email inquiry needs the requester's email")
    received_at = _received(data.received_at, now, "#/received_at")
    calendar = calendars.get(session, office.code, fresh=True, version=office.calendar_version)
    policy_record = policies.resolve(session, office.code, data.channel)
    policy = policies.engine_policy(policy_record)
    try:
        due = compute_due(calendar, policy, received_at)
        risk = at_risk_at(calendar, policy, due.due_at)
    except CalendarRangeError as exc:
        raise InvalidField("#/received_at", str(exc)) from exc
    requester = data.requester
    roles = sorted(r.value for r in principal.roles)
    for _attempt in range(3):
        inquiry_id = uuid.uuid4()
        reference = new_reference()
        inserted = _insert(
            session,
            _INQUIRY,
            {
                "id": inquiry_id,
                "reference": reference,
                "office_code": office.code,
                "channel": data.channel.value,
                "channel_account": data.channel_account,
                "policy_code": policy_record.code,
                "status": Status.new.value,
                "subject": data.subject,
                "message": data.message,
                "requester_name": requester.name,
                "requester_email": requester.email,
                "requester_phone": requester.phone,
                "requester_handle": requester.handle,
                "requester_nik": requester.nik,
                "requester_npwp": requester.npwp,
                "requester_organization": requester.organization,
                "received_at": received_at,
                "due_at": due.due_at,
                "at_risk_at": risk,
                "paused_working_seconds": 0,
                "survey_code": secrets.token_urlsafe(12),
                "idempotency_key": idempotency_key,
                "idempotency_fingerprint": None if idempotency_key is None else fingerprint(data),
                "created_by": principal.sub,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            },
        )
        if inserted is None:
            # The caller's idempotency key was used before (or is being used by a racing
            # request, which committed first), or the random reference collided.
            existing = _existing(session, principal, data, idempotency_key)
            if existing is not None:
                return _earlier(session, calendars, policies, principal, existing, now)
            continue
        message_id = _insert(
            session,
            _MESSAGE,
            {
                "inquiry_id": inquiry_id,
                "office_code": office.code,
                "direction": "inbound",
                "kind": "request",
                "channel": data.channel.value,
                "channel_message_id": data.channel_message_id,
                "body": data.message,
                "sent_at": received_at,
                "created_at": now,
            },
            index_elements=["office_code", "channel", "channel_message_id"],
        )
        if message_id is None:
            # A racing (or earlier) post of the same message won: this inquiry goes.
            session.execute(delete(_INQUIRY).where(_INQUIRY.c.id == inquiry_id))
            existing = _existing(session, principal, data, idempotency_key)
            if existing is None:  # pragma: no cover - the winner's row is committed
                raise Conflict("Could not record the inquiry; try again.")
            return _earlier(session, calendars, policies, principal, existing, now)
        if data.documents:
            session.execute(
                insert(_DOCUMENT),
                [
                    {
                        "inquiry_id": inquiry_id,
                        "type": d.type,
                        "number": d.number,
                        "legacy": d.legacy,
                    }
                    for d in data.documents
                ],
            )
        session.execute(
            insert(_EVENT).values(
                inquiry_id=inquiry_id,
                action="created",
                actor=principal.sub,
                actor_roles=roles,
                from_status=None,
                to_status=Status.new.value,
                details={"channel": data.channel.value},
                at=now,
            )
        )
        if policy_record.acknowledge:
            _acknowledge(session, data, inquiry_id, reference, due.due_at, calendar, now)
        receipt = InquiryReceipt(
            id=inquiry_id,
            reference=reference,
            office_code=office.code,
            channel=data.channel,
            status=Status.new,
            received_at=received_at,
            sla=_sla_view(calendar, policy, policy_record.code, due, risk, now),
            etag=etag_of(inquiry_id, 1),
        )
        return Posted(receipt, created=True, message_id=message_id)
    raise Conflict("Could not record the inquiry; try again.")


def _acknowledge(
    session: Session,
    data: InquiryCreate,
    inquiry_id: uuid.UUID,
    reference: str,
    due: datetime,
    calendar: WorkingCalendar,
    now: datetime,
) -> None:
    """The automatic receipt (reference and due time) for the requester, and its outbox
    row."""
    body = texts.acknowledgement(data.requester.name, reference, due, calendar.tz.key)
    receipt_id = _insert(
        session,
        _MESSAGE,
        {
            "inquiry_id": inquiry_id,
            "office_code": data.office_code,
            "direction": "outbound",
            "kind": "acknowledgement",
            "channel": data.channel.value,
            "body": body,
            "sent_at": now,
            "created_at": now,
        },
    )
    requester = data.requester
    session.execute(
        insert(_OUTBOX).values(
            delivery_id=uuid.uuid4(),
            inquiry_id=inquiry_id,
            message_id=receipt_id,
            office_code=data.office_code,
            kind="acknowledgement",
            channel=data.channel.value,
            channel_account=data.channel_account,
            recipient=recipient(data.channel, requester.email, requester.handle, requester.phone),
            subject=texts.subject(reference, data.subject)
            if data.channel == Channel.email
            else None,
            body=body,
            inquiry_reference=reference,
            requester_handle=requester.handle,
            ticket_number=None,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
    )


def _same_inquiry(seen: Inquiry | None, inquiry: Inquiry) -> bool:
    """False (posted before) when the message is this inquiry's; 409 when another's."""
    if seen is None or seen.id != inquiry.id:
        raise MessageIdReused("That channel message id was used for another message already.")
    return False


def post_follow_up(
    *,
    session: Session,
    calendars: CalendarCache,
    policies: PolicyCache,
    principal: Principal,
    inquiry: Inquiry,
    data: FollowUpIn,
    now: datetime,
) -> tuple[Inquiry, bool]:
    """Record the requester's follow-up; an inquiry awaiting them resumes its clock."""
    access.ensure_may(principal, "follow_up", inquiry)
    if data.channel_message_id is not None:
        seen = _by_message_id(
            session, inquiry.office_code, inquiry.channel, data.channel_message_id
        )
        if seen is not None:
            return inquiry, _same_inquiry(seen, inquiry)
    received_at = _received(data.received_at, now, "#/received_at")
    if received_at < inquiry.received_at:
        raise InvalidField("#/received_at", "a follow-up cannot precede the inquiry")
    message = InquiryMessage(
        inquiry_id=inquiry.id,
        office_code=inquiry.office_code,
        direction="inbound",
        kind="follow_up",
        channel=inquiry.channel,
        channel_message_id=data.channel_message_id,
        body=data.message,
        sent_at=received_at,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        # A racing post of the same message won.
        assert data.channel_message_id is not None
        seen = _by_message_id(
            session, inquiry.office_code, inquiry.channel, data.channel_message_id
        )
        return inquiry, _same_inquiry(seen, inquiry)
    before = Status(inquiry.status)
    if before == Status.awaiting_requester:
        calendar = calendars.get(session, inquiry.office_code, fresh=True)
        policy = to_engine(
            policies.resolve(
                session, inquiry.office_code, Channel(inquiry.channel), inquiry.policy_code
            )
        )
        resumed_at = max(received_at, inquiry.awaiting_since or received_at)
        inquiry.paused_working_seconds += pause_so_far(calendar, policy, inquiry, resumed_at)
        inquiry.awaiting_since = None
        clock = schedule(calendar, policy, inquiry.received_at, inquiry.paused_working_seconds)
        inquiry.due_at, inquiry.at_risk_at = clock.due_at, clock.at_risk_at
        inquiry.status = Status.in_progress
    touch(inquiry, now)
    session.add(inquiry)
    record(
        session,
        inquiry,
        principal,
        "follow_up",
        before,
        Status(inquiry.status),
        {"message_id": message.id},
    )
    session.flush()
    return inquiry, True
