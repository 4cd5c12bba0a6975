"""Keeping the index current: answers as they are given, and the whole index rebuilt.

Questions, templates and articles reach ``search_entry`` by the triggers of migration
0010, in the transaction that writes them. Answers are written here, in the answer's
transaction, through the listener that :func:`install` registers with the inquiries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Connection, Text, Uuid, bindparam, text
from sqlmodel import Session

from app.core.db import UTCDateTime
from app.inquiries import hooks
from app.inquiries.models import Inquiry
from app.search import queue
from app.search.models import SearchEntry
from app.search.text import officer_text


def _without_name(answer: str, name: str | None) -> str:
    # A template's {{nama}} puts the requester's name into the answer; it is not indexed.
    if not name or len(name.strip()) < 2:
        return answer
    return re.sub(re.escape(name.strip()), " ", answer, flags=re.IGNORECASE)


_TABLE = SearchEntry.__table__  # type: ignore[attr-defined]
# Built once: a statement made per call costs SQLAlchemy its construction and cache key
# on every answer (one UPDATE through the session's connection, PostgreSQL, CPU per call:
# 211 us made per call, 109 us built once; the indexing listener was 8-12% of an answer).
_SET_ANSWER = (
    _TABLE.update()
    .where(_TABLE.c.inquiry_id == bindparam("inquiry"))
    .values(answer=bindparam("answer"), answered_at=bindparam("at"))
)
_NEW_ENTRY = _TABLE.insert().values(
    kind="inquiry",
    inquiry_id=bindparam("inquiry"),
    office_code=bindparam("office"),
    title=bindparam("title"),
    body=bindparam("body"),
    answer=bindparam("answer"),
    answered_at=bindparam("at"),
)


def index_answer(session: Session, inquiry: Inquiry, answer: str, at: datetime) -> None:
    """Make the inquiry findable by its question and this answer (the latest one wins)."""
    values = {
        "inquiry": inquiry.id,
        "answer": _without_name(answer, inquiry.requester_name),
        "at": at,
    }
    # On the session's connection, which does not flush: the inquiry's pending changes
    # are flushed by the workflow with the rest, not once more here (an extra UPDATE of
    # the inquiry and of its many indexes).
    connection = session.connection()
    if connection.execute(_SET_ANSWER, values).rowcount == 0:
        values |= {"office": inquiry.office_code, "title": inquiry.subject, "body": inquiry.message}
        connection.execute(_NEW_ENTRY, values)


def install() -> None:
    """Register the index's listeners with the inquiries (idempotent)."""
    hooks.on_answer(index_answer)
    hooks.set_text_filter(queue.text_condition)


_KEYWORDS = {
    "postgresql": (
        "(SELECT string_agg(value, ' ') FROM ("
        " SELECT json_array_elements_text(a.tags) AS value"
        " UNION ALL SELECT json_array_elements_text(a.legal_references)) AS k)"
    ),
    "sqlite": (
        "(SELECT group_concat(value, ' ') FROM ("
        " SELECT value FROM json_each(a.tags)"
        " UNION ALL SELECT value FROM json_each(a.legal_references)))"
    ),
}


def _answers(connection: Connection, batch: int) -> Iterator[dict[str, object]]:
    query = text(
        "SELECT m.inquiry_id, m.body, m.sent_at, i.requester_name"
        " FROM inquiry_message m JOIN inquiry i ON i.id = m.inquiry_id"
        " WHERE m.kind IN ('answer', 'resolution')"
        " ORDER BY m.inquiry_id, m.sent_at, m.id"
    ).columns(inquiry_id=Uuid(), body=Text(), sent_at=UTCDateTime(), requester_name=Text())
    rows = connection.execute(query.execution_options(stream_results=True, yield_per=batch))
    current: dict[str, object] | None = None
    for inquiry_id, body, sent_at, name in rows:
        if current is not None and current["inquiry"] != inquiry_id:
            yield current
        current = {
            "inquiry": inquiry_id,
            "answer": _without_name(officer_text(body), name),
            "at": sent_at,
        }
    if current is not None:
        yield current


def rebuild(connection: Connection, batch: int = 5000) -> int:
    """Index every inquiry, active template and published article afresh; the number of
    entries made. Runs in the caller's transaction."""
    dialect = connection.dialect.name
    connection.execute(text("DELETE FROM search_entry"))
    connection.execute(
        text(
            "INSERT INTO search_entry (kind, inquiry_id, office_code, title, body)"
            " SELECT 'inquiry', id, office_code, subject, message FROM inquiry"
        )
    )
    connection.execute(
        text(
            "INSERT INTO search_entry (kind, template_id, office_code, title, body)"
            " SELECT 'template', id, office_code, title, body FROM answer_template"
            " WHERE archived_at IS NULL"
        )
    )
    connection.execute(
        text(
            "INSERT INTO search_entry (kind, article_id, office_code, title, body, keywords)"  # noqa: S608
            f" SELECT 'article', a.id, a.office_code, a.title, a.body, {_KEYWORDS[dialect]}"
            " FROM knowledge_article a WHERE a.status = 'published'"
        )
    )
    table = SearchEntry.__table__  # type: ignore[attr-defined]
    statement = (
        table.update()
        .where(table.c.inquiry_id == bindparam("inquiry"))
        .values(answer=bindparam("answer"), answered_at=bindparam("at"))
    )
    pending: list[dict[str, object]] = []
    for row in _answers(connection, batch):
        pending.append(row)
        if len(pending) == batch:
            connection.execute(statement, pending)
            pending = []
    if pending:
        connection.execute(statement, pending)
    count = connection.execute(text("SELECT count(*) FROM search_entry")).scalar_one()
    return int(count)
