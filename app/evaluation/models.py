"""Database tables of the evaluation: survey responses, complaints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, String, Text
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow

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


class ComplaintCategory(SQLModel, table=True):
    """A kind of complaint and its response target in working days (SP4N-LAPOR defaults,
    seeded by the migration; change a row to change the target)."""

    __tablename__ = "complaint_category"
    __table_args__ = (CheckConstraint("target_working_days >= 1", name="target_positive"),)

    code: str = Field(sa_column=Column(String(32), primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    target_working_days: int = Field(nullable=False)


class Complaint(SQLModel, table=True):
    """A complaint (pengaduan) about the service, handled by internal compliance."""

    __tablename__ = "complaint"
    __table_args__ = (
        # The compliance work list: one office's open complaints by due time.
        Index("ix_complaint_office_status_due", "office_code", "status", "due_at"),
        Index("ix_complaint_office_received", "office_code", "received_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # ADU-<OFFICE>-<YYYY>-<NNNNNN>, gap-free per office and year.
    number: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    office_code: str = Field(
        sa_column=Column(String(32), ForeignKey("office.code"), nullable=False)
    )
    # web, sipuma, mailbox, bravo_1500225, fax, letter, in_person
    source: str = Field(sa_column=Column(String(16), nullable=False))
    category: str = Field(
        sa_column=Column(String(32), ForeignKey("complaint_category.code"), nullable=False)
    )
    name: str = Field(sa_column=Column(String(200), nullable=False))
    email: str | None = Field(default=None, sa_column=Column(String(254)))
    phone: str | None = Field(default=None, sa_column=Column(String(20)))
    # As the complainant gave it: an inquiry reference or ticket number.
    reference: str | None = Field(default=None, sa_column=Column(String(64)))
    # Linked only when the contact matches the inquiry's requester.
    inquiry_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("inquiry.id"), nullable=True, index=True)
    )
    message: str = Field(sa_column=Column(Text, nullable=False))
    # received | in_review | responded | closed
    status: str = Field(sa_column=Column(String(16), nullable=False))
    received_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    first_response_due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # How both due times were reached (day 1, counted and skipped days), as computed.
    due_explanation: str = Field(sa_column=Column(Text, nullable=False))
    first_responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    response: str | None = Field(default=None, sa_column=Column(Text))
    # outbox (queued for email) | not_sent (no email address: the service cannot send it)
    response_delivery: str | None = Field(default=None, sa_column=Column(String(16)))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    version: int = Field(default=1, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ComplaintCounter(SQLModel, table=True):
    """The last complaint number issued per office and year."""

    __tablename__ = "complaint_counter"

    office_code: str = Field(
        sa_column=Column(String(32), ForeignKey("office.code"), primary_key=True)
    )
    year: int = Field(primary_key=True)
    last_value: int = Field(default=0, nullable=False)


class ComplaintEvent(SQLModel, table=True):
    """One entry of a complaint's audit trail."""

    __tablename__ = "complaint_event"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: uuid.UUID = Field(foreign_key="complaint.id", nullable=False, index=True)
    action: str = Field(sa_column=Column(String(32), nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    actor_roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    from_status: str | None = Field(default=None, sa_column=Column(String(16)))
    to_status: str | None = Field(default=None, sa_column=Column(String(16)))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
