"""Database tables of inbound email: every mail received (ignored ones too) and the
attachments kept with an inquiry."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class InboundEmail(SQLModel, table=True):
    """One mail received for an office, and what became of it."""

    __tablename__ = "inbound_email"
    __table_args__ = (
        # The same Message-ID twice for one office is a duplicate: the database decides,
        # also between racing posts.
        UniqueConstraint("office_code", "message_key", name="uq_inbound_email_office_message_key"),
        Index("ix_inbound_email_inquiry", "inquiry_id", "received_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    office_code: str = Field(
        sa_column=Column(String(32), ForeignKey("office.code"), nullable=False)
    )
    # The Message-ID as the mail gave it (None when it had none), and the key that
    # identifies it: SHA-256 of the id, or of the raw bytes for a mail without one.
    message_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    message_key: str = Field(sa_column=Column(String(64), nullable=False))
    sender: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    subject: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    inquiry_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid, ForeignKey("inquiry.id"), nullable=True)
    )
    inquiry_message_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("inquiry_message.id"), nullable=True)
    )
    raw_key: str = Field(sa_column=Column(String(128), nullable=False))
    raw_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    size: int = Field(nullable=False)
    received_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class EmailAttachment(SQLModel, table=True):
    """A file that came with a mail of an inquiry."""

    __tablename__ = "email_attachment"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    inquiry_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("inquiry.id"), nullable=False, index=True)
    )
    inbound_email_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("inbound_email.id"), nullable=False, index=True)
    )
    filename: str = Field(sa_column=Column(String(255), nullable=False))
    content_type: str = Field(sa_column=Column(String(127), nullable=False))
    size: int = Field(nullable=False)
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    blob_key: str = Field(sa_column=Column(String(128), nullable=False))
