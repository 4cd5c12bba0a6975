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
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.calendar.cache import CalendarCache
from app.calendar.engine import CalendarRangeError
from app.core.channels import Channel
from app.core.errors import Conflict, InvalidField, Unprocessable
from app.core.security import Principal
from app.inquiries import access, texts
from app.inquiries.clock import pause_so_far, schedule
from app.inquiries.errors import MessageIdReused
from app.inquiries.events import record, touch
from app.inquiries.models import Inquiry, InquiryDocument, InquiryMessage
from app.inquiries.schemas import FollowUpIn, InquiryCreate
from app.inquiries.states import Status
from app.inquiries.workflow import outbox_row
from app.offices.service import get_office
from app.sla.policies import PolicyCache, to_engine

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Clocks of integrations drift; a receipt further in the future than this is refused.
_FUTURE_TOLERANCE = timedelta(minutes=5)


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


def create_inquiry(
    *,
    session: Session,
    calendars: CalendarCache,
    policies: PolicyCache,
    principal: Principal,
    data: InquiryCreate,
    idempotency_key: str | None,
    now: datetime,
) -> tuple[Inquiry, bool]:
    """Record a new inquiry; returns it and False when it had been posted before (same
    channel message id in the office, or the caller's same idempotency key)."""
    access.ensure_office_staff(principal, data.office_code)
    # No look-up first: the unique constraints decide, and a repeat costs a savepoint.
    office = get_office(session=session, code=data.office_code)
    if not office.active:
        raise InvalidField("#/office_code", "this office does not take inquiries now")
    if data.channel == Channel.email and data.requester.email is None:
        raise InvalidField("#/requester/email", "an email inquiry needs the requester's email")
    received_at = _received(data.received_at, now, "#/received_at")
    calendar = calendars.get(session, office.code, fresh=True, version=office.calendar_version)
    policy_record = policies.resolve(session, office.code, data.channel)
    try:
        clock = schedule(calendar, to_engine(policy_record), received_at, 0)
    except CalendarRangeError as exc:
        raise InvalidField("#/received_at", str(exc)) from exc

    for _attempt in range(3):
        inquiry = Inquiry(
            id=uuid.uuid4(),
            reference=new_reference(),
            office_code=office.code,
            channel=data.channel,
            channel_account=data.channel_account,
            policy_code=policy_record.code,
            status=Status.new,
            subject=data.subject,
            message=data.message,
            requester_name=data.requester.name,
            requester_email=data.requester.email,
            requester_phone=data.requester.phone,
            requester_handle=data.requester.handle,
            requester_nik=data.requester.nik,
            requester_npwp=data.requester.npwp,
            requester_organization=data.requester.organization,
            received_at=received_at,
            due_at=clock.due_at,
            at_risk_at=clock.at_risk_at,
            survey_code=secrets.token_urlsafe(12),
            idempotency_key=idempotency_key,
            idempotency_fingerprint=None if idempotency_key is None else fingerprint(data),
            created_by=principal.sub,
        )
        message = InquiryMessage(
            inquiry_id=inquiry.id,
            office_code=office.code,
            direction="inbound",
            kind="request",
            channel=data.channel,
            channel_message_id=data.channel_message_id,
            body=data.message,
            sent_at=received_at,
        )
        documents = [
            InquiryDocument(inquiry_id=inquiry.id, type=d.type, number=d.number, legacy=d.legacy)
            for d in data.documents
        ]
        # The automatic receipt (reference and due time), when the policy sends one.
        receipt = (
            InquiryMessage(
                inquiry_id=inquiry.id,
                office_code=office.code,
                direction="outbound",
                kind="acknowledgement",
                channel=data.channel,
                body=texts.acknowledgement(
                    data.requester.name, inquiry.reference, clock.due_at, calendar.tz.key
                ),
                sent_at=now,
            )
            if policy_record.acknowledge
            else None
        )
        try:
            with session.begin_nested():
                # One flush: the unit of work inserts parents before children by their
                # foreign keys.
                session.add(inquiry)
                session.add(message)
                if receipt is not None:
                    session.add(receipt)
                session.add_all(documents)
                record(
                    session,
                    inquiry,
                    principal,
                    "created",
                    None,
                    Status.new,
                    {"channel": data.channel},
                )
                session.flush()
        except IntegrityError:
            # Either a racing request recorded the same message first, or the random
            # reference collided; the first is answered with the winner's inquiry.
            existing = _existing(session, principal, data, idempotency_key)
            if existing is not None:
                return existing, False
            continue
        if receipt is not None:
            # Written by the request's commit; it needs only the receipt's id.
            session.add(outbox_row(inquiry, receipt, now))
        return inquiry, True
    raise Conflict("Could not record the inquiry; try again.")


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
