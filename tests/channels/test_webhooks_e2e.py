"""Webhooks end to end through the delivery worker, with committed data: a web-chat
inquiry's acknowledgement and answer reach a real receiver signed, in order, and a
receiver that fails or is missing gets the message later with the same ``webhook-id``."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.channels.worker import Worker
from app.core.config import get_settings
from app.inquiries.models import OutboxMessage
from app.main import create_app
from tests.channels.receiver import Receiver, Reply
from tests.conftest import TokenFactory


@pytest.fixture
def live_client(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    # Retries come due at once, so that a test need not wait for the back-off.
    monkeypatch.setenv("INFODESK_DELIVERY_BACKOFF_SECONDS", "0.001")
    get_settings.cache_clear()
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def office(live_client: TestClient, auth: TokenFactory) -> str:
    code = f"KPPBC-WH-{uuid.uuid4().hex[:6].upper()}"
    response = live_client.post(
        "/v1/offices", json={"code": code, "name": "Webhooks"}, headers=auth("admin", office=None)
    )
    assert response.status_code == 201, response.text
    return code


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def register(client: TestClient, auth: TokenFactory, office: str, url: str) -> str:
    response = client.post(
        "/v1/webhooks",
        json={"office_code": office, "channel": "webchat", "url": url},
        headers=auth("admin", office=None),
    )
    assert response.status_code == 201, response.text
    secret: str = response.json()["secret"]
    return secret


def chat_inquiry(client: TestClient, auth: TokenFactory, office: str) -> dict[str, Any]:
    body = {
        "office_code": office,
        "channel": "webchat",
        "channel_account": "chat:beacukai",
        "channel_message_id": f"chat-{uuid.uuid4().hex[:12]}",
        "requester": {"name": "Teuku Umar", "handle": "visitor-81"},
        "subject": "Kiriman tertahan",
        "message": "Paket saya tertahan, apa yang harus saya lakukan?",
    }
    response = client.post("/v1/inquiries", json=body, headers=auth("integration", office=office))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def answer(client: TestClient, auth: TokenFactory, office: str, inquiry_id: str) -> None:
    response = client.post(
        f"/v1/inquiries/{inquiry_id}/answer",
        json={"message": "Silakan ajukan dokumen pelengkap."},
        headers=auth("officer", office=office),
    )
    assert response.status_code == 200, response.text


def rows_of(engine: Engine, inquiry_id: str) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.inquiry_id == uuid.UUID(inquiry_id))
                .order_by(col(OutboxMessage.id))
            )
        )


def run_worker(office: str, receiver: Receiver, expected: int, rounds: int = 20) -> None:
    worker = Worker(office_codes=[office])
    try:
        for _ in range(rounds):
            worker.run_once()
            if receiver.count >= expected:
                break
    finally:
        worker.close()


@pytest.mark.slow
def test_acknowledgement_then_answer_reach_the_receiver(
    live_client: TestClient, auth: TokenFactory, office: str, receiver: Receiver, engine: Engine
) -> None:
    receiver.secret = register(live_client, auth, office, receiver.url)
    inquiry = chat_inquiry(live_client, auth, office)
    answer(live_client, auth, office, inquiry["id"])
    rows = rows_of(engine, inquiry["id"])
    assert [r.kind for r in rows] == ["acknowledgement", "answer"]

    run_worker(office, receiver, expected=2)

    assert receiver.wait_for(2, timeout=5)
    assert [r.verified for r in receiver.received] == [True, True]
    assert [r.payload["data"]["kind"] for r in receiver.received] == ["acknowledgement", "answer"]
    assert [r.webhook_id for r in receiver.received] == [str(r.delivery_id) for r in rows]
    data = receiver.received[1].payload["data"]
    assert data["reference"] == inquiry["reference"]
    assert data["requester_handle"] == "visitor-81"
    assert "Silakan ajukan dokumen pelengkap." in data["body"]
    assert data["body"] == rows[1].body
    assert [r.status for r in rows_of(engine, inquiry["id"])] == ["delivered", "delivered"]
    # Nothing more goes out: each message exactly once.
    run_worker(office, receiver, expected=3, rounds=2)
    assert receiver.count == 2


@pytest.mark.slow
def test_a_failing_receiver_gets_it_again_with_the_same_id(
    live_client: TestClient, auth: TokenFactory, office: str, receiver: Receiver, engine: Engine
) -> None:
    receiver.secret = register(live_client, auth, office, receiver.url)
    receiver.script(Reply(500), Reply(503, {"Retry-After": "0"}))
    inquiry = chat_inquiry(live_client, auth, office)

    run_worker(office, receiver, expected=3)

    assert [r.status for r in receiver.received] == [500, 503, 200]
    [row] = rows_of(engine, inquiry["id"])
    assert {r.webhook_id for r in receiver.received} == {str(row.delivery_id)}
    assert all(r.verified for r in receiver.received)
    assert row.status == "delivered"
    assert row.attempts == 3


@pytest.mark.slow
def test_without_an_endpoint_messages_wait_until_one_is_registered(
    live_client: TestClient, auth: TokenFactory, office: str, receiver: Receiver, engine: Engine
) -> None:
    inquiry = chat_inquiry(live_client, auth, office)
    answer(live_client, auth, office, inquiry["id"])
    worker = Worker(office_codes=[office])
    try:
        worker.run_once()
    finally:
        worker.close()
    waiting = rows_of(engine, inquiry["id"])
    assert [r.status for r in waiting] == ["pending", "pending"]
    assert waiting[0].attempts == 1
    assert waiting[0].last_error == f"no webhook endpoint for office {office}, channel webchat"
    assert receiver.count == 0

    receiver.secret = register(live_client, auth, office, receiver.url)
    run_worker(office, receiver, expected=2)

    assert [r.payload["data"]["kind"] for r in receiver.received] == ["acknowledgement", "answer"]
    assert [r.status for r in rows_of(engine, inquiry["id"])] == ["delivered", "delivered"]


@pytest.mark.slow
def test_a_gone_receiver_makes_the_message_dead(
    live_client: TestClient, auth: TokenFactory, office: str, receiver: Receiver, engine: Engine
) -> None:
    receiver.secret = register(live_client, auth, office, receiver.url)
    receiver.script(Reply(410))
    inquiry = chat_inquiry(live_client, auth, office)

    run_worker(office, receiver, expected=2, rounds=3)

    assert receiver.count == 1
    [row] = rows_of(engine, inquiry["id"])
    assert row.status == "dead"
    assert row.last_error == "HTTP 410 Gone"


@pytest.mark.slow
def test_parallel_registrations_make_one_endpoint(
    live_client: TestClient, auth: TokenFactory, office: str
) -> None:
    parallel = 8
    barrier = threading.Barrier(parallel)
    admin = auth("admin", office=None)

    def post(i: int) -> int:
        barrier.wait()
        body = {"office_code": office, "channel": "social", "url": f"https://gw{i}.example/h"}
        return live_client.post("/v1/webhooks", json=body, headers=admin).status_code

    with ThreadPoolExecutor(parallel) as pool:
        statuses = sorted(pool.map(post, range(parallel)))
    assert statuses == [201] + [409] * (parallel - 1)
    listed = live_client.get("/v1/webhooks", params={"office_code": office}, headers=admin)
    assert len(listed.json()["items"]) == 1
