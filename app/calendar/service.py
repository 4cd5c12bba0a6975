"""Calendar rules: office hours, overrides, the calendar of a date range.

Every change bumps the office's ``calendar_version``, drops the cached calendar and
moves the due times of the open inquiries it affects, in the request's transaction.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from app.calendar.cache import CalendarCache, hours_to_json, weekly_hours_of
from app.calendar.engine import CalendarRangeError, WorkingCalendar
from app.calendar.errors import CalendarOutOfRange
from app.calendar.models import CalendarOverride
from app.calendar.schemas import (
    MAX_CALENDAR_DAYS,
    WEEKDAYS,
    CalendarDay,
    CalendarRead,
    Interval,
    OfficeHours,
    OverrideCreate,
    WeeklyHours,
)
from app.core import changes
from app.core.db import utcnow
from app.core.errors import NotFound
from app.offices.models import Office
from app.offices.service import get_office


def _intervals(hours: tuple[tuple[object, object], ...] | list[list[str]]) -> list[Interval]:
    return [Interval.model_validate({"start": s, "end": e}) for s, e in hours]


def _after_change(
    session: Session,
    office: Office,
    cache: CalendarCache,
    first_day: date | None,
    last_day: date | None,
) -> int:
    office.calendar_version += 1
    office.updated_at = utcnow()
    session.add(office)
    session.flush()
    cache.invalidate(office.code)
    # Open inquiries' due times move (app.inquiries.recompute subscribes).
    return changes.publish(session, changes.CalendarChanged(office.code, first_day, last_day))


def list_overrides(*, session: Session, office_code: str) -> list[CalendarOverride]:
    """The office's overrides by start date."""
    get_office(session=session, code=office_code)
    return list(
        session.exec(
            select(CalendarOverride)
            .where(CalendarOverride.office_code == office_code)
            .order_by(col(CalendarOverride.start_date), col(CalendarOverride.id))
        )
    )


def add_override(
    *,
    session: Session,
    cache: CalendarCache,
    office_code: str,
    data: OverrideCreate,
    created_by: str,
) -> tuple[CalendarOverride, int]:
    """Add an override; returns it and how many open inquiries' due times moved."""
    office = get_office(session=session, code=office_code)
    row = CalendarOverride(
        office_code=office.code,
        start_date=data.start_date,
        end_date=data.end_date,
        kind=data.kind,
        hours=hours_to_json([(i.start, i.end) for i in data.hours]),
        reason=data.reason,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    moved = _after_change(session, office, cache, data.start_date, data.end_date)
    return row, moved


def delete_override(
    *, session: Session, cache: CalendarCache, office_code: str, override_id: int
) -> int:
    """Remove an override; returns how many open inquiries' due times moved."""
    office = get_office(session=session, code=office_code)
    row = session.get(CalendarOverride, override_id)
    if row is None or row.office_code != office_code:
        raise NotFound(f"No override {override_id} for office {office_code}.")
    first_day, last_day = row.start_date, row.end_date
    session.delete(row)
    session.flush()
    return _after_change(session, office, cache, first_day, last_day)


def get_hours(*, session: Session, office_code: str) -> OfficeHours:
    """The office's weekly hours."""
    office = get_office(session=session, code=office_code)
    week = weekly_hours_of(office)
    return OfficeHours(
        office_code=office.code,
        is_default=office.weekly_hours is None,
        **{name: _intervals(week.get(day, ())) for day, name in enumerate(WEEKDAYS)},
    )


def put_hours(
    *, session: Session, cache: CalendarCache, office_code: str, data: WeeklyHours | None
) -> tuple[OfficeHours, int]:
    """Set (or, with None, reset to the default) the weekly hours; returns them and moves."""
    office = get_office(session=session, code=office_code)
    office.weekly_hours = (
        None
        if data is None
        else {
            str(day): hours_to_json([(i.start, i.end) for i in getattr(data, name)])
            for day, name in enumerate(WEEKDAYS)
        }
    )
    moved = _after_change(session, office, cache, None, None)
    return get_hours(session=session, office_code=office_code), moved


def calendar_range(
    *, session: Session, cache: CalendarCache, office_code: str, first: date, last: date
) -> CalendarRead:
    """Every date from ``first`` to ``last`` with its hours and, when off, the reason."""
    if last < first:
        raise CalendarOutOfRange("to", "'to' is before 'from'.")
    if (last - first).days >= MAX_CALENDAR_DAYS:
        raise CalendarOutOfRange("to", f"Ask for at most {MAX_CALENDAR_DAYS} days at a time.")
    calendar = cache.get(session, office_code)
    try:
        days = calendar.days(first, last)
    except CalendarRangeError as exc:
        raise CalendarOutOfRange("from", str(exc)) from exc
    return CalendarRead(
        office_code=office_code,
        timezone=calendar.timezone,
        days=[_day(calendar, d.date, d.working, d.hours, d.reason) for d in days],
    )


def _day(
    calendar: WorkingCalendar,
    day: date,
    working: bool,
    hours: tuple[tuple[object, object], ...],
    reason: str | None,
) -> CalendarDay:
    closing: datetime | None = calendar.closing(day) if working else None
    return CalendarDay(
        date=day,
        weekday=WEEKDAYS[day.weekday()],
        working=working,
        hours=_intervals(hours),
        closing_at=closing,
        reason=reason,
    )
