"""Database table of calendar overrides."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, String
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


class CalendarOverride(SQLModel, table=True):
    """A closure, an extra working day or other hours for an office over a date range."""

    __tablename__ = "calendar_override"
    __table_args__ = (
        CheckConstraint("start_date <= end_date", name="date_order"),
        CheckConstraint("kind IN ('closed', 'open')", name="kind"),
        Index("ix_calendar_override_office_dates", "office_code", "start_date", "end_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    office_code: str = Field(
        sa_column=Column(String(32), ForeignKey("office.code", ondelete="CASCADE"), nullable=False)
    )
    start_date: date = Field(nullable=False)
    end_date: date = Field(nullable=False)
    kind: str = Field(sa_column=Column(String(8), nullable=False))
    # [["08:00", "15:00"], ...] for kind "open"; empty for "closed".
    hours: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reason: str = Field(sa_column=Column(String(500), nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
