"""Races through the real session handling (committed transactions, no rollback wrapper):
parallel escalations get distinct consecutive ticket numbers, and parallel posts of one
message make one inquiry, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.api.test_inquiries import new_inquiry
from tests.conftest import TokenFactory

PARALLEL = 20


@pytest.fixture
def live_client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def office(live_client: TestClient, auth: TokenFactory) -> str:
    code = f"KPPBC-RACE-{uuid.uuid4().hex[:6].upper()}"
    response = live_client.post(
        "/v1/offices", json={"code": code, "name": "Race"}, headers=auth("admin", office=None)
    )
    assert response.status_code == 201, response.text
    units = live_client.put(
        f"/v1/offices/{code}/units",
        json={"items": [{"code": "RACE", "name": "Race unit"}]},
        headers=auth("admin", office=None),
    )
    assert units.status_code == 200, units.text
    return code


def _all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.mark.slow
def test_parallel_escalations_get_consecutive_numbers(
    live_client: TestClient, auth: TokenFactory, office: str
) -> None:
    integration = auth("integration", office=office)
    ids = []
    for i in range(PARALLEL):
        body = new_inquiry(office_code=office, channel_message_id=f"{office}-{i}")
        response = live_client.post("/v1/inquiries", json=body, headers=integration)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    officer = auth("officer", office=office)
    escalation = {"unit_code": "RACE", "reason": "r", "message": "m"}
    responses = _all_at_once(
        [
            (
                lambda iid=iid: live_client.post(
                    f"/v1/inquiries/{iid}/escalate", json=escalation, headers=officer
                )
            )
            for iid in ids
        ]
    )
    assert [r.status_code for r in responses] == [200] * PARALLEL, [r.text for r in responses]
    numbers = sorted(r.json()["ticket_number"] for r in responses)
    serials = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert serials == list(range(1, PARALLEL + 1))
    assert len(set(numbers)) == PARALLEL


@pytest.mark.slow
def test_parallel_posts_of_one_message_make_one_inquiry(
    live_client: TestClient, auth: TokenFactory, office: str
) -> None:
    integration = auth("integration", office=office)
    body = new_inquiry(office_code=office, channel_message_id=f"{office}-same")
    responses = _all_at_once(
        [
            (lambda: live_client.post("/v1/inquiries", json=body, headers=integration))
            for _ in range(PARALLEL)
        ]
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (PARALLEL - 1) + [201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    listed = live_client.get(
        "/v1/inquiries", params={"office_code": office}, headers=auth("officer", office=office)
    )
    assert len(listed.json()["items"]) == 1


def test_a_failing_request_leaves_nothing_behind(
    live_client: TestClient, auth: TokenFactory, office: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    integration = auth("integration", office=office)
    body = new_inquiry(office_code=office, channel_message_id=f"{office}-rollback")
    iid = live_client.post("/v1/inquiries", json=body, headers=integration).json()["id"]
    officer = auth("officer", office=office)
    assert (
        live_client.post(
            f"/v1/inquiries/{iid}/assign", json={"assignee": "u1"}, headers=officer
        ).status_code
        == 200
    )

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("template store unavailable")

    # By then the answer's message and outbox row have been flushed to the database.
    monkeypatch.setattr("app.inquiries.workflow.Workflow._first_response", broken)
    failed = live_client.post(
        f"/v1/inquiries/{iid}/answer", json={"message": "Jawaban"}, headers=officer
    )
    assert failed.status_code == 500
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.json()["code"] == "internal_error"
    assert "template store" not in failed.text
    assert "Traceback" not in failed.text

    after = live_client.get(f"/v1/inquiries/{iid}", headers=officer).json()
    assert after["status"] == "in_progress"
    assert after["sla"]["outcome"] is None
    assert [m["kind"] for m in after["messages"]] == ["request", "acknowledgement"]
    events = live_client.get(f"/v1/inquiries/{iid}/events", headers=officer).json()["items"]
    assert [e["action"] for e in events] == ["created", "assign"]


@pytest.fixture
def short_lock_timeout(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from app.core import db
    from app.core.config import get_settings

    monkeypatch.setenv("INFODESK_DB_LOCK_TIMEOUT_MS", "500")
    get_settings.cache_clear()
    db.get_engine().dispose()
    db.get_engine.cache_clear()
    yield
    db.get_engine().dispose()
    db.get_engine.cache_clear()
    monkeypatch.undo()
    get_settings.cache_clear()


def test_an_action_on_a_locked_inquiry_gets_503_in_time(
    short_lock_timeout: None, live_client: TestClient, auth: TokenFactory, office: str
) -> None:
    import time

    from sqlalchemy import text

    from app.core import db

    integration = auth("integration", office=office)
    body = new_inquiry(office_code=office, channel_message_id=f"{office}-locked")
    iid = live_client.post("/v1/inquiries", json=body, headers=integration).json()["id"]
    officer = auth("officer", office=office)
    holder = db.make_engine(str(db.get_engine().url.render_as_string(hide_password=False)))
    with db.writer(holder).connect() as connection:
        # Another transaction holds the inquiry (PostgreSQL: its row; SQLite: the database).
        connection.begin()
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT id FROM inquiry WHERE id = :id FOR UPDATE"), {"id": uuid.UUID(iid)}
            )
        started = time.monotonic()
        response = live_client.post(
            f"/v1/inquiries/{iid}/assign", json={"assignee": "u1"}, headers=officer
        )
        waited = time.monotonic() - started
        read = live_client.get("/v1/offices", headers=officer)
        connection.rollback()
    holder.dispose()
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "database_busy"
    assert response.headers["retry-after"] == "2"
    assert waited < 0.5 + 1.0
    assert read.status_code == 200
    # Once the lock is gone the same action goes through.
    done = live_client.post(f"/v1/inquiries/{iid}/assign", json={"assignee": "u1"}, headers=officer)
    assert done.status_code == 200, done.text
