"""The audit of privacy requests: who exported or erased whose data, and retention runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


class PrivacyEvent(SQLModel, table=True):
    """One export, erasure or retention run. The person is named by a digest of the
    identifier, never the identifier itself, so that the audit outlives the erasure."""

    __tablename__ = "privacy_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    # export | erase | retention
    action: str = Field(sa_column=Column(String(16), nullable=False))
    # email | phone | nik (null for retention runs)
    subject_kind: str | None = Field(default=None, sa_column=Column(String(8)))
    subject_digest: str | None = Field(default=None, sa_column=Column(String(64)))
    reason: str | None = Field(default=None, sa_column=Column(String(500)))
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
