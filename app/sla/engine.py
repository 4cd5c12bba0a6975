"""SLA due times: day 1 and the late-intake cut-off, working-day counting, pauses, states."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from functools import partial
from typing import Literal, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from app.calendar.engine import CalendarRangeError, WorkingCalendar, to_epoch
from app.sla.explain import DueResult as DueResult
from app.sla.explain import SkippedDay as SkippedDay
from app.sla.explain import Tail, duration, explain_memo, stamp, wall_stamp

SlaState = Literal["on_track", "at_risk", "breached", "met", "missed"]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """How an inquiry's due time is computed and when it counts as at risk."""

    code: str = "default"
    target_working_days: int = 2
    late_intake_minutes: int = 120
    pause_when_awaiting_requester: bool = True
    warn_before_working_minutes: int = 240
    resolution_target_working_days: int | None = None

    def __post_init__(self) -> None:
        if self.target_working_days < 1:
            raise ValueError("target_working_days must be >= 1")
        if self.late_intake_minutes < 0 or self.warn_before_working_minutes < 0:
            raise ValueError("late_intake_minutes and warn_before_working_minutes must be >= 0")
        if (
            self.resolution_target_working_days is not None
            and self.resolution_target_working_days < 1
        ):
            raise ValueError("resolution_target_working_days must be >= 1 when set")


@dataclass(frozen=True, slots=True)
class DueTables:
    """Per-(calendar, N, L) day tables: the cut-off and the due day for either day 1."""

    day_starts: list[int]
    receipt_days: int
    cutoff: list[int]  # receipt epochs below this keep the receipt day as day 1; -1 if closed
    # With a verified fixed offset, a receipt's seconds since the table start follow from its
    # wall-clock fields, which is ~3x cheaper than datetime.timestamp() plus a bisection.
    fixed_offset: int | None
    tz: tzinfo
    shifts: dict[tzinfo, int]  # fixed input zones -> seconds to add to get office-local
    first_ordinal: int
    cutoff_rel: list[int]  # cutoff minus the table start
    due_same: list[int]  # day index whose closing is due when day 1 is the receipt day
    due_next: list[int]  # ... when day 1 is the next working day; -1 beyond the table
    cutoff_np: IntArray
    due_same_np: IntArray
    due_next_np: IntArray


def due_tables(calendar: WorkingCalendar, policy: SlaPolicy) -> DueTables:
    """Return (building once per calendar) the day tables for the policy's N and L."""
    key = ("sla.due", policy.target_working_days, policy.late_intake_minutes)
    found = calendar.derived.get(key)
    if found is not None:
        return cast(DueTables, found)
    t = calendar.tables
    n = policy.target_working_days
    closing = t.closing_np
    working = closing >= 0
    workdays = t.working_days_np
    cutoff = np.where(working, closing - 60 * policy.late_intake_minutes, -1)

    def nth_working(first_position: IntArray) -> IntArray:
        # first_position is the rank of day 1 among working days; day N is N-1 ranks on.
        position = first_position + n - 1
        if not len(workdays):
            return np.full(len(position), -1, dtype=np.int64)
        inside = position < len(workdays)
        return np.where(inside, workdays[np.minimum(position, len(workdays) - 1)], -1)

    due_same = np.where(working, nth_working(t.working_before_np[:-1]), -1)
    due_next = nth_working(t.working_before_np[1:])
    tables = DueTables(
        day_starts=t.day_starts,
        receipt_days=t.receipt_days,
        cutoff=cutoff.tolist(),
        fixed_offset=calendar.fixed_offset,
        tz=calendar.tz,
        shifts={calendar.tz: 0},
        first_ordinal=t.first_ordinal,
        cutoff_rel=np.where(working, cutoff - t.day_starts[0], -1).tolist(),
        due_same=due_same.tolist(),
        due_next=due_next.tolist(),
        cutoff_np=cutoff,
        due_same_np=due_same,
        due_next_np=due_next,
    )
    calendar.derived[key] = tables
    return tables


def _out_of_range(calendar: WorkingCalendar, received_at: datetime) -> CalendarRangeError:
    return CalendarRangeError(
        f"received_at {received_at.isoformat()} must fall in "
        f"{calendar.first_year}..{calendar.last_year} ({calendar.timezone}) with its due time"
    )


