"""Webhook endpoints and the signed delivery of outbox rows to them.

An office's web-chat or social-media gateway registers one endpoint per channel; every
outbound text for a requester of that office and channel is POSTed to it as JSON, signed
by the Standard Webhooks scheme (``standardwebhooks``). The worker (app.channels.worker)
turns outbox rows into :class:`WebhookJob` values with :func:`webhook_jobs` and sends a
batch with :func:`deliver_webhooks`; each result is an :class:`Attempt` it acts on.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus

import httpx
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from standardwebhooks import Webhook

from app.channels.crypto import SecretUnreadable, decrypt, encrypt
from app.channels.outcomes import DELIVERED, NOT_SENT, Attempt
from app.channels.webhook_models import WebhookEndpoint
from app.channels.webhook_schemas import WebhookEndpointCreate
from app.core.channels import Channel
from app.core.db import utcnow
from app.core.errors import Conflict, InvalidField, NotFound
from app.inquiries.models import OutboxMessage
from app.offices.models import Office

logger = logging.getLogger("infodesk.webhooks")

SECRET_PREFIX = "whsec_"  # noqa: S105 (the scheme's prefix, not a secret)
# Every outbound text is one event type; ``data.kind`` says which text it is.
EVENT_TYPE = "message.created"
WEBHOOK_CHANNELS = frozenset({Channel.webchat, Channel.social})
DEFAULT_CONCURRENCY = 8
DEFAULT_TIMEOUT_SECONDS = 10.0
# A receiver's Retry-After is honoured up to a day; the outbox gives up after about that.
MAX_RETRY_AFTER_SECONDS = 86_400.0
RETRYABLE_STATUSES = frozenset({408, 425, 429})


class WebhookEndpointNotFound(NotFound):
    code, title = "webhook_endpoint_not_found", "Webhook endpoint not found"


class WebhookEndpointExists(Conflict):
    code, title = "webhook_endpoint_exists", "Webhook endpoint already exists"


# -- endpoints -------------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh Standard Webhooks signing secret: ``whsec_`` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def create_endpoint(
    *, session: Session, data: WebhookEndpointCreate, created_by: str
) -> tuple[WebhookEndpoint, str]:
    """Register the receiver of an office's channel; returns it and its secret (shown once)."""
    if session.get(Office, data.office_code) is None:
        raise InvalidField("#/office_code", f"unknown office {data.office_code}")
    secret = new_secret()
    secret_encrypted = encrypt(secret)  # SecretKeyMissing (409) without a key in production
    endpoint = WebhookEndpoint(
        office_code=data.office_code,
        channel=data.channel,
        url=data.url,
        description=data.description or None,
        secret_encrypted=secret_encrypted,
        created_by=created_by,
    )
    exists = WebhookEndpointExists(
        f"Office {data.office_code} already has a {data.channel} webhook endpoint; "
        "delete it first to replace it."
    )
    if _find(session, data.office_code, data.channel) is not None:
        raise exists
    try:
        # A concurrent creation for the same office and channel: the constraint decides.
        with session.begin_nested():
            session.add(endpoint)
            session.flush()
    except IntegrityError:
        raise exists from None
    return endpoint, secret


def list_endpoints(*, session: Session, office_code: str | None = None) -> list[WebhookEndpoint]:
    """Every endpoint, or those of one office, by office and channel."""
    query = select(WebhookEndpoint)
    if office_code is not None:
        query = query.where(WebhookEndpoint.office_code == office_code)
    query = query.order_by(col(WebhookEndpoint.office_code), col(WebhookEndpoint.channel))
    return list(session.exec(query))


