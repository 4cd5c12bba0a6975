"""The knowledge base: articles written by coordinators and supervisors, read by every
officer once published, each change recorded in the article's audit trail."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, cast, exists, func, literal
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session, col, select

from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, InvalidField, NotFound, PreconditionFailed
from app.core.security import Principal
from app.knowledge import access
from app.knowledge.article_models import KnowledgeArticle, KnowledgeArticleEvent
from app.knowledge.article_schemas import ArticleCreate, ArticleUpdate
from app.offices.models import Office

PAGE_LIMIT_MAX = 200


class ArticleNotFound(NotFound):
    code, title = "article_not_found", "Article not found"


class ArticleArchived(Conflict):
    code, title = "article_archived", "Article archived"


class ArticleChanged(PreconditionFailed):
    code, title = "article_changed", "Article changed"


def etag(article: KnowledgeArticle) -> str:
    """The entity tag of an article's current version."""
    return f'"article-{article.id}-v{article.version}"'


def _reads_drafts(principal: Principal, office_code: str | None) -> bool:
    if principal.cross_office:
        return True
    writer = principal.has_any(access.ARTICLE_WRITERS)
    return writer and access.may_read(principal, office_code)


def _record(
    session: Session,
    principal: Principal,
    article: KnowledgeArticle,
    action: str,
    from_status: str | None,
    details: dict[str, Any],
) -> None:
    assert article.id is not None
    session.add(
        KnowledgeArticleEvent(
            article_id=article.id,
            action=action,
            actor=principal.sub,
            actor_roles=sorted(r.value for r in principal.roles),
            version=article.version,
            from_status=from_status,
            to_status=article.status,
            details=details,
            at=article.updated_at,
        )
    )


def _check_etag(article: KnowledgeArticle, if_match: str | None) -> None:
    if if_match is None:
        return
    tags = {t.strip() for t in if_match.split(",")}
    current = etag(article)
    if current not in tags and "*" not in tags:
        raise ArticleChanged(
            "The article has changed since you read it; read it again.", current_etag=current
        )


def create_article(
    *, session: Session, principal: Principal, data: ArticleCreate
) -> KnowledgeArticle:
    """Write a new article, as a draft or published at once."""
    access.ensure_may_change(principal, data.office_code, admins=False)
    if data.office_code is not None and session.get(Office, data.office_code) is None:
        raise InvalidField("#/office_code", f"no office with code {data.office_code}")
    now = utcnow()
    article = KnowledgeArticle(
        office_code=data.office_code,
        title=data.title,
        body=data.body,
        tags=data.tags,
        legal_references=data.legal_references,
        status=data.status,
        version=1,
        published_at=now if data.status == "published" else None,
        created_by=principal.sub,
        updated_by=principal.sub,
        created_at=now,
        updated_at=now,
    )
    session.add(article)
    session.flush()
    _record(
        session,
        principal,
        article,
        "created",
        None,
        {
            "body_chars": len(data.body),
            "tags": data.tags,
            "legal_references": data.legal_references,
        },
    )
    session.flush()
    return article


def load_article(
    *, session: Session, principal: Principal, article_id: int, for_update: bool = False
) -> KnowledgeArticle:
    """The article if the caller sees it (published in scope; drafts for their writers),
    else ArticleNotFound."""
    access.ensure_reader(principal)
    article = session.get(KnowledgeArticle, article_id, with_for_update=for_update)
    if article is None or not access.may_read(principal, article.office_code):
        raise ArticleNotFound(f"No article {article_id}.")
    if article.status != "published" and not _reads_drafts(principal, article.office_code):
        raise ArticleNotFound(f"No article {article_id}.")
    return article