def _wall_seconds(t: DueTables, received_at: datetime) -> int | None:
    """Return seconds since the table's first local midnight, None off the fixed-offset path."""
    zone = received_at.tzinfo
    if t.fixed_offset is None or zone is None:
        return None
    # Hashing other tzinfo types (pydantic's TzInfo) costs more than utcoffset() itself.
    shift = t.shifts.get(zone) if zone is t.tz or type(zone) is timezone else None
    if shift is None:
        offset = received_at.utcoffset()
        if offset is None or offset.microseconds:
            return None
        shift = t.fixed_offset - offset.days * 86400 - offset.seconds
        if type(zone) is timezone and len(t.shifts) < 64:
            t.shifts[zone] = shift
    # Sub-seconds are floored, as to_epoch does.
    return (
        (received_at.toordinal() - t.first_ordinal) * 86400
        + received_at.hour * 3600
        + received_at.minute * 60
        + received_at.second
        + shift
    )


def due_at(
    calendar: WorkingCalendar,
    policy: SlaPolicy,
    received_at: datetime,
    paused_working_seconds: int = 0,
) -> datetime:
    """Return the due time (aware, office-local) for a receipt instant; the hot path."""
    found = calendar.derived.get(
        ("sla.due", policy.target_working_days, policy.late_intake_minutes)
    )
    t = due_tables(calendar, policy) if found is None else cast(DueTables, found)
    rel = _wall_seconds(t, received_at)
    if rel is not None:
        i = rel // 86400
        if not 0 <= i < t.receipt_days:
            raise _out_of_range(calendar, received_at)
        j = t.due_same[i] if rel < t.cutoff_rel[i] else t.due_next[i]
    else:
        if received_at.utcoffset() is None:
            raise ValueError(f"naive datetime {received_at.isoformat()} is not allowed")
        ts = int(received_at.timestamp())  # floor; see to_epoch
        i = bisect_right(t.day_starts, ts) - 1
        if not 0 <= i < t.receipt_days:
            raise _out_of_range(calendar, received_at)
        j = t.due_same[i] if ts < t.cutoff[i] else t.due_next[i]
    if j < 0:
        raise _out_of_range(calendar, received_at)
    if paused_working_seconds and policy.pause_when_awaiting_requester:
        epoch = calendar.add_working_epoch(calendar.tables.closing[j], paused_working_seconds)
        return datetime.fromtimestamp(epoch, calendar.tz)
    if paused_working_seconds < 0:
        raise ValueError("paused_working_seconds must be >= 0")
    return calendar.closing_at_index(j)


