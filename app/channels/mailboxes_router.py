"""Office mailbox endpoints (admin): where an office's mail comes in and goes out."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.channels import mailboxes as service
from app.channels.crypto import SecretKeyMissing
from app.channels.mailbox_schemas import MailboxIn, MailboxRead
from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.security import Role, require_roles

router = APIRouter(prefix="/v1/offices", tags=["channels"])

AdminOnly = require_roles(Role.admin)


@router.put(
    "/{code}/mailbox",
    summary="Set an office's mailbox",
    response_model=MailboxRead,
    responses={
        201: {"model": MailboxRead, "description": "Created"},
        **problem_responses(401, 403, 404, 422, errors=[SecretKeyMissing]),
    },
    dependencies=[AdminOnly],
)
def put_mailbox(code: str, data: MailboxIn, session: SessionDep, response: Response) -> MailboxRead:
    """Set the office's address, IMAP and SMTP settings; a password left out is kept."""
    mailbox, created = service.put_mailbox(session=session, office_code=code, data=data)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return service.to_read(mailbox)


@router.get(
    "/{code}/mailbox",
    summary="Get an office's mailbox",
    response_model=MailboxRead,
    responses=problem_responses(401, 403, errors=[service.MailboxNotFound]),
    dependencies=[AdminOnly],
)
def get_mailbox(code: str, session: SessionDep) -> MailboxRead:
    """The office's mailbox settings and polling state, without passwords."""
    return service.to_read(service.get_mailbox(session=session, office_code=code))


@router.delete(
    "/{code}/mailbox",
    summary="Remove an office's mailbox",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, errors=[service.MailboxNotFound]),
    dependencies=[AdminOnly],
)
def delete_mailbox(code: str, session: SessionDep) -> Response:
    """Stop reading and sending the office's mail through its own mailbox."""
    service.delete_mailbox(session=session, office_code=code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
