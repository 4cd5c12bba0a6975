"""Knowledge-base endpoints: list, write, read, change, archive, and the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response, status

from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.security import CurrentPrincipal, Role, require_roles
from app.knowledge import articles
from app.knowledge.article_models import KnowledgeArticle
from app.knowledge.article_schemas import (
    ArticleCreate,
    ArticleEventList,
    ArticleEventRead,
    ArticlePage,
    ArticleRead,
    ArticleStatus,
    ArticleUpdate,
)
from app.offices.schemas import OfficeCode

router = APIRouter(prefix="/v1/knowledge", tags=["knowledge"])

Writers = require_roles(Role.coordinator, Role.supervisor)
IfMatch = Annotated[
    str | None, Header(description="the ETag you read; 412 when the article changed since")
]
ArticleId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _article(
    article_id: ArticleId, session: SessionDep, principal: CurrentPrincipal
) -> KnowledgeArticle:
    return articles.load_article(session=session, principal=principal, article_id=article_id)


def _article_for_update(
    article_id: ArticleId, session: SessionDep, principal: CurrentPrincipal
) -> KnowledgeArticle:
    return articles.load_article(
        session=session, principal=principal, article_id=article_id, for_update=True
    )


ArticleDep = Annotated[KnowledgeArticle, Depends(_article)]
ArticleForUpdate = Annotated[KnowledgeArticle, Depends(_article_for_update)]


def _read(article: KnowledgeArticle, response: Response | None = None) -> ArticleRead:
    if response is not None:
        response.headers["ETag"] = articles.etag(article)
    return ArticleRead.model_validate(article)


@router.get(
    "",
    summary="List knowledge-base articles",
    response_model=ArticlePage,
    responses=problem_responses(401, 403, 422),
)
def list_articles(
    session: SessionDep,
    principal: CurrentPrincipal,
    status_: Annotated[
        ArticleStatus,
        Query(alias="status", description="drafts and archived ones: their writers only"),
    ] = "published",
    office_code: Annotated[
        OfficeCode | None, Query(description="this office's articles and those for all offices")
    ] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    legal_reference: Annotated[
        str | None, Query(min_length=1, max_length=100, examples=["PMK 4/2025"])
    ] = None,
    cursor: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=articles.PAGE_LIMIT_MAX)] = 50,
) -> ArticlePage:
    """The articles the caller sees, newest first: published ones of their office and for
    all offices (compliance and admin: every office's)."""
    found, next_cursor = articles.list_articles(
        session=session,
        principal=principal,
        status=status_,
        office_code=office_code,
        tag=tag,
        legal_reference=legal_reference,
        cursor=cursor,
        limit=limit,
    )
    return ArticlePage(
        items=[_read(a) for a in found],
        next_cursor=str(next_cursor) if next_cursor is not None else None,
    )


@router.post(
    "",
    summary="Write a knowledge-base article",
    status_code=status.HTTP_201_CREATED,
    response_model=ArticleRead,
    responses=problem_responses(401, 403, 422),
    dependencies=[Writers],
)
def create_article(
    data: ArticleCreate, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> ArticleRead:
    """A new article, draft or published (coordinators and supervisors for their office,
    supervisors for all offices)."""
    article = articles.create_article(session=session, principal=principal, data=data)
    response.headers["Location"] = f"/v1/knowledge/{article.id}"
    return _read(article, response)


@router.get(
    "/{article_id}",
    summary="Get a knowledge-base article",
    response_model=ArticleRead,
    responses=problem_responses(401, 403, 422, errors=[articles.ArticleNotFound]),
)
def get_article(article: ArticleDep, response: Response) -> ArticleRead:
    """One article (`article_not_found` when the caller does not see it)."""
    return _read(article, response)


@router.patch(
    "/{article_id}",
    summary="Change a knowledge-base article",
    response_model=ArticleRead,
    responses=problem_responses(
        401,
        403,
        422,
        errors=[articles.ArticleNotFound, articles.ArticleArchived, articles.ArticleChanged],
    ),
    dependencies=[Writers],
)
def update_article(
    article: ArticleForUpdate,
    data: ArticleUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> ArticleRead:
    """Change, publish or unpublish an article; each change is a new version in its audit
    trail. An archived article is refused (`article_archived`)."""
    updated = articles.update_article(
        session=session, principal=principal, article=article, data=data, if_match=if_match
    )
    return _read(updated, response)


@router.post(
    "/{article_id}/archive",
    summary="Archive a knowledge-base article",
    response_model=ArticleRead,
    responses=problem_responses(
        401, 403, 422, errors=[articles.ArticleNotFound, articles.ArticleChanged]
    ),
    dependencies=[Writers],
)
def archive_article(
    article: ArticleForUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> ArticleRead:
    """Withdraw an article from the officers; its writers still read it."""
    archived = articles.set_archived(
        session=session, principal=principal, article=article, archived=True, if_match=if_match
    )
    return _read(archived, response)


@router.post(
    "/{article_id}/restore",
    summary="Restore an archived article as a draft",
    response_model=ArticleRead,
    responses=problem_responses(
        401, 403, 422, errors=[articles.ArticleNotFound, articles.ArticleChanged]
    ),
    dependencies=[Writers],
)
def restore_article(
    article: ArticleForUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> ArticleRead:
    """Bring an archived article back as a draft, to be published again."""
    restored = articles.set_archived(
        session=session, principal=principal, article=article, archived=False, if_match=if_match
    )
    return _read(restored, response)


@router.get(
    "/{article_id}/events",
    summary="Get an article's audit trail",
    response_model=ArticleEventList,
    responses=problem_responses(401, 403, 422, errors=[articles.ArticleNotFound]),
)
def list_events(
    article: ArticleDep, session: SessionDep, principal: CurrentPrincipal
) -> ArticleEventList:
    """Who changed the article, when, to which version, and a summary of what changed
    (never the text itself); for its writers, compliance and admin."""
    found = articles.events(session=session, principal=principal, article=article)
    return ArticleEventList(items=[ArticleEventRead.model_validate(e) for e in found])
