"""SLA endpoints: policies, due-time calculation, working time."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.calendar.errors import CalendarOutOfRange
from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.security import CurrentPrincipal, Role, require_roles
from app.sla import policies, service
from app.sla.schemas import (
    PolicyCode,
    SlaCalculation,
    SlaPolicyList,
    SlaPolicyRead,
    SlaPolicyWrite,
    SlaResult,
    WorkingTimeQuery,
    WorkingTimeResult,
)

router = APIRouter(prefix="/v1/sla", tags=["sla"])

AdminOnly = require_roles(Role.admin)


def _sources(request: Request) -> service.Sources:
    state = request.app.state
    return service.Sources(state.calendars, state.policies, state.session_factory)


@router.post(
    "/calculate",
    summary="Calculate a due time",
    response_model=SlaResult,
    responses=problem_responses(401, 404, 422, errors=[CalendarOutOfRange]),
)
async def calculate(
    query: SlaCalculation, _principal: CurrentPrincipal, request: Request
) -> SlaResult:
    """When an inquiry received at `received_at` is due under the service standard's rule,
    in the office's local time, with day 1 and why, the counted and the skipped days."""
    return await service.calculate(_sources(request), query)


@router.post(
    "/working-time",
    summary="Working time between two instants",
    response_model=WorkingTimeResult,
    responses=problem_responses(401, 404, 422, errors=[CalendarOutOfRange]),
)
async def working_time(
    query: WorkingTimeQuery, _principal: CurrentPrincipal, request: Request
) -> WorkingTimeResult:
    """The office's working seconds between `start` and `end` (hours, breaks, holidays and
    overrides taken into account)."""
    return await service.working_time(_sources(request), query)


@router.get(
    "/policies",
    summary="List SLA policies",
    response_model=SlaPolicyList,
    responses=problem_responses(401),
)
def list_policies(session: SessionDep, _principal: CurrentPrincipal) -> SlaPolicyList:
    """Every SLA policy; the most specific one (office and channel, office, channel, the
    default) applies to a new inquiry."""
    rows = policies.list_policies(session=session)
    return SlaPolicyList(items=[SlaPolicyRead.model_validate(r) for r in rows])


@router.get(
    "/policies/{code}",
    summary="Get an SLA policy",
    response_model=SlaPolicyRead,
    responses=problem_responses(401, 404),
)
def get_policy(code: str, session: SessionDep, _principal: CurrentPrincipal) -> SlaPolicyRead:
    """One SLA policy by its code."""
    return SlaPolicyRead.model_validate(policies.get_policy(session=session, code=code))


@router.put(
    "/policies/{code}",
    summary="Create or replace an SLA policy",
    response_model=SlaPolicyRead,
    responses={
        201: {"model": SlaPolicyRead, "description": "Created"},
        **problem_responses(
            401,
            403,
            422,
            errors=[
                policies.PolicyConflict,
                policies.DefaultPolicyScoped,
                policies.PolicyOfficeUnknown,
            ],
        ),
    },
    dependencies=[AdminOnly],
)
def put_policy(
    code: PolicyCode,
    data: SlaPolicyWrite,
    request: Request,
    session: SessionDep,
    response: Response,
) -> SlaPolicyRead:
    """Set a policy's numbers and scope (admin). Open inquiries under this policy get
    their due times recomputed; new inquiries choose the most specific policy."""
    record, created, moved = policies.put_policy(session=session, code=code, data=data)
    request.app.state.policies.invalidate()
    response.headers["X-Recomputed-Inquiries"] = str(moved)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return SlaPolicyRead.model_validate(record)
