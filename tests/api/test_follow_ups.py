"""What intake and follow-ups refuse: a reused message id with another text, a follow-up
by another channel; and a follow-up to a closed inquiry, which reopens it within
INFODESK_REOPEN_DAYS and after that starts a new inquiry linked to it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.db import utcnow
from app.inquiries.models import Inquiry
from tests.api.test_inquiries import act, new_inquiry, post
from tests.channels.test_inbound import created, simple
from tests.conftest import TokenFactory


def _follow_up(client: TestClient, auth: TokenFactory, iid: str, **body: str) -> object:
    return client.post(
        f"/v1/inquiries/{iid}/messages",
        json={"message": "Tambahan", **body},
        headers=auth("integration"),
    )


def test_a_reused_message_id_with_another_text_is_refused(
    client: TestClient, auth: TokenFactory
) -> None:
    key = "ig-" + uuid.uuid4().hex[:8]
    first = post(client, auth, new_inquiry(channel_message_id=key))
    assert first.status_code == 201, first.text
    assert post(client, auth, new_inquiry(channel_message_id=key)).status_code == 200
    other = post(client, auth, new_inquiry(channel_message_id=key, message="Pertanyaan lain"))
    assert other.status_code == 409, other.text
    assert other.json()["code"] == "message_id_reused"
    iid = first.json()["id"]
    said = _follow_up(client, auth, iid, channel_message_id="fu-" + key)
    assert said.status_code == 201  # type: ignore[attr-defined]
    again = _follow_up(client, auth, iid, channel_message_id="fu-" + key)
    assert again.status_code == 200  # type: ignore[attr-defined]
    changed = _follow_up(client, auth, iid, channel_message_id="fu-" + key, message="Lain")
    assert changed.status_code == 409  # type: ignore[attr-defined]
    assert changed.json()["code"] == "message_id_reused"  # type: ignore[attr-defined]


def test_an_email_inquiry_takes_follow_ups_only_as_mail(
    client: TestClient, auth: TokenFactory
) -> None:
    mail = created(client, auth, simple(message_id=f"{uuid.uuid4().hex}@example.com"))
    refused = _follow_up(client, auth, mail["inquiry_id"])
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert refused.json()["code"] == "follow_up_channel"  # type: ignore[attr-defined]


def test_a_mail_never_joins_an_inquiry_of_another_channel(
    client: TestClient, auth: TokenFactory
) -> None:
    chat = post(client, auth, new_inquiry(channel_message_id="ig-" + uuid.uuid4().hex[:8]))
    reference = chat.json()["reference"]
    mail = created(
        client,
        auth,
        simple(
            message_id=f"{uuid.uuid4().hex}@example.com",
            sender="Cut Nyak Dhien <cut.nyak@example.com>",
            subject=f"Re: {reference}",
        ),
    )
    assert mail["outcome"] == "created"
    assert mail["inquiry_id"] != chat.json()["id"]


def _closed(client: TestClient, auth: TokenFactory, session: Session, days_ago: float) -> str:
    iid = post(client, auth, new_inquiry(channel_message_id="ig-" + uuid.uuid4().hex[:8]))
    iid = iid.json()["id"]
    assert act(client, auth, iid, "answer", {"message": "Jawaban"}).status_code == 200
    assert act(client, auth, iid, "close").status_code == 200
    inquiry = session.get(Inquiry, uuid.UUID(iid))
    assert inquiry is not None
    inquiry.closed_at = utcnow() - timedelta(days=days_ago)
    session.add(inquiry)
    session.flush()
    return str(iid)


def test_a_follow_up_reopens_an_inquiry_closed_recently(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    iid = _closed(client, auth, session, days_ago=6.5)
    reopened = _follow_up(client, auth, iid)
    assert reopened.status_code == 201, reopened.text  # type: ignore[attr-defined]
    assert reopened.json()["status"] == "in_progress"  # type: ignore[attr-defined]
    events = client.get(f"/v1/inquiries/{iid}/events", headers=auth("officer")).json()["items"]
    assert [e["action"] for e in events][-2:] == ["reopen", "follow_up"]
    detail = client.get(f"/v1/inquiries/{iid}", headers=auth("officer")).json()
    assert detail["sla"]["outcome"] is not None  # the outcome stays as it was


def test_a_follow_up_to_an_inquiry_closed_long_ago_starts_a_linked_one(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    iid = _closed(client, auth, session, days_ago=7.5)
    key = "fu-" + uuid.uuid4().hex[:8]
    started = _follow_up(client, auth, iid, channel_message_id=key, message="Paket kedua?")
    assert started.status_code == 201, started.text  # type: ignore[attr-defined]
    new = started.json()  # type: ignore[attr-defined]
    assert new["id"] != iid
    assert new["status"] == "new"
    again = _follow_up(client, auth, iid, channel_message_id=key, message="Paket kedua?")
    assert again.status_code == 200  # type: ignore[attr-defined]
    assert again.json()["id"] == new["id"]  # type: ignore[attr-defined]

    old = client.get(f"/v1/inquiries/{iid}", headers=auth("officer")).json()
    assert old["status"] == "closed"
    assert [m["kind"] for m in old["messages"]].count("follow_up") == 0
    detail = client.get(f"/v1/inquiries/{new['id']}", headers=auth("officer")).json()
    assert detail["previous_inquiry_id"] == iid
    assert detail["message"] == "Paket kedua?"
    assert detail["requester"]["email"] == old["requester"]["email"]
    old_events = client.get(f"/v1/inquiries/{iid}/events", headers=auth("officer")).json()
    assert old_events["items"][-1]["action"] == "continued"
    assert old_events["items"][-1]["details"]["reference"] == new["reference"]
    new_events = client.get(f"/v1/inquiries/{new['id']}/events", headers=auth("officer")).json()
    assert [e["action"] for e in new_events["items"]] == ["created", "continues"]


def test_a_follow_up_to_an_erased_inquiry_closed_long_ago_is_refused(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    iid = _closed(client, auth, session, days_ago=30)
    nik = "1171024108900009"
    inquiry = session.get(Inquiry, uuid.UUID(iid))
    assert inquiry is not None
    inquiry.requester_nik = nik
    session.add(inquiry)
    session.flush()
    erased = client.post(
        "/v1/requesters/erase",
        json={"nik": nik, "reason": "Permohonan"},
        headers=auth("compliance", office=None),
    )
    assert erased.status_code == 200, erased.text
    refused = _follow_up(client, auth, iid)
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert refused.json()["code"] == "inquiry_closed"  # type: ignore[attr-defined]
