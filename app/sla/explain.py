"""Explained due times: result types, text pieces and a per-calendar memo of day-level parts."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import NamedTuple, cast

from app.calendar.engine import WorkingCalendar

# Memo entries per calendar and kind: about 11 years of receipt days for one policy, so a
# service answering for recent receipts never evicts; an entry is well under 1 KB.
MEMO_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class SkippedDay:
    """A non-working date passed over while counting, with the reason."""

    date: date
    reason: str


@dataclass(frozen=True, slots=True)
class DueResult:
    """A due time with everything needed to explain it."""

    due_at: datetime
    start_day: date
    late_intake: bool
    start_reason: str
    counted_days: tuple[date, ...]
    skipped_days: tuple[SkippedDay, ...]
    paused_working_seconds: int
    explanation: str


def clock(dt: datetime) -> str:
    """Return the wall-clock time, with seconds only when there are any."""
    return dt.strftime("%H:%M:%S" if dt.second else "%H:%M")


def stamp(dt: datetime) -> str:
    """Return weekday, date, clock and zone abbreviation of an aware datetime."""
    return f"{dt:%a %Y-%m-%d} {clock(dt)} {dt.tzname()}"


# "HH:MM" for every minute of a day: formatting a clock is the bulk of a memo hit otherwise.
_MINUTE_CLOCKS = [f"{m // 60:02d}:{m % 60:02d}" for m in range(1440)]


def wall_stamp(head: DayHead, wall: int) -> str:
    """Return stamp() of the instant `wall` seconds after the head's local midnight."""
    at = _MINUTE_CLOCKS[wall // 60]
    if wall % 60:
        at = f"{at}:{wall % 60:02d}"
    return f"{head.stamp_date} {at} {head.zone_name}"


def duration(seconds: int) -> str:
    """Return a duration as hours, minutes and (when any) seconds."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"
    return f"{text} {secs:02d}s" if secs else text


class DayHead(NamedTuple):
    """What the first sentence needs about one receipt day, for one late-intake window."""

    stamp_date: str  # "Mon 2026-11-23"
    zone_name: str  # constant all day when the calendar's offset is fixed
    closing: int  # epoch, -1 on a day off
    opening: time  # first opening, midnight on a day off (unused there)
    opening_second: int  # the same as seconds since local midnight
    closed: str  # the clause for each way the receipt can fall
    after: str
    within: str
    before: str
    more: str


class Tail(NamedTuple):
    """Everything after the first sentence: it depends only on the receipt day and day 1."""

    counted: tuple[date, ...]
    skipped: tuple[SkippedDay, ...]
    base_due: datetime
    base_epoch: int
    text: str


class ExplainMemo:
    """Bounded per-calendar memo of day heads and tails; lru_cache is C-fast and thread-safe."""

    __slots__ = ("calendar", "head", "tail")

    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar
        cache = functools.lru_cache(maxsize=MEMO_ENTRIES)
        self.head: Callable[[int, int], DayHead] = cache(self._head)
        self.tail: Callable[[int, int, bool], Tail] = cache(self._tail)

    def _head(self, late: int, i: int) -> DayHead:
        cal = self.calendar
        info = cal.day(date.fromordinal(cal.tables.first_ordinal + i))
        midnight = datetime.fromtimestamp(cal.tables.day_starts[i], cal.tz)
        closing = cal.closing(info.date)
        opening = info.hours[0][0] if closing is not None else time()
        at = "" if closing is None else clock(closing)
        return DayHead(
            stamp_date=f"{midnight:%a %Y-%m-%d}",
            zone_name=str(midnight.tzname()),
            closing=-1 if closing is None else cal.tables.closing[i],
            opening=opening,
            opening_second=opening.hour * 3600 + opening.minute * 60 + opening.second,
            closed=f"on a non-working day ({info.reason or 'closed'}): "
            "day 1 is the next working day",
            after=f"after closing ({at}): day 1 is the next working day",
            within=f"within {late} minutes of closing ({at}): day 1 is the next working day",
            before="before opening on a working day: day 1 is the day of receipt",
            more=f"more than {late} minutes before closing ({at}) on a working day: "
            "day 1 is the day of receipt",
        )

    def _tail(self, target_days: int, i: int, same_day: bool) -> Tail:
        # Same walk as the unmemoised rule (tests/unit/reference.py); CalendarRangeError
        # propagates uncached and the caller words it for the receipt.
        cal = self.calendar
        receipt_day = day = date.fromordinal(cal.tables.first_ordinal + i)
        counted = [receipt_day] if same_day else []
        while len(counted) < target_days:
            day = cal.next_working_day(day)
            counted.append(day)
        skipped = tuple(
            SkippedDay(d.date, d.reason or "closed")
            for d in cal.days(receipt_day, counted[-1])
            if not d.working
        )
        base_due = cal.closing(counted[-1])
        assert base_due is not None  # counted days are working days
        lines = []
        if skipped:
            lines.append(
                "Skipped " + ", ".join(f"{s.date.isoformat()} ({s.reason})" for s in skipped) + "."
            )
        lines.append(
            "; ".join(
                f"{'Day' if n == 1 else 'day'} {n}: {d:%a %Y-%m-%d}"
                for n, d in enumerate(counted, 1)
            )
            + "."
        )
        lines.append(f"Due at closing, {base_due:%Y-%m-%d} {clock(base_due)} {base_due.tzname()}.")
        base_epoch = cal.tables.closing[cal.day_index(counted[-1])]
        return Tail(tuple(counted), skipped, base_due, base_epoch, "\n".join(lines))


def explain_memo(calendar: WorkingCalendar) -> ExplainMemo:
    """Return (creating once) the calendar's explanation memo."""
    found = calendar.derived.get("sla.explain")
    if found is None:
        found = calendar.derived.setdefault("sla.explain", ExplainMemo(calendar))
    return cast(ExplainMemo, found)
