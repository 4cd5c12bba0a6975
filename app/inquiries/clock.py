"""An inquiry's SLA clock: due time, at-risk boundary and state, from the pure engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from app.calendar.engine import WorkingCalendar
from app.inquiries.models import Inquiry
from app.inquiries.states import Status
from app.sla.engine import (
    SlaPolicy,
    at_risk_at,
    day_one,
    due_at,
    sla_state,
    sla_state_of,
    working_seconds_left,
)


@dataclass(frozen=True, slots=True)
class Schedule:
    """When an inquiry is due and from when it is at risk."""

    due_at: datetime
    at_risk_at: datetime


def schedule(
    calendar: WorkingCalendar, policy: SlaPolicy, received_at: datetime, paused_seconds: int
) -> Schedule:
    """Due time and at-risk boundary after ``paused_seconds`` of finished pauses."""
    paused = paused_seconds if policy.pause_when_awaiting_requester else 0
    due = due_at(calendar, policy, received_at, paused)
    return Schedule(due, at_risk_at(calendar, policy, due))


def pause_so_far(
    calendar: WorkingCalendar, policy: SlaPolicy, inquiry: Inquiry, now: datetime
) -> int:
    """Working seconds of the pause under way (0 when none, or when pauses do not count)."""
    if inquiry.awaiting_since is None or not policy.pause_when_awaiting_requester:
        return 0
    if now <= inquiry.awaiting_since:
        return 0
    return calendar.working_seconds_between(inquiry.awaiting_since, now)


class ClockView(NamedTuple):
    """The clock as a reader sees it now (a named tuple: built for every row of a page,
    and half the cost of a frozen dataclass)."""

    due_at: datetime
    at_risk_at: datetime
    start_day: date
    late_intake: bool
    state: str
    working_seconds_left: int


def view(
    calendar: WorkingCalendar, policy: SlaPolicy, inquiry: Inquiry, now: datetime
) -> ClockView:
    """The inquiry's clock at ``now``; while awaiting the requester the due time moves on."""
    start_day, late_intake = day_one(calendar, policy, inquiry.received_at)
    due, risk = inquiry.due_at, inquiry.at_risk_at
    ongoing = pause_so_far(calendar, policy, inquiry, now) if inquiry.awaiting_since else 0
    if ongoing:
        moved = schedule(
            calendar, policy, inquiry.received_at, inquiry.paused_working_seconds + ongoing
        )
        due, risk = moved.due_at, moved.at_risk_at
    if inquiry.sla_outcome is not None:
        state = inquiry.sla_outcome
    elif (
        inquiry.awaiting_since is not None
        and policy.pause_when_awaiting_requester
        and inquiry.status == Status.awaiting_requester
    ):
        # The clock stands still, unless it had run out before the pause began.
        state = "breached" if inquiry.due_at < inquiry.awaiting_since else "paused"
    elif ongoing:
        state = sla_state(calendar, policy, due, now)
    else:
        # The stored instants decide, as the work queue's filter does in SQL.
        state = sla_state_of(due, risk, now)
    left = 0 if inquiry.sla_outcome or now >= due else working_seconds_left(calendar, due, now)
    tz = calendar.tz
    return ClockView(due.astimezone(tz), risk.astimezone(tz), start_day, late_intake, state, left)
