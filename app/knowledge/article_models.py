"""Database tables of knowledge-base articles and their audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Text
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


class KnowledgeArticle(SQLModel, table=True):
    """An article of the knowledge base, of one office or of all offices."""

    __tablename__ = "knowledge_article"
    __table_args__ = (
        # Officers list the published articles of their office and of all offices.
        Index("ix_knowledge_article_status_office", "status", "office_code", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    office_code: str | None = Field(
        default=None, sa_column=Column(String(32), ForeignKey("office.code"), nullable=True)
    )
    title: str = Field(sa_column=Column(String(300), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))  # Markdown
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Legal bases such as "PMK 4/2025" or "PER-2/BC/2023".
    legal_references: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    status: str = Field(sa_column=Column(String(12), nullable=False))  # draft|published|archived
    version: int = Field(default=1, nullable=False)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    updated_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class KnowledgeArticleEvent(SQLModel, table=True):
    """One change of an article: who, when, which version, and a summary of what changed
    (field names and sizes, never the text itself)."""

    __tablename__ = "knowledge_article_event"

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(
        sa_column=Column(ForeignKey("knowledge_article.id"), nullable=False, index=True)
    )
    action: str = Field(sa_column=Column(String(24), nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    actor_roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    version: int = Field(nullable=False)
    from_status: str | None = Field(default=None, sa_column=Column(String(12)))
    to_status: str | None = Field(default=None, sa_column=Column(String(12)))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
