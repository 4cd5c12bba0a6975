"""Database table of offices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, String
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


class Office(SQLModel, table=True):
    """A DJBC office that runs the information service."""

    __tablename__ = "office"

    code: str = Field(sa_column=Column(String(32), primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    timezone: str = Field(sa_column=Column(String(64), nullable=False))
    email: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    active: bool = Field(default=True, nullable=False)
    version: int = Field(default=1, nullable=False)
    # Working hours per weekday ({"0": [["07:30", "12:15"], ...], ...}); null: PMK 221 default.
    weekly_hours: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Bumped on every change to hours, zone or overrides, so that each process's cached
    # calendar can tell it is stale.
    calendar_version: int = Field(default=1, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class OfficeUnit(SQLModel, table=True):
    """A related unit that takes escalations and consultations from an office.

    A unit belongs to one office (``home_office_code``) and may serve several: it is
    listed in the directory of each office it serves. A unit token (role ``unit``, claims
    ``unit`` and ``office``) sees the work addressed to its code *and* home office only.
    """

    __tablename__ = "office_unit"

    office_code: str = Field(
        sa_column=Column(String(32), ForeignKey("office.code"), primary_key=True)
    )
    code: str = Field(sa_column=Column(String(64), primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    home_office_code: str = Field(
        sa_column=Column(String(32), ForeignKey("office.code"), nullable=False)
    )
