"""The requester's own endpoint: the status of an escalation ticket, without a token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.ratelimit import limit_public
from app.inquiries import queries
from app.inquiries.schemas import PublicTicket

router = APIRouter(prefix="/v1/public", tags=["public"])


@router.get(
    "/tickets/{ticket_number}",
    summary="Status of an escalation ticket",
    response_model=PublicTicket,
    responses=problem_responses(404, 422, 429),
)
def ticket_status(
    ticket_number: str,
    request: Request,
    session: SessionDep,
    contact: Annotated[
        str,
        Query(min_length=3, max_length=254, description="the email or phone you wrote from"),
    ],
) -> PublicTicket:
    """For the requester: the ticket's status and dates, when `contact` is the email or
    phone number the inquiry came with. Rate-limited per client address."""
    # A ticket also has a budget of its own against guessing.
    limit_public(request, f"ticket:{ticket_number[:64]}")
    return queries.public_ticket(session, ticket_number[:64], contact)
