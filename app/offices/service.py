"""Office rules: lookup, creation, changes and the default directory."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.core.db import utcnow
from app.core.errors import Conflict, NotFound, PreconditionFailed
from app.offices.defaults import DEFAULT_OFFICES, DEFAULT_TIMEZONE, DEFAULT_UNITS
from app.offices.models import Office, OfficeUnit
from app.offices.schemas import OfficeCreate, OfficeUpdate


class OfficeExists(Conflict):
    """An office with that code exists already."""

    code = "office_exists"


class OfficeChanged(PreconditionFailed):
    """The office changed since the ETag given in If-Match."""

    code = "office_changed"


def etag(office: Office) -> str:
    """The entity tag of an office's current version."""
    return f'"office-{office.code}-v{office.version}"'


def list_offices(*, session: Session) -> list[Office]:
    """Every office, ordered by code."""
    return list(session.exec(select(Office).order_by(col(Office.code))))


def get_office(*, session: Session, code: str) -> Office:
    """The office with ``code``, or NotFound."""
    office = session.get(Office, code)
    if office is None:
        raise NotFound(f"No office with code {code}.")
    return office


def create_office(*, session: Session, data: OfficeCreate) -> Office:
    """Add an office; its code must be new."""
    if session.get(Office, data.code) is not None:
        raise OfficeExists(f"An office with code {data.code} already exists.")
    office = Office(**data.model_dump())
    session.add(office)
    session.flush()
    return office


def update_office(
    *, session: Session, code: str, data: OfficeUpdate, if_match: str | None
) -> Office:
    """Apply the fields set in ``data``; ``if_match``, when given, must be the current ETag."""
    office = get_office(session=session, code=code)
    if if_match is not None and if_match.strip() not in (etag(office), "*"):
        raise OfficeChanged("The office has changed since you read it; read it again.")
    changes = data.model_dump(exclude_unset=True)
    if changes:
        for field, value in changes.items():
            setattr(office, field, value)
        office.version += 1
        office.updated_at = utcnow()
        session.add(office)
        session.flush()
    return office


def load_default_offices(*, session: Session) -> int:
    """Add the default offices when there are none; returns how many were added."""
    if session.exec(select(Office.code).limit(1)).first() is not None:
        return 0
    for code, name in DEFAULT_OFFICES:
        session.add(Office(code=code, name=name, timezone=DEFAULT_TIMEZONE))
    session.flush()
    for code, _name in DEFAULT_OFFICES:
        for unit_code, unit_name in DEFAULT_UNITS:
            session.add(
                OfficeUnit(office_code=code, code=unit_code, name=unit_name, home_office_code=code)
            )
    session.flush()
    return len(DEFAULT_OFFICES)
