"""Search endpoints: the full-text search and an inquiry's similar answered ones."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.security import CurrentPrincipal
from app.inquiries import queries
from app.inquiries.models import Inquiry
from app.search import service
from app.search.schemas import Kind, SearchPage, SimilarList
from app.search.text import MAX_QUERY_LENGTH

router = APIRouter(tags=["search"])


def _get_readable(
    inquiry_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> Inquiry:
    service.ensure_may_search(principal)
    return queries.get_readable(session, principal, inquiry_id)


ReadableInquiry = Annotated[Inquiry, Depends(_get_readable)]


@router.get(
    "/v1/search",
    summary="Search answered inquiries, templates and articles",
    response_model=SearchPage,
    responses=problem_responses(401, 403, 422),
)
def search(
    session: SessionDep,
    principal: CurrentPrincipal,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_LENGTH)],
    kind: Annotated[list[Kind] | None, Query(description="one or more; default all")] = None,
    office_code: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> SearchPage:
    """Entries holding every word of `q` in any of its forms ("pengiriman" finds
    "kiriman" and "dikirim"), best first, with the matches in `<mark>`: the answered
    inquiries of your office (question and answer), the templates and the published
    articles of your office and of all offices."""
    hits = service.search(
        session, principal, q, kinds=kind or list(Kind), office_code=office_code, limit=limit
    )
    return SearchPage(items=hits)


@router.get(
    "/v1/inquiries/{inquiry_id}/similar",
    summary="Similar answered inquiries",
    response_model=SimilarList,
    tags=["inquiries"],
    responses=problem_responses(401, 403, 404),
)
def similar(session: SessionDep, inquiry: ReadableInquiry) -> SimilarList:
    """The five answered inquiries of the same office most like this one's question,
    with their answers to reuse (personal data removed)."""
    return SimilarList(items=service.similar(session, inquiry))
