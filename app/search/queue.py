"""The work queue's ``q`` filter, on the search index: every inquiry is in it from its
intake (a trigger writes its row), so unanswered ones are found too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, text
from sqlmodel import Session, col, select

from app.inquiries.models import Inquiry
from app.search.models import SearchEntry
from app.search.text import fts5_query, query_terms, tsquery


def text_condition(session: Session, query: str, office_code: str | None) -> Any:
    """A condition on Inquiry: its question or answer holds every word of ``query``
    (``office_code``: the caller sees only that office's, so only its rows are read)."""
    terms = query_terms(query)
    if not terms:
        return false()
    if session.get_bind().dialect.name == "postgresql":
        match = text("search_entry.document @@ to_tsquery('simple', :queue_q)").bindparams(
            queue_q=tsquery(terms)
        )
    else:
        match = text(
            "search_entry.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH :queue_q)"
        ).bindparams(queue_q=fts5_query(terms))
    matching = select(SearchEntry.inquiry_id).where(SearchEntry.kind == "inquiry", match)
    if office_code is not None:
        matching = matching.where(SearchEntry.office_code == office_code)
    return col(Inquiry.id).in_(matching)
