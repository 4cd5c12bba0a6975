"""Answer templates through HTTP: managing them, their versions and scope, and answers
written from them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.inquiries.models import InquiryMessage, OutboxMessage
from tests.api.test_inquiries import OFFICE, act, new_inquiry, post
from tests.conftest import TokenFactory

OTHER = "KPPBC-LANGSA"
BODY = (
    "Yth. {{nama}}, kiriman Anda ({{referensi}}) memerlukan dokumen pelengkap. "
    "Kami menjawab paling lambat {{batas_waktu}}. Salam, {{kantor}}. Tiket: {{nomor_tiket}}."
)


def template(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "kiriman-tertahan",
        "title": "Barang kiriman tertahan",
        "body": BODY,
        "office_code": OFFICE,
        "language": "id",
    }
    body.update(overrides)
    return body


def create(
    client: TestClient, auth: TokenFactory, body: dict[str, Any] | None = None, **who: Any
) -> Any:
    roles = who.pop("roles", ("coordinator",))
    return client.post("/v1/templates", json=body or template(), headers=auth(*roles, **who))


def test_create_read_update_keeps_versions(client: TestClient, auth: TokenFactory) -> None:
    created = create(client, auth)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/templates/kiriman-tertahan"
    first = created.json()
    assert first["version"] == 1
    assert first["placeholders"] == ["nama", "referensi", "batas_waktu", "kantor", "nomor_tiket"]

    stale = created.headers["etag"]
    updated = client.patch(
        "/v1/templates/kiriman-tertahan",
        json={"body": "Versi kedua untuk {{nama}}."},
        headers={**auth("supervisor"), "If-Match": stale},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    assert updated.json()["title"] == "Barang kiriman tertahan"
    again = client.patch(
        "/v1/templates/kiriman-tertahan",
        json={"title": "x"},
        headers={**auth("coordinator"), "If-Match": stale},
    )
    assert again.status_code == 412
    assert again.json()["code"] == "template_changed"
    # The same text again is no new version.
    same = client.patch(
        "/v1/templates/kiriman-tertahan",
        json={"body": "Versi kedua untuk {{nama}}."},
        headers=auth("coordinator"),
    )
    assert same.json()["version"] == 2

    versions = client.get("/v1/templates/kiriman-tertahan/versions", headers=auth("officer"))
    assert [v["version"] for v in versions.json()["items"]] == [1, 2]
    assert versions.json()["items"][0]["body"] == BODY
    one = client.get("/v1/templates/kiriman-tertahan/versions/1", headers=auth("officer"))
    assert one.json()["body"] == BODY
    missing = client.get("/v1/templates/kiriman-tertahan/versions/3", headers=auth("officer"))
    assert missing.status_code == 404
    assert missing.json()["code"] == "template_not_found"


def test_code_is_unique_and_normalised(client: TestClient, auth: TokenFactory) -> None:
    assert create(client, auth).status_code == 201
    taken = create(client, auth, template(code="  Kiriman-Tertahan "))
    assert taken.status_code == 409
    assert taken.json()["code"] == "template_code_taken"
    bad = create(client, auth, template(code="kiriman tertahan"))
    assert bad.status_code == 422
    reserved = create(client, auth, template(code="placeholders"))
    assert reserved.status_code == 422
    assert reserved.json()["errors"][0]["pointer"] == "#/code"


def test_unknown_placeholder_is_refused_when_saved(client: TestClient, auth: TokenFactory) -> None:
    refused = create(client, auth, template(body="Halo {{nama}}, NIK Anda {{nik}}."))
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "template_unknown_placeholder"
    assert "{{nik}}" in problem["detail"]
    assert problem["errors"][0]["pointer"] == "#/body"
    unclosed = create(client, auth, template(body="Halo {{nama}"))
    assert unclosed.json()["code"] == "template_unknown_placeholder"
    assert create(client, auth).status_code == 201
    patched = client.patch(
        "/v1/templates/kiriman-tertahan", json={"body": "{{npwp}}"}, headers=auth("coordinator")
    )
    assert patched.status_code == 422
    assert patched.json()["code"] == "template_unknown_placeholder"
    shown = client.get("/v1/templates/kiriman-tertahan", headers=auth("officer")).json()
    assert shown["version"] == 1


def test_who_manages_and_who_reads(client: TestClient, auth: TokenFactory) -> None:
    assert create(client, auth, roles=("officer",)).status_code == 403
    assert create(client, auth, roles=("head",)).status_code == 403
    # Coordinators manage their own office's templates only; the ones for all offices
    # belong to supervisors and admins.
    other = create(client, auth, template(office_code=OTHER))
    assert other.status_code == 403
    everyone = template(code="jam-layanan", office_code=None, body="Kantor {{kantor}} buka.")
    assert create(client, auth, everyone).status_code == 403
    assert create(client, auth, everyone, roles=("supervisor",)).status_code == 201
    assert (
        create(
            client, auth, template(code="langsa", office_code=OTHER), roles=("admin",), office=None
        ).status_code
        == 201
    )
    assert create(client, auth).status_code == 201
    unknown_office = create(
        client, auth, template(code="x", office_code="KPPBC-NOWHERE"), roles=("admin",)
    )
    assert unknown_office.status_code == 422

    listed = client.get("/v1/templates", headers=auth("officer")).json()["items"]
    assert [t["code"] for t in listed] == ["jam-layanan", "kiriman-tertahan"]
    langsa = client.get("/v1/templates", headers=auth("officer", office=OTHER)).json()["items"]
    assert [t["code"] for t in langsa] == ["jam-layanan", "langsa"]
    everything = client.get("/v1/templates", headers=auth("compliance", office=None)).json()
    assert {"jam-layanan", "kiriman-tertahan", "langsa"} <= {t["code"] for t in everything["items"]}
    hidden = client.get("/v1/templates/langsa", headers=auth("officer"))
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "template_not_found"
    assert client.get("/v1/templates", headers=auth("integration")).status_code == 403
    assert (
        client.patch(
            "/v1/templates/kiriman-tertahan", json={"title": "x"}, headers=auth("officer")
        ).status_code
        == 403
    )


def test_placeholders_are_listed(client: TestClient, auth: TokenFactory) -> None:
    listed = client.get("/v1/templates/placeholders", headers=auth("officer")).json()["items"]
    assert [p["written"] for p in listed] == [
        "{{nama}}",
        "{{referensi}}",
        "{{nomor_tiket}}",
        "{{batas_waktu}}",
        "{{kantor}}",
    ]


def _inquiry(client: TestClient, auth: TokenFactory, **overrides: Any) -> str:
    created = post(client, auth, new_inquiry(**overrides))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_answer_from_a_template_records_its_version(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    assert create(client, auth).status_code == 201
    iid = _inquiry(client, auth)
    answered = act(
        client, auth, iid, "answer", {"template": "Kiriman-Tertahan", "message": "Terima kasih."}
    )
    assert answered.status_code == 200, answered.text
    detail = answered.json()
    sent = detail["messages"][-1]
    reference = detail["reference"]
    assert sent["template"]["code"] == "kiriman-tertahan"
    assert sent["template"]["version"] == 1
    body = sent["body"]
    assert f"Yth. Cut Nyak Dhien, kiriman Anda ({reference})" in body
    # {{batas_waktu}} is the due time in words, in the office's zone.
    assert detail["sla"]["due_at"] == "2026-11-24T17:00:00+07:00"
    assert "paling lambat Selasa, 24 November 2026 pukul 17.00 WIB." in body
    assert "Salam, Kantor Wilayah DJBC Aceh. Tiket: -." in body
    assert "Tiket: -.\n\nTerima kasih." in body
    assert "{{" not in body
    outbox = session.exec(select(OutboxMessage).where(OutboxMessage.message_id == sent["id"])).one()
    assert outbox.body == body

    # A later version changes nothing about what was sent.
    client.patch(
        "/v1/templates/kiriman-tertahan",
        json={"body": "Teks baru untuk {{nama}}."},
        headers=auth("coordinator"),
    )
    again = client.get(f"/v1/inquiries/{iid}", headers=auth("officer")).json()
    assert again["messages"][-1]["body"] == body
    assert again["messages"][-1]["template"]["version"] == 1
    stored = session.exec(select(InquiryMessage).where(InquiryMessage.id == sent["id"])).one()
    assert (stored.template_code, stored.template_version) == ("kiriman-tertahan", 1)
    events = client.get(f"/v1/inquiries/{iid}/events", headers=auth("officer")).json()
    answer_event = [e for e in events["items"] if e["action"] == "answer"][-1]
    assert answer_event["details"]["template"] == "kiriman-tertahan"
    assert answer_event["details"]["template_version"] == 1

    second = _inquiry(client, auth, channel_message_id="ig-2")
    later = act(client, auth, second, "answer", {"template": "kiriman-tertahan"})
    assert later.status_code == 200, later.text
    message = later.json()["messages"][-1]
    assert message["template"]["version"] == 2
    assert "Teks baru untuk Cut Nyak Dhien." in message["body"]


def test_answer_refusals(client: TestClient, auth: TokenFactory) -> None:
    iid = _inquiry(client, auth)
    unknown = act(client, auth, iid, "answer", {"template": "tidak-ada"})
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "template_not_found"
    assert (
        create(
            client, auth, template(code="langsa", office_code=OTHER), roles=("admin",)
        ).status_code
        == 201
    )
    other_office = act(client, auth, iid, "answer", {"template": "langsa"})
    assert other_office.status_code == 404
    assert other_office.json()["code"] == "template_not_found"

    assert create(client, auth).status_code == 201
    archived = client.post("/v1/templates/kiriman-tertahan/archive", headers=auth("coordinator"))
    assert archived.status_code == 200
    assert archived.json()["archived"] is True
    refused = act(client, auth, iid, "answer", {"template": "kiriman-tertahan"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "template_archived"
    listed = client.get("/v1/templates", headers=auth("officer")).json()["items"]
    assert listed == []
    assert (
        len(client.get("/v1/templates?archived=true", headers=auth("officer")).json()["items"]) == 1
    )
    edit = client.patch(
        "/v1/templates/kiriman-tertahan", json={"title": "x"}, headers=auth("coordinator")
    )
    assert edit.status_code == 409
    assert edit.json()["code"] == "template_archived"

    empty = act(client, auth, iid, "answer", {})
    assert empty.status_code == 422
    both_missing = act(client, auth, iid, "answer", {"message": "  "})
    assert both_missing.status_code == 422
    # Nothing was sent by any refusal.
    detail = client.get(f"/v1/inquiries/{iid}", headers=auth("officer")).json()
    assert detail["status"] == "new"
    assert [m["kind"] for m in detail["messages"] if m["direction"] == "outbound"] == [
        "acknowledgement"
    ]

    restored = client.post("/v1/templates/kiriman-tertahan/restore", headers=auth("coordinator"))
    assert restored.json()["archived"] is False
    assert act(client, auth, iid, "answer", {"template": "kiriman-tertahan"}).status_code == 200


def test_answer_by_hand_still_works(client: TestClient, auth: TokenFactory) -> None:
    iid = _inquiry(client, auth)
    answered = act(client, auth, iid, "answer", {"message": "Jawaban."})
    assert answered.status_code == 200
    assert answered.json()["messages"][-1]["template"] is None
