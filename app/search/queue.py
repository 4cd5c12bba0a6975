"""The work queue's ``q`` filter, on the search index: every inquiry is in it from its
intake (a trigger writes its row), so unanswered ones are found too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, false, text
from sqlmodel import Session, col, select

from app.inquiries.models import Inquiry
from app.search.models import SearchEntry
from app.search.text import fts5_query, query_terms, tsquery

# Up to this many matching inquiries are fetched as a list of ids; a query matching more
# is checked inquiry by inquiry along the queue's own order instead.
FEW = 1500


def text_condition(session: Session, query: str, office_code: str | None) -> Any:
    """A condition on Inquiry: its question or answer holds every word of ``query``
    (``office_code``: the caller sees only that office's, so only its rows are read)."""
    terms = query_terms(query)
    if not terms:
        return false()
    if session.get_bind().dialect.name != "postgresql":
        match = text(
            "search_entry.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH :queue_q)"
        ).bindparams(queue_q=fts5_query(terms))
        matching = select(SearchEntry.inquiry_id).where(SearchEntry.kind == "inquiry", match)
        return col(Inquiry.id).in_(matching)
    match = text("search_entry.document @@ to_tsquery('simple', :queue_q)").bindparams(
        queue_q=tsquery(terms)
    )
    matching = select(SearchEntry.inquiry_id).where(SearchEntry.kind == "inquiry", match)
    if office_code is not None:
        matching = matching.where(SearchEntry.office_code == office_code)
    # PostgreSQL's estimate of how many rows match several words is often far off (it
    # takes words as independent), and each wrong plan costs seconds at a million
    # inquiries: so the count decides. Few matches: their ids, from the GIN index.
    few = list(session.exec(matching.limit(FEW)))
    if len(few) < FEW:
        return col(Inquiry.id).in_(few) if few else false()
    # Many: the queue walks its own index and asks each inquiry's entry; OFFSET 0 keeps
    # PostgreSQL from turning this EXISTS into a join over all the matches.
    per_inquiry = (
        select(SearchEntry.id).where(SearchEntry.inquiry_id == Inquiry.id, match).offset(0)
    )
    return exists(per_inquiry)
