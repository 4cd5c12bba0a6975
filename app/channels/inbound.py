"""Receiving one raw mail for an office: the loop and noise guard, duplicates, threading
into an inquiry, and the raw bytes and attachments kept.

Threading, in order: (1) a Message-ID of ours (an outbox delivery) or of the inquiry's
earlier mails in In-Reply-To/References; (2) the inquiry reference or ticket number in
the subject, only when the sender is the inquiry's requester; (3) a new inquiry. Intake
itself (SLA, audit, idempotency) is ``app.inquiries.intake``'s. Flushes, never commits.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.calendar.cache import CalendarCache
from app.channels.mime import (
    EmailNoSender,
    EmailTooLarge,
    ParsedEmail,
    noise_reason,
    our_delivery_id,
    parse_email,
)
from app.channels.models import EmailAttachment, InboundEmail
from app.channels.quoting import strip_quoted
from app.channels.storage import BlobStore, get_store
from app.core.channels import Channel
from app.core.config import get_settings
from app.core.db import insert_or_ignore
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.security import Principal, Role
from app.inquiries import access
from app.inquiries import identifiers as ids
from app.inquiries.intake import create_inquiry, post_follow_up
from app.inquiries.models import Inquiry, InquiryMessage, OutboxMessage
from app.inquiries.schemas import MAX_MESSAGE, FollowUpIn, InquiryCreate, RequesterIn
from app.inquiries.workflow import load
from app.sla.policies import PolicyCache

Outcome = Literal["created", "follow_up", "duplicate", "ignored"]

EMPTY_TEXT = "(Email tanpa teks / email without text; lihat lampiran atau email asli.)"
_REFERENCE = re.compile(r"\bIQ-[0-9A-HJKMNP-TV-Z]{8}\b", re.IGNORECASE)
_TICKET = re.compile(r"\b[A-Z0-9][A-Z0-9-]{0,30}-\d{4}-\d{6}\b", re.IGNORECASE)
_MAX_ID = 200


@dataclass(frozen=True)
class InboundResult:
    """What became of one mail."""

    outcome: Outcome
    inquiry_id: uuid.UUID | None
    reference: str | None
    reason: str | None


def message_key(message_id: str) -> str:
    """The bounded key of a Message-ID (case kept: ids are case-sensitive)."""
    return hashlib.sha256(message_id.encode("utf-8", "surrogateescape")).hexdigest()


def channel_message_id(message_id: str) -> str:
    """A Message-ID in the 200 characters an inquiry message keeps."""
    return message_id if len(message_id) <= _MAX_ID else "sha256:" + message_key(message_id)


def _clip(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return (text[: limit - 1] + "…" if len(text) > limit else text) or None


def _body(text: str) -> str:
    text = text.strip()
    if not text:
        return EMPTY_TEXT
    return text[: MAX_MESSAGE - 1] + "…" if len(text) > MAX_MESSAGE else text


def _ensure_gateway(principal: Principal, office_code: str) -> None:
    if Role.integration not in principal.roles or principal.office != office_code:
        raise Forbidden("only the office's integration may post its mail")
    access.ensure_channel(principal, Channel.email)


def _threaded(session: Session, office_code: str, mail: ParsedEmail) -> Inquiry | None:
    """(1) The inquiry one of our mails or its earlier mails that this one answers."""
    refs = mail.thread_ids
    if not refs:
        return None
    deliveries = []
    for mid in refs:
        delivery = our_delivery_id(mid)
        if delivery is not None:
            deliveries.append(uuid.UUID(delivery))
    if deliveries:
        found = session.exec(
            select(Inquiry)
            .join(OutboxMessage, col(OutboxMessage.inquiry_id) == col(Inquiry.id))
            .where(col(OutboxMessage.delivery_id).in_(deliveries))
            .where(Inquiry.office_code == office_code)
        ).first()
        if found is not None:
            return found
    keys = [message_key(mid) for mid in refs]
    inquiry_id = session.exec(
        select(InboundEmail.inquiry_id).where(
            InboundEmail.office_code == office_code,
            col(InboundEmail.message_key).in_(keys),
            col(InboundEmail.inquiry_id).is_not(None),
        )
    ).first()
    return None if inquiry_id is None else session.get(Inquiry, inquiry_id)


def _by_subject(session: Session, office_code: str, mail: ParsedEmail) -> Inquiry | None:
    """(2) The inquiry named in the subject, when the sender is its requester."""
    subject, sender = mail.subject or "", (mail.from_address or "").lower()
    if not sender:
        return None
    for reference in _REFERENCE.findall(subject):
        found = session.exec(
            select(Inquiry).where(
                Inquiry.reference == reference.upper(), Inquiry.office_code == office_code
            )
        ).first()
        if found is not None and (found.requester_email or "").lower() == sender:
            return found
    numbers = [m.upper() for m in _TICKET.findall(subject)]
    # "RE-KANWIL-ACEH-2026-000001": the office code may follow other words and hyphens.
    numbers += [n.split("-", k)[-1] for n in numbers for k in range(1, n.count("-") - 1)]
    for number in dict.fromkeys(numbers):
        found = session.exec(
            select(Inquiry).where(
                Inquiry.ticket_number == number, Inquiry.office_code == office_code
            )
        ).first()
        if found is not None and (found.requester_email or "").lower() == sender:
            return found
    return None


def _mark_bounced(session: Session, office_code: str, mail: ParsedEmail) -> int:
    """Mark the outbox rows a bounce reports on; returns how many."""
    if not mail.quoted_delivery_ids:
        return 0
    # The row's own office: rows without an inquiry (complaint responses) bounce too.
    rows = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.delivery_id).in_([uuid.UUID(d) for d in mail.quoted_delivery_ids]))
        .where(col(OutboxMessage.office_code) == office_code)
    ).all()
    for row in rows:
        row.status = "bounced"
        row.last_error = ("bounced: " + (mail.diagnostic or "delivery failed"))[:500]
        session.add(row)
    return len(rows)


def _requester(mail: ParsedEmail) -> RequesterIn:
    address = mail.from_address or ""
    try:
        email = ids.normalize_email(address)
    except ids.IdentifierError as exc:
        raise EmailNoSender(f"the From address is not usable: {exc.message}") from None
    name = _clip(mail.from_name, 200) or email.split("@", 1)[0][:200]
    return RequesterIn(name=name, email=email)


def _claim(session: Session, values: dict[str, Any]) -> InboundEmail | None:
    """Record the mail; the earlier row when this office has its Message-ID already.

    One ``INSERT ... ON CONFLICT DO NOTHING``: on PostgreSQL a racing insert of the same
    key waits for the other transaction and then yields (or goes ahead if it rolled
    back); SQLite's writers are serialised already. An unknown office fails the foreign
    key and is a 404."""
    table = InboundEmail.__table__  # type: ignore[attr-defined]
    try:
        inserted = insert_or_ignore(session, table, values, ("office_code", "message_key"))
    except IntegrityError:
        raise NotFound(f"No office with code {values['office_code']}.") from None
    if inserted:
        return None
    earlier = session.exec(
        select(InboundEmail).where(
            InboundEmail.office_code == values["office_code"],
            InboundEmail.message_key == values["message_key"],
        )
    ).first()
    if earlier is None:  # pragma: no cover - a conflict always leaves the winning row
        raise Conflict("The mail could not be recorded; try again.")
    return earlier


def _finish(
    session: Session,
    email_id: uuid.UUID,
    inquiry_id: uuid.UUID | None,
    message_id: int | None,
    inquiry_message: tuple[Inquiry, str] | None = None,
    **values: Any,
) -> None:
    """Record what became of the mail (and the inquiry message it made: its id, or the
    inquiry and channel message id that find it) in one UPDATE."""
    if inquiry_id is not None:
        values["inquiry_id"] = inquiry_id
    if message_id is not None:
        values["inquiry_message_id"] = message_id
    elif inquiry_message is not None:
        inquiry, channel_message_id = inquiry_message
        values["inquiry_message_id"] = (
            select(InquiryMessage.id)
            .where(
                InquiryMessage.office_code == inquiry.office_code,
                InquiryMessage.channel == inquiry.channel,
                InquiryMessage.channel_message_id == channel_message_id,
            )
            .scalar_subquery()
        )
    session.execute(update(InboundEmail).where(col(InboundEmail.id) == email_id).values(**values))


def receive_email(
    *,
    session: Session,
    calendars: CalendarCache,
    policies: PolicyCache,
    office_code: str,
    raw: bytes,
    principal: Principal,
    now: datetime,
    store: BlobStore | None = None,
) -> InboundResult:
    """Receive one raw mail for ``office_code`` (see the module's description)."""
    _ensure_gateway(principal, office_code)
    if len(raw) > get_settings().max_email_bytes:
        raise EmailTooLarge("the message is larger than INFODESK_MAX_EMAIL_BYTES")
    mail = parse_email(raw)
    reason = noise_reason(mail)
    requester = _requester(mail) if reason is None else None
    store = store or get_store()
    raw_sha = hashlib.sha256(raw).hexdigest()
    message_id = mail.message_id or f"sha256.{raw_sha}@infodesk.invalid"
    email_id = uuid.uuid4()
    # Files first, before the claim takes the write lock (SQLite's BEGIN IMMEDIATE):
    # content-addressed, so a duplicate's extra write changes nothing.
    blob_keys = [store.put(part.data) for part in mail.attachments] if reason is None else []
    raw_key = store.put(raw)
    earlier = _claim(
        session,
        {
            "id": email_id,
            "office_code": office_code,
            "message_id": mail.message_id,
            "message_key": message_key(message_id),
            "sender": _clip(mail.from_address, 254),
            "subject": _clip(mail.subject, 300),
            "outcome": "ignored" if reason else "created",
            "reason": reason,
            "raw_key": raw_key,
            "raw_sha256": raw_sha,
            "size": len(raw),
            "received_at": now,
        },
    )
    if earlier is not None:
        reference = None
        if earlier.inquiry_id is not None:
            first = session.get(Inquiry, earlier.inquiry_id)
            reference = first.reference if first else None
        return InboundResult(
            "duplicate", earlier.inquiry_id, reference, "Message-ID received before"
        )
    if reason is not None:
        if mail.is_delivery_report or reason.startswith("sender is"):
            marked = _mark_bounced(session, office_code, mail)
            if marked:
                reason = _clip(f"{reason}; {marked} delivery marked bounced", 200)
                _finish(session, email_id, None, None, reason=reason)
        return InboundResult("ignored", None, None, reason)

    assert requester is not None
    mid = channel_message_id(message_id)
    inquiry = _threaded(session, office_code, mail) or _by_subject(session, office_code, mail)
    if inquiry is not None and inquiry.channel != Channel.email:
        # A mail never joins an inquiry of another channel: it starts one of its own.
        inquiry = None
    if inquiry is not None:
        # Locked like every change of an inquiry (an officer may be acting on it now).
        inquiry, fresh = post_follow_up(
            session=session,
            calendars=calendars,
            policies=policies,
            principal=principal,
            inquiry=load(session, inquiry.id, for_update=True),
            data=FollowUpIn(
                channel=Channel.email,
                message=_body(strip_quoted(mail.body)),
                channel_message_id=mid,
            ),
            now=now,
            via_email=True,
        )
        outcome: Outcome = "follow_up" if fresh else "duplicate"
        inquiry_id, reference = inquiry.id, inquiry.reference
        _finish(
            session,
            email_id,
            inquiry_id,
            None,
            inquiry_message=(inquiry, mid) if fresh else None,
            outcome=outcome,
        )
    else:
        data = InquiryCreate(
            office_code=office_code,
            channel=Channel.email,
            channel_message_id=mid,
            requester=requester,
            subject=_clip(mail.subject, 300),
            message=_body(mail.body),
        )
        posted = create_inquiry(
            session=session,
            calendars=calendars,
            policies=policies,
            principal=principal,
            data=data,
            idempotency_key=None,
            now=now,
        )
        fresh, outcome = posted.created, "created" if posted.created else "duplicate"
        inquiry_id, reference = posted.receipt.id, posted.receipt.reference
        _finish(session, email_id, inquiry_id, posted.message_id, outcome=outcome)
    if fresh:
        session.add_all(
            EmailAttachment(
                inquiry_id=inquiry_id,
                inbound_email_id=email_id,
                filename=part.filename,
                content_type=part.content_type,
                size=len(part.data),
                sha256=part.sha256,
                blob_key=blob_key,
            )
            for part, blob_key in zip(mail.attachments, blob_keys, strict=True)
        )
        session.flush()
    reason_text = None if fresh else "message recorded before under this Message-ID"
    return InboundResult(outcome, inquiry_id, reference, reason_text)
