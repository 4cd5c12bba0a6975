"""SLA calculations for the API: the office's calendar and policy from the caches, then
the pure engine. A fresh cache answers without a query; a stale one is refreshed in a
worker thread so the event loop never waits on the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.concurrency import run_in_threadpool

from app.calendar.cache import CalendarCache, SessionFactory
from app.calendar.engine import CalendarRangeError, WorkingCalendar
from app.calendar.errors import CalendarOutOfRange
from app.core.channels import Channel
from app.sla.engine import DueResult, compute_due
from app.sla.models import SlaPolicyRecord
from app.sla.policies import PolicyCache
from app.sla.schemas import (
    SkippedDayRead,
    SlaCalculation,
    SlaResult,
    WorkingTimeQuery,
    WorkingTimeResult,
)


@dataclass(frozen=True, slots=True)
class Sources:
    """Where calculations get calendars and policies: the process's caches, and sessions
    for when a cache entry is stale."""

    calendars: CalendarCache
    policies: PolicyCache
    session_factory: SessionFactory


async def calendar_for(sources: Sources, office_code: str) -> WorkingCalendar:
    """The office's calendar, from memory when fresh."""
    calendar = sources.calendars.peek(office_code)
    if calendar is None:
        calendar = await run_in_threadpool(
            sources.calendars.load, sources.session_factory, office_code
        )
    return calendar


async def policy_for(
    sources: Sources, office_code: str, channel: Channel, code: str | None
) -> SlaPolicyRecord:
    """The named policy or the one that applies, from memory when fresh."""
    record = sources.policies.peek(office_code, channel, code)
    if record is None:
        record = await run_in_threadpool(
            sources.policies.load, sources.session_factory, office_code, channel, code
        )
    return record


def result_of(
    due: DueResult, received_at: datetime, policy_code: str, calendar: WorkingCalendar
) -> SlaResult:
    """The API's view of an engine result (built without re-validating the engine's values)."""
    return SlaResult.model_construct(
        due_at=due.due_at,
        received_at=received_at.astimezone(calendar.tz),
        start_day=due.start_day,
        late_intake=due.late_intake,
        start_reason=due.start_reason,
        counted_days=list(due.counted_days),
        skipped_days=[
            SkippedDayRead.model_construct(date=s.date, reason=s.reason) for s in due.skipped_days
        ],
        paused_working_seconds=due.paused_working_seconds,
        policy_code=policy_code,
        timezone=calendar.timezone,
        explanation=due.explanation,
    )


async def calculate(sources: Sources, query: SlaCalculation) -> SlaResult:
    """The due time of an inquiry received at ``query.received_at``, explained."""
    calendar = await calendar_for(sources, query.office_code)
    record = await policy_for(sources, query.office_code, query.channel, query.policy_code)
    policy = sources.policies.engine_policy(record)
    pauses = (
        [(p.start, p.end) for p in query.paused] if policy.pause_when_awaiting_requester else []
    )
    try:
        due = compute_due(calendar, policy, query.received_at, pauses)
    except CalendarRangeError as exc:
        raise CalendarOutOfRange("#/received_at", str(exc)) from exc
    return result_of(due, query.received_at, record.code, calendar)


async def working_time(sources: Sources, query: WorkingTimeQuery) -> WorkingTimeResult:
    """Working seconds of the office between two instants."""
    calendar = await calendar_for(sources, query.office_code)
    try:
        seconds = calendar.working_seconds_between(query.start, query.end)
    except CalendarRangeError as exc:
        raise CalendarOutOfRange("#/start", str(exc)) from exc
    return WorkingTimeResult(
        office_code=query.office_code,
        start=query.start.astimezone(calendar.tz),
        end=query.end.astimezone(calendar.tz),
        working_seconds=seconds,
        working_minutes=round(seconds / 60, 2),
        timezone=calendar.timezone,
    )
