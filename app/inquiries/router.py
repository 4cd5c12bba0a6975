"""Inquiry endpoints: intake, the officer's workflow, reading and the audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from app.calendar.cache import CalendarCache
from app.core.db import SessionDep, audit_session, run_and_commit, utcnow
from app.core.errors import DomainError, problem_responses
from app.core.gate import row_gate
from app.core.schemas import RowId
from app.core.security import CurrentPrincipal, Principal
from app.inquiries import identity_reads, intake, queries
from app.inquiries.errors import (
    ACTION_REFUSALS,
    AssigneeTaken,
    ChannelNotAllowed,
    ConsultationClosed,
    FollowUpChannel,
    InquiryClosed,
    MessageIdReused,
)
from app.inquiries.models import Consultation, Inquiry
from app.inquiries.schemas import (
    AnswerIn,
    AssignIn,
    ConsultationIn,
    ConsultationReplyIn,
    ConsultationView,
    EscalateIn,
    EventList,
    FollowUpIn,
    InquiryCreate,
    InquiryDetail,
    InquiryPage,
    InquiryReceipt,
    MessageIn,
    QueueQuery,
)
from app.inquiries.workflow import Workflow, etag, load
from app.offices.units import UnknownUnit
from app.sla.policies import PolicyCache

# The collection: intake and the work queue.
router = APIRouter(prefix="/v1/inquiries", tags=["inquiries"])
# One inquiry: writes on it wait for their turn on the event loop, not in a worker thread.
inquiry_router = APIRouter(
    dependencies=[Depends(row_gate("inquiry", "inquiry_id"), scope="function")],
)

IfMatch = Annotated[
    str | None, Header(description="the ETag you read; 412 when the inquiry changed since")
]


# OpenAPI links from an inquiry (its receipt, its detail, an action's answer) to the reads
# and actions on it, with the inquiry's ETag as If-Match: clients, and Schemathesis's
# stateful phase, follow the workflow from `POST /v1/inquiries` on.
_LINKED_OPERATIONS = {
    "GetInquiry": ("get_inquiry_v1_inquiries__inquiry_id__get", False),
    "GetEvents": ("get_events_v1_inquiries__inquiry_id__events_get", False),
    "PostFollowUp": ("post_follow_up_v1_inquiries__inquiry_id__messages_post", False),
    "Assign": ("assign_v1_inquiries__inquiry_id__assign_post", True),
    "RequestInfo": ("request_info_v1_inquiries__inquiry_id__request_info_post", True),
    "Consult": ("consult_v1_inquiries__inquiry_id__consultations_post", True),
    "Answer": ("answer_v1_inquiries__inquiry_id__answer_post", True),
    "Escalate": ("escalate_v1_inquiries__inquiry_id__escalate_post", True),
    "Resolve": ("resolve_v1_inquiries__inquiry_id__resolve_post", True),
    "Close": ("close_v1_inquiries__inquiry_id__close_post", True),
    "Reopen": ("reopen_v1_inquiries__inquiry_id__reopen_post", True),
}
WORKFLOW_LINKS: dict[str, Any] = {
    name: {
        "operationId": operation_id,
        "parameters": {
            "path.inquiry_id": "$response.body#/id",
            **({"header.if-match": "$response.body#/etag"} if conditional else {}),
        },
    }
    for name, (operation_id, conditional) in _LINKED_OPERATIONS.items()
}


# From a new consultation to its reply.
CONSULTATION_LINKS: dict[str, Any] = {
    "Reply": {
        "operationId": "reply_v1_inquiries__inquiry_id__consultations__consultation_id__reply_post",
        "parameters": {
            "path.inquiry_id": "$request.path.inquiry_id",
            "path.consultation_id": "$response.body#/id",
        },
    }
}


def _action_errors(
    *more: type[DomainError], links: dict[str, Any] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The refusals of an action; ``links`` go on its 200 (the inquiry's detail)."""
    responses = problem_responses(401, 403, 404, 422, 503, errors=(*ACTION_REFUSALS, *more))
    return {200: {"links": links}, **responses} if links else responses


ACTION_ERRORS = _action_errors(links=WORKFLOW_LINKS)


def _caches(request: Request) -> tuple[CalendarCache, PolicyCache]:
    return request.app.state.calendars, request.app.state.policies


def _viewer(request: Request, session: SessionDep, principal: Principal) -> queries.Viewer:
    calendars, policies = _caches(request)
    return queries.Viewer(session, calendars, policies, principal, utcnow())


def _detail(
    request: Request,
    session: SessionDep,
    principal: Principal,
    inquiry: Inquiry,
    response: Response,
    viewer: queries.Viewer | None = None,
    parts: queries.Parts | None = None,
) -> InquiryDetail:
    viewer = viewer or _viewer(request, session, principal)
    detail = viewer.detail(inquiry, parts)
    shown = identity_reads.shown_in_full(detail)
    if shown:
        with audit_session(request, session) as audit:
            identity_reads.record(audit, principal, inquiry, shown, viewer.now)
    response.headers["ETag"] = detail.etag
    return detail


def _receipt(
    request: Request,
    session: SessionDep,
    principal: Principal,
    inquiry: Inquiry,
    response: Response,
) -> InquiryReceipt:
    receipt = _viewer(request, session, principal).receipt(inquiry)
    response.headers["ETag"] = receipt.etag
    return receipt


class Action:
    """What an action route is given (``ActionDep``): the caller, the inquiry and its
    If-Match, and the way to act on the inquiry. The inquiry is loaded and locked, the
    action done, the answer built and the transaction committed in one call to the
    thread pool; on any refusal nothing is committed."""

    def __init__(
        self,
        request: Request,
        session: SessionDep,
        principal: CurrentPrincipal,
        inquiry_id: uuid.UUID,
        response: Response,
        if_match: IfMatch = None,
    ) -> None:
        self.request, self.session, self.principal = request, session, principal
        self.inquiry_id, self.response, self.if_match = inquiry_id, response, if_match

    def _workflow(self) -> Workflow:
        calendars, policies = _caches(self.request)
        return Workflow(
            session=self.session,
            calendars=calendars,
            policies=policies,
            principal=self.principal,
            inquiry=load(self.session, self.inquiry_id, for_update=True),
            now=utcnow(),
        )

    async def detail(self, act: Callable[[Workflow], object]) -> InquiryDetail:
        """Do ``act``; the inquiry's detail after it, with its new ETag."""

        def unit() -> InquiryDetail:
            workflow = self._workflow()
            act(workflow)
            return _detail(
                self.request, self.session, self.principal, workflow.inquiry, self.response
            )

        return await run_and_commit(self.session, unit)

    async def consultation(self, act: Callable[[Workflow], Consultation]) -> ConsultationView:
        """Do ``act``; the consultation it made or answered, with the inquiry's new ETag."""

        def unit() -> ConsultationView:
            workflow = self._workflow()
            consultation = act(workflow)
            self.response.headers["ETag"] = etag(workflow.inquiry)
            return queries.consultation_view(consultation)

        return await run_and_commit(self.session, unit)


# An action's loader: the routes below are a line or two each. No I/O here, so it
# runs on the event loop; the work is one trip to the thread pool.
ActionDep = Annotated[Action, Depends()]


@router.post(
    "",
    summary="Post a new inquiry",
    status_code=status.HTTP_201_CREATED,
    response_model=InquiryReceipt,
    responses={
        201: {"links": WORKFLOW_LINKS},
        200: {
            "model": InquiryReceipt,
            "description": "Posted before: the existing inquiry",
            "links": WORKFLOW_LINKS,
        },
        **problem_responses(401, 403, 404, 409, 422, errors=[MessageIdReused, ChannelNotAllowed]),
    },
)
async def create_inquiry(
    data: InquiryCreate,
    request: Request,
    principal: CurrentPrincipal,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description="makes retries safe for clients without message ids",
        ),
    ] = None,
) -> InquiryReceipt:
    """Record a question from the public (integration or officer). Idempotent: the same
    channel message id, or `Idempotency-Key`, returns the existing inquiry with 200."""
    calendars, policies = _caches(request)
    now = utcnow()
    # The common case on the event loop; whatever it cannot decide, in the thread pool.
    posted, maybe_written = await intake.create_inquiry_at_once(
        writer=request.app.state.raw_writer,
        calendars=calendars,
        policies=policies,
        principal=principal,
        data=data,
        idempotency_key=idempotency_key,
        now=now,
    )
    if posted is None:
        async with request.app.state.request_session(request) as session:
            posted = await run_in_threadpool(
                partial(
                    intake.create_inquiry,
                    session=session,
                    calendars=calendars,
                    policies=policies,
                    principal=principal,
                    data=data,
                    idempotency_key=idempotency_key,
                    now=now,
                    maybe_written=maybe_written,
                )
            )
    receipt = posted.receipt
    if not posted.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/inquiries/{receipt.id}"
    response.headers["ETag"] = receipt.etag
    return receipt