def get_endpoint(*, session: Session, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """The endpoint ``endpoint_id``, or WebhookEndpointNotFound."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise WebhookEndpointNotFound(f"No webhook endpoint {endpoint_id}.")
    return endpoint


def delete_endpoint(*, session: Session, endpoint_id: uuid.UUID) -> None:
    """Remove an endpoint; pending messages wait (and retry) until another is registered."""
    session.delete(get_endpoint(session=session, endpoint_id=endpoint_id))
    session.flush()


def _find(session: Session, office_code: str, channel: str) -> WebhookEndpoint | None:
    return session.exec(
        select(WebhookEndpoint).where(
            WebhookEndpoint.office_code == office_code, WebhookEndpoint.channel == channel
        )
    ).first()


# -- from outbox rows to jobs ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookJob:
    """One outbox row, ready to POST: where, with which secret, and what."""

    delivery_id: uuid.UUID  # the ``webhook-id``, the same on every retry
    url: str
    secret: str  # decrypted, "whsec_..."
    created_at: datetime  # the event's time: the payload's ``timestamp``
    office_code: str
    channel: str
    channel_account: str | None
    recipient: str
    kind: str
    body: str
    inquiry_id: uuid.UUID | None = None
    reference: str | None = None
    requester_handle: str | None = None
    ticket_number: str | None = None

    def payload(self) -> str:
        """The JSON body, the same bytes on every attempt."""
        data = {
            "inquiry_id": str(self.inquiry_id) if self.inquiry_id else None,
            "reference": self.reference,
            "office_code": self.office_code,
            "channel": self.channel,
            "channel_account": self.channel_account,
            "requester_handle": self.requester_handle,
            "recipient": self.recipient,
            "kind": self.kind,
            "body": self.body,
            "ticket_number": self.ticket_number,
        }
        event = {
            "type": EVENT_TYPE,
            "timestamp": self.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": data,
        }
        return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def no_endpoint(office_code: str, channel: str) -> Attempt:
    """The attempt of a row whose office has no endpoint for its channel: retried later."""
    return Attempt(
        delivered=False,
        retryable=True,
        error=f"no webhook endpoint for office {office_code}, channel {channel}",
    )


def webhook_jobs(*, session: Session, rows: Sequence[OutboxMessage]) -> list[WebhookJob | Attempt]:
    """For each row, in order, its job; or, when it cannot be sent now, the attempt to record.

    A row whose office has no endpoint for its channel (or whose secret cannot be read)
    gets a retryable attempt: the worker backs off and tries again, so registering an
    endpoint later delivers what waited, until the row's retries run out and it dies. A
    row of a channel that is not a webhook channel is dead at once.
    """
    keys = {(r.office_code, r.channel) for r in rows if r.channel in WEBHOOK_CHANNELS}
    endpoints: dict[tuple[str, str], WebhookEndpoint] = {}
    if keys:
        offices = {office for office, _ in keys}
        found = session.exec(
            select(WebhookEndpoint).where(
                col(WebhookEndpoint.office_code).in_(offices),
                col(WebhookEndpoint.active).is_(True),
            )
        )
        endpoints = {(e.office_code, e.channel): e for e in found}
    secrets_by_endpoint: dict[uuid.UUID, str | None] = {}
    results: list[WebhookJob | Attempt] = []
    for row in rows:
        if row.channel not in WEBHOOK_CHANNELS:
            results.append(
                Attempt(delivered=False, error=f"{row.channel} is not a webhook channel")
            )
            continue
        endpoint = endpoints.get((row.office_code, row.channel))
        if endpoint is None:
            results.append(no_endpoint(row.office_code, row.channel))
            continue
        if endpoint.id not in secrets_by_endpoint:
            secrets_by_endpoint[endpoint.id] = _secret(endpoint)
        secret = secrets_by_endpoint[endpoint.id]
        if secret is None:
            results.append(
                Attempt(
                    delivered=False,
                    retryable=True,
                    error="webhook secret unreadable with INFODESK_SECRET_KEY; "
                    "register the endpoint again",
                )
            )
            continue
        results.append(
            WebhookJob(
                delivery_id=row.delivery_id,
                url=endpoint.url,
                secret=secret,
                created_at=row.created_at,
                office_code=row.office_code,
                channel=row.channel,
                channel_account=row.channel_account,
                recipient=row.recipient,
                kind=row.kind,
                body=row.body,
                inquiry_id=row.inquiry_id,
                # As written on the row: the same body on every attempt.
                reference=row.inquiry_reference,
                requester_handle=row.requester_handle,
                ticket_number=row.ticket_number,
            )
        )
    return results


def _secret(endpoint: WebhookEndpoint) -> str | None:
    try:
        return decrypt(endpoint.secret_encrypted)
    except SecretUnreadable:
        logger.error("webhook secret unreadable", extra={"endpoint": str(endpoint.id)})
        return None


# -- delivery --------------------------------------------------------------------------------


def webhook_client(
    *, timeout: float = DEFAULT_TIMEOUT_SECONDS, concurrency: int = DEFAULT_CONCURRENCY
) -> httpx.AsyncClient:
    """An HTTP client fit for :func:`deliver_webhooks` (no redirects followed)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        follow_redirects=False,
        headers={"User-Agent": "infodesk-webhooks/1"},
    )


