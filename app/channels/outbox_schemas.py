"""Public shapes of the outbox: delivery rows and their pages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

OutboxStatus = Literal["pending", "delivered", "dead", "bounced"]

OUTBOX_EXAMPLE: JsonDict = {
    "id": 42,
    "delivery_id": "0b7f4a5e-2f1c-4a8e-9a43-6c1f1f3e9d10",
    "inquiry_id": "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f",
    "office_code": "KANWIL-ACEH",
    "kind": "answer",
    "channel": "email",
    "recipient": "budi@example.com",
    "subject": "Re: Bea masuk laptop [IQ-7K3F9QX2]",
    "status": "dead",
    "attempts": 1,
    "next_attempt_at": "2026-11-30T02:00:00Z",
    "last_error": "SMTP 550 5.1.1",
    "delivered_at": None,
    "created_at": "2026-11-30T02:00:00Z",
    "updated_at": "2026-11-30T02:00:01Z",
}


class OutboxRead(BaseModel):
    """One message for a requester and where its delivery stands."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [OUTBOX_EXAMPLE]}
    )

    id: int
    delivery_id: uuid.UUID = Field(description="the Message-ID / webhook-id of every attempt")
    inquiry_id: uuid.UUID | None
    office_code: str
    kind: str
    channel: str
    recipient: str
    subject: str | None
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class OutboxPage(BaseModel):
    """A page of outbox rows, newest first; ``next_cursor`` fetches the next page."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [OUTBOX_EXAMPLE], "next_cursor": None}]}
    )

    items: list[OutboxRead]
    next_cursor: str | None