def list_articles(
    *,
    session: Session,
    principal: Principal,
    status: str = "published",
    office_code: str | None = None,
    tag: str | None = None,
    legal_reference: str | None = None,
    cursor: int | None = None,
    limit: int = 50,
) -> tuple[list[KnowledgeArticle], int | None]:
    """A page of the articles the caller sees, newest first, and the next page's cursor."""
    access.ensure_reader(principal)
    if status != "published" and not (
        principal.cross_office or principal.has_any(access.ARTICLE_WRITERS)
    ):
        raise Forbidden("drafts and archived articles are for their writers")
    statement = select(KnowledgeArticle).where(KnowledgeArticle.status == status)
    scope = access.readable(principal, KnowledgeArticle.office_code)
    if scope is not None:
        statement = statement.where(scope)
    if office_code is not None:
        column = col(KnowledgeArticle.office_code)
        statement = statement.where((column == office_code) | column.is_(None))
    if tag is not None:
        statement = statement.where(_contains(session, KnowledgeArticle.tags, tag.lower()))
    if legal_reference is not None:
        statement = statement.where(
            _contains(session, KnowledgeArticle.legal_references, legal_reference)
        )
    if cursor is not None:
        statement = statement.where(col(KnowledgeArticle.id) < cursor)
    statement = statement.order_by(col(KnowledgeArticle.id).desc()).limit(limit + 1)
    found = list(session.exec(statement))
    if len(found) > limit:
        return found[:limit], found[limit - 1].id
    return found, None


def _contains(session: Session, column: Any, value: str) -> Any:
    """Whether the JSON list ``column`` holds ``value``."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(col(column), JSONB).contains(cast(literal([value], JSON), JSONB))
    each = func.json_each(col(column)).table_valued("value")
    return exists(sa_select(literal(1)).select_from(each).where(each.c.value == value))


def _summary(article: KnowledgeArticle, changes: dict[str, Any]) -> dict[str, Any]:
    """What an update changes, without the text itself: field names, the body's size
    before and after, tags and references added and removed."""
    summary: dict[str, Any] = {"changed": sorted(changes)}
    if "body" in changes:
        summary["body_chars"] = [len(article.body), len(changes["body"])]
    for field in ("tags", "legal_references"):
        if field in changes:
            before, after = getattr(article, field), changes[field]
            summary[f"{field}_added"] = [v for v in after if v not in before]
            summary[f"{field}_removed"] = [v for v in before if v not in after]
    return summary


def update_article(
    *,
    session: Session,
    principal: Principal,
    article: KnowledgeArticle,
    data: ArticleUpdate,
    if_match: str | None,
) -> KnowledgeArticle:
    """Change an article (and publish it, or take it back to draft) as its next version."""
    access.ensure_may_change(principal, article.office_code, admins=False)
    _check_etag(article, if_match)
    if article.status == "archived":
        raise ArticleArchived(f"Article {article.id} is archived; restore it first.")
    changes = {
        field: value
        for field, value in data.model_dump(exclude_unset=True, exclude_none=True).items()
        if getattr(article, field) != value
    }
    if not changes:
        return article
    before = article.status
    details = _summary(article, changes)
    for field, value in changes.items():
        setattr(article, field, value)
    if article.status == "published" and before != "published":
        article.published_at = utcnow()
    action = {"published": "published", "draft": "unpublished"}.get(
        changes.get("status", ""), "updated"
    )
    return _save(session, principal, article, action, before, details)


def set_archived(
    *,
    session: Session,
    principal: Principal,
    article: KnowledgeArticle,
    archived: bool,
    if_match: str | None,
) -> KnowledgeArticle:
    """Withdraw an article from the officers (archived) or bring it back as a draft."""
    access.ensure_may_change(principal, article.office_code, admins=False)
    _check_etag(article, if_match)
    if (article.status == "archived") == archived:
        return article
    before = article.status
    article.status = "archived" if archived else "draft"
    return _save(session, principal, article, "archived" if archived else "restored", before, {})


def _save(
    session: Session,
    principal: Principal,
    article: KnowledgeArticle,
    action: str,
    before: str,
    details: dict[str, Any],
) -> KnowledgeArticle:
    article.version += 1
    article.updated_by = principal.sub
    article.updated_at = utcnow()
    session.add(article)
    _record(session, principal, article, action, before, details)
    session.flush()
    return article


def events(
    *, session: Session, principal: Principal, article: KnowledgeArticle
) -> list[KnowledgeArticleEvent]:
    """The article's audit trail, oldest first (its writers, compliance and admin)."""
    if not _reads_drafts(principal, article.office_code):
        raise Forbidden("an article's history is for its writers, compliance and admin")
    return list(
        session.exec(
            select(KnowledgeArticleEvent)
            .where(KnowledgeArticleEvent.article_id == article.id)
            .order_by(col(KnowledgeArticleEvent.id))
        )
    )
