"""What a report (or a dated list) covers: the period of local dates and the offices in
the caller's scope, with the period's UTC bounds per time zone.

Periods are local dates of each office: ``[from 00:00, to + 1 day 00:00)`` in the
office's time zone, turned into UTC bounds per time zone so that period filters use the
``(office_code, <instant>)`` indexes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlmodel import Session, col

from app.core.errors import Forbidden, InvalidField, NotFound
from app.core.security import Principal, Role
from app.offices.models import Office

MAX_YEARS = 5
FIRST_DATE, LAST_DATE = date(2020, 1, 1), date(2036, 12, 31)
# FIRST_DATE..LAST_DATE as a pattern of the date's text, for the schema (JSON Schema has no
# range for dates); check_dates stays the rule.
REPORT_DATE: dict[str, str] = {
    "pattern": r"^20(2[0-9]|3[0-6])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
}


class ReportOutOfScope(Forbidden):
    code, title = "report_out_of_scope", "Office outside your scope"


class OfficeUnknown(NotFound):
    code, title = "office_not_found", "Office not found"


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which ``day`` begins in ``tz``."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    """Local dates ``start`` .. ``end``, both included."""

    start: date
    end: date

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period in ``tz`` as UTC instants ``[lo, hi)``."""
        return local_midnight(self.start, tz), local_midnight(self.end + timedelta(days=1), tz)


def check_dates(start: date | None, end: date | None) -> None:
    """A 422 naming ``from`` or ``to`` when a date lies outside the dates the service
    covers, or ``to`` is before ``from``; either may be omitted."""
    for name, value in (("from", start), ("to", end)):
        if value is not None and not FIRST_DATE <= value <= LAST_DATE:
            raise InvalidField(name, f"dates must lie in {FIRST_DATE}..{LAST_DATE}")
    if start is not None and end is not None and end < start:
        raise InvalidField("to", f"'to' ({end}) is before 'from' ({start})")


def check_period(start: date, end: date) -> Period:
    """A report's period, or a 422 naming ``from`` or ``to``: :func:`check_dates`, and
    at most ``MAX_YEARS`` long."""
    check_dates(start, end)
    try:
        limit = start.replace(year=start.year + MAX_YEARS)
    except ValueError:  # 29 February
        limit = date(start.year + MAX_YEARS, 3, 1)
    if end >= limit:
        raise InvalidField("to", f"a period may span at most {MAX_YEARS} years")
    return Period(start, end)


@dataclass(frozen=True)
class Zone:
    """The offices of one time zone and the period's UTC bounds there."""

    name: str
    offices: tuple[str, ...]
    lo: datetime
    hi: datetime
    offset_minutes: int


@dataclass(frozen=True)
class Scope:
    """Which offices a report covers and over which period."""

    office_code: str | None  # None: every office (cross-office callers only)
    offices: tuple[str, ...]
    period: Period
    zones: tuple[Zone, ...]
    complaints_visible: bool

    def within(self, office: Any, instant: Any) -> ColumnElement[bool]:
        """``instant`` lies in the period, in the local time of ``office``."""
        parts = [
            and_(
                office == zone.offices[0] if len(zone.offices) == 1 else office.in_(zone.offices),
                instant >= zone.lo,
                instant < zone.hi,
            )
            for zone in self.zones
        ]
        if not parts:
            return false()
        return parts[0] if len(parts) == 1 else or_(*parts)


def resolve_scope(
    session: Session, principal: Principal, office_code: str | None, period: Period
) -> Scope:
    """Offices the caller asked for and may read. Head and supervisor: their own office
    (the default when ``office_code`` is omitted); compliance and admin: any office, or
    every office when omitted."""
    if office_code is None:
        if not principal.cross_office:
            if principal.office is None:
                raise InvalidField("office_code", "required: your token names no office")
            office_code = principal.office
    elif not principal.may_read_office(office_code):
        raise ReportOutOfScope(f"office {office_code} is outside your scope")
    query = select(col(Office.code), col(Office.timezone)).order_by(col(Office.code))
    if office_code is not None:
        query = query.where(col(Office.code) == office_code)
    rows = session.execute(query).all()
    if office_code is not None and not rows:
        raise OfficeUnknown(f"No office with code {office_code}.")
    by_zone: dict[str, list[str]] = defaultdict(list)
    for code, zone_name in rows:
        by_zone[zone_name].append(code)
    zones = []
    for zone_name, codes in sorted(by_zone.items()):
        tz = ZoneInfo(zone_name)
        lo, hi = period.bounds(tz)
        offset = datetime.combine(period.start, time(12), tzinfo=tz).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        zones.append(Zone(zone_name, tuple(codes), lo, hi, minutes))
    complaints = Role.compliance in principal.roles or Role.head in principal.roles
    return Scope(
        office_code,
        tuple(code for code, _ in rows),
        period,
        tuple(zones),
        complaints,
    )
