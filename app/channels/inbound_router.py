"""Email in: a mail gateway posts raw messages; staff read an inquiry's mails, their raw
bytes and attachments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from app.channels.inbound import receive_email
from app.channels.mime import EmailNoSender, EmailTooLarge, EmailUnreadable
from app.channels.models import EmailAttachment, InboundEmail
from app.channels.storage import BlobNotFound, get_store
from app.core.db import SessionDep, utcnow
from app.core.errors import NotFound, problem_responses
from app.core.security import CurrentPrincipal
from app.inquiries.errors import ChannelNotAllowed
from app.inquiries.queries import get_readable

router = APIRouter(tags=["channels"])

_RESULT_EXAMPLE: dict[str, Any] = {
    "outcome": "created",
    "inquiry_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "reference": "IQ-7K3F9QX2",
    "reason": None,
}


class InboundResultView(BaseModel):
    """What became of a posted mail."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _RESULT_EXAMPLE,
                {
                    "outcome": "ignored",
                    "inquiry_id": None,
                    "reference": None,
                    "reason": "Auto-Submitted: auto-replied",
                },
            ]
        }
    )

    outcome: Literal["created", "follow_up", "duplicate", "ignored"]
    inquiry_id: uuid.UUID | None
    reference: str | None
    reason: str | None = Field(description="why the mail was ignored or is a duplicate")


class AttachmentView(BaseModel):
    """A file that came with a mail."""

    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str


class EmailView(BaseModel):
    """A mail received for the inquiry."""

    id: uuid.UUID
    message_id: str | None
    sender: str | None
    subject: str | None
    outcome: str
    reason: str | None
    inquiry_message_id: int | None
    size: int
    sha256: str
    received_at: datetime
    attachments: list[AttachmentView]