@router.get(
    "",
    summary="List inquiries (the work queue)",
    response_model=InquiryPage,
    responses=problem_responses(401, 403, 422),
)
async def list_inquiries(
    request: Request, principal: CurrentPrincipal, query: Annotated[QueueQuery, Query()]
) -> InquiryPage:
    """The inquiries you may see, soonest due first (or `sort=-received_at`), filtered;
    pass `next_cursor` back as `cursor` for the next page."""
    return await queue_page(request, principal, query)


async def queue_page(request: Request, principal: Principal, query: QueueQuery) -> InquiryPage:
    """A page of the work queue: from memory and the event loop's connection when it
    can be, else with a request session in the thread pool."""
    calendars, policies = _caches(request)
    now = utcnow()
    viewer = queries.Viewer(None, calendars, policies, principal, now)
    found = await queries.queue_page_at_once(request.app.state.raw_writer, viewer, query)
    if found is not None:
        return found
    async with request.app.state.request_session(request) as session:
        viewer = queries.Viewer(session, calendars, policies, principal, now)
        return await run_in_threadpool(queries.queue_page, viewer, query)


@inquiry_router.get(
    "/{inquiry_id}",
    summary="Get an inquiry",
    response_model=InquiryDetail,
    responses={200: {"links": WORKFLOW_LINKS}, **problem_responses(401, 404)},
)
def get_inquiry(
    inquiry_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> InquiryDetail:
    """The inquiry with its messages, documents, consultations and SLA, and its ETag."""
    viewer = _viewer(request, session, principal)
    inquiry, parts = viewer.readable(inquiry_id)
    return _detail(request, session, principal, inquiry, response, viewer, parts)


@inquiry_router.get(
    "/{inquiry_id}/events",
    summary="The audit trail of an inquiry",
    response_model=EventList,
    responses=problem_responses(401, 404),
)
def get_events(
    inquiry_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> EventList:
    """Who did what and when, with the state before and after, oldest first."""
    inquiry = queries.get_readable(session, principal, inquiry_id)
    return EventList(items=queries.events(session, inquiry))


@inquiry_router.post(
    "/{inquiry_id}/messages",
    summary="Relay the requester's follow-up",
    status_code=status.HTTP_201_CREATED,
    response_model=InquiryReceipt,
    responses={
        200: {"model": InquiryReceipt, "description": "Posted before: nothing changed"},
        **problem_responses(
            401,
            403,
            404,
            422,
            503,
            errors=[
                MessageIdReused,
                FollowUpChannel,
                InquiryClosed,
                ChannelNotAllowed,
                *ACTION_REFUSALS,
            ],
        ),
    },
)
def post_follow_up(
    inquiry_id: uuid.UUID,
    data: FollowUpIn,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> InquiryReceipt:
    """The requester's new message, relayed by the integration of the inquiry's channel
    (which the body names); an inquiry awaiting them goes back to `in_progress` and its
    clock runs again. Idempotent by channel message id."""
    calendars, policies = _caches(request)
    inquiry, created = intake.post_follow_up(
        session=session,
        calendars=calendars,
        policies=policies,
        principal=principal,
        inquiry=load(session, inquiry_id, for_update=True),
        data=data,
        now=utcnow(),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return _receipt(request, session, principal, inquiry, response)


@inquiry_router.post(
    "/{inquiry_id}/assign",
    summary="Assign an inquiry",
    response_model=InquiryDetail,
    responses=_action_errors(AssigneeTaken, links=WORKFLOW_LINKS),
)
async def assign(
    data: AssignIn,
    act: ActionDep,
) -> InquiryDetail:
    """Give the inquiry to an officer (coordinator, supervisor; an officer to themselves)."""
    return await act.detail(lambda w: w.assign(data.assignee, act.if_match))


@inquiry_router.post(
    "/{inquiry_id}/request-info",
    summary="Ask the requester for missing data",
    response_model=InquiryDetail,
    responses=ACTION_ERRORS,
)
async def request_info(
    data: MessageIn,
    act: ActionDep,
) -> InquiryDetail:
    """Send the requester a question; the inquiry awaits them and the SLA clock pauses."""
    return await act.detail(lambda w: w.request_info(data.message, act.if_match))


@inquiry_router.post(
    "/{inquiry_id}/consultations",
    summary="Consult a coordinator, supervisor or unit",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsultationView,
    responses={201: {"links": CONSULTATION_LINKS}, **_action_errors(UnknownUnit)},
)
async def consult(
    data: ConsultationIn,
    act: ActionDep,
) -> ConsultationView:
    """Internal coordination, never shown to the requester. The response's ETag is the
    inquiry's new one."""
    return await act.consultation(lambda w: w.consult(data, act.if_match))


@inquiry_router.post(
    "/{inquiry_id}/consultations/{consultation_id}/reply",
    summary="Answer a consultation",
    response_model=ConsultationView,
    responses=_action_errors(ConsultationClosed),
)
async def reply(
    consultation_id: RowId,
    data: ConsultationReplyIn,
    act: ActionDep,
) -> ConsultationView:
    """The coordinator's, supervisor's or unit's answer to the officer. The response's
    ETag is the inquiry's new one."""
    return await act.consultation(lambda w: w.reply(consultation_id, data.answer, act.if_match))


@inquiry_router.post(
    "/{inquiry_id}/answer",
    summary="Answer the requester",
    response_model=InquiryDetail,
    responses=ACTION_ERRORS,
)
async def answer(
    data: AnswerIn,
    act: ActionDep,
) -> InquiryDetail:
    """Send the answer, by hand or from a template (its placeholders filled from the
    inquiry; ``message`` then adds text after it). The message records the template's
    version. A template that does not exist or is another office's is a 404
    `template_not_found`, an archived one a 409 `template_archived`. The first answer or
    escalation fixes the SLA outcome."""
    return await act.detail(lambda w: w.answer(data.message, act.if_match, data.template))


@inquiry_router.post(
    "/{inquiry_id}/escalate",
    summary="Escalate to a related unit",
    response_model=InquiryDetail,
    responses=_action_errors(UnknownUnit, links=WORKFLOW_LINKS),
)
async def escalate(
    data: EscalateIn,
    act: ActionDep,
) -> InquiryDetail:
    """Hand over to a unit; a ticket number `<OFFICE>-<YYYY>-<NNNNNN>` is issued and sent to
    the requester."""
    return await act.detail(lambda w: w.escalate(data, act.if_match))


@inquiry_router.post(
    "/{inquiry_id}/resolve",
    summary="Resolve an escalated ticket",
    response_model=InquiryDetail,
    responses=ACTION_ERRORS,
)
async def resolve(
    data: MessageIn,
    act: ActionDep,
) -> InquiryDetail:
    """The unit's (or a coordinator's) final answer to the requester."""
    return await act.detail(lambda w: w.resolve(data.message, act.if_match))


@inquiry_router.post(
    "/{inquiry_id}/close",
    summary="Close an inquiry",
    response_model=InquiryDetail,
    responses=ACTION_ERRORS,
)
async def close(
    act: ActionDep,
) -> InquiryDetail:
    """Close an answered or resolved inquiry."""
    return await act.detail(lambda w: w.close(act.if_match))


@inquiry_router.post(
    "/{inquiry_id}/reopen",
    summary="Reopen a closed inquiry",
    response_model=InquiryDetail,
    responses=ACTION_ERRORS,
)
async def reopen(
    act: ActionDep,
) -> InquiryDetail:
    """Take a closed inquiry up again; its SLA outcome does not change."""
    return await act.detail(lambda w: w.reopen(act.if_match))


# Under the collection's prefix and tag.
router.include_router(inquiry_router)
