"""The work queue has two paths: on PostgreSQL a page is read on the event loop's own
connection and built from the cached calendars and policies; otherwise (SQLite, a cache
to fill, a text search) through a request session in the thread pool. Both must give
the same page, byte for byte, for every filter, order and cursor."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core import db
from app.main import create_app
from tests.api.test_inquiries import new_inquiry
from tests.conftest import TokenFactory


@pytest.fixture
def live_client(database_url: str) -> Iterator[TestClient]:
    if db.get_engine().dialect.name != "postgresql":
        pytest.skip("the event loop's reads are PostgreSQL's")
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


class _NoLoopReads:
    """The application's writer with its reads on the event loop turned off."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)

    async def rows_at_once(self, statement: Any, *, same_as: Any = None) -> None:
        return None


@asynccontextmanager
async def _no_session(_request: Any) -> AsyncIterator[Any]:
    raise AssertionError("this page was to be built without a session")
    yield  # pragma: no cover


@contextmanager
def _path(app: FastAPI, path: str) -> Iterator[None]:
    state = app.state
    writer, sessions = state.raw_writer, state.request_session
    if path == "loop":
        state.request_session = _no_session
    else:
        state.raw_writer = _NoLoopReads(writer)
    try:
        yield
    finally:
        state.raw_writer, state.request_session = writer, sessions


def _office(client: TestClient, auth: TokenFactory) -> str:
    code = f"KPPBC-Q-{uuid.uuid4().hex[:6].upper()}"
    admin = auth("admin", office=None)
    created = client.post("/v1/offices", json={"code": code, "name": "Queue"}, headers=admin)
    assert created.status_code == 201, created.text
    units = client.put(
        f"/v1/offices/{code}/units",
        json={"items": [{"code": "TEKNIS", "name": "Unit teknis"}]},
        headers=admin,
    )
    assert units.status_code == 200, units.text
    return code


