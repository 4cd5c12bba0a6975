"""The full-text index's table: one row per inquiry, template and published article.

Database triggers keep the rows (migration 0012): an inquiry's at its intake, a
template's and an article's when they are saved; the answer of an inquiry is written by
:mod:`app.search.index` in the answer's transaction. The searchable form lives beside
the row: on PostgreSQL a generated ``tsvector`` column ``document`` (the question's part,
kept by a trigger in ``question_document``, and the answer's; migration 0014) with a GIN
index, on SQLite the FTS5 table ``search_fts`` (same rowid). Neither is in this model:
the migrations make them, and :func:`app.core.migrations.include_object` leaves them out
of the drift check.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, Uuid
from sqlmodel import Field, SQLModel

from app.core.db import SQLITE_FUNCTIONS, UTCDateTime
from app.search.text import document_stems

# SQLite's triggers stem the text they put into search_fts with the function PostgreSQL
# has built in; every connection of the service's engines gets it.
SQLITE_FUNCTIONS["infodesk_stems"] = document_stems


class SearchEntry(SQLModel, table=True):
    """What the index knows of one inquiry, template or article."""

    __tablename__ = "search_entry"
    __table_args__ = (
        # Candidates for ranking are the newest matches of an office and kind.
        Index("ix_search_entry_scope", "kind", "office_code", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=Column(String(12), nullable=False))  # inquiry|template|article
    inquiry_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(
            Uuid, ForeignKey("inquiry.id", ondelete="CASCADE"), nullable=True, unique=True
        ),
    )
    template_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("answer_template.id", ondelete="CASCADE"),
            nullable=True,
            unique=True,
        ),
    )
    article_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("knowledge_article.id", ondelete="CASCADE"),
            nullable=True,
            unique=True,
        ),
    )
    # Null for templates and articles of all offices.
    office_code: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    title: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    # The question (subject aside), the template's text, the article's Markdown.
    body: str = Field(sa_column=Column(Text, nullable=False))
    # An article's tags and legal references.
    keywords: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The officer's answer (or the resolution of an escalated ticket), without greeting.
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