_EMAIL_EXAMPLE: dict[str, Any] = {
    "id": "6f1c2e0a-3b5d-4c8e-9f7a-1b2c3d4e5f60",
    "message_id": "CAF=abc123@mail.gmail.com",
    "sender": "cut.nyak@example.com",
    "subject": "Barang kiriman tertahan",
    "outcome": "created",
    "reason": None,
    "inquiry_message_id": 41,
    "size": 48213,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "received_at": "2026-11-23T02:00:00Z",
    "attachments": [
        {
            "id": "1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
            "filename": "invoice.pdf",
            "content_type": "application/pdf",
            "size": 40211,
            "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        }
    ],
}


class EmailList(BaseModel):
    """The inquiry's mails, oldest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EMAIL_EXAMPLE]}]})

    items: list[EmailView]


_RAW_BODY = {
    "requestBody": {
        "required": True,
        "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
    }
}


async def _raw_body(request: Request) -> bytes:
    # Read on the event loop; the endpoint itself (database work) runs in the thread pool.
    return await request.body()


@router.post(
    "/v1/channels/email/inbound",
    summary="Post a raw email",
    status_code=status.HTTP_201_CREATED,
    response_model=InboundResultView,
    responses={
        200: {"model": InboundResultView, "description": "A follow-up, duplicate or ignored"},
        **problem_responses(
            401,
            403,
            404,
            409,
            415,
            errors=[EmailTooLarge, EmailUnreadable, EmailNoSender, ChannelNotAllowed],
        ),
    },
    openapi_extra=_RAW_BODY,
)
def post_inbound_email(
    request: Request,
    raw: Annotated[bytes, Depends(_raw_body)],
    session: SessionDep,
    principal: CurrentPrincipal,
    office_code: Annotated[str, Query(min_length=1, max_length=32, examples=["KANWIL-ACEH"])],
    response: Response,
) -> InboundResultView:
    """Receive one raw RFC 5322 mail for the office: a new inquiry, a follow-up, a
    duplicate or ignored noise (201 for a new inquiry, 200 otherwise)."""
    result = receive_email(
        session=session,
        calendars=request.app.state.calendars,
        policies=request.app.state.policies,
        office_code=office_code,
        raw=raw,
        principal=principal,
        now=utcnow(),
    )
    if result.outcome != "created":
        response.status_code = status.HTTP_200_OK
    return InboundResultView(
        outcome=result.outcome,
        inquiry_id=result.inquiry_id,
        reference=result.reference,
        reason=result.reason,
    )


def _emails(session: Session, inquiry_id: uuid.UUID) -> list[EmailView]:
    rows = session.exec(
        select(InboundEmail)
        .where(InboundEmail.inquiry_id == inquiry_id)
        .order_by(col(InboundEmail.received_at), col(InboundEmail.id))
    ).all()
    files = session.exec(
        select(EmailAttachment)
        .where(EmailAttachment.inquiry_id == inquiry_id)
        .order_by(col(EmailAttachment.filename))
    ).all()
    by_mail: dict[uuid.UUID, list[AttachmentView]] = {}
    for f in files:
        by_mail.setdefault(f.inbound_email_id, []).append(
            AttachmentView(
                id=f.id,
                filename=f.filename,
                content_type=f.content_type,
                size=f.size,
                sha256=f.sha256,
            )
        )
    return [
        EmailView(
            id=r.id,
            message_id=r.message_id,
            sender=r.sender,
            subject=r.subject,
            outcome=r.outcome,
            reason=r.reason,
            inquiry_message_id=r.inquiry_message_id,
            size=r.size,
            sha256=r.raw_sha256,
            received_at=r.received_at,
            attachments=by_mail.get(r.id, []),
        )
        for r in rows
    ]


@router.get(
    "/v1/inquiries/{inquiry_id}/emails",
    summary="List an inquiry's emails",
    tags=["inquiries"],
    response_model=EmailList,
    responses=problem_responses(401, 404, 422),
)
def list_emails(
    inquiry_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> EmailList:
    """The mails received for the inquiry, with their attachments, oldest first."""
    inquiry = get_readable(session, principal, inquiry_id)
    return EmailList(items=_emails(session, inquiry.id))


_BYTES = {"description": "The stored bytes", "content": {"application/octet-stream": {}}}


@router.get(
    "/v1/inquiries/{inquiry_id}/emails/{email_id}/raw",
    summary="Download a received email",
    tags=["inquiries"],
    response_class=Response,
    responses={
        200: {
            "description": "The mail as received",
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(401, 404, 422),
    },
)
def raw_email(
    inquiry_id: uuid.UUID, email_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """The mail exactly as it was received (message/rfc822)."""
    inquiry = get_readable(session, principal, inquiry_id)
    row = session.get(InboundEmail, email_id)
    if row is None or row.inquiry_id != inquiry.id:
        raise NotFound("No such email for this inquiry.")
    data = get_store().get(row.raw_key)
    return Response(
        data,
        media_type="message/rfc822",
        headers={
            "Content-Disposition": f'attachment; filename="{row.id}.eml"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def _disposition(filename: str) -> str:
    ascii_name = "".join(
        ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in filename
    )
    return f"attachment; filename=\"{ascii_name or 'attachment'}\"; filename*=UTF-8''" + quote(
        filename, safe=""
    )


@router.get(
    "/v1/inquiries/{inquiry_id}/attachments/{attachment_id}",
    summary="Download an attachment",
    tags=["inquiries"],
    response_class=Response,
    responses={200: _BYTES, **problem_responses(401, 404, 422, errors=[BlobNotFound])},
)
def attachment(
    inquiry_id: uuid.UUID,
    attachment_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    """An attachment's bytes with its content type, always as a download."""
    inquiry = get_readable(session, principal, inquiry_id)
    row = session.get(EmailAttachment, attachment_id)
    if row is None or row.inquiry_id != inquiry.id:
        raise NotFound("No such attachment for this inquiry.")
    data = get_store().get(row.blob_key)
    return Response(
        data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": _disposition(row.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )
