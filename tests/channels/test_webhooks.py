"""Webhook endpoints through the API, and signed delivery to a real HTTP receiver on
loopback that verifies every signature with ``standardwebhooks``."""

from __future__ import annotations

import asyncio
import base64
import socket
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.channels.crypto import decrypt
from app.channels.outcomes import Attempt
from app.channels.webhook_models import WebhookEndpoint
from app.channels.webhooks import (
    WebhookJob,
    deliver_webhooks,
    retry_after_seconds,
    webhook_client,
    webhook_jobs,
)
from app.inquiries.models import OutboxMessage
from tests.channels.receiver import Receiver, Reply
from tests.conftest import TokenFactory

OFFICE = "KANWIL-ACEH"
RECEIVER_URL = "https://chat-gateway.example.go.id/infodesk/messages"


def register(client: TestClient, auth: TokenFactory, **overrides: Any) -> dict[str, Any]:
    body = {"office_code": OFFICE, "channel": "webchat", "url": RECEIVER_URL, **overrides}
    response = client.post("/v1/webhooks", json=body, headers=auth("admin", office=None))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


# -- endpoints through the API ---------------------------------------------------------------


def test_secret_is_shown_once_and_stored_encrypted(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    created = register(client, auth, description="Gateway web-chat Aceh")
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert created["channel"] == "webchat"
    assert created["created_by"] == "u1"
    assert created["active"] is True

    admin = auth("admin", office=None)
    one = client.get(f"/v1/webhooks/{created['id']}", headers=admin)
    assert one.status_code == 200, one.text
    assert "secret" not in one.json()
    assert one.json() == {k: v for k, v in created.items() if k != "secret"}
    listed = client.get("/v1/webhooks", params={"office_code": OFFICE}, headers=admin)
    assert listed.status_code == 200
    assert [e["id"] for e in listed.json()["items"]] == [created["id"]]
    assert secret not in listed.text
    assert client.get("/v1/webhooks", params={"office_code": "KPPBC-X"}, headers=admin).json() == {
        "items": []
    }

    stored = session.get(WebhookEndpoint, uuid.UUID(created["id"]))
    assert stored is not None
    assert secret not in stored.secret_encrypted
    assert decrypt(stored.secret_encrypted) == secret
    # Another endpoint gets another secret.
    social = register(client, auth, channel="social")
    assert social["secret"] != secret


def test_one_endpoint_per_office_and_channel(client: TestClient, auth: TokenFactory) -> None:
    first = register(client, auth)
    again = client.post(
        "/v1/webhooks",
        json={"office_code": OFFICE, "channel": "webchat", "url": RECEIVER_URL + "/2"},
        headers=auth("admin", office=None),
    )
    assert again.status_code == 409
    assert again.json()["code"] == "webhook_endpoint_exists"
    admin = auth("admin", office=None)
    deleted = client.delete(f"/v1/webhooks/{first['id']}", headers=admin)
    assert deleted.status_code == 204
    assert deleted.content == b""
    gone = client.get(f"/v1/webhooks/{first['id']}", headers=admin)
    assert gone.status_code == 404
    assert gone.json()["code"] == "webhook_endpoint_not_found"
    assert client.delete(f"/v1/webhooks/{first['id']}", headers=admin).status_code == 404
    # After the delete the office's channel takes a new one.
    assert register(client, auth, url=RECEIVER_URL + "/2")["url"] == RECEIVER_URL + "/2"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://gateway.example.go.id/hooks",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "gateway.example.go.id/hooks",
        "https://",
        "https:///hooks",
        "https://user:secret@gateway.example.go.id/hooks",
        "https://user@gateway.example.go.id/hooks",
        "https://gateway.example.go.id/hooks#top",
        "https://gateway.example.go.id/hooks#",
        "https://gateway.example.go.id:99999/hooks",
        "https://gateway.example.go.id:0/hooks",
        "https://gateway.example.go.id/ho oks",
        "https://gateway.example.go.id/\nhooks",
        "",
        "https://gateway.example.go.id/" + "a" * 2100,
        "http://exämple..com/",
        "http://xn--zz.com/",
    ],
)
def test_a_url_that_is_not_http_is_422_naming_the_url(
    client: TestClient, auth: TokenFactory, url: str
) -> None:
    response = client.post(
        "/v1/webhooks",
        json={"office_code": OFFICE, "channel": "webchat", "url": url},
        headers=auth("admin", office=None),
    )
    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["#/url"]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"channel": "email"}, "#/channel"),
        ({"channel": "fax"}, "#/channel"),
        ({"office_code": "KPPBC-NOWHERE"}, "#/office_code"),
        ({"office_code": None}, "#/office_code"),
        ({"description": "x" * 501}, "#/description"),
        ({"secret": "whsec_mine"}, "#/secret"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(
    client: TestClient, auth: TokenFactory, body: dict[str, Any], pointer: str
) -> None:
    response = client.post(
        "/v1/webhooks",
        json={"office_code": OFFICE, "channel": "webchat", "url": RECEIVER_URL, **body},
        headers=auth("admin", office=None),
    )
    assert response.status_code == 422, response.text
    assert pointer in [e["pointer"] for e in response.json()["errors"]]


def test_email_is_refused_with_a_reason(client: TestClient, auth: TokenFactory) -> None:
    response = client.post(
        "/v1/webhooks",
        json={"office_code": OFFICE, "channel": "email", "url": RECEIVER_URL},
        headers=auth("admin", office=None),
    )
    assert response.status_code == 422
    assert "SMTP" in response.json()["detail"]


@pytest.mark.parametrize(
    "roles", [("officer",), ("supervisor",), ("integration",), ("compliance",), ("head",)]
)
def test_only_admins_manage_webhooks(
    client: TestClient, auth: TokenFactory, roles: tuple[str, ...]
) -> None:
    created = register(client, auth)
    headers = auth(*roles)
    body = {"office_code": OFFICE, "channel": "social", "url": RECEIVER_URL}
    assert client.post("/v1/webhooks", json=body, headers=headers).status_code == 403
    assert client.get("/v1/webhooks", headers=headers).status_code == 403
    assert client.get(f"/v1/webhooks/{created['id']}", headers=headers).status_code == 403
    assert client.delete(f"/v1/webhooks/{created['id']}", headers=headers).status_code == 403
    assert client.get("/v1/webhooks").status_code == 401
    assert client.get(f"/v1/webhooks/{created['id']}", headers=auth("admin")).status_code == 200


def test_unknown_or_malformed_ids(client: TestClient, auth: TokenFactory) -> None:
    admin = auth("admin", office=None)
    assert client.get(f"/v1/webhooks/{uuid.uuid4()}", headers=admin).status_code == 404
    malformed = client.get("/v1/webhooks/not-a-uuid", headers=admin)
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["parameter"] == "endpoint_id"


# -- delivery to a real receiver -------------------------------------------------------------

SECRET = "whsec_" + base64.b64encode(b"s" * 24).decode()


def job(url: str, **overrides: Any) -> WebhookJob:
    values: dict[str, Any] = {
        "delivery_id": uuid.uuid4(),
        "url": url,
        "secret": SECRET,
        "created_at": datetime(2026, 11, 30, 3, 0, tzinfo=UTC),
        "office_code": OFFICE,
        "channel": "webchat",
        "channel_account": "chat:beacukai-aceh",
        "recipient": "visitor-81",
        "kind": "answer",
        "body": "Silakan ajukan dokumen. Terima kasih — Bea Cukai Aceh.",
        "inquiry_id": uuid.uuid4(),
        "reference": "IQ-2026-000123",
        "requester_handle": "visitor-81",
        "ticket_number": None,
        **overrides,
    }
    return WebhookJob(**values)


def deliver(jobs: Sequence[WebhookJob], *, timeout: float = 5.0, **kw: Any) -> list[Attempt]:
    async def run() -> list[Attempt]:
        async with webhook_client(timeout=timeout) as client:
            return await deliver_webhooks(client, jobs, **kw)

    return asyncio.run(run())


def test_delivery_is_signed_by_standard_webhooks(receiver: Receiver) -> None:
    receiver.secret = SECRET
    one = job(receiver.url)
    assert deliver([one]) == [Attempt(delivered=True)]
    [got] = receiver.received
    assert got.verified is True
    assert got.webhook_id == str(one.delivery_id)
    assert got.headers["webhook-signature"].startswith("v1,")
    assert abs(int(got.headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 30
    assert got.headers["content-type"] == "application/json"
    assert got.payload == {
        "type": "message.created",
        "timestamp": "2026-11-30T03:00:00Z",
        "data": {
            "inquiry_id": str(one.inquiry_id),
            "reference": "IQ-2026-000123",
            "office_code": OFFICE,
            "channel": "webchat",
            "channel_account": "chat:beacukai-aceh",
            "requester_handle": "visitor-81",
            "recipient": "visitor-81",
            "kind": "answer",
            "body": "Silakan ajukan dokumen. Terima kasih — Bea Cukai Aceh.",
            "ticket_number": None,
        },
    }


def test_a_receiver_with_another_secret_refuses_it(receiver: Receiver) -> None:
    receiver.secret = "whsec_" + base64.b64encode(b"t" * 24).decode()
    [attempt] = deliver([job(receiver.url)])
    assert receiver.received[0].verified is False
    assert attempt.delivered is False
    assert attempt.retryable is False
    assert attempt.error == "HTTP 401 Unauthorized"


def test_500_then_200_is_delivered_with_the_same_webhook_id(receiver: Receiver) -> None:
    receiver.secret = SECRET
    receiver.script(Reply(500))
    one = job(receiver.url)
    [first] = deliver([one])
    assert first == Attempt(delivered=False, retryable=True, error="HTTP 500 Internal Server Error")
    [second] = deliver([one])
    assert second.delivered is True
    assert [r.status for r in receiver.received] == [500, 200]
    assert [r.webhook_id for r in receiver.received] == [str(one.delivery_id)] * 2
    assert all(r.verified for r in receiver.received)
    # The same bytes each time: a receiver may deduplicate by id or by body.
    assert receiver.received[0].body == receiver.received[1].body


def test_429_with_retry_after_is_honoured(receiver: Receiver) -> None:
    later = datetime.now(UTC) + timedelta(seconds=90)
    receiver.script(
        Reply(429, {"Retry-After": "7"}),
        Reply(503, {"Retry-After": format_datetime(later, usegmt=True)}),
        Reply(408),
        Reply(425),
    )
    attempts = deliver([job(receiver.url)] * 4, concurrency=1)
    assert [a.retryable for a in attempts] == [True] * 4
    assert [a.delivered for a in attempts] == [False] * 4
    assert attempts[0].retry_after == 7
    assert attempts[1].retry_after is not None
    assert 80 < attempts[1].retry_after <= 90
    assert attempts[2].retry_after is None
    assert attempts[0].error == "HTTP 429 Too Many Requests"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 422, 301])
def test_other_client_errors_are_dead_at_once(receiver: Receiver, status: int) -> None:
    receiver.script(Reply(status, {"Location": "https://elsewhere.example/"}))
    [attempt] = deliver([job(receiver.url)])
    assert attempt.delivered is False
    assert attempt.retryable is False
    assert attempt.error is not None
    assert attempt.error.startswith(f"HTTP {status}")


def test_a_timeout_is_retryable(receiver: Receiver) -> None:
    receiver.script(Reply(200, delay=2.0))
    [attempt] = deliver([job(receiver.url)], timeout=0.3)
    assert attempt == Attempt(delivered=False, retryable=True, error="timeout")


def test_a_refused_connection_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    [attempt] = deliver([job(f"http://127.0.0.1:{port}/hooks")])
    assert attempt.delivered is False
    assert attempt.retryable is True
    assert attempt.error == "ConnectError"


def test_a_batch_goes_out_concurrently_and_keeps_its_order(receiver: Receiver) -> None:
    receiver.secret = SECRET
    # Every request waits 0.2 s at the receiver: 40 of them, 10 at a time, take ~0.8 s.
    receiver.script(*[Reply(200, delay=0.2)] * 40)
    jobs = [job(receiver.url, body=f"pesan {i}") for i in range(40)]
    started = datetime.now(UTC)
    attempts = deliver(jobs, concurrency=10)
    took = (datetime.now(UTC) - started).total_seconds()
    assert attempts == [Attempt(delivered=True)] * 40
    assert 0.6 < took < 4.0, took
    assert sorted(r.webhook_id or "" for r in receiver.received) == sorted(
        str(j.delivery_id) for j in jobs
    )
    assert all(r.verified for r in receiver.received)


def test_a_url_httpx_cannot_use_is_dead_and_the_batch_goes_on(receiver: Receiver) -> None:
    # Stored before the door checked it: fails its own job only, at once and for good.
    attempts = deliver(
        [
            job(receiver.url),
            job("http://xn--zz.com/"),
            job("http://exämple..com/"),
            job(receiver.url),
        ]
    )
    assert [a.delivered for a in attempts] == [True, False, False, True]
    assert [a.retryable for a in attempts[1:3]] == [False, False]
    assert attempts[1].error == "IDNAError"
    assert attempts[2].error == "InvalidURL"
    assert len(receiver.received) == 2


def test_a_failure_in_a_batch_is_reported_for_its_own_job(receiver: Receiver) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/hooks"
    attempts = deliver([job(receiver.url), job(closed), job(receiver.url)])
    assert [a.delivered for a in attempts] == [True, False, True]


def test_retry_after_values() -> None:
    now = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds(" 1.5 ", now) == 1.5
    assert retry_after_seconds("Mon, 30 Nov 2026 03:02:00 GMT", now) == 120
    assert retry_after_seconds("Mon, 30 Nov 2026 02:00:00 GMT", now) == 0
    assert retry_after_seconds("-5", now) == 0
    assert retry_after_seconds("999999999", now) == 86_400
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds("nan", now) is None
    assert retry_after_seconds("", now) is None
    assert retry_after_seconds(None, now) is None


# -- from outbox rows ------------------------------------------------------------------------


def chat_inquiry(client: TestClient, auth: TokenFactory, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "office_code": OFFICE,
        "channel": "webchat",
        "channel_account": "chat:beacukai-aceh",
        "channel_message_id": f"chat-{uuid.uuid4().hex[:12]}",
        "requester": {"name": "Teuku Umar", "handle": "visitor-81"},
        "subject": "Kiriman tertahan",
        "message": "Paket saya tertahan, apa yang harus saya lakukan?",
        **overrides,
    }
    response = client.post("/v1/inquiries", json=body, headers=auth("integration"))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def outbox_rows(session: Session, inquiry_id: str) -> list[OutboxMessage]:
    return list(
        session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.inquiry_id == uuid.UUID(inquiry_id))
            .order_by(col(OutboxMessage.id))
        )
    )


