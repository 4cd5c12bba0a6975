"""Complaint endpoints: the public form, recording from other channels, and internal
compliance's list, detail and actions."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.ratelimit import limit_public
from app.core.security import CurrentPrincipal, Role, require_roles
from app.evaluation import complaint_intake, complaint_workflow
from app.evaluation.complaint_schemas import (
    ComplaintCategoryOut,
    ComplaintDetail,
    ComplaintEventOut,
    ComplaintIn,
    ComplaintMessage,
    ComplaintOut,
    ComplaintPage,
    ComplaintReceipt,
    ComplaintRecord,
    ComplaintStatus,
    Source,
)
from app.evaluation.models import Complaint
from app.evaluation.report_scope import REPORT_DATE, check_dates

COMPLAINT_ACTION_REFUSALS = [
    complaint_workflow.ComplaintNotFound,
    complaint_workflow.ComplaintTransition,
    complaint_workflow.ComplaintChanged,
]

router = APIRouter()

Recorder = require_roles(Role.integration, Role.compliance)
Reader = require_roles(Role.compliance, Role.head)
Handler = require_roles(Role.compliance)
IfMatch = Annotated[
    str | None,
    Header(description='the complaint\'s version as a quoted ETag, e.g. "3"; optional'),
]


def _version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    return int(text) if text.isdigit() and len(text) < 10 else -1


def _receipt(complaint: Complaint) -> ComplaintReceipt:
    return ComplaintReceipt.model_validate(complaint, from_attributes=True)


@router.post(
    "/v1/public/complaints",
    tags=["public"],
    summary="File a complaint",
    status_code=201,
    response_model=ComplaintReceipt,
    responses=problem_responses(422, 429),
)
def file_complaint(data: ComplaintIn, request: Request, session: SessionDep) -> ComplaintReceipt:
    """A complaint about the service from the public, without a token: the complaint number
    and when a first response and the final response are due (working days of the office
    calendar). Rate-limited per client address."""
    limit_public(request, area="complaint")
    complaint = complaint_intake.create_complaint(
        session=session, calendars=request.app.state.calendars, data=data, principal=None
    )
    return _receipt(complaint)


@router.post(
    "/v1/complaints",
    tags=["complaints"],
    summary="Record a complaint from another channel",
    dependencies=[Recorder],
    status_code=201,
    response_model=ComplaintReceipt,
    responses=problem_responses(401, 403, 422),
)
def record_complaint(
    data: ComplaintRecord,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> ComplaintReceipt:
    """Record a complaint that came by SIPUMA, the complaints mailbox, Bravo Bea Cukai
    1500 225, fax, letter or in person, with its original date (integration, compliance)."""
    complaint = complaint_intake.create_complaint(
        session=session, calendars=request.app.state.calendars, data=data, principal=principal
    )
    return _receipt(complaint)


@router.get(
    "/v1/complaints",
    tags=["complaints"],
    summary="List complaints",
    dependencies=[Reader],
    response_model=ComplaintPage,
    responses=problem_responses(401, 403, 422),
)
def list_complaints(
    session: SessionDep,
    principal: CurrentPrincipal,
    office_code: Annotated[str | None, Query(max_length=32)] = None,
    status: ComplaintStatus | None = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    source: Source | None = None,
    received_from: Annotated[
        date | None,
        Query(
            alias="from", description="first local date of receipt", json_schema_extra=REPORT_DATE
        ),
    ] = None,
    received_to: Annotated[
        date | None,
        Query(
            alias="to",
            description="last local date of receipt (included)",
            json_schema_extra=REPORT_DATE,
        ),
    ] = None,
    overdue: Annotated[
        bool | None, Query(description="open (received or in review) past the due time")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ComplaintPage:
    """Complaints newest first: all offices for compliance, the own office for the head
    of office. `from` and `to` are local dates of receipt in each complaint's office,
    inclusive, within 2020-2036."""
    check_dates(received_from, received_to)
    where = complaint_workflow.ComplaintFilter(
        office_code, status, category, source, received_from, received_to, overdue
    )
    rows, next_offset = complaint_workflow.list_complaints(
        session=session, principal=principal, where=where, limit=limit, offset=offset
    )
    return ComplaintPage(
        items=[ComplaintOut.model_validate(r, from_attributes=True) for r in rows],
        next_offset=next_offset,
    )


@router.get(
    "/v1/complaints/categories",
    tags=["complaints"],
    summary="Complaint categories and targets",
    response_model=list[ComplaintCategoryOut],
    responses=problem_responses(401),
)
def list_categories(session: SessionDep, principal: CurrentPrincipal) -> list[ComplaintCategoryOut]:
    """The categories a complaint may have, with their response targets in working days."""
    return [
        ComplaintCategoryOut.model_validate(c, from_attributes=True)
        for c in complaint_workflow.categories(session=session)
    ]


def _detail(session: SessionDep, complaint: Complaint) -> ComplaintDetail:
    events = complaint_workflow.complaint_events(session=session, complaint=complaint)
    out = ComplaintOut.model_validate(complaint, from_attributes=True)
    return ComplaintDetail(
        **out.model_dump(),
        events=[ComplaintEventOut.model_validate(e, from_attributes=True) for e in events],
    )


@router.get(
    "/v1/complaints/{number}",
    tags=["complaints"],
    summary="A complaint with its audit trail",
    dependencies=[Reader],
    response_model=ComplaintDetail,
    responses=problem_responses(401, 403, errors=[complaint_workflow.ComplaintNotFound]),
)
def get_complaint(
    number: str,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> ComplaintDetail:
    """The complaint, its due times with their explanation, and its audit trail."""
    complaint = complaint_workflow.get_complaint(
        session=session, principal=principal, number=number
    )
    return _detail(session, complaint)


@router.post(
    "/v1/complaints/{number}/review",
    tags=["complaints"],
    summary="Take a complaint into review",
    dependencies=[Handler],
    response_model=ComplaintDetail,
    responses=problem_responses(401, 403, errors=COMPLAINT_ACTION_REFUSALS),
)
def review(
    number: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> ComplaintDetail:
    """Status `in_review`; the complainant is told (by email when they gave one): the
    first response (compliance)."""
    complaint = complaint_workflow.review_complaint(
        session=session, principal=principal, number=number, version=_version(if_match)
    )
    return _detail(session, complaint)


@router.post(
    "/v1/complaints/{number}/respond",
    tags=["complaints"],
    summary="Respond to a complaint",
    dependencies=[Handler],
    response_model=ComplaintDetail,
    responses=problem_responses(401, 403, 422, errors=COMPLAINT_ACTION_REFUSALS),
)
def respond(
    number: str,
    data: ComplaintMessage,
    session: SessionDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> ComplaintDetail:
    """Status `responded`; the response goes to the complainant's email through the outbox
    (with a phone number only, `response_delivery` is `not_sent`) (compliance)."""
    complaint = complaint_workflow.respond_complaint(
        session=session,
        principal=principal,
        number=number,
        message=data.message,
        version=_version(if_match),
    )
    return _detail(session, complaint)


@router.post(
    "/v1/complaints/{number}/close",
    tags=["complaints"],
    summary="Close a complaint",
    dependencies=[Handler],
    response_model=ComplaintDetail,
    responses=problem_responses(401, 403, errors=COMPLAINT_ACTION_REFUSALS),
)
def close(
    number: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> ComplaintDetail:
    """Status `closed`, after the response (compliance)."""
    complaint = complaint_workflow.close_complaint(
        session=session, principal=principal, number=number, version=_version(if_match)
    )
    return _detail(session, complaint)
