"""The audit trail: one event per action, written in the action's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.core.security import Principal
from app.inquiries.models import Inquiry, InquiryEvent
from app.inquiries.states import Status


def record(
    session: Session,
    inquiry: Inquiry,
    principal: Principal,
    action: str,
    from_status: Status | None,
    to_status: Status | None,
    details: dict[str, Any] | None = None,
) -> InquiryEvent:
    """Add an audit event, dated at the inquiry's change; ``details`` hold no personal data."""
    event = InquiryEvent(
        inquiry_id=inquiry.id,
        action=action,
        actor=principal.sub,
        actor_roles=sorted(r.value for r in principal.roles),
        from_status=from_status.value if from_status else None,
        to_status=to_status.value if to_status else None,
        details=details or {},
        at=inquiry.updated_at,
    )
    session.add(event)
    return event


def touch(inquiry: Inquiry, now: datetime) -> None:
    """Mark a change: a new version (ETag) and update time."""
    inquiry.version += 1
    inquiry.updated_at = now
