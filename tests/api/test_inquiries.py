"""The inquiry lifecycle through HTTP: intake, workflow, reading, audit, public lookup."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.inquiries.models import OutboxMessage
from tests.conftest import TokenFactory

OFFICE = "KANWIL-ACEH"


def new_inquiry(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "office_code": OFFICE,
        "channel": "social",
        "channel_account": "instagram:@bc_aceh",
        "channel_message_id": "ig-1",
        "received_at": "2026-11-23T09:00:00+07:00",
        "requester": {
            "name": "Cut Nyak Dhien",
            "handle": "@cutnyak",
            "email": "cut.nyak@example.com",
            "phone": "0812-3456-7890",
            "nik": "1171024108900001",
            "npwp": "01.234.567.4-901.000",
        },
        "subject": "Barang kiriman tertahan",
        "message": "Paket saya tertahan, apa yang harus saya lakukan?",
        "documents": [
            {"type": "awb", "number": "126-12345675"},
            {"type": "container", "number": "CSQU 305438 3"},
            {"type": "hs_code", "number": "8471.30.20"},
        ],
    }
    body.update(overrides)
    return body


def post(
    client: TestClient,
    auth: TokenFactory,
    body: dict[str, Any] | None = None,
    role: str = "integration",
    **headers: str,
) -> Any:
    return client.post(
        "/v1/inquiries", json=body or new_inquiry(), headers={**auth(role), **headers}
    )


def act(
    client: TestClient,
    auth: TokenFactory,
    inquiry_id: str,
    action: str,
    body: dict[str, Any] | None = None,
    role: str = "officer",
    **kw: Any,
) -> Any:
    return client.post(
        f"/v1/inquiries/{inquiry_id}/{action}", json=body or {}, headers=auth(role, **kw)
    )


def test_intake_returns_a_receipt_with_the_sla(client: TestClient, auth: TokenFactory) -> None:
    response = post(client, auth)
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["status"] == "new"
    assert receipt["reference"].startswith("IQ-")
    assert response.headers["etag"] == receipt["etag"]
    assert response.headers["location"] == f"/v1/inquiries/{receipt['id']}"
    assert receipt["sla"]["due_at"] == "2026-11-24T17:00:00+07:00"
    assert receipt["sla"]["start_day"] == "2026-11-23"
    assert receipt["sla"]["outcome"] is None
    # Integrations learn nothing internal or personal from the receipt.
    assert not {"requester", "messages", "consultations", "assignee"} & set(receipt)

    inquiry = client.get(f"/v1/inquiries/{receipt['id']}", headers=auth("officer")).json()
    assert inquiry["requester"]["phone"] == "+6281234567890"
    assert inquiry["requester"]["npwp"] == "012345674901000"
    assert [d["number"] for d in inquiry["documents"]] == [
        "12612345675",
        "CSQU3054383",
        "84713020",
    ]
    assert inquiry["messages"][0]["kind"] == "request"


def test_message_ids_are_scoped_to_the_office(client: TestClient, auth: TokenFactory) -> None:
    aceh = post(client, auth).json()
    langsa = client.post(
        "/v1/inquiries",
        json=new_inquiry(office_code="KPPBC-LANGSA"),
        headers=auth("integration", office="KPPBC-LANGSA"),
    )
    assert langsa.status_code == 201, langsa.text
    assert langsa.json()["id"] != aceh["id"]
    assert langsa.json()["office_code"] == "KPPBC-LANGSA"


def test_nul_characters_are_422_not_500(client: TestClient, auth: TokenFactory) -> None:
    response = post(client, auth, new_inquiry(message="a\x00b"))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == "#/message"
    for url in ("/v1/inquiries?q=a%00", "/v1/public/tickets/A%00B?contact=a@b.id"):
        found = client.get(url, headers=auth("officer"))
        assert found.status_code == 422, url
        assert found.headers["content-type"] == "application/problem+json"


def test_idempotency_key_is_bound_to_the_request(client: TestClient, auth: TokenFactory) -> None:
    body = new_inquiry(channel_message_id=None)
    first = post(client, auth, body, **{"Idempotency-Key": "same"})
    assert first.status_code == 201
    other = post(
        client,
        auth,
        new_inquiry(channel_message_id=None, message="Lain"),
        **{"Idempotency-Key": "same"},
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["parameter"] == "Idempotency-Key"
    assert post(client, auth, body, **{"Idempotency-Key": ""}).status_code == 422


def test_bad_query_values_are_422(client: TestClient, auth: TokenFactory) -> None:
    officer = auth("officer")
    for params in (
        {"due_before": "2026-11-25T00:00:00"},
        {"due_before": "9999-12-31T23:59:59-12:00"},
        {"cursor": "WyJkdWVfYXQiLCAiMjAyNi0wMS0wMVQwMDowMDowMCswMDowMCIsIDVd"},
        {"cursor": "garbage"},
        {"sla_state": "sleepy"},
        {"limit": "0"},
    ):
        response = client.get("/v1/inquiries", params=params, headers=officer)
        assert response.status_code == 422, (params, response.text)
    iid = post(client, auth).json()["id"]
    huge = client.post(
        f"/v1/inquiries/{iid}/consultations/{10**20}/reply",
        json={"answer": "x"},
        headers=auth("coordinator"),
    )
    assert huge.status_code == 422
    early = client.post(
        f"/v1/inquiries/{iid}/messages",
        json={"channel": "social", "message": "x", "received_at": "2026-11-22T09:00:00+07:00"},
        headers=auth("integration"),
    )
    assert early.status_code == 422


def test_intake_is_idempotent(client: TestClient, auth: TokenFactory) -> None:
    first = post(client, auth)
    again = post(client, auth)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    body = new_inquiry(channel_message_id=None)
    keyed = post(client, auth, body, **{"Idempotency-Key": "k-1"})
    keyed_again = post(client, auth, body, **{"Idempotency-Key": "k-1"})
    assert keyed.status_code == 201
    assert keyed_again.status_code == 200
    assert keyed_again.json()["id"] == keyed.json()["id"]
    other = post(client, auth, body, **{"Idempotency-Key": "k-2"})
    assert other.status_code == 201
    assert other.json()["id"] != keyed.json()["id"]


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"requester": {"name": "A"}}, "#/requester"),
        ({"requester": {"name": "A", "email": "not-an-email"}}, "#/requester/email"),
        ({"requester": {"name": "A", "phone": "12"}}, "#/requester/phone"),
        ({"requester": {"name": "A", "email": "a@b.id", "nik": "123"}}, "#/requester/nik"),
        ({"documents": [{"type": "awb", "number": "126-12345670"}]}, "#/documents/0"),
        ({"documents": [{"type": "container", "number": "CSQU3054384"}]}, "#/documents/0"),
        ({"documents": [{"type": "fax", "number": "1"}]}, "#/documents/0/type"),
        ({"received_at": "2026-11-23T09:00:00"}, "#/received_at"),
        ({"received_at": "2099-11-23T09:00:00+07:00"}, "#/received_at"),
        ({"message": "x" * 20_001}, "#/message"),
        ({"message": ""}, "#/message"),
        ({"channel": "fax"}, "#/channel"),
    ],
)
def test_intake_validation_names_the_field(
    client: TestClient, auth: TokenFactory, change: dict[str, Any], pointer: str
) -> None:
    response = post(client, auth, new_inquiry(**change))
    assert response.status_code == 422, response.text
    pointers = [e.get("pointer", "") for e in response.json()["errors"]]
    assert any(p.startswith(pointer) for p in pointers), pointers
    assert "1171024108900001" not in response.text


def test_intake_rights(client: TestClient, auth: TokenFactory) -> None:
    assert post(client, auth, role="compliance").status_code == 403
    assert post(client, auth, role="unit").status_code == 403
    other_office = client.post(
        "/v1/inquiries", json=new_inquiry(office_code="KPPBC-LANGSA"), headers=auth("integration")
    )
    assert other_office.status_code == 403
    unknown = client.post(
        "/v1/inquiries",
        json=new_inquiry(office_code="KPPBC-NOPE"),
        headers=auth("integration", office="KPPBC-NOPE"),
    )
    assert unknown.status_code == 404
    email_without_address = new_inquiry(
        channel="email", requester={"name": "A", "phone": "0812345678"}
    )
    assert post(client, auth, email_without_address).status_code == 422


def test_whole_flow_to_answer(client: TestClient, auth: TokenFactory, session: Session) -> None:
    inquiry = post(client, auth).json()
    iid = inquiry["id"]
    stale = inquiry["etag"]

    taken = act(client, auth, iid, "assign", {"assignee": "u1"})
    assert taken.status_code == 200, taken.text
    assert taken.json()["status"] == "in_progress"
    assert taken.json()["assignee"] == "u1"

    conflict = client.post(
        f"/v1/inquiries/{iid}/request-info",
        json={"message": "AWB?"},
        headers={**auth("officer"), "If-Match": stale},
    )
    assert conflict.status_code == 412

    asked = client.post(
        f"/v1/inquiries/{iid}/request-info",
        json={"message": "Mohon kirim nomor AWB."},
        headers={**auth("officer"), "If-Match": taken.headers["etag"]},
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "awaiting_requester"
    # Its clock ran out on 24 November, before the pause began: it stays breached.
    assert asked.json()["sla"]["state"] == "breached"

    follow = client.post(
        f"/v1/inquiries/{iid}/messages",
        json={"channel": "social", "message": "AWB 126-12345675", "channel_message_id": "ig-2"},
        headers=auth("integration"),
    )
    assert follow.status_code == 201, follow.text
    assert follow.json()["status"] == "in_progress"
    repeat = client.post(
        f"/v1/inquiries/{iid}/messages",
        json={"channel": "social", "message": "AWB 126-12345675", "channel_message_id": "ig-2"},
        headers=auth("integration"),
    )
    assert repeat.status_code == 200
    detail = client.get(f"/v1/inquiries/{iid}", headers=auth("officer")).json()
    assert len([m for m in detail["messages"] if m["kind"] == "follow_up"]) == 1

    consultation = act(
        client, auth, iid, "consultations", {"with": "coordinator", "question": "Apakah ini NPD?"}
    )
    assert consultation.status_code == 201, consultation.text
    cid = consultation.json()["id"]
    by_officer = act(client, auth, iid, f"consultations/{cid}/reply", {"answer": "Ya"})
    assert by_officer.status_code == 403
    replied = act(
        client,
        auth,
        iid,
        f"consultations/{cid}/reply",
        {"answer": "Bukan."},
        role="coordinator",
        sub="coord-1",
    )
    assert replied.status_code == 200, replied.text
    assert replied.json()["answered_by"] == "coord-1"

    answered = act(client, auth, iid, "answer", {"message": "Silakan ajukan dokumen."})
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["status"] == "answered"
    # Received 23 November, due the 24th: any answer given now is late.
    assert body["sla"]["outcome"] == "missed"
    assert body["sla"]["first_response_at"] is not None
    last = body["messages"][-1]
    assert last["kind"] == "answer"
    assert "pengaduan.beacukai@customs.go.id" in last["body"]
    assert "1500 225" in last["body"]
    assert "/survey/" in last["body"]

    again = act(client, auth, iid, "answer", {"message": "lagi"})
    assert again.status_code == 409
    assert again.json()["current_status"] == "answered"

    closed = act(client, auth, iid, "close")
    assert closed.json()["status"] == "closed"
    reopened = act(client, auth, iid, "reopen")
    assert reopened.json()["status"] == "in_progress"
    assert reopened.json()["sla"]["outcome"] == body["sla"]["outcome"]

    outbox = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.inquiry_id == uuid.UUID(iid))
        .order_by(OutboxMessage.id)  # type: ignore[arg-type]
    ).all()
    assert [o.kind for o in outbox] == ["acknowledgement", "info_request", "answer"]
    assert [o.status for o in outbox] == ["pending", "pending", "pending"]
    assert outbox[0].recipient == "@cutnyak"

    events = client.get(f"/v1/inquiries/{iid}/events", headers=auth("compliance", office=None))
    assert events.status_code == 200
    actions = [e["action"] for e in events.json()["items"]]
    assert actions == [
        "created",
        "assign",
        "request_info",
        "follow_up",
        "consult",
        "consultation_reply",
        "answer",
        "close",
        "reopen",
    ]
    assert events.json()["items"][1]["from_status"] == "new"
    assert events.json()["items"][1]["to_status"] == "in_progress"


def test_a_fresh_inquiry_pauses_and_is_met(client: TestClient, auth: TokenFactory) -> None:
    receipt = post(client, auth, new_inquiry(received_at=None)).json()
    assert receipt["sla"]["state"] in ("on_track", "at_risk")
    iid = receipt["id"]
    asked = act(client, auth, iid, "request-info", {"message": "Nomor AWB?"})
    assert asked.json()["sla"]["state"] == "paused"
    paused = client.get("/v1/inquiries", params={"sla_state": "paused"}, headers=auth("officer"))
    assert [i["id"] for i in paused.json()["items"]] == [iid]
    resumed = client.post(
        f"/v1/inquiries/{iid}/messages",
        json={"channel": "social", "message": "126-12345675"},
        headers=auth("integration"),
    )
    assert resumed.json()["status"] == "in_progress"
    assert resumed.json()["sla"]["due_at"] >= receipt["sla"]["due_at"]
    answered = act(client, auth, iid, "answer", {"message": "Jawaban"})
    assert answered.json()["sla"]["outcome"] == "met"
    assert answered.json()["sla"]["state"] == "met"
    met = client.get("/v1/inquiries", params={"sla_state": "met"}, headers=auth("officer"))
    assert [i["id"] for i in met.json()["items"]] == [iid]
    # Reopening and answering again changes nothing about the outcome.
    act(client, auth, iid, "close")
    act(client, auth, iid, "reopen")
    again = act(client, auth, iid, "answer", {"message": "Tambahan"})
    assert again.json()["sla"]["outcome"] == "met"
    assert again.json()["sla"]["first_response_at"] == answered.json()["sla"]["first_response_at"]


def test_escalation_ticket_and_public_lookup(client: TestClient, auth: TokenFactory) -> None:
    first = post(client, auth).json()
    second = post(client, auth, new_inquiry(channel_message_id="ig-9")).json()
    escalation = {"unit_code": "PERBEND", "reason": "pembayaran", "message": "Kami teruskan."}
    one = act(client, auth, first["id"], "escalate", escalation)
    assert one.status_code == 200, one.text
    two = act(client, auth, second["id"], "escalate", escalation)
    numbers = [one.json()["ticket_number"], two.json()["ticket_number"]]
    year = str(
        datetime.fromisoformat(one.json()["sla"]["first_response_at"])
        .astimezone(ZoneInfo("Asia/Jakarta"))
        .year
    )
    prefix = f"{OFFICE}-{year}-"
    assert all(n.startswith(prefix) for n in numbers)
    assert int(numbers[1][-6:]) == int(numbers[0][-6:]) + 1
    assert numbers[0] in one.json()["messages"][-1]["body"]
    assert one.json()["assignee"] == "u1"

    unit = auth("unit", office=OFFICE, unit="PERBEND", sub="unit-1")
    other_unit = auth("unit", office=OFFICE, unit="P2")
    assert client.get(f"/v1/inquiries/{first['id']}", headers=unit).status_code == 200
    assert client.get(f"/v1/inquiries/{first['id']}", headers=other_unit).status_code == 404
    listed = client.get("/v1/inquiries", headers=unit).json()["items"]
    assert {i["id"] for i in listed} == {first["id"], second["id"]}

    public = client.get(
        f"/v1/public/tickets/{numbers[0]}", params={"contact": "cut.nyak@example.com"}
    )
    assert public.status_code == 200, public.text
    assert public.json()["status"] == "escalated"
    assert "requester" not in public.json()
    by_phone = client.get(f"/v1/public/tickets/{numbers[0]}", params={"contact": "081234567890"})
    assert by_phone.status_code == 200
    wrong = client.get(f"/v1/public/tickets/{numbers[0]}", params={"contact": "x@example.com"})
    assert wrong.status_code == 404

    resolved = client.post(
        f"/v1/inquiries/{first['id']}/resolve", json={"message": "Sudah diproses."}, headers=unit
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    assert numbers[0] in resolved.json()["messages"][-1]["body"]
    assert (
        client.get(
            f"/v1/public/tickets/{numbers[0]}", params={"contact": "cut.nyak@example.com"}
        ).json()["status"]
        == "resolved"
    )


def test_public_lookup_is_rate_limited(client: TestClient) -> None:
    statuses = [
        client.get(
            "/v1/public/tickets/KANWIL-ACEH-2026-000001", params={"contact": "a@example.com"}
        ).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [404] * 10
    assert statuses[10:] == [429, 429]


def test_lists_mask_identity_numbers(client: TestClient, auth: TokenFactory) -> None:
    inquiry = post(client, auth).json()
    officer = client.get(f"/v1/inquiries/{inquiry['id']}", headers=auth("officer")).json()
    assert officer["requester"]["nik"] == "1171024108900001"
    page = client.get("/v1/inquiries", headers=auth("officer")).json()
    item = next(i for i in page["items"] if i["id"] == inquiry["id"])
    assert item["requester"]["nik"] == "1171**********01"
    assert item["requester"]["npwp"] == "0123*********00"
    head = client.get(f"/v1/inquiries/{inquiry['id']}", headers=auth("head")).json()
    assert head["requester"]["nik"] == "1171**********01"


def test_work_queue_filters_and_pages(client: TestClient, auth: TokenFactory) -> None:
    ids = []
    for i, received in enumerate(
        [
            "2026-11-23T09:00:00+07:00",
            "2026-11-23T15:30:00+07:00",
            "2026-11-20T09:00:00+07:00",
            "2026-11-24T09:00:00+07:00",
        ]
    ):
        body = new_inquiry(
            channel_message_id=f"q-{i}", received_at=received, subject=f"Pertanyaan {i}"
        )
        ids.append(post(client, auth, body).json()["id"])
    officer = auth("officer")
    page1 = client.get("/v1/inquiries", params={"limit": 2}, headers=officer).json()
    assert len(page1["items"]) == 2
    page2 = client.get(
        "/v1/inquiries", params={"limit": 2, "cursor": page1["next_cursor"]}, headers=officer
    ).json()
    ordered = [i["id"] for i in page1["items"] + page2["items"]]
    # ids[1] (late on Monday) and ids[3] (Tuesday morning) are both due Wednesday 17:00.
    assert ordered[:2] == [ids[2], ids[0]]
    assert sorted(ordered[2:]) == sorted([ids[1], ids[3]])
    assert page2["next_cursor"] is None
    dues = [i["sla"]["due_at"] for i in page1["items"] + page2["items"]]
    assert dues == sorted(dues)

    newest = client.get("/v1/inquiries", params={"sort": "-received_at"}, headers=officer)
    assert [i["id"] for i in newest.json()["items"]] == [ids[3], ids[1], ids[0], ids[2]]
    found = client.get("/v1/inquiries", params={"q": "pertanyaan 1"}, headers=officer)
    assert [i["id"] for i in found.json()["items"]] == [ids[1]]
    act(client, auth, ids[0], "assign", {"assignee": "u1"})
    mine = client.get("/v1/inquiries", params={"assignee": "me"}, headers=officer)
    assert [i["id"] for i in mine.json()["items"]] == [ids[0]]
    progress = client.get("/v1/inquiries", params={"status": "in_progress"}, headers=officer)
    assert [i["id"] for i in progress.json()["items"]] == [ids[0]]
    due = client.get(
        "/v1/inquiries", params={"due_before": "2026-11-25T00:00:00+07:00"}, headers=officer
    )
    assert {i["id"] for i in due.json()["items"]} == {ids[0], ids[2]}
    breached = client.get("/v1/inquiries", params={"sla_state": "breached"}, headers=officer)
    assert {i["id"] for i in breached.json()["items"]} == set(ids)
    bad = client.get("/v1/inquiries", params={"cursor": "garbage"}, headers=officer)
    assert bad.status_code == 422
    elsewhere = client.get("/v1/inquiries", headers=auth("officer", office="KPPBC-LANGSA"))
    assert elsewhere.json()["items"] == []
    assert client.get("/v1/inquiries", headers=auth("integration")).status_code == 403


ACTIONS = {
    "assign": {"assignee": "u1"},
    "request-info": {"message": "Data?"},
    "consultations": {"with": "supervisor", "question": "?"},
    "answer": {"message": "Jawaban"},
    "escalate": {"unit_code": "P2", "reason": "r", "message": "m"},
}


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize(
    ("role", "office", "expected"),
    [
        ("officer", OFFICE, 200),
        ("coordinator", OFFICE, 200),
        ("supervisor", OFFICE, 200),
        ("officer", "KPPBC-LANGSA", 404),
        ("head", OFFICE, 403),
        ("compliance", None, 403),
        ("admin", None, 403),
        ("integration", OFFICE, 404),
        ("unit", None, 404),
    ],
)
def test_authorisation_matrix(
    client: TestClient,
    auth: TokenFactory,
    action: str,
    role: str,
    office: str | None,
    expected: int,
) -> None:
    iid = post(client, auth).json()["id"]
    response = client.post(
        f"/v1/inquiries/{iid}/{action}",
        json=ACTIONS[action],
        headers=auth(role, office=office, sub="u1", unit="P9"),
    )
    want = 201 if expected == 200 and action == "consultations" else expected
    assert response.status_code == want, response.text


def test_follow_up_only_from_integrations(client: TestClient, auth: TokenFactory) -> None:
    iid = post(client, auth).json()["id"]
    body = {"channel": "social", "message": "tambahan"}
    assert (
        client.post(f"/v1/inquiries/{iid}/messages", json=body, headers=auth("officer")).status_code
        == 403
    )
    assert (
        client.post(
            f"/v1/inquiries/{iid}/messages",
            json=body,
            headers=auth("integration", office="KPPBC-LANGSA"),
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/v1/inquiries/{iid}/messages", json=body, headers=auth("integration")
        ).status_code
        == 201
    )


def test_officer_assigns_only_themselves(client: TestClient, auth: TokenFactory) -> None:
    iid = post(client, auth).json()["id"]
    assert act(client, auth, iid, "assign", {"assignee": "someone-else"}).status_code == 403
    assert (
        act(
            client, auth, iid, "assign", {"assignee": "someone-else"}, role="coordinator"
        ).status_code
        == 200
    )


def test_resolve_needs_the_unit_or_a_coordinator(client: TestClient, auth: TokenFactory) -> None:
    iid = post(client, auth).json()["id"]
    act(client, auth, iid, "escalate", ACTIONS["escalate"])
    message = {"message": "Selesai"}
    assert act(client, auth, iid, "resolve", message).status_code == 403
    assert (
        client.post(
            f"/v1/inquiries/{iid}/resolve",
            json=message,
            headers=auth("unit", office=OFFICE, unit="PERBEND"),
        ).status_code
        == 404
    )
    assert act(client, auth, iid, "resolve", message, role="coordinator").status_code == 200


def test_unknown_inquiry_is_404(client: TestClient, auth: TokenFactory) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert client.get(f"/v1/inquiries/{missing}", headers=auth("officer")).status_code == 404
    assert act(client, auth, missing, "answer", {"message": "x"}).status_code == 404
    assert client.get("/v1/inquiries/not-a-uuid", headers=auth("officer")).status_code == 422


def test_reescalation_keeps_the_ticket_number(client: TestClient, auth: TokenFactory) -> None:
    iid = post(client, auth).json()["id"]
    first = act(client, auth, iid, "escalate", ACTIONS["escalate"]).json()["ticket_number"]
    act(client, auth, iid, "resolve", {"message": "Selesai"}, role="coordinator")
    act(client, auth, iid, "close")
    act(client, auth, iid, "reopen")
    again = act(client, auth, iid, "escalate", ACTIONS["escalate"])
    assert again.status_code == 200, again.text
    assert again.json()["ticket_number"] == first


def test_documents_with_tax_numbers_are_masked(client: TestClient, auth: TokenFactory) -> None:
    body = new_inquiry(documents=[{"type": "npwp", "number": "01.234.567.4-901.000"}])
    iid = post(client, auth, body).json()["id"]
    officer = client.get(f"/v1/inquiries/{iid}", headers=auth("officer")).json()
    assert officer["documents"][0]["number"] == "012345674901000"
    head = client.get(f"/v1/inquiries/{iid}", headers=auth("head")).json()
    assert head["documents"][0]["number"] == "0123*********00"


def test_consultation_gives_the_new_etag(client: TestClient, auth: TokenFactory) -> None:
    iid = post(client, auth).json()["id"]
    asked = act(client, auth, iid, "consultations", {"with": "supervisor", "question": "?"})
    assert asked.status_code == 201
    listed = f'"stale", {asked.headers["etag"]}'
    answered = client.post(
        f"/v1/inquiries/{iid}/answer",
        json={"message": "Jawaban"},
        headers={**auth("officer"), "If-Match": listed},
    )
    assert answered.status_code == 200, answered.text


def test_a_consulted_unit_reads_and_replies(client: TestClient, auth: TokenFactory) -> None:
    iid = post(client, auth).json()["id"]
    asked = act(
        client, auth, iid, "consultations", {"with": "unit", "unit_code": "P2", "question": "NPD?"}
    )
    cid = asked.json()["id"]
    p2 = auth("unit", office=OFFICE, unit="P2", sub="p2-1")
    other = auth("unit", office=OFFICE, unit="P3")
    assert client.get(f"/v1/inquiries/{iid}", headers=p2).status_code == 200
    assert [i["id"] for i in client.get("/v1/inquiries", headers=p2).json()["items"]] == [iid]
    assert client.get(f"/v1/inquiries/{iid}", headers=other).status_code == 404
    assert (
        client.post(
            f"/v1/inquiries/{iid}/consultations/{cid}/reply", json={"answer": "x"}, headers=other
        ).status_code
        == 404
    )
    replied = client.post(
        f"/v1/inquiries/{iid}/consultations/{cid}/reply", json={"answer": "Bukan NPD."}, headers=p2
    )
    assert replied.status_code == 200, replied.text
    assert replied.json()["answered_by"] == "p2-1"
    # The unit reads, but cannot act on the officer's behalf.
    assert (
        client.post(f"/v1/inquiries/{iid}/answer", json={"message": "x"}, headers=p2).status_code
        == 403
    )


def test_officers_do_not_take_over_each_others_inquiries(
    client: TestClient, auth: TokenFactory
) -> None:
    iid = post(client, auth).json()["id"]
    assert act(client, auth, iid, "assign", {"assignee": "u1"}).status_code == 200
    taken = client.post(
        f"/v1/inquiries/{iid}/assign", json={"assignee": "u2"}, headers=auth("officer", sub="u2")
    )
    assert taken.status_code == 409
    assert taken.json()["current_status"] == "in_progress"


# Actions on inquiries further along: (action, body, how to get there first).
LATER_ACTIONS = {
    "resolve": ({"message": "Selesai"}, ["escalate"]),
    "close": ({}, ["answer"]),
    "reopen": ({}, ["answer", "close"]),
    "messages": ({"channel": "social", "message": "Tambahan"}, []),
}
LATER_EXPECTED = {
    # role, office, unit -> status per action
    ("officer", OFFICE, None): {"resolve": 403, "close": 200, "reopen": 200, "messages": 403},
    ("coordinator", OFFICE, None): {"resolve": 200, "close": 200, "reopen": 200, "messages": 403},
    ("supervisor", OFFICE, None): {"resolve": 403, "close": 200, "reopen": 200, "messages": 403},
    ("head", OFFICE, None): {"resolve": 403, "close": 403, "reopen": 403, "messages": 403},
    ("compliance", None, None): {"resolve": 403, "close": 403, "reopen": 403, "messages": 403},
    ("admin", None, None): {"resolve": 403, "close": 403, "reopen": 403, "messages": 403},
    ("integration", OFFICE, None): {"resolve": 404, "close": 404, "reopen": 404, "messages": 201},
    # P2 sees only what is escalated to it (the resolve case); the rest is unknown to it.
    ("unit", OFFICE, "P2"): {"resolve": 200, "close": 404, "reopen": 404, "messages": 404},
    ("unit", OFFICE, "P9"): {"resolve": 404, "close": 404, "reopen": 404, "messages": 404},
    # A unit of the same code in another office, or without an office, sees nothing.
    ("unit", "KPPBC-LANGSA", "P2"): {"resolve": 404, "close": 404, "reopen": 404, "messages": 404},
    ("unit", None, "P2"): {"resolve": 404, "close": 404, "reopen": 404, "messages": 404},
    ("officer", "KPPBC-LANGSA", None): {
        "resolve": 404,
        "close": 404,
        "reopen": 404,
        "messages": 404,
    },
}


@pytest.mark.parametrize("action", list(LATER_ACTIONS))
@pytest.mark.parametrize(("role", "office", "unit"), list(LATER_EXPECTED))
def test_authorisation_matrix_later_actions(
    client: TestClient,
    auth: TokenFactory,
    action: str,
    role: str,
    office: str | None,
    unit: str | None,
) -> None:
    iid = post(client, auth).json()["id"]
    body, steps = LATER_ACTIONS[action]
    for step in steps:
        prepared = act(client, auth, iid, step, ACTIONS.get(step, {}))
        assert prepared.status_code == 200, prepared.text
    response = client.post(
        f"/v1/inquiries/{iid}/{action}",
        json=body,
        headers=auth(role, office=office, unit=unit, sub="u9"),
    )
    assert response.status_code == LATER_EXPECTED[(role, office, unit)][action], response.text


def test_a_legacy_nppbkc_is_masked_too(client: TestClient, auth: TokenFactory) -> None:
    body = new_inquiry(documents=[{"type": "nppbkc", "number": "123456"}])
    iid = post(client, auth, body).json()["id"]
    officer = client.get(f"/v1/inquiries/{iid}", headers=auth("officer")).json()
    assert officer["documents"][0] == {"type": "nppbkc", "number": "123456", "legacy": True}
    head = client.get(f"/v1/inquiries/{iid}", headers=auth("head")).json()
    assert head["documents"][0]["number"] == "****56"


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("1171024108900001", "1171**********01"),
        ("012345674901000", "0123*********00"),
        ("1234567", "*****67"),
        ("123456", "****56"),
        ("12", "*2"),
    ],
)
def test_masks_hide_at_least_half(number: str, masked: str) -> None:
    from app.inquiries.access import mask

    assert mask(number) == masked
    assert masked.count("*") * 2 >= len(number)


def test_a_document_flag_is_a_boolean_not_a_number(client: TestClient, auth: TokenFactory) -> None:
    # The schema says boolean; 0 is refused rather than read as false.
    body = new_inquiry(documents=[{"type": "bl", "number": "0", "legacy": 0}])
    response = client.post("/v1/inquiries", json=body, headers=auth("integration"))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == "#/documents/0/legacy"
