"""Database tables of the evaluation: survey responses, complaints."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Text
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime

ELEMENT_CODES = ("u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9")


class SurveyResponse(SQLModel, table=True):
    """One requester's answers to the satisfaction survey (IKM) of one inquiry."""

    __tablename__ = "survey_response"
    __table_args__ = (
        # The reports read one office's responses over a period.
        Index("ix_survey_response_office_submitted", "office_code", "submitted_at"),
        *(CheckConstraint(f"{c} BETWEEN 1 AND 4", name=f"{c}_range") for c in ELEMENT_CODES),
    )

    id: int | None = Field(default=None, primary_key=True)
    # One response per inquiry (per survey code): the unique constraint decides a race.
    inquiry_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("inquiry.id"), nullable=False, unique=True)
    )
    office_code: str = Field(
        sa_column=Column(String(32), ForeignKey("office.code"), nullable=False)
    )
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    u1: int = Field(nullable=False)
    u2: int = Field(nullable=False)
    u3: int = Field(nullable=False)
    u4: int = Field(nullable=False)
    u5: int = Field(nullable=False)
    u6: int = Field(nullable=False)
    u7: int = Field(nullable=False)
    u8: int = Field(nullable=False)
    u9: int = Field(nullable=False)
    # The questionnaire's optional respondent profile.
    age_band: str | None = Field(default=None, sa_column=Column(String(16)))
    sex: str | None = Field(default=None, sa_column=Column(String(1)))
    education: str | None = Field(default=None, sa_column=Column(String(8)))
    occupation: str | None = Field(default=None, sa_column=Column(String(16)))
    suggestion: str | None = Field(default=None, sa_column=Column(Text))
    submitted_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
