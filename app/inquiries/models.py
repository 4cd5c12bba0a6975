"""Database tables of inquiries, their messages, documents, consultations, audit events,
the outbound message outbox and the escalation ticket counters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


class Inquiry(SQLModel, table=True):
    """An information request from the public and its SLA clock."""

    __tablename__ = "inquiry"
    __table_args__ = (
        # The work queue and the recomputation after a calendar change.
        Index("ix_inquiry_office_status_due", "office_code", "status", "due_at", "id"),
        Index("ix_inquiry_office_due", "office_code", "due_at", "id"),
        Index("ix_inquiry_office_received", "office_code", "received_at", "id"),
        # The reports read these columns only (index-only scans): the SLA report by
        # receipt, the officers' report and the IKM's served count by first response.
        Index(
            "ix_inquiry_report_received",
            "office_code",
            "received_at",
            "channel",
            "sla_outcome",
            "first_response_at",
            "due_at",
        ),
        Index(
            "ix_inquiry_report_first_response",
            "office_code",
            "first_response_at",
            "first_responder",
            "sla_outcome",
            "first_response_working_seconds",
            "answered_at",
            "escalated_at",
            "channel",
            "id",
        ),
        Index("ix_inquiry_escalated_unit", "escalated_unit_code", "status"),
        # The retention job's search: closed long ago, not yet anonymised.
        Index("ix_inquiry_closed_at", "closed_at"),
        UniqueConstraint("created_by", "idempotency_key", name="uq_inquiry_idempotency"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    reference: str = Field(sa_column=Column(String(16), nullable=False, unique=True))
    office_code: str = Field(
        sa_column=Column(String(32), ForeignKey("office.code"), nullable=False)
    )
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    channel_account: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    policy_code: str = Field(
        sa_column=Column(String(64), ForeignKey("sla_policy.code"), nullable=False)
    )
    status: str = Field(sa_column=Column(String(24), nullable=False))
    subject: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    # The requester's first message, kept here too for the queue's text search.
    message: str = Field(default="", sa_column=Column(Text, nullable=False))

    requester_name: str = Field(sa_column=Column(String(200), nullable=False))
    requester_email: str | None = Field(default=None, sa_column=Column(String(254)))
    requester_phone: str | None = Field(default=None, sa_column=Column(String(20)))
    requester_handle: str | None = Field(default=None, sa_column=Column(String(100)))
    requester_nik: str | None = Field(default=None, sa_column=Column(String(16)))
    requester_npwp: str | None = Field(default=None, sa_column=Column(String(16)))
    requester_organization: str | None = Field(default=None, sa_column=Column(String(200)))

    assignee: str | None = Field(default=None, sa_column=Column(String(200), index=True))
    received_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # The latest instant at which the inquiry is still on track (then "at risk").
    at_risk_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # Working time spent awaiting the requester in finished pauses; extends due_at.
    paused_working_seconds: int = Field(default=0, nullable=False)
    awaiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # Fixed by the first answer or escalation notice; never changed afterwards.
    first_response_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    sla_outcome: str | None = Field(default=None, sa_column=Column(String(8), nullable=True))
    # Who gave the first answer or escalation notice, and the working time it took (office
    # calendar, pauses awaiting the requester left out): the officer report's figures.
    first_responder: str | None = Field(default=None, sa_column=Column(String(200)))
    first_response_working_seconds: int | None = Field(default=None, nullable=True)

    ticket_number: str | None = Field(
        default=None, sa_column=Column(String(64), nullable=True, unique=True)
    )
    escalated_unit_code: str | None = Field(default=None, sa_column=Column(String(64)))
    # The home office of the unit escalated to (from the office's unit directory): a unit
    # token sees the ticket only with this office in its claims.
    escalated_unit_office: str | None = Field(default=None, sa_column=Column(String(32)))
    # When the requester's personal data was removed (on request or after the retention
    # period); what is left serves statistics and the audit trail.
    anonymised_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # The inquiry this one continues: a follow-up to one closed longer ago than
    # INFODESK_REOPEN_DAYS starts a new inquiry instead of reopening it.
    previous_inquiry_id: uuid.UUID | None = Field(default=None, nullable=True)
    # The last reopening; unit work from before it is no longer the unit's to see.
    reopened_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    survey_code: str = Field(sa_column=Column(String(32), nullable=False, unique=True))

    idempotency_key: str | None = Field(default=None, sa_column=Column(String(200)))
    # SHA-256 of the request that used the key: the same key with another body is refused.
    idempotency_fingerprint: str | None = Field(default=None, sa_column=Column(String(64)))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    version: int = Field(default=1, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class InquiryMessage(SQLModel, table=True):
    """A message of an inquiry: from the requester (inbound) or to them (outbound)."""

    __tablename__ = "inquiry_message"
    __table_args__ = (
        # A channel's message id identifies one inbound message of an office: posting it
        # again is a no-op. Offices' integrations may number their messages alike.
        UniqueConstraint(
            "office_code", "channel", "channel_message_id", name="uq_inquiry_message_channel_id"
        ),
        Index("ix_inquiry_message_inquiry", "inquiry_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    inquiry_id: uuid.UUID = Field(foreign_key="inquiry.id", nullable=False)
    office_code: str = Field(sa_column=Column(String(32), nullable=False))
    direction: str = Field(sa_column=Column(String(8), nullable=False))  # inbound | outbound
    kind: str = Field(sa_column=Column(String(24), nullable=False))
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    channel_message_id: str | None = Field(default=None, sa_column=Column(String(200)))
    body: str = Field(sa_column=Column(Text, nullable=False))
    author: str | None = Field(default=None, sa_column=Column(String(200)))
    # The answer template and version the body was filled from (app.knowledge, a package
    # above this one, owns those tables: no foreign key from here). The body is the text
    # as sent; versions are never changed, so both stay true.
    template_id: int | None = Field(default=None, nullable=True)
    template_code: str | None = Field(default=None, sa_column=Column(String(64)))
    template_version: int | None = Field(default=None, nullable=True)
    sent_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class InquiryDocument(SQLModel, table=True):
    """A customs document the requester referred to."""

    __tablename__ = "inquiry_document"

    id: int | None = Field(default=None, primary_key=True)
    inquiry_id: uuid.UUID = Field(foreign_key="inquiry.id", nullable=False, index=True)
    type: str = Field(sa_column=Column(String(16), nullable=False))
    number: str = Field(sa_column=Column(String(100), nullable=False))
    legacy: bool = Field(default=False, nullable=False)


class Consultation(SQLModel, table=True):
    """Internal coordination with a coordinator, supervisor or related unit."""

    __tablename__ = "consultation"

    id: int | None = Field(default=None, primary_key=True)
    inquiry_id: uuid.UUID = Field(foreign_key="inquiry.id", nullable=False, index=True)
    with_role: str = Field(sa_column=Column(String(16), nullable=False))
    unit_code: str | None = Field(default=None, sa_column=Column(String(64)))
    unit_office_code: str | None = Field(default=None, sa_column=Column(String(32)))
    question: str = Field(sa_column=Column(Text, nullable=False))
    asked_by: str = Field(sa_column=Column(String(200), nullable=False))
    asked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    answer: str | None = Field(default=None, sa_column=Column(Text))
    answered_by: str | None = Field(default=None, sa_column=Column(String(200)))
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class InquiryEvent(SQLModel, table=True):
    """One entry of an inquiry's audit trail."""

    __tablename__ = "inquiry_event"

    id: int | None = Field(default=None, primary_key=True)
    inquiry_id: uuid.UUID = Field(foreign_key="inquiry.id", nullable=False, index=True)
    action: str = Field(sa_column=Column(String(32), nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    actor_roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    from_status: str | None = Field(default=None, sa_column=Column(String(24)))
    to_status: str | None = Field(default=None, sa_column=Column(String(24)))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class OutboxMessage(SQLModel, table=True):
    """A message for the requester, written with the state change, delivered later by the
    worker (app.channels.worker). Rows without an inquiry carry texts of other packages
    (complaint responses); they still name the office whose sender they go out as."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        # Claiming: due pending rows, oldest first.
        Index("ix_outbox_message_pending", "status", "next_attempt_at"),
        # Per inquiry, rows go out in the order they were written.
        Index("ix_outbox_message_inquiry_order", "inquiry_id", "id"),
        # Claiming asks, per candidate, whether an earlier row of its inquiry is pending.
        Index(
            "ix_outbox_message_inquiry_pending",
            "inquiry_id",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_outbox_message_office_status", "office_code", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: uuid.UUID = Field(default_factory=uuid.uuid4, nullable=False, unique=True)
    inquiry_id: uuid.UUID | None = Field(default=None, foreign_key="inquiry.id", nullable=True)
    message_id: int | None = Field(default=None, foreign_key="inquiry_message.id", nullable=True)
    office_code: str = Field(sa_column=Column(String(32), nullable=False))
    # acknowledgement, info_request, answer, escalation_notice, resolution,
    # complaint_response, ...
    kind: str = Field(sa_column=Column(String(24), nullable=False))
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    channel_account: str | None = Field(default=None, sa_column=Column(String(200)))
    recipient: str = Field(sa_column=Column(String(254), nullable=False))
    subject: str | None = Field(default=None, sa_column=Column(String(300)))
    body: str = Field(sa_column=Column(Text, nullable=False))
    # The inquiry's details as the row was written: a webhook body built from the row
    # alone is the same bytes on every attempt, whatever happens to the inquiry since.
    inquiry_reference: str | None = Field(default=None, sa_column=Column(String(16)))
    requester_handle: str | None = Field(default=None, sa_column=Column(String(100)))
    ticket_number: str | None = Field(default=None, sa_column=Column(String(64)))
    # pending | delivered | dead | bounced
    status: str = Field(default="pending", sa_column=Column(String(12), nullable=False))
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # The lease of the worker delivering the row: others leave it alone until it expires.
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    locked_by: str | None = Field(default=None, sa_column=Column(String(100)))
    last_error: str | None = Field(default=None, sa_column=Column(String(500)))
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # Set when a dead or bounced row is sent again: its retries count from then.
    requeued_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class TicketCounter(SQLModel, table=True):
    """The last escalation ticket number issued per office and year."""

    __tablename__ = "ticket_counter"

    office_code: str = Field(
        sa_column=Column(String(32), ForeignKey("office.code"), primary_key=True)
    )
    year: int = Field(primary_key=True)
    last_value: int = Field(default=0, nullable=False)
