"""Each process keeps every office's built calendar, so that SLA arithmetic needs no query.

An entry is trusted for ``ttl`` seconds; after that one cheap query compares the office's
``calendar_version`` and the calendar is rebuilt only when it changed. Changes made
through this process invalidate its entry at once; other processes see them within
``ttl``.
"""

from __future__ import annotations

import threading
import time as clock
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import time
from typing import Literal, cast

from sqlmodel import Session, col, select

from app.calendar.engine import DEFAULT_WEEKLY_HOURS, Override, WorkingCalendar
from app.calendar.models import CalendarOverride
from app.core.errors import NotFound
from app.offices.models import Office

Hours = tuple[tuple[time, time], ...]
SessionFactory = Callable[[], AbstractContextManager[Session]]


def hours_from_json(raw: Sequence[Sequence[str]]) -> Hours:
    """[["07:30", "12:15"], ...] as time pairs."""
    return tuple((time.fromisoformat(start), time.fromisoformat(end)) for start, end in raw)


def hours_to_json(hours: Sequence[tuple[time, time]]) -> list[list[str]]:
    """Time pairs as [["07:30", "12:15"], ...]."""
    return [[_clock(start), _clock(end)] for start, end in hours]


def _clock(t: time) -> str:
    return t.isoformat("seconds" if t.second else "minutes")


def weekly_hours_of(office: Office) -> dict[int, Hours]:
    """The office's hours per weekday (0 = Monday), the PMK 221 default when unset."""
    if office.weekly_hours is None:
        return dict(DEFAULT_WEEKLY_HOURS)
    return {int(day): hours_from_json(raw) for day, raw in office.weekly_hours.items()}


def to_override(row: CalendarOverride) -> Override:
    """The engine's view of an override row."""
    return Override(
        start_date=row.start_date,
        end_date=row.end_date,
        kind=cast(Literal["closed", "open"], row.kind),
        hours=hours_from_json(row.hours),
        reason=row.reason,
    )


def build_calendar(session: Session, office: Office) -> WorkingCalendar:
    """The office's calendar from its hours and overrides as this session sees them."""
    rows = session.exec(
        select(CalendarOverride)
        .where(CalendarOverride.office_code == office.code)
        .order_by(col(CalendarOverride.id))
    )
    return WorkingCalendar(
        office.timezone,
        weekly_hours=weekly_hours_of(office),
        overrides=[to_override(r) for r in rows],
    )


@dataclass(slots=True)
class _Entry:
    calendar: WorkingCalendar
    version: int
    checked_at: float


class CalendarCache:
    """Built calendars by office code."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, _Entry] = {}
        self._builds: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def peek(self, office_code: str) -> WorkingCalendar | None:
        """The cached calendar while it is fresh, without touching the database."""
        entry = self._entries.get(office_code)
        if entry is not None and clock.monotonic() - entry.checked_at < self.ttl:
            return entry.calendar
        return None

    def known(self, office_code: str) -> tuple[WorkingCalendar, int] | None:
        """The cached calendar and the ``calendar_version`` it was built from, however old:
        for writes that verify that version in their own statement."""
        entry = self._entries.get(office_code)
        return None if entry is None else (entry.calendar, entry.version)

    def load(self, session_factory: SessionFactory, office_code: str) -> WorkingCalendar:
        """Like :meth:`get`, with a session of its own."""
        with session_factory() as session:
            return self.get(session, office_code)

    def get(
        self,
        session: Session,
        office_code: str,
        *,
        fresh: bool = False,
        version: int | None = None,
    ) -> WorkingCalendar:
        """The office's calendar, or NotFound for an unknown office.

        ``fresh`` checks the version in the caller's transaction whatever the entry's age:
        writes that store a due time use it, so that none is computed on a calendar that
        another process changed a moment ago. ``version``: the office's
        ``calendar_version`` as the caller's transaction already read it.
        """
        now = clock.monotonic()
        entry = self._entries.get(office_code)
        if entry is not None and not fresh and now - entry.checked_at < self.ttl:
            return entry.calendar
        if version is None:
            version = session.exec(
                select(Office.calendar_version).where(Office.code == office_code)
            ).first()
        if version is None:
            raise NotFound(f"No office with code {office_code}.")
        if entry is not None and entry.version == version:
            entry.checked_at = now
            return entry.calendar
        # One build per office at a time: a burst of requests after start-up or a change
        # would otherwise build the same calendar once per request.
        with self._build_lock(office_code):
            entry = self._entries.get(office_code)
            if entry is not None and entry.version == version:
                entry.checked_at = now
                return entry.calendar
            office = session.get(Office, office_code)
            assert office is not None
            calendar = build_calendar(session, office)
            with self._lock:
                self._entries[office_code] = _Entry(calendar, office.calendar_version, now)
        return calendar

    def _build_lock(self, office_code: str) -> threading.Lock:
        with self._lock:
            return self._builds.setdefault(office_code, threading.Lock())

    def invalidate(self, office_code: str) -> None:
        """Forget the office's calendar; the next use rebuilds it."""
        with self._lock:
            self._entries.pop(office_code, None)
