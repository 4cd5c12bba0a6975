"""Database table of SLA policies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, String
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow

DEFAULT_POLICY_CODE = "default"


class SlaPolicyRecord(SQLModel, table=True):
    """An SLA policy; it applies to a channel and/or an office, or to everything."""

    __tablename__ = "sla_policy"
    __table_args__ = (
        CheckConstraint("target_working_days BETWEEN 1 AND 60", name="target_working_days"),
        CheckConstraint("late_intake_minutes BETWEEN 0 AND 1440", name="late_intake_minutes"),
        CheckConstraint("warn_before_working_minutes >= 0", name="warn_before_working_minutes"),
    )

    code: str = Field(sa_column=Column(String(64), primary_key=True))
    channel: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    office_code: str | None = Field(
        default=None,
        sa_column=Column(String(32), ForeignKey("office.code", ondelete="CASCADE"), nullable=True),
    )
    target_working_days: int = Field(default=2, nullable=False)
    late_intake_minutes: int = Field(default=120, nullable=False)
    pause_when_awaiting_requester: bool = Field(default=True, nullable=False)
    warn_before_working_minutes: int = Field(default=240, nullable=False)
    resolution_target_working_days: int | None = Field(default=None, nullable=True)
    # Send the requester an automatic acknowledgement (reference and due time) on intake.
    acknowledge: bool = Field(default=True, nullable=False)
    version: int = Field(default=1, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
