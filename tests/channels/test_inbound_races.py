"""Racing posts of one mail, through the real session handling (committed transactions,
no rollback wrapper), on SQLite and PostgreSQL: one inquiry, one follow-up."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.channels.models import InboundEmail
from app.inquiries.models import Inquiry, InquiryMessage
from app.main import create_app
from tests.channels.test_inbound import post, simple
from tests.conftest import TokenFactory

PARALLEL = 12


@pytest.fixture
def live_client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


def _all_at_once(calls: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))

    def run(call: Any) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.fixture
def office(live_client: TestClient, auth: TokenFactory) -> str:
    """An office of its own, so that what the races commit is nobody else's data."""
    code = f"KPPBC-MAIL-{uuid.uuid4().hex[:6].upper()}"
    response = live_client.post(
        "/v1/offices", json={"code": code, "name": "Mail race"}, headers=auth("admin", office=None)
    )
    assert response.status_code == 201, response.text
    return code


@pytest.mark.slow
def test_racing_posts_of_one_mail_make_one_inquiry(
    live_client: TestClient, auth: TokenFactory, engine: Any, office: str
) -> None:
    url = f"/v1/channels/email/inbound?office_code={office}"
    raw = simple("race-1@example.com")
    calls = [lambda: post(live_client, auth, raw, url=url, office=office)] * PARALLEL
    responses = _all_at_once(calls)
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["created"] + ["duplicate"] * (PARALLEL - 1), [r.text for r in responses]
    assert sorted(r.status_code for r in responses) == [200] * (PARALLEL - 1) + [201]
    assert len({r.json()["inquiry_id"] for r in responses}) == 1
    with Session(engine) as session:
        rows = session.exec(select(InboundEmail).where(InboundEmail.office_code == office)).all()
        assert len(rows) == 1
        inquiries = session.exec(select(Inquiry).where(Inquiry.office_code == office)).all()
        assert [i.id for i in inquiries] == [rows[0].inquiry_id]

    # Racing copies of one reply: one follow-up.
    reply = simple(
        "race-2@example.com", body="Tambahan.", extra="In-Reply-To: <race-1@example.com>\r\n"
    )
    calls = [lambda: post(live_client, auth, reply, url=url, office=office)] * PARALLEL
    responses = _all_at_once(calls)
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["duplicate"] * (PARALLEL - 1) + ["follow_up"], [r.text for r in responses]
    with Session(engine) as session:
        inquiry = session.exec(select(Inquiry).where(Inquiry.office_code == office)).one()
        messages = session.exec(
            select(InquiryMessage)
            .where(InquiryMessage.inquiry_id == inquiry.id, InquiryMessage.direction == "inbound")
            .order_by(col(InquiryMessage.id))
        ).all()
        assert [m.kind for m in messages] == ["request", "follow_up"]