def merge_pauses(paused: Sequence[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Validate pause intervals and merge overlapping or touching ones."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(paused, key=lambda pause: (to_epoch(pause[0]), pause[0])):
        to_epoch(end)
        if end < start:
            raise ValueError(f"pause ends {end.isoformat()} before it starts {start.isoformat()}")
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class _Receipt(NamedTuple):
    """Where a receipt falls: its day, that day's head, and how the day counts."""

    clause: str  # how the receipt falls, for the explanation
    late_intake: bool
    tail: Tail  # day 1 and the days counted from it
    stamp: Callable[[], str]  # the receipt's local time, for the explanation


def _receipt(calendar: WorkingCalendar, policy: SlaPolicy, received_at: datetime) -> _Receipt:
    memo = explain_memo(calendar)
    t = due_tables(calendar, policy)
    late = policy.late_intake_minutes
    rel = _wall_seconds(t, received_at)
    received: Callable[[], str]
    if rel is not None and 0 <= rel < 86400 * t.receipt_days:
        # Fixed offset: day index and local wall clock by arithmetic, no datetime conversion.
        i, wall = divmod(rel, 86400)
        head = memo.head(late, i)
        epoch = t.day_starts[i] + wall
        before_opening = wall < head.opening_second
        received = partial(wall_stamp, head, wall)
    else:
        # Zones with offset changes and odd input offsets take the datetime route; so do naive
        # and out-of-range receipts, which then raise exactly as the unmemoised rule does.
        epoch = to_epoch(received_at)
        local = received_at.astimezone(calendar.tz)
        if not calendar.first_year <= local.year <= calendar.last_year:
            raise _out_of_range(calendar, received_at)
        i = local.toordinal() - t.first_ordinal
        head = memo.head(late, i)
        before_opening = local.time() < head.opening
        received = partial(stamp, local)
    late_intake = same_day = False
    if head.closing < 0:
        clause = head.closed
    elif epoch >= head.closing:
        clause, late_intake = head.after, True
    elif epoch >= head.closing - 60 * late:
        clause, late_intake = head.within, True
    else:
        clause, same_day = (head.before if before_opening else head.more), True
    try:
        tail = memo.tail(policy.target_working_days, i, same_day)
    except CalendarRangeError:
        raise _out_of_range(calendar, received_at) from None
    return _Receipt(clause, late_intake, tail, received)


def day_one(
    calendar: WorkingCalendar, policy: SlaPolicy, received_at: datetime
) -> tuple[date, bool]:
    """``compute_due``'s ``start_day`` and ``late_intake`` alone, without the due time's
    explanation: what a list of inquiries shows of each one's clock. Remembered per
    calendar (which is immutable) and receipt second: a work queue shows the same
    inquiries again and again, and the lookup costs a quarter of the computation."""
    epoch = to_epoch(received_at)
    key = ("sla.day_one", policy.target_working_days, policy.late_intake_minutes)
    memo = cast("dict[int, tuple[date, bool]] | None", calendar.derived.get(key))
    if memo is None:
        memo = cast("dict[int, tuple[date, bool]]", calendar.derived.setdefault(key, {}))
    found = memo.get(epoch)
    if found is None:
        receipt = _receipt(calendar, policy, received_at)
        if len(memo) >= _DAY_ONE_MEMO:
            memo.clear()
        found = memo[epoch] = (receipt.tail.counted[0], receipt.late_intake)
    return found


# Receipts remembered by day_one per calendar and policy shape (about 200 bytes each).
_DAY_ONE_MEMO = 50_000


def compute_due(
    calendar: WorkingCalendar,
    policy: SlaPolicy,
    received_at: datetime,
    paused: Sequence[tuple[datetime, datetime]] = (),
) -> DueResult:
    """Return the due time with day 1, counted and skipped days and an explanation."""
    clause, late_intake, tail, received = _receipt(calendar, policy, received_at)
    text = f"Received {received()}, {clause}.\n{tail.text}"
    due, pause_seconds = tail.base_due, 0
    if paused:
        pause_seconds = sum(calendar.working_seconds_between(s, e) for s, e in merge_pauses(paused))
        if not policy.pause_when_awaiting_requester:
            pause_seconds = 0
            text += "\nTime awaiting the requester does not extend this policy's due time."
        elif pause_seconds:
            moved = calendar.add_working_epoch(tail.base_epoch, pause_seconds)
            due = datetime.fromtimestamp(moved, calendar.tz)
            t = due_tables(calendar, policy)
            if t.fixed_offset is None:
                moved_stamp = stamp(due)
            else:
                j, wall = divmod(moved - t.day_starts[0], 86400)
                head = explain_memo(calendar).head(policy.late_intake_minutes, j)
                moved_stamp = wall_stamp(head, wall)
            text += (
                f"\nAwaiting the requester for {duration(pause_seconds)} of working time: "
                f"due moves to {moved_stamp}."
            )
    return DueResult(
        due_at=due,
        start_day=tail.counted[0],
        late_intake=late_intake,
        start_reason=f"Received {clause}.",
        counted_days=tail.counted,
        skipped_days=tail.skipped,
        paused_working_seconds=pause_seconds,
        explanation=text,
    )


def working_seconds_left(calendar: WorkingCalendar, due_at: datetime, now: datetime) -> int:
    """Return the working seconds from now until the due time, 0 once it has passed."""
    to_epoch(due_at)
    if now >= due_at:  # also rejects a naive now
        return 0
    return calendar.working_seconds_between(now, due_at)


def sla_state(
    calendar: WorkingCalendar,
    policy: SlaPolicy,
    due_at: datetime,
    now: datetime,
    responded_at: datetime | None = None,
) -> SlaState:
    """Return the SLA state: met/missed once responded, else on_track/at_risk/breached."""
    to_epoch(due_at)
    to_epoch(now)
    if responded_at is not None:
        to_epoch(responded_at)
        return "met" if responded_at <= due_at else "missed"
    if now > due_at:
        return "breached"
    left = working_seconds_left(calendar, due_at, now)
    return "at_risk" if left < 60 * policy.warn_before_working_minutes else "on_track"


def sla_state_of(due_at: datetime, at_risk: datetime, now: datetime) -> SlaState:
    """``sla_state`` of a clock still running, from its due time and its ``at_risk_at``
    (stored with it) alone, without the calendar: what a list of inquiries shows. The
    same state, since ``at_risk_at`` is the latest instant with the warning's working
    time left; and the same rule as the work queue's filter in SQL."""
    if now > due_at:
        return "breached"
    return "at_risk" if to_epoch(now) > to_epoch(at_risk) else "on_track"


def at_risk_at(calendar: WorkingCalendar, policy: SlaPolicy, due_at: datetime) -> datetime:
    """Return the latest instant with the warning threshold of working time left to due_at."""
    due = to_epoch(due_at)
    t = calendar.tables
    if not t.day_starts[0] <= due <= t.day_starts[-1]:
        raise CalendarRangeError(f"due_at {due_at.isoformat()} is outside {calendar!r}")
    warn = 60 * policy.warn_before_working_minutes
    if not warn:
        # working_seconds_between(t, due_at) needs t <= due_at, so due_at itself is the latest.
        return due_at.astimezone(calendar.tz)
    k = bisect_right(t.starts, due) - 1
    target = (t.cum[k] + min(due, t.ends[k]) - t.starts[k] if k >= 0 else 0) - warn
    if target < 0:
        # Less working time than the threshold since the table began: at risk from its start.
        return datetime.fromtimestamp(t.day_starts[0], calendar.tz)
    # The last interval starting at or below the target level: a target on a boundary lands
    # on the next opening, the latest instant still at that level.
    k = bisect_right(t.cum, target) - 1
    return datetime.fromtimestamp(t.starts[k] + target - t.cum[k], calendar.tz)


def bulk_at_risk_epochs(
    calendar: WorkingCalendar, policy: SlaPolicy, due_epochs: npt.ArrayLike
) -> IntArray:
    """Return at_risk_at (int64 UTC epoch seconds) for many due epochs at once."""
    due = np.asarray(due_epochs)
    if due.dtype.kind not in "iu":
        raise ValueError("due_epochs must be integer epoch seconds")
    due = due.astype(np.int64, copy=False)
    t = calendar.tables
    if due.size and (due.min() < t.day_starts[0] or due.max() > t.day_starts[-1]):
        raise CalendarRangeError(f"due epochs must fall inside {calendar!r}")
    warn = 60 * policy.warn_before_working_minutes
    if not warn:
        return due.copy()
    if not len(t.starts):
        return np.full_like(due, t.day_starts[0])
    # Same steps as at_risk_at; k = -1 (before the first interval) is clamped then masked.
    k = np.searchsorted(t.starts_np, due, side="right") - 1
    before_first = k < 0
    np.maximum(k, 0, out=k)
    target = t.cum_np[k] + np.minimum(due, t.ends_np[k]) - t.starts_np[k]
    target[before_first] = 0
    target -= warn
    at_start = target < 0
    np.maximum(target, 0, out=target)
    k = np.searchsorted(t.cum_np, target, side="right") - 1
    result: IntArray = t.starts_np[k] + target - t.cum_np[k]
    result[at_start] = t.day_starts[0]
    return result


def bulk_due_epochs(
    calendar: WorkingCalendar,
    policy: SlaPolicy,
    received_epochs: npt.ArrayLike,
    paused_working_seconds: npt.ArrayLike | None = None,
) -> IntArray:
    """Return due times (int64 UTC epoch seconds) for many receipt epochs at once."""
    received = np.asarray(received_epochs)
    if received.dtype.kind not in "iu":
        raise ValueError("received_epochs must be integer epoch seconds")
    received = received.astype(np.int64, copy=False)
    t = due_tables(calendar, policy)
    ct = calendar.tables
    day = np.searchsorted(ct.day_starts_np, received, side="right") - 1
    if received.size and (day.min() < 0 or day.max() >= t.receipt_days):
        raise CalendarRangeError(
            f"received epochs must fall in {calendar.first_year}..{calendar.last_year}"
        )
    due_day = np.where(received < t.cutoff_np[day], t.due_same_np[day], t.due_next_np[day])
    if received.size and due_day.min() < 0:
        raise CalendarRangeError("some due times fall past the end of the calendar")
    due = ct.closing_np[due_day]
    if paused_working_seconds is None or not policy.pause_when_awaiting_requester:
        return due
    paused = np.asarray(paused_working_seconds)
    if paused.dtype.kind not in "iu" or paused.shape != received.shape:
        raise ValueError("paused_working_seconds must be integers shaped like received_epochs")
    paused = paused.astype(np.int64, copy=False)
    if paused.size and paused.min() < 0:
        raise ValueError("paused_working_seconds must be >= 0")
    moved = np.flatnonzero(paused > 0)
    if moved.size:
        # Vectorised add_working_epoch: working time before each due time, plus the pause,
        # located in the prefix sums; the earliest instant reaching it lies in interval k.
        base = due[moved]
        k = np.searchsorted(ct.starts_np, base, side="right") - 1
        target = ct.cum_np[k] + np.minimum(base, ct.ends_np[k]) - ct.starts_np[k] + paused[moved]
        k = np.searchsorted(ct.cum_end_np, target, side="left")
        if k.max() >= len(ct.cum_end_np):
            raise CalendarRangeError("some paused due times fall past the end of the calendar")
        due[moved] = ct.starts_np[k] + target - ct.cum_np[k]
    return due
