"""Races through the real session handling (committed transactions, no rollback wrapper):
parallel escalations get distinct consecutive ticket numbers, and parallel posts of one
message make one inquiry, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
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
@pytest.mark.parametrize("fresh", [True, False], ids=["fresh", "warm"])
def test_parallel_posts_of_one_message_make_one_inquiry(
    live_client: TestClient, auth: TokenFactory, office: str, fresh: bool
) -> None:
    """Fresh: a new application instance with empty caches, so that on PostgreSQL the
    first posts take the thread pool's path (which fills the office's calendar) and race
    the later ones, which take the event loop's one statement. Warm: the office's
    calendar is in memory, and all of them race on the event loop."""
    integration = auth("integration", office=office)
    body = new_inquiry(office_code=office, channel_message_id=f"{office}-same")
    with (
        TestClient(create_app(), raise_server_exceptions=False)
        if fresh
        else nullcontext(live_client)
    ) as client:
        responses = _all_at_once(
            [
                (lambda: client.post("/v1/inquiries", json=body, headers=integration))
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


def test_retried_posts_write_nothing_more(
    live_client: TestClient, auth: TokenFactory, office: str
) -> None:
    """Retries by message id and by Idempotency-Key, and a message id reused for another
    text, through the committed path (on PostgreSQL, the event loop's statement, which
    must leave no row of a refused post behind)."""
    integration = auth("integration", office=office)
    officer = auth("officer", office=office)

    def post(body: dict[str, Any], **headers: str) -> Any:
        return live_client.post("/v1/inquiries", json=body, headers={**integration, **headers})

    by_id = new_inquiry(office_code=office, channel_message_id=f"{office}-retry")
    by_key = new_inquiry(office_code=office, channel_message_id=None)
    first, keyed = post(by_id), post(by_key, **{"Idempotency-Key": "retry-1"})
    assert (first.status_code, keyed.status_code) == (201, 201), (first.text, keyed.text)
    for _ in range(3):
        again = post(by_id)
        assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
        again = post(by_key, **{"Idempotency-Key": "retry-1"})
        assert (again.status_code, again.json()["id"]) == (200, keyed.json()["id"])
    reused = post({**by_id, "message": "Pertanyaan lain"})
    assert reused.status_code == 409, reused.text
    assert reused.json()["code"] == "message_id_reused"
    other_request = post({**by_key, "message": "Lain"}, **{"Idempotency-Key": "retry-1"})
    assert other_request.status_code == 422, other_request.text

    listed = live_client.get("/v1/inquiries", params={"office_code": office}, headers=officer)
    assert sorted(i["id"] for i in listed.json()["items"]) == sorted(
        [first.json()["id"], keyed.json()["id"]]
    )
    for posted in (first, keyed):
        detail = live_client.get(f"/v1/inquiries/{posted.json()['id']}", headers=officer)
        assert [m["kind"] for m in detail.json()["messages"]] == ["request", "acknowledgement"]
        events = live_client.get(f"/v1/inquiries/{posted.json()['id']}/events", headers=officer)
        assert [e["action"] for e in events.json()["items"]] == ["created"]


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


@pytest.fixture
def few_threads(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A one-second lock timeout and four request threads (pool 2 + 2)."""
    from app.core import db
    from app.core.config import get_settings

    monkeypatch.setenv("INFODESK_DB_LOCK_TIMEOUT_MS", "1000")
    monkeypatch.setenv("INFODESK_DB_POOL_SIZE", "2")
    monkeypatch.setenv("INFODESK_DB_MAX_OVERFLOW", "2")
    get_settings.cache_clear()
    db.get_engine().dispose()
    db.get_engine.cache_clear()
    yield
    db.get_engine().dispose()
    db.get_engine.cache_clear()
    monkeypatch.undo()
    get_settings.cache_clear()


