"""Naive reference for the calendar and SLA engines: steps through time, no tables.

Built straight from weekly hours, the holidays package and overrides, so that it shares no
code path with app.calendar.engine beyond the Override data class it reads.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import strategies as st

from app.calendar.engine import CalendarRangeError, Override, WorkingCalendar, to_epoch
from app.sla.engine import DueResult, SkippedDay, SlaPolicy, merge_pauses

Hours = tuple[tuple[time, time], ...]

_MON_THU: Hours = ((time(7, 30), time(12, 15)), (time(13, 0), time(17, 0)))
_FRI: Hours = ((time(7, 30), time(11, 30)), (time(13, 15), time(17, 0)))
PMK_HOURS: Mapping[int, Hours] = {0: _MON_THU, 1: _MON_THU, 2: _MON_THU, 3: _MON_THU, 4: _FRI}


@functools.cache
def reference_holidays(first_year: int, last_year: int) -> dict[date, str]:
    """Indonesian public holidays and cuti bersama, straight from the package."""
    table = holidays.country_holidays(
        "ID",
        categories=("public", "government"),
        language="id",
        years=range(first_year, last_year + 1),
    )
    return dict(table.items())


@dataclass
class RefCalendar:
    """A calendar answered by brute force."""

    timezone: str
    weekly: Mapping[int, Hours] = field(default_factory=lambda: PMK_HOURS)
    holidays: Mapping[date, str] = field(default_factory=lambda: reference_holidays(2019, 2037))
    overrides: Sequence[Override] = ()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def hours(self, d: date) -> Hours:
        result = tuple(sorted(self.weekly.get(d.weekday(), ())))
        if d in self.holidays:
            result = ()
        for override in self.overrides:  # in order: the last one covering d wins
            if override.start_date <= d <= override.end_date:
                result = tuple(sorted(override.hours)) if override.kind == "open" else ()
        return result

    def is_working_day(self, d: date) -> bool:
        return bool(self.hours(d))

    def working_at(self, instant: datetime) -> bool:
        local = instant.astimezone(self.tz)
        return any(s <= local.time() < e for s, e in self.hours(local.date()))

    def working_seconds_between(self, start: datetime, end: datetime, step: int = 60) -> int:
        """Sum of working steps in [start, end); exact when boundaries lie on the step grid."""
        # Step in UTC: adding a timedelta to a zoned datetime is wall-clock arithmetic.
        total, t, delta = 0, start.astimezone(UTC), timedelta(seconds=step)
        while t < end:
            if self.working_at(t):
                total += step
            t += delta
        return total

    def add_working_seconds(self, start: datetime, seconds: int, step: int = 60) -> datetime:
        """Walk forward step by step until `seconds` of working time have passed."""
        total, t, delta = 0, start.astimezone(UTC), timedelta(seconds=step)
        while total < seconds:
            if self.working_at(t):
                total += step
            t += delta
        return t

    def at_risk_at(
        self, due: datetime, warn_seconds: int, first: datetime, step: int = 60
    ) -> datetime:
        """Walk back from due until warn_seconds of working time lie ahead; first if never."""
        # Walking backwards, the first step grid point with enough working time ahead is the
        # latest such instant: across a gap it stays at the later opening.
        total, t, delta = 0, due.astimezone(UTC), timedelta(seconds=step)
        while total < warn_seconds:
            if t <= first:
                return first
            t -= delta
            if self.working_at(t):
                total += step
        return t

    def closing(self, d: date) -> datetime | None:
        hours = self.hours(d)
        if not hours:
            return None
        return datetime.combine(d, max(e for _, e in hours), self.tz)

    def due(self, received: datetime, target_days: int, late_minutes: int) -> tuple[date, datetime]:
        """Day 1 and the due time for a receipt, per DOMAIN.md section 5, by walking days."""
        d = received.astimezone(self.tz).date()
        closing = self.closing(d)
        on_time = closing is not None and received < closing.astimezone(UTC) - timedelta(
            minutes=late_minutes
        )
        day = d if on_time else self._next_working(d)
        first = day
        for _ in range(target_days - 1):
            day = self._next_working(day)
        due = self.closing(day)
        assert due is not None
        return first, due

    def _next_working(self, d: date) -> date:
        d += timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d


# Hypothesis strategies shared by the calendar and SLA tests.

ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
FIRST_DAY, LAST_DAY = date(2024, 1, 1), date(2028, 12, 31)
zones = st.sampled_from(ZONES)


@st.composite
def day_hours(draw: st.DrawFn) -> Hours:
    """One or two intervals on a minute grid between 05:00 and 21:00."""
    count = draw(st.sampled_from((2, 4)))
    minutes = sorted(draw(st.sets(st.integers(300, 1260), min_size=count, max_size=count)))
    times = [time(m // 60, m % 60) for m in minutes]
    return tuple(zip(times[::2], times[1::2], strict=True))


@st.composite
def overrides_near(draw: st.DrawFn, around: date) -> list[Override]:
    """Up to four closed/open overrides within a fortnight of a date, weekends included."""
    result = []
    for n in range(draw(st.integers(0, 4))):
        start = around + timedelta(days=draw(st.integers(-3, 12)))
        end = start + timedelta(days=draw(st.integers(0, 3)))
        if draw(st.booleans()):
            result.append(Override(start, end, "closed", (), f"Penutupan {n}"))
        else:
            result.append(Override(start, end, "open", draw(day_hours()), f"Jam khusus {n}"))
    return result


@st.composite
def local_instants(draw: st.DrawFn, second_grid: bool = False) -> datetime:
    """A naive local wall time in 2024-2028 on the minute (or second) grid."""
    day = draw(st.dates(FIRST_DAY, LAST_DAY))
    seconds = draw(st.integers(0, 86399)) if second_grid else 60 * draw(st.integers(0, 1439))
    return datetime.combine(day, time()) + timedelta(seconds=seconds)


Case = tuple[str, datetime, list[Override]]


@st.composite
def cases(draw: st.DrawFn, second_grid: bool = False) -> Case:
    """A zone, an aware receipt instant in it, and overrides around that instant."""
    zone = draw(zones)
    local = draw(local_instants(second_grid))
    return zone, local.replace(tzinfo=ZoneInfo(zone)), draw(overrides_near(local.date()))


# The unmemoised compute_due, kept verbatim as the oracle for the memoised one. Unlike the
# brute-force calendar above it reads the engine's calendar through its public API: what it
# checks is that memoising per (receipt day, day 1) and the cheap first sentence change nothing.


def _out_of_range(calendar: WorkingCalendar, received_at: datetime) -> CalendarRangeError:
    return CalendarRangeError(
        f"received_at {received_at.isoformat()} must fall in "
        f"{calendar.first_year}..{calendar.last_year} ({calendar.timezone}) with its due time"
    )


def _clock(dt: datetime) -> str:
    return dt.strftime("%H:%M:%S" if dt.second else "%H:%M")


def _stamp(dt: datetime) -> str:
    return f"{dt:%a %Y-%m-%d} {_clock(dt)} {dt.tzname()}"


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"
    return f"{text} {secs:02d}s" if secs else text


def compute_due_unmemoised(
    calendar: WorkingCalendar,
    policy: SlaPolicy,
    received_at: datetime,
    paused: Sequence[tuple[datetime, datetime]] = (),
) -> DueResult:
    """compute_due as it was before the memo: walks the days on every call."""
    epoch = to_epoch(received_at)
    local = received_at.astimezone(calendar.tz)
    receipt_day = local.date()
    if not calendar.first_year <= receipt_day.year <= calendar.last_year:
        raise _out_of_range(calendar, received_at)
    info = calendar.day(receipt_day)
    late = policy.late_intake_minutes
    closing = calendar.closing(receipt_day)
    late_intake = False
    if closing is None:
        reason = info.reason or "closed"
        clause = f"on a non-working day ({reason}): day 1 is the next working day"
    elif epoch >= to_epoch(closing):
        late_intake = True
        clause = f"after closing ({_clock(closing)}): day 1 is the next working day"
    elif epoch >= to_epoch(closing) - 60 * late:
        late_intake = True
        clause = (
            f"within {late} minutes of closing ({_clock(closing)}): day 1 is the next working day"
        )
    elif local.time() < info.hours[0][0]:
        clause = "before opening on a working day: day 1 is the day of receipt"
    else:
        clause = (
            f"more than {late} minutes before closing ({_clock(closing)}) on a working day: "
            "day 1 is the day of receipt"
        )
    start_reason = f"Received {clause}."
    day = receipt_day
    counted: list[date] = [] if closing is None or late_intake else [receipt_day]
    try:
        while len(counted) < policy.target_working_days:
            day = calendar.next_working_day(day)
            counted.append(day)
    except CalendarRangeError:
        raise _out_of_range(calendar, received_at) from None
    skipped = tuple(
        SkippedDay(d.date, d.reason or "closed")
        for d in calendar.days(receipt_day, counted[-1])
        if not d.working
    )
    base_due = calendar.closing(counted[-1])
    assert base_due is not None  # counted days are working days
    pause_seconds = sum(calendar.working_seconds_between(s, e) for s, e in merge_pauses(paused))
    if not policy.pause_when_awaiting_requester:
        pause_seconds = 0
    due = calendar.add_working_seconds(base_due, pause_seconds)
    lines = [f"Received {_stamp(local)}, {clause}."]
    if skipped:
        lines.append(
            "Skipped " + ", ".join(f"{s.date.isoformat()} ({s.reason})" for s in skipped) + "."
        )
    lines.append(
        "; ".join(
            f"{'Day' if n == 1 else 'day'} {n}: {d:%a %Y-%m-%d}" for n, d in enumerate(counted, 1)
        )
        + "."
    )
    lines.append(f"Due at closing, {base_due:%Y-%m-%d} {_clock(base_due)} {base_due.tzname()}.")
    if pause_seconds:
        lines.append(
            f"Awaiting the requester for {_duration(pause_seconds)} of working time: "
            f"due moves to {_stamp(due)}."
        )
    elif paused and not policy.pause_when_awaiting_requester:
        lines.append("Time awaiting the requester does not extend this policy's due time.")
    return DueResult(
        due_at=due,
        start_day=counted[0],
        late_intake=late_intake,
        start_reason=start_reason,
        counted_days=tuple(counted),
        skipped_days=skipped,
        paused_working_seconds=pause_seconds,
        explanation="\n".join(lines),
    )