def test_both_paths_give_the_same_pages(live_client: TestClient, auth: TokenFactory) -> None:
    office = _office(live_client, auth)
    integration = auth("integration", office=office)
    officer = auth("officer", office=office, sub="u1")
    ids = []
    for i, (channel, day) in enumerate(
        [("social", 23), ("webchat", 23), ("email", 24), ("social", 25), ("webchat", 26)] * 2
    ):
        body = new_inquiry(
            office_code=office,
            channel=channel,
            channel_message_id=f"{office}-{i}",
            received_at=f"2026-11-{day}T{8 + i:02d}:15:00+07:00",
        )
        posted = live_client.post("/v1/inquiries", json=body, headers=integration)
        assert posted.status_code == 201, posted.text
        ids.append(posted.json()["id"])

    def act(iid: str, action: str, body: dict[str, Any], role: str = "officer") -> None:
        done = live_client.post(
            f"/v1/inquiries/{iid}/{action}", json=body, headers=auth(role, office=office, sub="u1")
        )
        assert done.status_code == 200, done.text

    for iid in ids[:6]:
        act(iid, "assign", {"assignee": "u1"})
    act(ids[1], "request-info", {"message": "Mohon kirim invoice."})
    act(ids[2], "answer", {"message": "Jawaban."})
    act(ids[3], "escalate", {"unit_code": "TEKNIS", "reason": "teknis", "message": "Diteruskan."})
    act(ids[7], "assign", {"assignee": "u2"}, role="coordinator")

    queries: list[tuple[dict[str, str], dict[str, Any]]] = [
        (officer, {}),
        (officer, {"status": ["new", "in_progress"]}),
        (officer, {"status": "awaiting_requester"}),
        (officer, {"channel": "social"}),
        (officer, {"assignee": "me"}),
        (officer, {"assignee": "u2"}),
        (officer, {"sort": "-received_at"}),
        (officer, {"due_before": "2026-11-27T12:00:00+07:00"}),
        (officer, {"sla_state": "breached"}),
        (officer, {"sla_state": "paused"}),
        (officer, {"office_code": office, "limit": 200}),
        (officer, {"office_code": "KANWIL-ACEH"}),
        (auth("compliance", office=None), {"office_code": office}),
        (auth("unit", office=office, unit="TEKNIS"), {}),
        (auth("head", office=office), {"sort": "-received_at", "channel": "webchat"}),
    ]
    for headers, params in queries:
        for sort in ("due_at", "-received_at"):
            pages: dict[str, list[Any]] = {"loop": [], "session": []}
            for path, got in pages.items():
                cursor = None
                with _path(live_client.app, path):  # type: ignore[arg-type]
                    while True:
                        sent = {"sort": sort, "limit": 3, **params}
                        if cursor:
                            sent["cursor"] = cursor
                        response = live_client.get("/v1/inquiries", params=sent, headers=headers)
                        assert response.status_code == 200, (path, params, response.text)
                        got.append(response.json())
                        cursor = response.json()["next_cursor"]
                        if not cursor:
                            break
            assert pages["loop"] == pages["session"], params
            shown = sum(len(page["items"]) for page in pages["loop"])
            # Another office's queue is empty for this officer; the paused inquiry had
            # run out before its pause, so it counts as breached.
            empty = (
                params.get("office_code") == "KANWIL-ACEH" or params.get("sla_state") == "paused"
            )
            assert (shown == 0) == empty, (params, shown)

    # Asked again, each page is read as it was the first time (the loop path sends a read
    # like a recent one without building it again); an officer of another office asking
    # the same gets none of this office's inquiries, nor someone else's `me`.
    elsewhere = auth("officer", office="KANWIL-ACEH", sub="u1")
    other_me = auth("officer", office=office, sub="u2")
    for headers, params in queries:
        sent = {"limit": 3, **params}
        with _path(live_client.app, "session"):  # type: ignore[arg-type]
            first = live_client.get("/v1/inquiries", params=sent, headers=headers)
        with _path(live_client.app, "loop"):  # type: ignore[arg-type]
            again = live_client.get("/v1/inquiries", params=sent, headers=headers)
        assert again.status_code == 200, again.text
        assert again.json() == first.json(), params
    with _path(live_client.app, "loop"):  # type: ignore[arg-type]
        for params in ({}, {"limit": 200}):
            items = live_client.get("/v1/inquiries", params=params, headers=elsewhere).json()
            assert all(i["office_code"] == "KANWIL-ACEH" for i in items["items"]), params
        mine = live_client.get(
            "/v1/inquiries", params={"limit": 3, "assignee": "me"}, headers=other_me
        )
        assert [i["id"] for i in mine.json()["items"]] == [ids[7]]


def test_a_text_search_and_a_cold_cache_take_the_session(
    live_client: TestClient, auth: TokenFactory
) -> None:
    office = _office(live_client, auth)
    officer = auth("officer", office=office)
    posted = live_client.post(
        "/v1/inquiries",
        json=new_inquiry(office_code=office, channel_message_id=f"{office}-text"),
        headers=auth("integration", office=office),
    )
    assert posted.status_code == 201, posted.text
    with _path(live_client.app, "loop"):  # type: ignore[arg-type]
        listed = live_client.get("/v1/inquiries", headers=officer)
        assert listed.status_code == 200, listed.text
        assert [i["id"] for i in listed.json()["items"]] == [posted.json()["id"]]
        searched = live_client.get("/v1/inquiries", params={"q": "paket"}, headers=officer)
        assert searched.status_code == 500  # it needed the session that was refused
    state = live_client.app.state  # type: ignore[attr-defined]
    state.calendars.invalidate(office)
    with _path(live_client.app, "loop"):  # type: ignore[arg-type]
        cold = live_client.get("/v1/inquiries", headers=officer)
        assert cold.status_code == 500
    searched = live_client.get("/v1/inquiries", params={"q": "paket"}, headers=officer)
    assert [i["id"] for i in searched.json()["items"]] == [posted.json()["id"]]
    assert live_client.get("/v1/inquiries", headers=officer).json() == listed.json()