def test_outbox_rows_become_signed_jobs(
    client: TestClient, auth: TokenFactory, session: Session, receiver: Receiver
) -> None:
    inquiry = chat_inquiry(client, auth)
    answered = client.post(
        f"/v1/inquiries/{inquiry['id']}/answer",
        json={"message": "Silakan ajukan dokumen."},
        headers=auth("officer"),
    )
    assert answered.status_code == 200, answered.text
    rows = [r for r in outbox_rows(session, inquiry["id"]) if r.kind == "answer"]
    assert len(rows) == 1

    # No endpoint yet: the worker is told to retry later.
    [waiting] = webhook_jobs(session=session, rows=rows)
    assert isinstance(waiting, Attempt)
    assert waiting.retryable is True
    assert waiting.error == "no webhook endpoint for office KANWIL-ACEH, channel webchat"

    created = register(client, auth, url=receiver.url)
    receiver.secret = created["secret"]
    [ready] = webhook_jobs(session=session, rows=rows)
    assert isinstance(ready, WebhookJob)
    assert ready.secret == created["secret"]
    assert ready.delivery_id == rows[0].delivery_id
    assert deliver([ready]) == [Attempt(delivered=True)]
    [got] = receiver.received
    assert got.verified is True
    assert got.webhook_id == str(rows[0].delivery_id)
    data = got.payload["data"]
    assert data["inquiry_id"] == inquiry["id"]
    assert data["reference"] == inquiry["reference"]
    assert data["kind"] == "answer"
    assert data["requester_handle"] == "visitor-81"
    assert data["channel_account"] == "chat:beacukai-aceh"
    assert data["body"] == rows[0].body


def test_jobs_for_a_mixed_batch(client: TestClient, auth: TokenFactory, session: Session) -> None:
    register(client, auth, channel="social")
    chat = chat_inquiry(client, auth)
    social = chat_inquiry(client, auth, channel="social", channel_account="instagram:@bc_aceh")
    for inquiry in (chat, social):
        answered = client.post(
            f"/v1/inquiries/{inquiry['id']}/answer",
            json={"message": "Jawaban."},
            headers=auth("officer"),
        )
        assert answered.status_code == 200, answered.text
    rows = outbox_rows(session, chat["id"]) + outbox_rows(session, social["id"])
    results = webhook_jobs(session=session, rows=rows)
    for row, result in zip(rows, results, strict=True):
        if row.channel == "social":
            assert isinstance(result, WebhookJob), result
            assert result.delivery_id == row.delivery_id
            assert result.kind == row.kind
        else:
            assert isinstance(result, Attempt), result
            assert result.retryable is True
