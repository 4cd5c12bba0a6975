"""The unit directory of each office: which related units take its escalations and
consultations, and to which office each unit belongs."""

from __future__ import annotations

from sqlmodel import Session, col, delete, select

from app.core.errors import Unprocessable
from app.offices.models import Office, OfficeUnit
from app.offices.schemas import UnitIn
from app.offices.service import get_office


class UnknownUnit(Unprocessable):
    """An escalation or consultation named a unit that is not in the office's directory."""

    code = "unknown_unit"


class UnknownHomeOffice(Unprocessable):
    """A directory entry names a home office that does not exist."""

    code = "unknown_home_office"


def list_units(*, session: Session, office_code: str) -> list[OfficeUnit]:
    """The directory of ``office_code`` (404 for an unknown office), ordered by code."""
    get_office(session=session, code=office_code)
    statement = (
        select(OfficeUnit)
        .where(OfficeUnit.office_code == office_code)
        .order_by(col(OfficeUnit.code))
    )
    return list(session.exec(statement).all())


def replace_units(*, session: Session, office_code: str, units: list[UnitIn]) -> list[OfficeUnit]:
    """Make ``units`` the whole directory of ``office_code``. Work already addressed to a
    unit that leaves the directory stays with it; new work can no longer name it."""
    get_office(session=session, code=office_code)
    homes = {u.home_office_code for u in units if u.home_office_code}
    if homes:
        known = set(session.exec(select(Office.code).where(col(Office.code).in_(homes))).all())
        for missing in sorted(homes - known):
            raise UnknownHomeOffice(f"no office {missing!r} to be a unit's home office")
    session.exec(delete(OfficeUnit).where(col(OfficeUnit.office_code) == office_code))
    rows = [
        OfficeUnit(
            office_code=office_code,
            code=u.code,
            name=u.name,
            home_office_code=u.home_office_code or office_code,
        )
        for u in units
    ]
    session.add_all(rows)
    session.flush()
    return sorted(rows, key=lambda u: u.code)


def find_unit(*, session: Session, office_code: str, unit_code: str) -> OfficeUnit:
    """The unit ``unit_code`` of ``office_code``'s directory; 422 when it is not there."""
    unit = session.get(OfficeUnit, (office_code, unit_code))
    if unit is None:
        raise UnknownUnit(
            f"unit {unit_code!r} is not in the unit directory of {office_code} "
            f"(GET /v1/offices/{office_code}/units)"
        )
    return unit
