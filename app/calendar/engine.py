"""Working calendar of one office: hours, holidays, overrides and working-time arithmetic.

Everything is precomputed at construction into per-day tables and a sorted list of working
intervals as UTC epoch seconds with prefix sums, so every query is a bisection. Instants are
handled at whole-second resolution: the sub-second part of an input is floored.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from app.calendar.holidays import indonesian_holidays

Hours = tuple[tuple[time, time], ...]
IntArray = npt.NDArray[np.int64]

SUPPORTED_FIRST_YEAR = 2020
SUPPORTED_LAST_YEAR = 2035
WEEKEND_REASON = "Akhir pekan"
NO_HOURS_REASON = "Tidak ada jam layanan"

# PMK 221/PMK.01/2021: Kementerian Keuangan service hours, with the Friday prayer break.
_MON_THU: Hours = ((time(7, 30), time(12, 15)), (time(13, 0), time(17, 0)))
_FRI: Hours = ((time(7, 30), time(11, 30)), (time(13, 15), time(17, 0)))
DEFAULT_WEEKLY_HOURS: Mapping[int, Hours] = {
    0: _MON_THU,
    1: _MON_THU,
    2: _MON_THU,
    3: _MON_THU,
    4: _FRI,
    5: (),
    6: (),
}

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class CalendarRangeError(ValueError):
    """An instant or date lies outside the range the calendar was built for."""


@dataclass(frozen=True, slots=True)
class Override:
    """Office-specific change to the calendar over an inclusive date range."""

    start_date: date
    end_date: date
    kind: Literal["closed", "open"]
    hours: Hours
    reason: str

    def __post_init__(self) -> None:
        if self.start_date > self.end_date:
            raise ValueError(f"override starts {self.start_date} after it ends {self.end_date}")
        if self.kind == "open" and not self.hours:
            raise ValueError("an 'open' override needs hours")
        if self.kind == "closed" and self.hours:
            raise ValueError("a 'closed' override takes no hours")
        if self.kind not in ("closed", "open"):
            raise ValueError(f"unknown override kind {self.kind!r}")


@dataclass(frozen=True, slots=True)
class DayInfo:
    """One calendar date as the office sees it."""

    date: date
    working: bool
    hours: Hours
    reason: str | None


@dataclass(frozen=True, slots=True)
class CalendarTables:
    """Read-only low-level tables for hot paths; day index 0 is 1 January of first_year."""

    first_ordinal: int
    receipt_days: int  # days first_year..last_year, the range a receipt date may fall in
    day_starts: list[int]  # epoch of each local day's first instant, plus the end of the table
    day_starts_np: IntArray
    closing: list[int]  # epoch of closing time, -1 on a non-working day
    closing_np: IntArray
    working_days_np: IntArray  # day indices of the working days, ascending
    working_before_np: IntArray  # number of working days before each day index (len days+1)
    starts: list[int]
    ends: list[int]
    cum: list[int]  # working seconds before each interval
    cum_end: list[int]  # working seconds up to each interval's end
    starts_np: IntArray
    ends_np: IntArray
    cum_np: IntArray
    cum_end_np: IntArray


def to_epoch(dt: datetime) -> int:
    """Return the aware datetime as whole UTC epoch seconds, flooring any fraction."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()} is not allowed: give an offset")
    # A float's 53-bit mantissa holds epoch seconds up to 2**32 with sub-microsecond
    # precision, so x.999999 never rounds up to x+1 and int() is an exact floor here.
    return int(dt.timestamp())


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def normalise_hours(intervals: Sequence[tuple[time, time]]) -> Hours:
    """Validate a day's intervals and return them sorted, with overlaps merged."""
    merged: list[tuple[time, time]] = []
    for start, end in sorted(intervals):
        for t in (start, end):
            if not isinstance(t, time) or t.tzinfo is not None or t.microsecond:
                raise ValueError(f"office hours must be naive whole-second times, got {t!r}")
        if start >= end:
            raise ValueError(f"interval {start}-{end} is empty or reversed")
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


# Every zone in tzdata has kept each UTC offset for at least a week since 1971 (the
# shortest: Brazil's cancelled DST of October 2000, 6.96 days; an hourly scan of every
# zone, 1971-2040), so an offset change between two midnights a day apart always shows at
# one of them. A zone whose offset is the same at every such instant is fixed.
_PROBE_STEP = 86400


def fixed_offset(tz: ZoneInfo, lo: int, hi: int) -> int | None:
    """Return the zone's UTC offset if zoneinfo gives it unchanged over [lo, hi].

    The offset is read at ``lo``, ``hi`` and every day in between; see ``_PROBE_STEP``.
    """
    offsets = {
        datetime.fromtimestamp(t, tz).utcoffset()
        for t in itertools.chain(range(lo, hi, _PROBE_STEP), (hi,))
    }
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    return None if offset is None else int(offset.total_seconds())


