"""The outbox for supervisors and administrators (and, for complaint responses only,
internal compliance): what went out, what waits, what failed, and sending a failed
message again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.channels import outbox
from app.channels.outbox_schemas import OutboxPage, OutboxRead, OutboxStatus
from app.core.db import SessionDep, utcnow
from app.core.errors import problem_responses
from app.core.schemas import RowId
from app.core.security import CurrentPrincipal, Role, require_roles

router = APIRouter(prefix="/v1/outbox", tags=["channels"])

Keepers = require_roles(Role.admin, Role.supervisor, Role.compliance)


@router.get(
    "",
    summary="List outbox messages",
    response_model=OutboxPage,
    responses=problem_responses(401, 403, 422, errors=[outbox.OutboxOfficeForbidden]),
    dependencies=[Keepers],
)
def list_outbox(
    session: SessionDep,
    principal: CurrentPrincipal,
    status: Annotated[OutboxStatus | None, Query(description="only rows in this state")] = None,
    office_code: Annotated[
        str | None, Query(max_length=32, description="only this office (admin: any office)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=64, description="from next_cursor")] = None,
) -> OutboxPage:
    """Messages for requesters with attempts and last error, newest first (admin,
    supervisor; compliance: complaint responses only)."""
    rows, next_cursor = outbox.list_outbox(
        session=session,
        principal=principal,
        status=status,
        office_code=office_code,
        limit=limit,
        cursor=cursor,
    )
    return OutboxPage(items=[OutboxRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/{outbox_id}/retry",
    summary="Send a dead or bounced message again",
    response_model=OutboxRead,
    responses=problem_responses(
        401,
        403,
        422,
        errors=[
            outbox.OutboxMessageNotFound,
            outbox.OutboxNotRetryable,
            outbox.OutboxOfficeForbidden,
        ],
    ),
    dependencies=[Keepers],
)
def retry_outbox_message(
    outbox_id: RowId,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> OutboxRead:
    """Make a dead or bounced message pending again, same delivery id (admin, supervisor;
    compliance: complaint responses only)."""
    row = outbox.retry(session=session, principal=principal, outbox_id=outbox_id, now=utcnow())
    return OutboxRead.model_validate(row)