@contextmanager
def _held(iid: str) -> Iterator[None]:
    """Another transaction holds the inquiry (PostgreSQL: its row; SQLite: the database)."""
    from sqlalchemy import text

    from app.core import db

    holder = db.make_engine(str(db.get_engine().url.render_as_string(hide_password=False)))
    with db.writer(holder).connect() as connection:
        connection.begin()
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT id FROM inquiry WHERE id = :id FOR UPDATE"), {"id": uuid.UUID(iid)}
            )
        try:
            yield
        finally:
            connection.rollback()
    holder.dispose()


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_many_actions_on_a_locked_inquiry_leave_threads_for_others(
    few_threads: None, live_client: TestClient, auth: TokenFactory, office: str
) -> None:
    """Three times as many actions on one locked inquiry as there are request threads:
    each gets 503 within the lock timeout (+1 s), and an unrelated read meanwhile is not
    held up behind them."""
    integration = auth("integration", office=office)
    iid = live_client.post(
        "/v1/inquiries",
        json=new_inquiry(office_code=office, channel_message_id=f"{office}-busy"),
        headers=integration,
    ).json()["id"]
    officer = auth("officer", office=office)
    actions = 12

    def act() -> tuple[Any, float]:
        return _timed(
            lambda: live_client.post(
                f"/v1/inquiries/{iid}/assign", json={"assignee": "u1"}, headers=officer
            )
        )

    def read() -> tuple[Any, float]:
        time.sleep(0.3)  # while the actions wait
        return _timed(lambda: live_client.get("/v1/offices", headers=officer))

    with _held(iid):
        results = _all_at_once([act] * actions + [read])
    answers, (reading, read_seconds) = results[:actions], results[actions]
    assert [r.status_code for r, _ in answers] == [503] * actions, [r.text for r, _ in answers]
    assert all(r.json()["code"] == "database_busy" for r, _ in answers)
    assert all(r.headers["retry-after"] == "2" for r, _ in answers)
    assert max(seconds for _, seconds in answers) < 1.0 + 1.0
    assert reading.status_code == 200
    assert read_seconds < 0.5
    # Nothing is left waiting: the inquiry takes the next action at once.
    done = live_client.post(f"/v1/inquiries/{iid}/assign", json={"assignee": "u1"}, headers=officer)
    assert done.status_code == 200, done.text
    # The gate keeps no entry for an inquiry nobody is working on.
    assert len(live_client.app.state.row_gate) == 0  # type: ignore[attr-defined]


def test_more_requests_than_threads_all_get_through(
    few_threads: None, live_client: TestClient, auth: TokenFactory, office: str
) -> None:
    """Four times as many new inquiries at once as there are request threads and pooled
    connections. A request whose endpoint has returned still holds its connection (and
    on SQLite the writer lock) until its response is validated, in a request thread, and
    its transaction commits: were the threads all taken by requests waiting for a
    connection or the lock, nothing would move until the pool timeout (503). Every post
    is created."""
    integration = auth("integration", office=office)

    def post(n: int) -> Callable[[], Any]:
        body = new_inquiry(office_code=office, channel_message_id=f"{office}-crowd-{n}")
        return lambda: live_client.post("/v1/inquiries", json=body, headers=integration)

    responses = _all_at_once([post(n) for n in range(16)])
    assert [r.status_code for r in responses] == [201] * 16, [r.text for r in responses]
    listed = live_client.get(
        f"/v1/inquiries?office_code={office}&limit=50", headers=auth("supervisor", office=office)
    )
    assert len(listed.json()["items"]) == 16


def test_an_action_behind_another_waits_only_its_own_lock_budget(
    few_threads: None, live_client: TestClient, auth: TokenFactory, office: str
) -> None:
    """An action that queued behind another on the same inquiry may wait for the row only
    what is left of its lock timeout, not a whole one more."""
    if live_client.app.state.settings.database_url.startswith("sqlite"):  # type: ignore[attr-defined]
        pytest.skip("SQLite's busy timeout is per connection; one process writes at a time")
    integration = auth("integration", office=office)
    iid = live_client.post(
        "/v1/inquiries",
        json=new_inquiry(office_code=office, channel_message_id=f"{office}-budget"),
        headers=integration,
    ).json()["id"]
    officer = auth("officer", office=office)

    def act(delay: float) -> Callable[[], tuple[Any, float]]:
        def call() -> tuple[Any, float]:
            time.sleep(delay)
            return _timed(
                lambda: live_client.post(
                    f"/v1/inquiries/{iid}/request-info",
                    json={"message": "Mohon kirimkan nomor AWB."},
                    headers=officer,
                )
            )

        return call

    with _held(iid):
        (first, _), (second, waited) = _all_at_once([act(0.0), act(0.6)])
    assert first.status_code == second.status_code == 503, (first.text, second.text)
    assert waited < 1.0 + 0.3