class WorkingCalendar:
    """An office's working calendar over first_year..last_year (+1 padding year)."""

    __slots__ = (
        "_closing_dt",
        "_hours",
        "_reasons",
        "derived",
        "first_year",
        "fixed_offset",
        "last_year",
        "tables",
        "timezone",
        "tz",
    )

    def __init__(
        self,
        timezone: str,
        weekly_hours: Mapping[int, Sequence[tuple[time, time]]] = DEFAULT_WEEKLY_HOURS,
        holidays: Mapping[date, str] | None = None,
        overrides: Sequence[Override] = (),
        first_year: int = SUPPORTED_FIRST_YEAR,
        last_year: int = SUPPORTED_LAST_YEAR,
    ) -> None:
        if not 1971 <= first_year <= last_year <= 2100:  # see to_epoch on float precision
            raise ValueError(f"bad year range {first_year}..{last_year}")
        if set(weekly_hours) - set(range(7)):
            raise ValueError("weekly_hours keys must be weekdays 0 (Monday) .. 6 (Sunday)")
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.first_year = first_year
        self.last_year = last_year
        # Callers (app.sla) keep tables derived from this calendar here; it is immutable.
        self.derived: dict[object, object] = {}
        first = date(first_year, 1, 1).toordinal()
        receipt_days = date(last_year + 1, 1, 1).toordinal() - first
        ndays = date(last_year + 2, 1, 1).toordinal() - first
        week = [normalise_hours(weekly_hours.get(wd, ())) for wd in range(7)]
        gap_reason = [NO_HOURS_REASON] * 5 + [WEEKEND_REASON] * 2
        # Ordinal 1 (0001-01-01) was a Monday.
        hours = [week[(o - 1) % 7] for o in range(first, first + ndays)]
        reasons: list[str | None] = [
            None if h else gap_reason[(o - 1) % 7]
            for o, h in zip(range(first, first + ndays), hours, strict=True)
        ]
        if holidays is None:
            holidays = indonesian_holidays(first_year, last_year + 1)
        for day, name in holidays.items():
            i = day.toordinal() - first
            if 0 <= i < ndays:
                hours[i] = ()
                reasons[i] = name
        for override in overrides:
            new_hours = normalise_hours(override.hours) if override.kind == "open" else ()
            lo = max(override.start_date.toordinal() - first, 0)
            hi = min(override.end_date.toordinal() - first, ndays - 1)
            for i in range(lo, hi + 1):
                hours[i] = new_hours
                reasons[i] = override.reason
        self._hours = hours
        self._reasons = reasons
        self._closing_dt: list[datetime | None] = [None] * ndays
        self.tables = self._build_tables(first, receipt_days, hours)

    def _build_tables(self, first: int, receipt_days: int, hours: list[Hours]) -> CalendarTables:
        ndays = len(hours)
        base = (first - _EPOCH_ORDINAL) * 86400
        offset = fixed_offset(self.tz, base - 86400, base + (ndays + 1) * 86400)
        self.fixed_offset = offset
        secs: dict[Hours, tuple[tuple[int, int], ...]] = {}
        starts: list[int] = []
        ends: list[int] = []
        closing = [-1] * ndays
        if offset is not None:
            day_starts = [base + 86400 * i - offset for i in range(ndays + 1)]
            for i, h in enumerate(hours):
                if not h:
                    continue
                pairs = secs.get(h)
                if pairs is None:
                    pairs = secs[h] = tuple((_seconds(s), _seconds(e)) for s, e in h)
                at = day_starts[i]
                for s, e in pairs:
                    starts.append(at + s)
                    ends.append(at + e)
                closing[i] = ends[-1]
        else:
            # Offsets may change within a day: convert each wall time through zoneinfo.
            tz = self.tz
            days = [date.fromordinal(first + i) for i in range(ndays + 1)]
            day_starts = [int(datetime.combine(d, time(), tz).timestamp()) for d in days]
            for i, h in enumerate(hours):
                for opens, closes in h:
                    lo = int(datetime.combine(days[i], opens, tz).timestamp())
                    hi = int(datetime.combine(days[i], closes, tz).timestamp())
                    lo, hi = max(lo, day_starts[i]), min(hi, day_starts[i + 1])
                    if starts and lo < ends[-1]:
                        lo = ends[-1]
                    if lo < hi:  # a wall-clock interval can vanish in a DST gap
                        starts.append(lo)
                        ends.append(hi)
                        closing[i] = hi
        starts_np = np.array(starts, dtype=np.int64)
        ends_np = np.array(ends, dtype=np.int64)
        cum_end_np = np.cumsum(ends_np - starts_np, dtype=np.int64)
        cum_np = cum_end_np - (ends_np - starts_np)
        closing_np = np.array(closing, dtype=np.int64)
        working = closing_np >= 0
        working_before = np.zeros(ndays + 1, dtype=np.int64)
        np.cumsum(working, out=working_before[1:])
        arrays: list[IntArray] = [starts_np, ends_np, cum_np, cum_end_np, closing_np]
        for array in arrays:
            array.flags.writeable = False
        return CalendarTables(
            first_ordinal=first,
            receipt_days=receipt_days,
            day_starts=day_starts,
            day_starts_np=np.array(day_starts, dtype=np.int64),
            closing=closing,
            closing_np=closing_np,
            working_days_np=np.flatnonzero(working).astype(np.int64),
            working_before_np=working_before,
            starts=starts,
            ends=ends,
            cum=cum_np.tolist(),
            cum_end=cum_end_np.tolist(),
            starts_np=starts_np,
            ends_np=ends_np,
            cum_np=cum_np,
            cum_end_np=cum_end_np,
        )

    def __repr__(self) -> str:
        return f"WorkingCalendar({self.timezone!r}, {self.first_year}..{self.last_year})"

    def day_index(self, d: date) -> int:
        """Return the table index of a date, raising CalendarRangeError outside the table."""
        i = d.toordinal() - self.tables.first_ordinal
        if not 0 <= i < len(self._hours):
            raise CalendarRangeError(f"{d} is outside the calendar ({self!r})")
        return i

    def day(self, d: date) -> DayInfo:
        """Return whether a date is a working day, its hours and why it is not."""
        i = self.day_index(d)
        hours = self._hours[i]
        return DayInfo(date=d, working=bool(hours), hours=hours, reason=self._reasons[i])

    def days(self, start: date, end: date) -> list[DayInfo]:
        """Return the days from start to end inclusive."""
        if start > end:
            raise ValueError(f"start {start} is after end {end}")
        self.day_index(end)
        return [self.day(start + timedelta(days=n)) for n in range((end - start).days + 1)]

    def is_working_day(self, d: date) -> bool:
        """Return True when the office is open at some time on the date."""
        return bool(self._hours[self.day_index(d)])

    def closing_at_index(self, i: int) -> datetime:
        """Return the closing time of working day index i as an aware local datetime."""
        cached = self._closing_dt[i]
        if cached is None:
            epoch = self.tables.closing[i]
            if epoch < 0:
                raise ValueError(f"day index {i} is not a working day")
            cached = self._closing_dt[i] = datetime.fromtimestamp(epoch, self.tz)
        return cached

    def closing(self, d: date) -> datetime | None:
        """Return the end of the date's last working interval, or None on a day off."""
        i = self.day_index(d)
        return self.closing_at_index(i) if self.tables.closing[i] >= 0 else None

    def next_working_day(self, d: date) -> date:
        """Return the first working day strictly after d."""
        tables = self.tables
        k = int(tables.working_before_np[self.day_index(d) + 1])
        if k >= len(tables.working_days_np):
            raise CalendarRangeError(f"no working day after {d} within {self!r}")
        return date.fromordinal(tables.first_ordinal + int(tables.working_days_np[k]))

    def local_date(self, dt: datetime) -> date:
        """Return the office-local date of an aware instant."""
        to_epoch(dt)
        return dt.astimezone(self.tz).date()

    def _working_before(self, epoch: int) -> int:
        tables = self.tables
        if not tables.day_starts[0] <= epoch <= tables.day_starts[-1]:
            raise CalendarRangeError(
                f"{datetime.fromtimestamp(epoch, self.tz).isoformat()} is outside {self!r}"
            )
        k = bisect_right(tables.starts, epoch) - 1
        if k < 0:
            return 0
        return tables.cum[k] + min(epoch, tables.ends[k]) - tables.starts[k]

    def working_seconds_between(self, start: datetime, end: datetime) -> int:
        """Return the working seconds in [start, end), both floored to whole seconds."""
        first, last = to_epoch(start), to_epoch(end)
        if end < start:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        return self._working_before(last) - self._working_before(first)

    def add_working_epoch(self, epoch: int, seconds: int) -> int:
        """Return the earliest epoch >= epoch that is `seconds` working seconds later."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds}")
        target = self._working_before(epoch) + seconds
        if seconds == 0:
            return epoch
        tables = self.tables
        k = bisect_left(tables.cum_end, target)
        if k == len(tables.cum_end):
            raise CalendarRangeError(f"adding {seconds} working seconds runs past {self!r}")
        return tables.starts[k] + target - tables.cum[k]

    def add_working_seconds(self, start: datetime, seconds: int) -> datetime:
        """Return the earliest instant t >= start with working_seconds_between(start, t) == s."""
        epoch = to_epoch(start)
        result = self.add_working_epoch(epoch, seconds)
        if result == epoch:
            return start.astimezone(self.tz)
        return datetime.fromtimestamp(result, self.tz)

    def intervals(self) -> tuple[IntArray, IntArray, IntArray]:
        """Return working interval starts, ends (UTC epoch s) and working seconds before each."""
        tables = self.tables
        return tables.starts_np, tables.ends_np, tables.cum_np
