"""Who may see and do what with an inquiry.

Integrations post inquiries and follow-ups (only for the channels their token's
``channels`` claim names, when it has one); officers, coordinators and supervisors work
their own office's inquiries; a unit sees and resolves the tickets escalated to it; the
head of office reads their office; compliance and admin read everything and change
nothing. An inquiry the caller may not see is a 404, so that its existence does not
leak; one they see but may not act on is a 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_
from sqlmodel import Session, col, select

from app.core.errors import Forbidden, NotFound
from app.core.security import Principal, Role
from app.inquiries.errors import ChannelNotAllowed
from app.inquiries.models import Consultation, Inquiry

STAFF = frozenset({Role.officer, Role.coordinator, Role.supervisor})
OFFICE_READERS = STAFF | {Role.head}

ACTION_ROLES: dict[str, frozenset[Role]] = {
    "assign": STAFF,
    "request_info": STAFF,
    "consult": STAFF,
    "answer": STAFF,
    "escalate": STAFF,
    "close": STAFF,
    "reopen": STAFF,
    "resolve": frozenset({Role.unit, Role.coordinator}),
    "reply": frozenset({Role.coordinator, Role.supervisor, Role.unit}),
    "follow_up": frozenset({Role.integration}),
}


def _since_reopened(inquiry: Inquiry, at: datetime | None) -> bool:
    return at is not None and (inquiry.reopened_at is None or at > inquiry.reopened_at)


def _unit_sees(principal: Principal, inquiry: Inquiry) -> bool:
    """An escalation to the caller's unit of the caller's office, since the last reopen."""
    return (
        Role.unit in principal.roles
        and principal.unit is not None
        and principal.office is not None
        and inquiry.escalated_unit_code == principal.unit
        and inquiry.escalated_unit_office == principal.office
        and _since_reopened(inquiry, inquiry.escalated_at)
    )


def unit_consulted(principal: Principal, inquiry: Inquiry, consultation: Consultation) -> bool:
    """Whether ``consultation`` is addressed to the caller's unit of the caller's office
    and was asked since the inquiry was last reopened."""
    return (
        Role.unit in principal.roles
        and principal.unit is not None
        and principal.office is not None
        and consultation.unit_code == principal.unit
        and consultation.unit_office_code == principal.office
        and _since_reopened(inquiry, consultation.asked_at)
    )


def can_read(principal: Principal, inquiry: Inquiry) -> bool:
    """Whether the caller may see the inquiry by role alone (see :func:`sees`)."""
    if principal.cross_office:
        return True
    if principal.has_any(OFFICE_READERS) and principal.office == inquiry.office_code:
        return True
    return _unit_sees(principal, inquiry)


def sees(session: Session, principal: Principal, inquiry: Inquiry) -> bool:
    """``can_read``, counting consultations addressed to the caller's unit."""
    if can_read(principal, inquiry):
        return True
    if Role.unit not in principal.roles or principal.unit is None or principal.office is None:
        return False
    consultations = session.exec(
        select(Consultation).where(
            Consultation.inquiry_id == inquiry.id,
            Consultation.unit_code == principal.unit,
            Consultation.unit_office_code == principal.office,
        )
    ).all()
    return any(unit_consulted(principal, inquiry, c) for c in consultations)


def visible(principal: Principal) -> Any:
    """A SQL condition selecting the inquiries the caller may see."""
    if principal.cross_office:
        return None
    conditions: list[ColumnElement[bool]] = []
    if principal.has_any(OFFICE_READERS) and principal.office:
        conditions.append(col(Inquiry.office_code) == principal.office)
    if Role.unit in principal.roles and principal.unit and principal.office:
        reopened = col(Inquiry.reopened_at)
        conditions.append(
            and_(
                col(Inquiry.escalated_unit_code) == principal.unit,
                col(Inquiry.escalated_unit_office) == principal.office,
                or_(reopened.is_(None), col(Inquiry.escalated_at) > reopened),
            )
        )
        consulted = (
            select(Consultation.id)
            .where(
                col(Consultation.inquiry_id) == col(Inquiry.id),
                col(Consultation.unit_code) == principal.unit,
                col(Consultation.unit_office_code) == principal.office,
                or_(reopened.is_(None), col(Consultation.asked_at) > reopened),
            )
            .exists()
        )
        conditions.append(consulted)
    return or_(*conditions) if conditions else false()


def ensure_can_list(principal: Principal) -> None:
    """Refuse callers who read no inquiries at all (integrations)."""
    if not (
        principal.cross_office or principal.has_any(OFFICE_READERS) or Role.unit in principal.roles
    ):
        raise Forbidden("your roles do not include reading inquiries")


def ensure_may(
    principal: Principal, action: str, inquiry: Inquiry, *, visible_to_caller: bool | None = None
) -> None:
    """404 when the caller cannot see the inquiry, 403 when they may not do ``action``
    (``visible_to_caller``: the result of :func:`sees`, when the caller has it)."""
    readable = can_read(principal, inquiry) if visible_to_caller is None else visible_to_caller
    in_office = principal.office == inquiry.office_code
    if action == "follow_up":
        if Role.integration in principal.roles and in_office:
            return
        if not readable:
            raise NotFound("No such inquiry.")
        raise Forbidden("only channel integrations post the requester's messages")
    if not readable:
        raise NotFound("No such inquiry.")
    if action == "resolve":
        allowed = (Role.coordinator in principal.roles and in_office) or _unit_sees(
            principal, inquiry
        )
    else:
        allowed = principal.has_any(ACTION_ROLES[action] - {Role.unit}) and in_office
    if not allowed:
        raise Forbidden(f"your roles do not allow '{action.replace('_', '-')}' on this inquiry")


def ensure_office_staff(principal: Principal, office_code: str) -> None:
    """Officers (and integrations) create inquiries only for their own office."""
    if not principal.has_any(STAFF | {Role.integration}):
        raise Forbidden("only integrations and officers create inquiries")
    if principal.office != office_code:
        raise Forbidden("you may create inquiries only for your own office")


def ensure_channel(principal: Principal, channel: str) -> None:
    """Refuse intake and follow-ups by a channel the token's ``channels`` claim leaves out."""
    if not principal.may_use_channel(channel):
        allowed = ", ".join(sorted(principal.channels or ()))
        raise ChannelNotAllowed(f"this token posts only for the channels: {allowed}")


def sees_identity_numbers(principal: Principal, inquiry: Inquiry) -> bool:
    """Officers working the inquiry's office see NIK and NPWP in full."""
    return principal.has_any(STAFF) and principal.office == inquiry.office_code


# Document types whose numbers carry an NPWP (a personal tax number for individuals).
IDENTITY_DOCUMENTS = frozenset({"npwp", "nitku", "nppbkc"})


def mask(value: str | None) -> str | None:
    """NIK/NPWP with all but the first four and last two digits hidden. A short number (a
    legacy NPPBKC has six digits) keeps only its last two, so at least half of any
    number is hidden."""
    if value is None:
        return None
    if len(value) >= 12:
        return value[:4] + "*" * (len(value) - 6) + value[-2:]
    shown = min(2, len(value) // 2)
    return "*" * (len(value) - shown) + value[len(value) - shown :]
