"""What intake and follow-ups refuse: a reused message id with another text, a follow-up
by another channel, a post by a channel the token's ``channels`` claim leaves out; and a
follow-up to a closed inquiry, which reopens it within INFODESK_REOPEN_DAYS and after that
starts a new inquiry linked to it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.db import utcnow
from app.inquiries.models import Inquiry
from tests.api.test_inquiries import act, new_inquiry, post
from tests.channels import test_inbound
from tests.channels.test_inbound import created, simple
from tests.conftest import TokenFactory


def _follow_up(client: TestClient, auth: TokenFactory, iid: str, **body: str) -> object:
    return client.post(
        f"/v1/inquiries/{iid}/messages",
        json={"channel": "social", "message": "Tambahan", **body},
        headers=auth("integration"),
    )


def _social_inquiry(client: TestClient, auth: TokenFactory) -> str:
    posted = post(client, auth, new_inquiry(channel_message_id="ig-" + uuid.uuid4().hex[:8]))
    assert posted.status_code == 201, posted.text
    return str(posted.json()["id"])


def _follow_ups(client: TestClient, auth: TokenFactory, iid: str) -> list[str]:
    detail = client.get(f"/v1/inquiries/{iid}", headers=auth("officer")).json()
    return [m["body"] for m in detail["messages"] if m["kind"] == "follow_up"]


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
    for channel in ("email", "webchat"):
        refused = _follow_up(client, auth, mail["inquiry_id"], channel=channel)
        assert refused.status_code == 409  # type: ignore[attr-defined]
        assert refused.json()["code"] == "follow_up_channel"  # type: ignore[attr-defined]


def test_a_follow_up_by_another_channel_is_refused(client: TestClient, auth: TokenFactory) -> None:
    iid = _social_inquiry(client, auth)
    refused = _follow_up(client, auth, iid, channel="webchat", message="Dari chat")
    assert refused.status_code == 409, refused.text  # type: ignore[attr-defined]
    assert refused.json()["code"] == "follow_up_channel"  # type: ignore[attr-defined]
    # The web-chat integration's token names its one channel: the follow-up is by web chat.
    chat = auth("integration", sub="chat-gateway", channels=["webchat"])
    defaulted = client.post(
        f"/v1/inquiries/{iid}/messages", json={"message": "Dari chat"}, headers=chat
    )
    assert defaulted.status_code == 409, defaulted.text
    assert defaulted.json()["code"] == "follow_up_channel"
    assert _follow_ups(client, auth, iid) == []


def test_a_follow_up_names_its_channel_unless_the_token_names_one(
    client: TestClient, auth: TokenFactory
) -> None:
    iid = _social_inquiry(client, auth)
    url = f"/v1/inquiries/{iid}/messages"
    for channels in (None, ["social", "webchat"]):
        missing = client.post(
            url, json={"message": "Tambahan"}, headers=auth("integration", channels=channels)
        )
        assert missing.status_code == 422, missing.text
        assert missing.json()["errors"][0]["pointer"] == "#/channel"
    social = auth("integration", sub="social-gateway", channels=["social"])
    defaulted = client.post(url, json={"message": "Satu"}, headers=social)
    assert defaulted.status_code == 201, defaulted.text
    assert _follow_ups(client, auth, iid) == ["Satu"]


def test_a_follow_up_by_the_inquiry_channel_is_accepted(
    client: TestClient, auth: TokenFactory
) -> None:
    iid = _social_inquiry(client, auth)
    accepted = _follow_up(client, auth, iid, message="Satu")
    assert accepted.status_code == 201, accepted.text  # type: ignore[attr-defined]
    social = auth("integration", sub="social-gateway", channels=["social", "webchat"])
    named = client.post(
        f"/v1/inquiries/{iid}/messages",
        json={"channel": "social", "message": "Dua"},
        headers=social,
    )
    assert named.status_code == 201, named.text
    assert _follow_ups(client, auth, iid) == ["Satu", "Dua"]


def test_a_token_posts_only_for_the_channels_it_names(
    client: TestClient, auth: TokenFactory
) -> None:
    chat = auth("integration", sub="chat-gateway", channels=["webchat"])
    key = "chat-" + uuid.uuid4().hex[:8]
    email = client.post(
        "/v1/inquiries", json=new_inquiry(channel="email", channel_message_id=key), headers=chat
    )
    assert email.status_code == 403, email.text
    assert email.json()["code"] == "channel_not_allowed"
    webchat = client.post(
        "/v1/inquiries", json=new_inquiry(channel="webchat", channel_message_id=key), headers=chat
    )
    assert webchat.status_code == 201, webchat.text

    iid = _social_inquiry(client, auth)
    into_social = client.post(
        f"/v1/inquiries/{iid}/messages",
        json={"channel": "social", "message": "Tambahan"},
        headers=chat,
    )
    assert into_social.status_code == 403, into_social.text
    assert into_social.json()["code"] == "channel_not_allowed"
    assert _follow_ups(client, auth, iid) == []

    mail = simple(message_id=f"{uuid.uuid4().hex}@example.com")
    as_mail = test_inbound.post(client, auth, mail, sub="chat-gateway", channels=["webchat"])
    assert as_mail.status_code == 403, as_mail.text
    assert as_mail.json()["code"] == "channel_not_allowed"
    mailer = test_inbound.post(client, auth, mail, sub="mail-gateway", channels=["email"])
    assert mailer.status_code == 201, mailer.text


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
