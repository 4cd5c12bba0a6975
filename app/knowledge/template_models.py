"""Database tables of answer templates and their immutable versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


class AnswerTemplate(SQLModel, table=True):
    """A named answer of one office or of all offices (``office_code`` null); its text is
    that of its latest version."""

    __tablename__ = "answer_template"
    __table_args__ = (Index("ix_answer_template_office", "office_code", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    # Officers answer with {"template": code}: one code names one template everywhere.
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    office_code: str | None = Field(
        default=None, sa_column=Column(String(32), ForeignKey("office.code"), nullable=True)
    )
    language: str = Field(sa_column=Column(String(2), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(default=1, nullable=False)
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    updated_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class AnswerTemplateVersion(SQLModel, table=True):
    """One saved text of a template, never changed: answers name the version they used."""

    __tablename__ = "answer_template_version"
    __table_args__ = (
        UniqueConstraint("template_id", "version", name="uq_answer_template_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(sa_column=Column(ForeignKey("answer_template.id"), nullable=False))
    version: int = Field(nullable=False)
    language: str = Field(sa_column=Column(String(2), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
