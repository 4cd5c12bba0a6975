"""The outbox seen by people: listing rows with their delivery state, sending a dead or
bounced one again."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.core.errors import Conflict, Forbidden, InvalidField, NotFound
from app.core.security import Principal, Role
from app.inquiries.models import Inquiry, InquiryEvent, OutboxMessage

RETRYABLE_STATUSES = frozenset({"dead", "bounced"})


class OutboxMessageNotFound(NotFound):
    code, title = "outbox_message_not_found", "Outbox message not found"


class OutboxNotRetryable(Conflict):
    code, title = "outbox_not_retryable", "Only a dead or bounced message can be sent again"


class OutboxOfficeForbidden(Forbidden):
    code, title = "outbox_office_forbidden", "Not your office's outbox"


def _office_scope(principal: Principal, office_code: str | None) -> str | None:
    """The office the caller may list: any for an admin or compliance, else their own."""
    if principal.has_any({Role.admin, Role.compliance}):
        return office_code
    if principal.office is None or office_code not in (None, principal.office):
        raise OutboxOfficeForbidden("A supervisor sees their own office's outbox only.")
    return principal.office


def _may_read_complaint_mail(principal: Principal) -> bool:
    """Complaint responses (rows without an inquiry, ``kind = complaint_response``) name
    the complainant and the complaint: only internal compliance sees them here."""
    return principal.has_any({Role.compliance})


def _may_read_requesters_mail(principal: Principal) -> bool:
    """Admins and supervisors keep the requesters' mail; compliance only complaints'."""
    return principal.has_any({Role.admin, Role.supervisor})


def _is_complaint(row: OutboxMessage) -> bool:
    return row.inquiry_id is None and row.kind == "complaint_response"


def encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"o:{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = text.partition(":")
        row_id = int(value)
        if prefix != "o" or not 0 < row_id <= 2_147_483_647:
            raise ValueError(cursor)
        return row_id
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidField("cursor", "not a cursor of this list") from exc


def list_outbox(
    *,
    session: Session,
    principal: Principal,
    status: str | None,
    office_code: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[OutboxMessage], str | None]:
    """A page of rows, newest first, and the cursor of the next page."""
    office = _office_scope(principal, office_code)
    query = select(OutboxMessage)
    if status is not None:
        query = query.where(col(OutboxMessage.status) == status)
    if office is not None:
        query = query.where(col(OutboxMessage.office_code) == office)
    if not _may_read_complaint_mail(principal):
        query = query.where(
            or_(
                col(OutboxMessage.inquiry_id).is_not(None),
                col(OutboxMessage.kind) != "complaint_response",
            )
        )
    if not _may_read_requesters_mail(principal):
        query = query.where(
            col(OutboxMessage.inquiry_id).is_(None),
            col(OutboxMessage.kind) == "complaint_response",
        )
    if cursor is not None:
        query = query.where(col(OutboxMessage.id) < decode_cursor(cursor))
    rows = list(session.exec(query.order_by(col(OutboxMessage.id).desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].id or 0) if more and rows else None


def retry(
    *, session: Session, principal: Principal, outbox_id: int, now: datetime
) -> OutboxMessage:
    """Make a dead or bounced row pending again, due now, with a fresh day of retries;
    audited on its inquiry's trail when it has one."""
    row = session.get(OutboxMessage, outbox_id, with_for_update=True)
    if row is None or not principal.may_read_office(row.office_code):
        raise OutboxMessageNotFound("No such outbox message.")
    complaint = _is_complaint(row)
    if not (_may_read_complaint_mail if complaint else _may_read_requesters_mail)(principal):
        raise OutboxMessageNotFound("No such outbox message.")
    _office_scope(principal, row.office_code)
    if row.status not in RETRYABLE_STATUSES:
        raise OutboxNotRetryable(
            f"The message is {row.status}; only a dead or bounced one can be sent again.",
            current_status=row.status,
        )
    previous = row.status
    row.status = "pending"
    row.next_attempt_at = now
    row.requeued_at = now
    row.locked_until = None
    row.locked_by = None
    row.updated_at = now
    session.add(row)
    if row.inquiry_id is not None:
        inquiry = session.get(Inquiry, row.inquiry_id)
        if inquiry is not None:
            session.add(
                InquiryEvent(
                    inquiry_id=inquiry.id,
                    action="delivery_retry",
                    actor=principal.sub,
                    actor_roles=sorted(r.value for r in principal.roles),
                    from_status=inquiry.status,
                    to_status=inquiry.status,
                    details={
                        "outbox_id": row.id,
                        "delivery_id": str(row.delivery_id),
                        "kind": row.kind,
                        "previous_delivery_status": previous,
                    },
                    at=now,
                )
            )
    session.flush()
    return row
