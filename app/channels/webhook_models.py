"""Database table of webhook endpoints: where an office's web-chat or social-media
gateway takes the messages for its requesters."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


class WebhookEndpoint(SQLModel, table=True):
    """The receiver of an office's outbound messages on one channel (webchat or social)."""

    __tablename__ = "webhook_endpoint"
    __table_args__ = (
        # One receiver per office and channel: an outbox row is one delivery to one place.
        UniqueConstraint("office_code", "channel", name="uq_webhook_endpoint_office_channel"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    office_code: str = Field(
        sa_column=Column(String(32), ForeignKey("office.code"), nullable=False)
    )
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    url: str = Field(sa_column=Column(String(2048), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    # The signing secret ("whsec_..."), Fernet-encrypted by app.channels.crypto.
    secret_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    active: bool = Field(default=True, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
