"""Office calendar endpoints: the calendar of a date range, weekly hours, overrides."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.calendar import service
from app.calendar.cache import CalendarCache
from app.calendar.errors import CalendarOutOfRange
from app.calendar.models import CalendarOverride
from app.calendar.schemas import (
    CALENDAR_DATE,
    CalendarRead,
    Interval,
    OfficeHours,
    OverrideCreate,
    OverrideCreated,
    OverrideList,
    OverrideRead,
    WeeklyHours,
)
from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.schemas import RowId
from app.core.security import CurrentPrincipal, Principal, Role, require_roles

router = APIRouter(prefix="/v1/offices/{code}/calendar", tags=["calendar"])

AdminOnly = require_roles(Role.admin)


def _cache(request: Request) -> CalendarCache:
    cache: CalendarCache = request.app.state.calendars
    return cache


def _read(row: CalendarOverride) -> OverrideRead:
    return OverrideRead(
        id=row.id or 0,
        office_code=row.office_code,
        start_date=row.start_date,
        end_date=row.end_date,
        kind="open" if row.kind == "open" else "closed",
        hours=[
            Interval(start=time.fromisoformat(s), end=time.fromisoformat(e)) for s, e in row.hours
        ],
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
    )


@router.get(
    "",
    summary="Calendar of a date range",
    response_model=CalendarRead,
    responses=problem_responses(401, 404, 422, errors=[CalendarOutOfRange]),
)
def get_calendar(
    code: str,
    request: Request,
    session: SessionDep,
    _principal: CurrentPrincipal,
    first: Annotated[
        date, Query(alias="from", examples=["2026-12-01"], json_schema_extra=CALENDAR_DATE)
    ],
    last: Annotated[
        date, Query(alias="to", examples=["2026-12-31"], json_schema_extra=CALENDAR_DATE)
    ],
) -> CalendarRead:
    """Every date from `from` to `to` (at most 366): working or not, hours, closing time and
    the reason a date is off (weekend, holiday name, closure reason)."""
    return service.calendar_range(
        session=session, cache=_cache(request), office_code=code, first=first, last=last
    )


@router.get(
    "/hours",
    summary="Weekly working hours",
    response_model=OfficeHours,
    responses=problem_responses(401, 404),
)
def get_hours(code: str, session: SessionDep, _principal: CurrentPrincipal) -> OfficeHours:
    """The office's working hours per weekday (PMK 221/PMK.01/2021 unless changed)."""
    return service.get_hours(session=session, office_code=code)


@router.put(
    "/hours",
    summary="Set weekly working hours",
    response_model=OfficeHours,
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[AdminOnly],
)
def put_hours(
    code: str, data: WeeklyHours, request: Request, session: SessionDep, response: Response
) -> OfficeHours:
    """Replace the office's weekly hours (admin); open inquiries' due times follow."""
    hours, moved = service.put_hours(
        session=session, cache=_cache(request), office_code=code, data=data
    )
    response.headers["X-Recomputed-Inquiries"] = str(moved)
    return hours


@router.delete(
    "/hours",
    summary="Reset weekly working hours",
    response_model=OfficeHours,
    responses=problem_responses(401, 403, 404),
    dependencies=[AdminOnly],
)
def reset_hours(
    code: str, request: Request, session: SessionDep, response: Response
) -> OfficeHours:
    """Return the office to the PMK 221/PMK.01/2021 default hours (admin)."""
    hours, moved = service.put_hours(
        session=session, cache=_cache(request), office_code=code, data=None
    )
    response.headers["X-Recomputed-Inquiries"] = str(moved)
    return hours


@router.get(
    "/overrides",
    summary="List calendar overrides",
    response_model=OverrideList,
    responses=problem_responses(401, 404),
)
def list_overrides(code: str, session: SessionDep, _principal: CurrentPrincipal) -> OverrideList:
    """The office's closures and changed hours, by start date."""
    rows = service.list_overrides(session=session, office_code=code)
    return OverrideList(items=[_read(r) for r in rows])


@router.post(
    "/overrides",
    summary="Add a calendar override",
    status_code=status.HTTP_201_CREATED,
    response_model=OverrideCreated,
    responses=problem_responses(401, 403, 404, 422),
)
def add_override(
    code: str,
    data: OverrideCreate,
    request: Request,
    session: SessionDep,
    response: Response,
    principal: Annotated[Principal, AdminOnly],
) -> OverrideCreated:
    """Close the office on some dates, or set their hours (reduced Ramadan hours, an extra
    working day). Open inquiries whose due time it affects are recomputed (admin)."""
    row, moved = service.add_override(
        session=session,
        cache=_cache(request),
        office_code=code,
        data=data,
        created_by=principal.sub,
    )
    response.headers["Location"] = f"/v1/offices/{code}/calendar/overrides/{row.id}"
    return OverrideCreated(**_read(row).model_dump(), recomputed_inquiries=moved)


@router.delete(
    "/overrides/{override_id}",
    summary="Remove a calendar override",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
    dependencies=[AdminOnly],
)
def delete_override(
    code: str, override_id: RowId, request: Request, session: SessionDep
) -> Response:
    """Remove an override (admin); open inquiries' due times are recomputed."""
    moved = service.delete_override(
        session=session, cache=_cache(request), office_code=code, override_id=override_id
    )
    return Response(
        status_code=status.HTTP_204_NO_CONTENT, headers={"X-Recomputed-Inquiries": str(moved)}
    )
