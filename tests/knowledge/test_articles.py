"""The knowledge base through HTTP: writing, publishing, reading in scope, the audit
trail."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.test_inquiries import OFFICE
from tests.conftest import TokenFactory

OTHER = "KPPBC-LANGSA"


def article(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Barang kiriman: ambang batas FOB USD 3",
        "body": "Barang kiriman sampai **FOB USD 3** dibebaskan dari bea masuk.",
        "tags": ["Barang Kiriman", "tarif", "tarif"],
        "legal_references": ["PMK 4/2025"],
        "office_code": OFFICE,
    }
    body.update(overrides)
    return body


def write(
    client: TestClient, auth: TokenFactory, body: dict[str, Any], *roles: str, **who: Any
) -> Any:
    return client.post(
        "/v1/knowledge", json=body, headers=auth(*(roles or ("coordinator",)), **who)
    )


def test_write_publish_and_read(client: TestClient, auth: TokenFactory) -> None:
    created = write(client, auth, article())
    assert created.status_code == 201, created.text
    draft = created.json()
    assert draft["status"] == "draft"
    assert draft["version"] == 1
    assert draft["tags"] == ["barang kiriman", "tarif"]
    aid = draft["id"]
    assert created.headers["location"] == f"/v1/knowledge/{aid}"

    # Officers do not see drafts.
    assert client.get(f"/v1/knowledge/{aid}", headers=auth("officer")).status_code == 404
    assert client.get("/v1/knowledge", headers=auth("officer")).json()["items"] == []
    assert client.get("/v1/knowledge?status=draft", headers=auth("officer")).status_code == 403
    drafts = client.get("/v1/knowledge?status=draft", headers=auth("coordinator")).json()
    assert [a["id"] for a in drafts["items"]] == [aid]

    stale = created.headers["etag"]
    published = client.patch(
        f"/v1/knowledge/{aid}",
        json={"status": "published", "legal_references": ["PMK 4/2025", "PER-2/BC/2023"]},
        headers={**auth("supervisor", sub="spv-1"), "If-Match": stale},
    )
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    assert published.json()["published_at"] is not None
    assert published.json()["version"] == 2
    late = client.patch(
        f"/v1/knowledge/{aid}",
        json={"title": "x"},
        headers={**auth("coordinator"), "If-Match": stale},
    )
    assert late.status_code == 412
    assert late.json()["code"] == "article_changed"

    read = client.get(f"/v1/knowledge/{aid}", headers=auth("officer"))
    assert read.status_code == 200
    assert read.json()["legal_references"] == ["PMK 4/2025", "PER-2/BC/2023"]
    listed = client.get("/v1/knowledge", headers=auth("officer")).json()["items"]
    assert [a["id"] for a in listed] == [aid]
    assert client.get("/v1/knowledge?tag=TARIF", headers=auth("officer")).json()["items"]
    assert client.get("/v1/knowledge?tag=cukai", headers=auth("officer")).json()["items"] == []
    by_reference = client.get(
        "/v1/knowledge", params={"legal_reference": "PER-2/BC/2023"}, headers=auth("officer")
    )
    assert [a["id"] for a in by_reference.json()["items"]] == [aid]


def test_office_scope(client: TestClient, auth: TokenFactory) -> None:
    ours = write(client, auth, article(status="published")).json()["id"]
    theirs = write(
        client, auth, article(office_code=OTHER, status="published"), office=OTHER
    ).json()["id"]
    everyone = write(
        client, auth, article(office_code=None, status="published"), "supervisor"
    ).json()["id"]

    seen = client.get("/v1/knowledge", headers=auth("officer")).json()["items"]
    assert sorted(a["id"] for a in seen) == sorted([ours, everyone])
    missing = client.get(f"/v1/knowledge/{theirs}", headers=auth("officer"))
    assert missing.status_code == 404
    assert missing.json()["code"] == "article_not_found"
    everything = client.get("/v1/knowledge", headers=auth("compliance", office=None)).json()
    assert {ours, theirs, everyone} <= {a["id"] for a in everything["items"]}
    assert client.get("/v1/knowledge", headers=auth("integration")).status_code == 403


def test_who_writes(client: TestClient, auth: TokenFactory) -> None:
    assert write(client, auth, article(), "officer").status_code == 403
    assert write(client, auth, article(), "admin").status_code == 403
    assert write(client, auth, article(office_code=OTHER)).status_code == 403
    # All offices' articles are the supervisors'.
    assert write(client, auth, article(office_code=None)).status_code == 403
    aid = write(client, auth, article(office_code=None), "supervisor").json()["id"]
    edit = client.patch(f"/v1/knowledge/{aid}", json={"title": "x"}, headers=auth("coordinator"))
    assert edit.status_code == 403
    by_officer = client.patch(f"/v1/knowledge/{aid}", json={"title": "x"}, headers=auth("officer"))
    assert by_officer.status_code in (403, 404)


def test_edits_are_audited_without_the_text(client: TestClient, auth: TokenFactory) -> None:
    aid = write(client, auth, article(), sub="coord-1").json()["id"]
    secret_text = "Hubungi 0812-3456-7890 atau budi@example.com"
    changed = client.patch(
        f"/v1/knowledge/{aid}",
        json={"body": secret_text, "tags": ["tarif", "cukai"], "status": "published"},
        headers=auth("coordinator", sub="coord-2"),
    )
    assert changed.status_code == 200, changed.text
    archived = client.post(f"/v1/knowledge/{aid}/archive", headers=auth("coordinator"))
    assert archived.json()["status"] == "archived"
    assert client.get(f"/v1/knowledge/{aid}", headers=auth("officer")).status_code == 404
    refused = client.patch(f"/v1/knowledge/{aid}", json={"title": "x"}, headers=auth("coordinator"))
    assert refused.status_code == 409
    assert refused.json()["code"] == "article_archived"
    restored = client.post(f"/v1/knowledge/{aid}/restore", headers=auth("coordinator"))
    assert restored.json()["status"] == "draft"

    trail = client.get(f"/v1/knowledge/{aid}/events", headers=auth("coordinator"))
    assert trail.status_code == 200
    items = trail.json()["items"]
    assert [e["action"] for e in items] == ["created", "published", "archived", "restored"]
    assert [e["version"] for e in items] == [1, 2, 3, 4]
    assert items[0]["actor"] == "coord-1"
    update = items[1]
    assert update["actor"] == "coord-2"
    assert update["from_status"] == "draft"
    assert update["to_status"] == "published"
    assert update["details"]["changed"] == ["body", "status", "tags"]
    assert update["details"]["tags_added"] == ["cukai"]
    assert update["details"]["tags_removed"] == ["barang kiriman"]
    assert update["details"]["body_chars"][1] == len(secret_text)
    assert "0812" not in trail.text
    assert "budi@example.com" not in trail.text
    assert client.get(f"/v1/knowledge/{aid}/events", headers=auth("officer")).status_code in (
        403,
        404,
    )


def test_bad_input(client: TestClient, auth: TokenFactory) -> None:
    assert write(client, auth, article(title="")).status_code == 422
    assert write(client, auth, article(status="archived")).status_code == 422
    assert write(client, auth, article(tags=["x" * 51])).status_code == 422
    assert write(client, auth, article(body="x" * 100_001)).status_code == 422
    assert write(client, auth, article(extra=1)).status_code == 422
    nowhere = write(
        client, auth, article(office_code="KPPBC-NOWHERE"), "supervisor", office="KPPBC-NOWHERE"
    )
    assert nowhere.status_code == 422
    assert client.get("/v1/knowledge/0", headers=auth("officer")).status_code == 422
    assert client.get("/v1/knowledge/999999", headers=auth("officer")).status_code == 404
    assert client.get("/v1/knowledge?limit=0", headers=auth("officer")).status_code == 422


def test_pages(client: TestClient, auth: TokenFactory) -> None:
    ids = [
        write(client, auth, article(title=f"Artikel {i}", status="published")).json()["id"]
        for i in range(5)
    ]
    first = client.get("/v1/knowledge?limit=2", headers=auth("officer")).json()
    assert [a["id"] for a in first["items"]] == ids[::-1][:2]
    second = client.get(
        f"/v1/knowledge?limit=2&cursor={first['next_cursor']}", headers=auth("officer")
    ).json()
    assert [a["id"] for a in second["items"]] == ids[::-1][2:4]
    last = client.get(
        f"/v1/knowledge?limit=2&cursor={second['next_cursor']}", headers=auth("officer")
    ).json()
    assert [a["id"] for a in last["items"]] == ids[:1]
    assert last["next_cursor"] is None
