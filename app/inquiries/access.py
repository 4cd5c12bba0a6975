"""Who may read and do what with an inquiry: the table :data:`RIGHTS`, and the checks
and the SQL filter derived from it.

Integrations post inquiries and follow-ups (only for the channels their token's
``channels`` claim names, when it has one); officers, coordinators and supervisors
work their own office's inquiries; a unit reads and resolves the tickets escalated to
it and reads those it is consulted on; the head of office reads their office;
compliance and admin read everything and change nothing. An inquiry the caller may
not read is a 404, so that its existence does not leak; one they read but may not act
on is a 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, false, or_
from sqlmodel import Session, col, select

from app.core.errors import Forbidden, NotFound
from app.core.security import CROSS_OFFICE_ROLES, Principal, Role
from app.inquiries.errors import ChannelNotAllowed
from app.inquiries.models import Consultation, Inquiry

STAFF = frozenset({Role.officer, Role.coordinator, Role.supervisor})
OFFICE_READERS = STAFF | {Role.head}


class Reach(StrEnum):
    """The inquiries a grant covers."""

    every = "every"
    # The caller's office's.
    office = "office"
    # Escalated to the caller's unit of the caller's office, since the last reopen.
    escalated = "escalated"
    # With a consultation addressed to the caller's unit of the caller's office, asked
    # since the last reopen.
    consulted = "consulted"


@dataclass(frozen=True)
class Grant:
    """Callers holding one of ``roles`` have the right on the inquiries in ``reach``."""

    roles: frozenset[Role]
    reach: Reach


@dataclass(frozen=True)
class Right:
    """Who has a right (any grant suffices), and the refusal of a caller who reads the
    inquiry but lacks it (default: the roles do not allow the action)."""

    grants: tuple[Grant, ...]
    refusal: str | None = None


def _grant(roles: frozenset[Role] | set[Role], reach: Reach) -> Grant:
    return Grant(frozenset(roles), reach)


# The rights on inquiries: every check below, and the SQL filter of what a caller reads,
# is derived from this table. A unit answers a consultation as its addressee (see
# Workflow.reply), not through a right on the inquiry.
RIGHTS: dict[str, Right] = {
    "read": Right(
        (
            _grant(CROSS_OFFICE_ROLES, Reach.every),
            _grant(OFFICE_READERS, Reach.office),
            _grant({Role.unit}, Reach.escalated),
            _grant({Role.unit}, Reach.consulted),
        )
    ),
    # NIK and NPWP in full (everyone else who reads the inquiry sees them masked).
    "read_identity_numbers": Right((_grant(STAFF, Reach.office),)),
    "create": Right((_grant(STAFF | {Role.integration}, Reach.office),)),
    "follow_up": Right(
        (_grant({Role.integration}, Reach.office),),
        refusal="only channel integrations post the requester's messages",
    ),
    "assign": Right((_grant(STAFF, Reach.office),)),
    "request_info": Right((_grant(STAFF, Reach.office),)),
    "consult": Right((_grant(STAFF, Reach.office),)),
    "answer": Right((_grant(STAFF, Reach.office),)),
    "escalate": Right((_grant(STAFF, Reach.office),)),
    "close": Right((_grant(STAFF, Reach.office),)),
    "reopen": Right((_grant(STAFF, Reach.office),)),
    "resolve": Right(
        (_grant({Role.coordinator}, Reach.office), _grant({Role.unit}, Reach.escalated))
    ),
    "reply": Right((_grant({Role.coordinator, Role.supervisor}, Reach.office),)),
}


def _since_reopened(inquiry: Inquiry, at: datetime | None) -> bool:
    return at is not None and (inquiry.reopened_at is None or at > inquiry.reopened_at)


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


def _in_reach(session: Session, principal: Principal, reach: Reach, inquiry: Inquiry) -> bool:
    """Whether ``inquiry`` is in ``reach`` of the caller (as :func:`_reach_condition`)."""
    if reach is Reach.every:
        return True
    if principal.office is None:
        return False
    if reach is Reach.office:
        return principal.office == inquiry.office_code
    if principal.unit is None:
        return False
    if reach is Reach.escalated:
        return (
            inquiry.escalated_unit_code == principal.unit
            and inquiry.escalated_unit_office == principal.office
            and _since_reopened(inquiry, inquiry.escalated_at)
        )
    consultations = session.exec(
        select(Consultation).where(
            Consultation.inquiry_id == inquiry.id,
            Consultation.unit_code == principal.unit,
            Consultation.unit_office_code == principal.office,
        )
    ).all()
    return any(_since_reopened(inquiry, c.asked_at) for c in consultations)


def _reach_condition(principal: Principal, reach: Reach) -> ColumnElement[bool] | None:
    """A SQL condition selecting the inquiries in ``reach`` of the caller (None: every
    inquiry); ``false()`` when there are none."""
    if reach is Reach.every:
        return None
    if principal.office is None:
        return false()
    if reach is Reach.office:
        return col(Inquiry.office_code) == principal.office
    if principal.unit is None:
        return false()
    reopened = col(Inquiry.reopened_at)
    if reach is Reach.escalated:
        return and_(
            col(Inquiry.escalated_unit_code) == principal.unit,
            col(Inquiry.escalated_unit_office) == principal.office,
            or_(reopened.is_(None), col(Inquiry.escalated_at) > reopened),
        )
    return (
        select(Consultation.id)
        .where(
            col(Consultation.inquiry_id) == col(Inquiry.id),
            col(Consultation.unit_code) == principal.unit,
            col(Consultation.unit_office_code) == principal.office,
            or_(reopened.is_(None), col(Consultation.asked_at) > reopened),
        )
        .exists()
    )


def may(session: Session, principal: Principal, right: str, inquiry: Inquiry) -> bool:
    """Whether the caller has ``right`` (a key of :data:`RIGHTS`) on the inquiry."""
    return any(
        principal.has_any(grant.roles) and _in_reach(session, principal, grant.reach, inquiry)
        for grant in RIGHTS[right].grants
    )


def may_read(session: Session, principal: Principal, inquiry: Inquiry) -> bool:
    """Whether the caller may read the inquiry."""
    return may(session, principal, "read", inquiry)


def readable(principal: Principal) -> ColumnElement[bool] | None:
    """A SQL condition selecting the inquiries the caller may read (None: every one)."""
    conditions: list[ColumnElement[bool]] = []
    for grant in RIGHTS["read"].grants:
        if not principal.has_any(grant.roles):
            continue
        condition = _reach_condition(principal, grant.reach)
        if condition is None:
            return None
        conditions.append(condition)
    return or_(*conditions) if conditions else false()


def ensure_may_list(principal: Principal) -> None:
    """Refuse callers who read no inquiries at all (integrations)."""
    if not any(principal.has_any(grant.roles) for grant in RIGHTS["read"].grants):
        raise Forbidden("your roles do not include reading inquiries")


def ensure_may(session: Session, principal: Principal, action: str, inquiry: Inquiry) -> None:
    """Nothing when the caller has the right to ``action``; otherwise 404 when they may
    not read the inquiry, 403 when they may."""
    if may(session, principal, action, inquiry):
        return
    if not may_read(session, principal, inquiry):
        raise NotFound("No such inquiry.")
    refusal = RIGHTS[action].refusal
    raise Forbidden(
        refusal or f"your roles do not allow '{action.replace('_', '-')}' on this inquiry"
    )


def ensure_office_staff(principal: Principal, office_code: str) -> None:
    """Officers (and integrations) create inquiries only for their own office."""
    (grant,) = RIGHTS["create"].grants
    if not principal.has_any(grant.roles):
        raise Forbidden("only integrations and officers create inquiries")
    if principal.office != office_code:
        raise Forbidden("you may create inquiries only for your own office")


def ensure_channel(principal: Principal, channel: str) -> None:
    """Refuse intake and follow-ups by a channel the token's ``channels`` claim leaves out."""
    if not principal.may_use_channel(channel):
        allowed = ", ".join(sorted(principal.channels or ()))
        raise ChannelNotAllowed(f"this token posts only for the channels: {allowed}")


def may_read_identity_numbers(session: Session, principal: Principal, inquiry: Inquiry) -> bool:
    """Whether the caller sees the inquiry's NIK and NPWP in full."""
    return may(session, principal, "read_identity_numbers", inquiry)


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
