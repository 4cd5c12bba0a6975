"""Public shapes of webhook endpoint requests and responses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from app.core.channels import Channel
from app.core.schemas import Input

MAX_URL_LENGTH = 2048


def _receiver_url(value: str) -> str:
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http or https URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password; use the signing secret")
    if parts.fragment or value.endswith("#"):
        raise ValueError("must not have a fragment (#...)")
    if port == 0:
        raise ValueError("port 0 cannot be reached")
    try:
        # What the sender will do with it: a host httpx cannot encode (IDNA) is refused here.
        _ = httpx.URL(value).host
    except (httpx.InvalidURL, ValueError) as exc:
        raise ValueError(f"not a usable URL ({type(exc).__name__})") from None
    return value


def _webhook_channel(value: Channel) -> Channel:
    if value == Channel.email:
        raise ValueError("email is delivered by SMTP, never by webhook; use webchat or social")
    return value


ReceiverUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_URL_LENGTH),
    AfterValidator(_receiver_url),
    Field(
        description="http(s) URL the signed messages are POSTed to; no user info or fragment",
        examples=["https://chat-gateway.example.go.id/infodesk/messages"],
    ),
]
WebhookChannel = Annotated[
    Channel,
    AfterValidator(_webhook_channel),
    Field(description="webchat or social (email goes out by SMTP)", examples=["webchat"]),
]


class WebhookEndpointCreate(Input):
    """A new webhook endpoint for an office's channel."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "office_code": "KANWIL-ACEH",
                    "channel": "webchat",
                    "url": "https://chat-gateway.example.go.id/infodesk/messages",
                    "description": "Web-chat gateway of the Aceh regional office",
                }
            ]
        },
    )

    office_code: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    channel: WebhookChannel
    url: ReceiverUrl
    description: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=500)] = (
        None
    )


WEBHOOK_EXAMPLE: JsonDict = {
    "id": "0b6f3c1e-8d7a-4f59-9c1e-2a4b5c6d7e8f",
    "office_code": "KANWIL-ACEH",
    "channel": "webchat",
    "url": "https://chat-gateway.example.go.id/infodesk/messages",
    "description": "Web-chat gateway of the Aceh regional office",
    "active": True,
    "created_at": "2026-11-29T02:00:00Z",
    "created_by": "admin-1",
}


class WebhookEndpointRead(BaseModel):
    """A webhook endpoint as the API shows it (never with its secret)."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [WEBHOOK_EXAMPLE]}
    )

    id: uuid.UUID
    office_code: str
    channel: Channel
    url: str
    description: str | None
    active: bool
    created_at: datetime
    created_by: str


class WebhookEndpointCreated(WebhookEndpointRead):
    """A new webhook endpoint with its signing secret, shown this once only."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**WEBHOOK_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]
        }
    )

    secret: str = Field(
        description="Standard Webhooks signing secret (whsec_ + base64); store it now, "
        "it is never shown again",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookEndpointList(BaseModel):
    """Webhook endpoints, by office and channel."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [WEBHOOK_EXAMPLE]}]})

    items: list[WebhookEndpointRead]
