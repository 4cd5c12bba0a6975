"""Finding a person's data by the identifier they give: email, phone number or NIK."""

from __future__ import annotations

import hashlib
import uuid
from typing import Literal

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from app.evaluation.models import Complaint
from app.inquiries import identifiers
from app.inquiries.models import Inquiry

SubjectKind = Literal["email", "phone", "nik"]


def normalise(kind: SubjectKind, value: str) -> str:
    """The identifier as intake stores it (IdentifierError when it is not one)."""
    if kind == "email":
        return identifiers.normalize_email(value).lower()
    if kind == "phone":
        return identifiers.normalize_phone(value)
    return identifiers.normalize_nik(value)


def digest(kind: SubjectKind, value: str) -> str:
    """What the audit keeps of the identifier: a digest, not the identifier."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def inquiry_ids(session: Session, kind: SubjectKind, value: str) -> list[uuid.UUID]:
    """The inquiries whose requester ``value`` identifies, oldest first."""
    column = {
        "email": func.lower(col(Inquiry.requester_email)),
        "phone": col(Inquiry.requester_phone),
        "nik": col(Inquiry.requester_nik),
    }[kind]
    statement = select(Inquiry.id).where(column == value).order_by(col(Inquiry.received_at))
    return list(session.exec(statement).all())


def complaints(
    session: Session, kind: SubjectKind, value: str, inquiries: list[uuid.UUID]
) -> list[Complaint]:
    """The complaints the person made: by their contact, or linked to their inquiries."""
    conditions = []
    if kind == "email":
        conditions.append(func.lower(col(Complaint.email)) == value)
    elif kind == "phone":
        conditions.append(col(Complaint.phone) == value)
    if inquiries:
        conditions.append(col(Complaint.inquiry_id).in_(inquiries))
    if not conditions:
        return []
    statement = select(Complaint).where(or_(*conditions)).order_by(col(Complaint.received_at))
    return list(session.exec(statement).all())