def signed_headers(job: WebhookJob, payload: str, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt at ``now``."""
    msg_id = str(job.delivery_id)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(job.secret).sign(msg_id=msg_id, timestamp=now, data=payload),
    }


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from ``now``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def attempt_from_status(status: int, retry_after: str | None, now: datetime) -> Attempt:
    """What an HTTP status means: 2xx delivered, 408/425/429/5xx later, anything else dead."""
    if 200 <= status < 300:
        return DELIVERED
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "unknown status"
    error = f"HTTP {status} {phrase}"
    if status in RETRYABLE_STATUSES or 500 <= status < 600:
        return Attempt(
            delivered=False,
            retryable=True,
            error=error,
            retry_after=retry_after_seconds(retry_after, now),
        )
    return Attempt(delivered=False, retryable=False, error=error)


async def deliver_webhook(client: httpx.AsyncClient, job: WebhookJob) -> Attempt:
    """POST one job, signed; never raises for the receiver's or the network's faults."""
    now = utcnow()
    try:
        payload = job.payload()
        response = await client.post(
            job.url, content=payload.encode(), headers=signed_headers(job, payload, now)
        )
    except httpx.TimeoutException:
        return Attempt(delivered=False, retryable=True, error="timeout")
    except httpx.HTTPError as exc:
        return Attempt(delivered=False, retryable=True, error=f"{type(exc).__name__}")
    except Exception as exc:
        # Not the network's fault: a URL httpx cannot use (InvalidURL, IDNAError), a
        # body that cannot be built. The same every time: given up at once.
        return Attempt(delivered=False, retryable=False, error=type(exc).__name__)
    return attempt_from_status(response.status_code, response.headers.get("retry-after"), now)


async def deliver_webhooks(
    client: httpx.AsyncClient,
    jobs: Sequence[WebhookJob],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    deadline: float | None = None,
) -> list[Attempt]:
    """Deliver ``jobs`` at most ``concurrency`` at a time; the attempts in the jobs' order.
    A job not started by ``deadline`` (a ``time.monotonic()`` value) is NOT_SENT."""
    bound = asyncio.Semaphore(max(1, concurrency))

    async def one(job: WebhookJob) -> Attempt:
        async with bound:
            if deadline is not None and time.monotonic() > deadline:
                return NOT_SENT
            return await deliver_webhook(client, job)

    results = await asyncio.gather(*(one(job) for job in jobs), return_exceptions=True)
    return [failed(r) if isinstance(r, BaseException) else r for r in results]


def failed(exc: BaseException) -> Attempt:
    """The attempt of a send that raised where it should not have: tried again later."""
    return Attempt(delivered=False, retryable=True, error=f"internal error: {type(exc).__name__}")
