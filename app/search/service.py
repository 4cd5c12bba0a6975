"""Searching the index: ranked results with snippets, and similar answered inquiries.

PostgreSQL ranks with ``ts_rank`` over the generated ``tsvector`` and makes snippets with
``ts_headline``; SQLite ranks with FTS5's ``bm25`` and makes snippets in Python. Both
match the same stems (app.search.text). On PostgreSQL the ranking looks at the newest
:data:`CANDIDATES` matches only, so that a common word costs no more than a rare one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, Text, Uuid, bindparam, text
from sqlalchemy.types import TypeEngine
from sqlmodel import Session

from app.core.db import UTCDateTime
from app.core.errors import Forbidden, InvalidField
from app.core.security import Principal
from app.inquiries.access import OFFICE_READERS
from app.inquiries.models import Inquiry
from app.search.schemas import Kind, SearchHit, SimilarInquiry
from app.search.text import (
    START_MARK,
    STOP_MARK,
    Term,
    fts5_query,
    highlight,
    query_terms,
    scrub,
    similarity_terms,
    snippet_html,
    tsquery,
)

# PostgreSQL ranks the matches among the WINDOW newest entries in scope; only when
# fewer than a page match there, the newest CANDIDATES matches of all (see _ranked).
WINDOW = 3000
CANDIDATES = 1000
# A similarity query (its question's words joined by OR) matches nearly every entry of
# the window, and ranking costs per match and word: a smaller window, fewer words.
SIMILAR_WINDOW = 1500
SIMILAR_WORDS = 10
SIMILAR = 5
_HEADLINE = f"StartSel={START_MARK}, StopSel={STOP_MARK}, MaxWords=35, MinWords=15"
_TYPES: dict[str, TypeEngine[Any]] = {
    "inquiry_id": Uuid(),
    "answered_at": UTCDateTime(),
    "score": Float(),
    "snippet": Text(),
    "answer_snippet": Text(),
}
# Weights of title, body, keywords and answer in SQLite's bm25; PostgreSQL weighs them
# by the labels A, B, A and C of its tsvector.
_BM25 = "bm25(search_fts, 10.0, 4.0, 10.0, 2.0)"


def ensure_may_search(principal: Principal) -> None:
    """Officers, coordinators, supervisors, heads of office, compliance and admins."""
    if not (principal.cross_office or principal.has_any(OFFICE_READERS)):
        raise Forbidden("your roles do not include searching answers")


def _scope(
    principal: Principal, kinds: Sequence[Kind], office_code: str | None
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"own": principal.office, "office": office_code}
    own = "" if principal.cross_office else " AND e.office_code = :own"
    shared = (
        "" if principal.cross_office else " AND (e.office_code IS NULL OR e.office_code = :own)"
    )
    if office_code is not None:
        own += " AND e.office_code = :office"
        shared += " AND (e.office_code IS NULL OR e.office_code = :office)"
    parts = []
    for kind in kinds:
        if kind == Kind.inquiry:
            parts.append(f"(e.kind = 'inquiry' AND e.answer IS NOT NULL{own})")
        else:
            parts.append(f"(e.kind = '{kind.value}'{shared})")
    return "(" + " OR ".join(parts) + ")", params


def _hit(row: Any, score: float, snippet: str, answer_snippet: str | None) -> SearchHit:
    kind = Kind(row.kind)
    if kind == Kind.inquiry:
        identifier = str(row.inquiry_id)
    elif kind == Kind.template:
        identifier = str(row.template_code)
    else:
        identifier = str(row.article_id)
    return SearchHit(
        kind=kind,
        id=identifier,
        reference=row.reference,
        office_code=row.office_code,
        title=row.title,
        snippet=snippet_html(snippet),
        answer_snippet=None if answer_snippet is None else snippet_html(answer_snippet),
        answered_at=row.answered_at,
        score=round(score, 6),
    )


_COLUMNS = (
    "e.kind, e.inquiry_id, e.article_id, e.office_code, e.title, e.answered_at,"
    " i.reference, t.code AS template_code"
)
_JOINS = (
    " LEFT JOIN inquiry i ON i.id = e.inquiry_id"
    " LEFT JOIN answer_template t ON t.id = e.template_id"
)


# The newest entries in scope, read backwards along ix_search_entry_scope (or the
# primary key), matched one by one: cheap when the query's words are common.
_RANK_RECENT = (
    "SELECT w.id, ts_rank(w.document, to_tsquery('simple', :q)) AS score FROM ("
    " SELECT e.id, e.document FROM search_entry e WHERE {scope}"
    " ORDER BY e.id DESC LIMIT :window) AS w"
    " WHERE w.document @@ to_tsquery('simple', :q)"
    " ORDER BY score DESC, w.id DESC LIMIT :limit"
)
# All matches through the GIN index: cheap when the words are rare, which is when this
# runs. "e.id + 0" keeps the planner from walking the primary key instead, which it may
# guess cheaper when it overestimates how many rows match.
_RANK_ALL = (
    "WITH candidates AS ("
    " SELECT e.id, e.document FROM search_entry e"
    " WHERE e.document @@ to_tsquery('simple', :q) AND {scope}"
    " ORDER BY e.id + 0 DESC LIMIT :candidates)"
    " SELECT c.id, ts_rank(c.document, to_tsquery('simple', :q)) AS score"
    " FROM candidates c ORDER BY score DESC, c.id DESC LIMIT :limit"
)


def _ranked(
    session: Session, scope: str, params: dict[str, Any], *, whole: bool, window: int = WINDOW
) -> list[tuple[float, int]]:
    """(score, entry id) of the best ``params["limit"]`` matches in ``scope``.

    At a million inquiries neither plan alone stays fast: a common word matches a large
    share of them, which the GIN index hands over as hundreds of thousands of rows to
    read, while a rare word needs a long walk through the newest rows. So the newest
    WINDOW entries in scope are tried first; a query that fills a page there is ranked
    among them (recent answers are the likelier to be current), and only one that does
    not, and so is rare, goes to the GIN index (``whole``: scopes too large for the
    window alone)."""
    params = params | {"window": window, "candidates": CANDIDATES}
    rows = session.execute(text(_RANK_RECENT.format(scope=scope)), params).all()
    if whole and len(rows) < params["limit"]:
        rows = session.execute(text(_RANK_ALL.format(scope=scope)), params).all()
    return [(float(score), int(entry)) for entry, score in rows]


_HEADLINES = text(
    f"SELECT e.id, {_COLUMNS},"  # noqa: S608 (constant fragments of this module only)
    " ts_headline('indonesian', infodesk_scrub(e.body), to_tsquery('simple', :q),"
    " :opts) AS snippet,"
    " CASE WHEN e.answer IS NULL THEN NULL ELSE ts_headline('indonesian',"
    " infodesk_scrub(e.answer), to_tsquery('simple', :q), :opts) END AS answer_snippet"
    f" FROM search_entry e{_JOINS} WHERE e.id = ANY(:ids)"
).columns(**_TYPES)


def _search_postgresql(
    session: Session,
    principal: Principal,
    terms: list[Term],
    kinds: Sequence[Kind],
    office_code: str | None,
    limit: int,
) -> list[SearchHit]:
    # One ranking per kind, so that each reads one (kind, office) range of
    # ix_search_entry_scope; templates and articles are few enough for the window alone.
    query = tsquery(terms)
    ranked: list[tuple[float, int]] = []
    for kind in kinds:
        scope, params = _scope(principal, [kind], office_code)
        params |= {"q": query, "limit": limit}
        ranked.extend(_ranked(session, scope, params, whole=kind == Kind.inquiry))
    ranked.sort(key=lambda r: (-r[0], -r[1]))
    top = ranked[:limit]
    if not top:
        return []
    rows = session.execute(
        _HEADLINES, {"q": query, "opts": _HEADLINE, "ids": [entry for _, entry in top]}
    ).all()
    by_id = {r.id: r for r in rows}
    return [
        _hit(by_id[entry], score, by_id[entry].snippet, by_id[entry].answer_snippet)
        for score, entry in top
    ]


def search(
    session: Session,
    principal: Principal,
    query: str,
    *,
    kinds: Sequence[Kind] = tuple(Kind),
    office_code: str | None = None,
    limit: int = 20,
) -> list[SearchHit]:
    """The best ``limit`` entries the caller may see that hold every word of ``query``."""
    ensure_may_search(principal)
    if not query.strip():
        raise InvalidField("q", "the query is empty")
    terms = query_terms(query)
    if not terms:
        return []  # only personal data or punctuation: nothing of it is indexed
    if session.get_bind().dialect.name == "postgresql":
        return _search_postgresql(session, principal, terms, kinds, office_code, limit)
    scope, params = _scope(principal, kinds, office_code)
    params["limit"] = limit
    params["q"] = fts5_query(terms)
    statement = text(
        f"SELECT -{_BM25} AS score, {_COLUMNS}, e.body AS snippet, e.answer AS answer_snippet"  # noqa: S608
        f" FROM search_fts JOIN search_entry e ON e.id = search_fts.rowid{_JOINS}"
        f" WHERE search_fts MATCH :q AND {scope} ORDER BY {_BM25} LIMIT :limit"
    ).columns(**_TYPES)
    rows = session.execute(statement, params).all()
    return [
        _hit(
            r,
            float(r.score),
            highlight(scrub(r.snippet), terms),
            None if r.answer_snippet is None else highlight(scrub(r.answer_snippet), terms),
        )
        for r in rows
    ]


def similar(session: Session, inquiry: Inquiry) -> list[SimilarInquiry]:
    """The answered inquiries of the same office most like ``inquiry``'s question."""
    terms = similarity_terms(f"{inquiry.subject or ''}\n{inquiry.message}", SIMILAR_WORDS)
    if not terms:
        return []
    params: dict[str, Any] = {"office": inquiry.office_code, "self": inquiry.id, "limit": SIMILAR}
    scope = (
        "e.kind = 'inquiry' AND e.office_code = :office AND e.answer IS NOT NULL"
        " AND e.inquiry_id <> :self"
    )
    columns = "e.inquiry_id, i.reference, e.title, e.body, e.answer, e.answered_at"
    if session.get_bind().dialect.name == "postgresql":
        params["q"] = tsquery(terms, "|")
        top = _ranked(session, scope, params, whole=True, window=SIMILAR_WINDOW)
        details = text(
            f"SELECT e.id, {columns} FROM search_entry e"  # noqa: S608 (constants only)
            " JOIN inquiry i ON i.id = e.inquiry_id WHERE e.id = ANY(:ids)"
        ).columns(**_TYPES)
        found = {r.id: r for r in session.execute(details, {"ids": [e for _, e in top]})}
        rows = [(score, found[entry]) for score, entry in top]
    else:
        params["q"] = fts5_query(terms, "OR")
        statement = text(
            f"SELECT -{_BM25} AS score, {columns}"  # noqa: S608 (constant fragments only)
            " FROM search_fts JOIN search_entry e ON e.id = search_fts.rowid"
            " JOIN inquiry i ON i.id = e.inquiry_id"
            f" WHERE search_fts MATCH :q AND {scope} ORDER BY {_BM25} LIMIT :limit"
        )
        typed = statement.bindparams(bindparam("self", type_=Uuid())).columns(**_TYPES)
        rows = [(float(r.score), r) for r in session.execute(typed, params)]
    return [
        SimilarInquiry(
            id=r.inquiry_id,
            reference=r.reference,
            subject=r.title,
            question=" ".join(scrub(r.body).split()),
            answer=scrub(r.answer).strip(),
            answered_at=r.answered_at,
            score=round(score, 6),
        )
        for score, r in rows
    ]