def test_a_dropped_database_connection_gives_503_and_the_pool_recovers(
    live_client: TestClient, auth: TokenFactory, office: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database drops the connection of a request in flight (a restart, a failover,
    pg_terminate_backend): 503 with Retry-After, nothing written; the next requests get
    fresh connections."""
    from sqlalchemy import text

    from app.core import db
    from app.inquiries.workflow import Workflow

    if db.get_engine().dialect.name != "postgresql":
        pytest.skip("SQLite has no server connection to lose")
    integration = auth("integration", office=office)
    body = new_inquiry(office_code=office, channel_message_id=f"{office}-dropped")
    iid = live_client.post("/v1/inquiries", json=body, headers=integration).json()["id"]
    officer = auth("officer", office=office)
    first_response = Workflow._first_response

    def dropped(self: Workflow, *args: Any, **kwargs: Any) -> Any:
        # By then the answer's message and outbox row have been flushed.
        with db.get_engine().connect() as other:
            other.execute(
                text("SELECT pg_terminate_backend(:pid)"),
                {"pid": self.session.connection().connection.dbapi_connection.info.backend_pid},  # type: ignore[union-attr]
            )
        return first_response(self, *args, **kwargs)

    monkeypatch.setattr(Workflow, "_first_response", dropped)
    failed = live_client.post(
        f"/v1/inquiries/{iid}/answer", json={"message": "Jawaban"}, headers=officer
    )
    monkeypatch.undo()
    assert failed.status_code == 503, failed.text
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.json()["code"] == "database_unavailable"
    assert "retry-after" in failed.headers

    # Every pooled connection dropped as well: the pool replaces them unasked.
    with db.get_engine().connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    after = live_client.get(f"/v1/inquiries/{iid}", headers=officer)
    assert after.status_code == 200, after.text
    assert after.json()["status"] == "new"
    assert [m["kind"] for m in after.json()["messages"]] == ["request", "acknowledgement"]
    done = live_client.post(
        f"/v1/inquiries/{iid}/answer", json={"message": "Jawaban"}, headers=officer
    )
    assert done.status_code == 200, done.text


def test_intake_follows_an_office_changed_by_another_process(
    live_client: TestClient, auth: TokenFactory, office: str
) -> None:
    """Intake trusts its cached calendar only while the office row still has that calendar
    version and is active: a change made through another process applies at once."""
    integration = auth("integration", office=office)
    admin = auth("admin", office=None)

    def post(message_id: str) -> Any:
        body = new_inquiry(
            office_code=office,
            channel_message_id=f"{office}-{message_id}",
            received_at="2026-11-24T09:00:00+07:00",
        )
        return live_client.post("/v1/inquiries", json=body, headers=integration)

    before = post("before")
    assert before.status_code == 201, before.text
    with TestClient(create_app(), raise_server_exceptions=False) as other:
        closed = other.post(
            f"/v1/offices/{office}/calendar/overrides",
            json={
                "start_date": "2026-11-25",
                "end_date": "2026-11-25",
                "kind": "closed",
                "reason": "Banjir",
            },
            headers=admin,
        )
        assert closed.status_code == 201, closed.text
        after = post("after")
        assert after.status_code == 201, after.text
        assert after.json()["sla"]["due_at"] > before.json()["sla"]["due_at"]
        assert after.json()["sla"]["start_day"] == before.json()["sla"]["start_day"]

        deactivated = other.patch(f"/v1/offices/{office}", json={"active": False}, headers=admin)
        assert deactivated.status_code == 200, deactivated.text
        refused = post("closed")
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["pointer"] == "#/office_code"


def test_intake_survives_losing_the_event_loops_connections(
    live_client: TestClient, auth: TokenFactory, office: str
) -> None:
    """The database drops every connection (a restart, a failover): the next post, whose
    statement on the event loop's connection fails, is recorded once by the thread pool's
    path, and the posts after it run on new connections."""
    from sqlalchemy import text

    from app.core import db

    if db.get_engine().dialect.name != "postgresql":
        pytest.skip("SQLite has no server connection to lose")
    integration = auth("integration", office=office)
    officer = auth("officer", office=office)

    def post(message_id: str) -> Any:
        body = new_inquiry(office_code=office, channel_message_id=f"{office}-{message_id}")
        return live_client.post("/v1/inquiries", json=body, headers=integration)

    # The first post fills the office's calendar; the second opens the loop's connections.
    assert [post("before").status_code, post("warm").status_code] == [201, 201]
    with db.get_engine().connect() as other:
        dropped = other.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    assert dropped >= 1
    posted = [post("lost"), post("after")]
    assert [p.status_code for p in posted] == [201, 201], [p.text for p in posted]
    listed = live_client.get("/v1/inquiries", params={"office_code": office}, headers=officer)
    assert len(listed.json()["items"]) == 4
    detail = live_client.get(f"/v1/inquiries/{posted[0].json()['id']}", headers=officer)
    assert [m["kind"] for m in detail.json()["messages"]] == ["request", "acknowledgement"]
