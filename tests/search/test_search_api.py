"""Search, similar inquiries and the queue's text filter through HTTP, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session

from app.cli import main
from app.knowledge.article_models import KnowledgeArticle
from app.search import queue
from app.search.index import rebuild
from tests.api.test_inquiries import act, post
from tests.api.test_inquiries import new_inquiry as inquiry_body
from tests.conftest import TokenFactory

# Offices no other test commits inquiries to, so that what is found is this module's.
OFFICE = "KPPBC-MEULABOH"
OTHER = "KPPBC-LHOKSEUMAWE"


@pytest.fixture
def auth(auth: TokenFactory) -> TokenFactory:
    """The shared token factory, for OFFICE unless told otherwise."""

    def _headers(*roles: str, office: str | None = OFFICE, **kw: Any) -> dict[str, str]:
        return auth(*roles, office=office, **kw)

    return _headers


def new_inquiry(**overrides: Any) -> dict[str, Any]:
    return inquiry_body(**{"office_code": OFFICE, **overrides})


NIK = "1171024108900001"


def answered(
    client: TestClient,
    auth: TokenFactory,
    key: str,
    subject: str,
    message: str,
    answer: str,
    office: str = OFFICE,
) -> str:
    body = new_inquiry(office_code=office, channel_message_id=key, subject=subject, message=message)
    created = client.post("/v1/inquiries", json=body, headers=auth("integration", office=office))
    assert created.status_code == 201, created.text
    inquiry_id = str(created.json()["id"])
    done = act(client, auth, inquiry_id, "answer", {"message": answer}, office=office)
    assert done.status_code == 200, done.text
    return inquiry_id


def search(client: TestClient, auth: TokenFactory, q: str, **params: Any) -> list[Any]:
    who = params.pop("who", ("officer",))
    office = params.pop("office", OFFICE)
    response = client.get(
        "/v1/search", params={"q": q, **params}, headers=auth(*who, office=office)
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_every_form_of_a_word_finds_the_answer(client: TestClient, auth: TokenFactory) -> None:
    found_id = answered(
        client,
        auth,
        "s-1",
        "Pengiriman paket dari Singapura",
        "Bagaimana pengiriman paket saya dari Singapura?",
        "Barang kiriman dengan nilai FOB di atas USD 3 dikenakan bea masuk.",
    )
    answered(client, auth, "s-2", "Cukai rokok", "Berapa tarif cukai rokok?", "Lihat PMK.")
    for q in ("kiriman", "dikirim", "mengirimkan", "PENGIRIMAN", "pengirim"):
        hits = search(client, auth, q)
        assert [h["id"] for h in hits] == [found_id], q
    hit = search(client, auth, "dikirim paket")[0]
    assert hit["kind"] == "inquiry"
    assert hit["reference"].startswith("IQ-")
    assert "<mark>pengiriman</mark>" in hit["snippet"].lower()
    assert "<mark>kiriman</mark>" in hit["answer_snippet"].lower()
    assert hit["answered_at"] is not None
    # Every word must match: "rokok" is in the other inquiry only.
    assert search(client, auth, "kiriman rokok") == []
    # Words of the answer alone find the pair too.
    assert [h["id"] for h in search(client, auth, "pengenaan bea")] == [found_id]


def test_unanswered_inquiries_are_not_found_but_the_queue_finds_them(
    client: TestClient, auth: TokenFactory
) -> None:
    body = new_inquiry(channel_message_id="s-3", subject="Penangguhan", message="Pengiriman")
    pending = post(client, auth, body).json()["id"]
    assert search(client, auth, "kiriman") == []
    queue = client.get("/v1/inquiries", params={"q": "dikirim"}, headers=auth("officer"))
    assert queue.status_code == 200
    assert [i["id"] for i in queue.json()["items"]] == [pending]
    # The queue matches words, not substrings, in their forms.
    tangguh = client.get("/v1/inquiries", params={"q": "ditangguhkan"}, headers=auth("officer"))
    assert [i["id"] for i in tangguh.json()["items"]] == [pending]
    none = client.get("/v1/inquiries", params={"q": "rokok"}, headers=auth("officer"))
    assert none.json()["items"] == []


def test_another_offices_answers_are_never_found(client: TestClient, auth: TokenFactory) -> None:
    mine = answered(client, auth, "s-4", "Kiriman", "Kiriman tertahan", "Lengkapi invoice.")
    theirs = answered(
        client, auth, "s-5", "Kiriman", "Kiriman tertahan", "Lengkapi invoice.", office=OTHER
    )
    assert [h["id"] for h in search(client, auth, "kiriman")] == [mine]
    # Asking for the other office explicitly changes nothing.
    assert search(client, auth, "kiriman", office_code=OTHER) == []
    assert [h["id"] for h in search(client, auth, "kiriman", office=OTHER)] == [theirs]
    everything = {h["id"] for h in search(client, auth, "kiriman", who=("admin",))}
    assert {mine, theirs} <= everything  # with other tests' committed inquiries
    only_theirs = search(client, auth, "kiriman", who=("compliance",), office_code=OTHER)
    assert [h["id"] for h in only_theirs] == [theirs]
    # Their inquiry is no similar one of ours, and ours no similar one of theirs.
    similar = client.get(f"/v1/inquiries/{mine}/similar", headers=auth("officer"))
    assert similar.status_code == 200
    assert similar.json()["items"] == []
    hidden = client.get(f"/v1/inquiries/{theirs}/similar", headers=auth("officer"))
    assert hidden.status_code == 404


def test_personal_data_is_not_searchable(client: TestClient, auth: TokenFactory) -> None:
    found = answered(
        client,
        auth,
        "s-6",
        "Status NIK",
        f"NIK saya {NIK}, telepon 0812-3456-7890, email cut.nyak@example.com. Paket tertahan.",
        "Mohon hubungi kami di 0811 6000 000 untuk paket Anda.",
    )
    assert search(client, auth, NIK) == []
    assert search(client, auth, "1171 0241 0890 0001") == []
    assert search(client, auth, "cut.nyak@example.com") == []
    assert search(client, auth, "08123456790") == []
    queue = client.get("/v1/inquiries", params={"q": NIK}, headers=auth("officer"))
    assert queue.json()["items"] == []
    hit = search(client, auth, "paket")[0]
    assert hit["id"] == found
    for snippet in (hit["snippet"], hit["answer_snippet"]):
        assert "example.com" not in snippet
        assert not any(ch.isdigit() for ch in snippet), snippet
    similar_to = answered(client, auth, "s-7", "Paket", "Paket saya tertahan", "Tunggu ya.")
    items = client.get(f"/v1/inquiries/{similar_to}/similar", headers=auth("officer")).json()
    assert [i["id"] for i in items["items"]] == [found]
    assert not any(ch.isdigit() for ch in items["items"][0]["question"])
    assert not any(ch.isdigit() for ch in items["items"][0]["answer"])


def test_bad_queries_are_problems(client: TestClient, auth: TokenFactory) -> None:
    for params in ({"q": ""}, {"q": "   "}, {"q": "a" * 501}, {}, {"q": "x", "kind": "nope"}):
        response = client.get("/v1/search", params=params, headers=auth("officer"))
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/search", params={"q": "a" * 500}, headers=auth("officer")).json() == {
        "items": []
    }
    refused = client.get("/v1/search", params={"q": "x"}, headers=auth("integration"))
    assert refused.status_code == 403
    assert client.get("/v1/search", params={"q": "x"}).status_code == 401


def test_similar_inquiries_come_with_their_answers(client: TestClient, auth: TokenFactory) -> None:
    first = answered(
        client,
        auth,
        "s-8",
        "Kiriman dari Jepang",
        "Paket kiriman saya dari Jepang tertahan di kantor pos.",
        "Silakan lengkapi invoice dan bukti bayar melalui portal.",
    )
    second = answered(
        client,
        auth,
        "s-9",
        "Pengiriman sepatu",
        "Pengiriman sepatu dari Jepang dikenakan bea masuk berapa?",
        "Bea masuk barang kiriman 7,5 persen.",
    )
    answered(client, auth, "s-10", "Rokok", "Cukai rokok elektrik?", "Lihat tarif cukai.")
    new = post(
        client,
        auth,
        new_inquiry(
            channel_message_id="s-11",
            subject="Paket tertahan",
            message="Paket yang dikirim dari Jepang masih tertahan.",
        ),
    ).json()["id"]
    response = client.get(f"/v1/inquiries/{new}/similar", headers=auth("officer"))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["id"] for i in items] == [first, second], items
    assert items[0]["answer"] == "Silakan lengkapi invoice dan bukti bayar melalui portal."
    assert items[0]["score"] >= items[1]["score"] > 0
    # An inquiry is never its own similar one.
    own = client.get(f"/v1/inquiries/{first}/similar", headers=auth("officer")).json()
    assert first not in [i["id"] for i in own["items"]]


def test_templates_and_published_articles_are_found_when_saved(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    created = client.post(
        "/v1/templates",
        json={
            "code": "kiriman-tertahan",
            "title": "Barang kiriman tertahan",
            "body": "Yth. {{nama}}, pengiriman Anda memerlukan invoice.",
            "office_code": None,
            "language": "id",
        },
        headers=auth("supervisor"),
    )
    assert created.status_code == 201, created.text
    hits = search(client, auth, "dikirim", kind="template")
    assert [(h["kind"], h["id"], h["office_code"]) for h in hits] == [
        ("template", "kiriman-tertahan", None)
    ]
    # Seen from every office, since it is for all offices.
    assert search(client, auth, "dikirim", kind="template", office=OTHER) != []
    edited = client.patch(
        "/v1/templates/kiriman-tertahan",
        json={"body": "Penangguhan pembayaran."},
        headers=auth("supervisor"),
    )
    assert edited.status_code == 200, edited.text
    assert search(client, auth, "invoice", kind="template") == []
    assert search(client, auth, "ditangguhkan", kind="template") != []
    archived = client.post("/v1/templates/kiriman-tertahan/archive", headers=auth("supervisor"))
    assert archived.status_code == 200, archived.text
    assert search(client, auth, "ditangguhkan", kind="template") == []

    article = KnowledgeArticle(
        office_code=OTHER,
        title="Ambang batas FOB USD 3",
        body="Barang kiriman sampai FOB USD 3 dibebaskan dari bea masuk.",
        tags=["barang kiriman"],
        legal_references=["PMK 4/2025"],
        status="draft",
        created_by="u1",
        updated_by="u1",
    )
    session.add(article)
    session.flush()
    assert search(client, auth, "pembebasan", who=("admin",)) == []
    article.status = "published"
    session.add(article)
    session.flush()
    hits = search(client, auth, "pembebasan", who=("admin",), kind="article")
    assert [(h["kind"], h["id"]) for h in hits] == [("article", str(article.id))]
    assert "<mark>dibebaskan</mark>" in hits[0]["snippet"]
    assert search(client, auth, "pembebasan") == []  # another office's article
    assert search(client, auth, "PMK", who=("admin",), kind="article") != []


def test_the_rebuilt_index_finds_the_same(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    found = answered(
        client,
        auth,
        "s-12",
        "Kiriman",
        "Pengiriman tertahan",
        "Mohon lengkapi dokumen pemberitahuan.",
    )
    before = search(client, auth, "diberitahukan")
    assert rebuild(session.connection()) >= 1
    after = search(client, auth, "diberitahukan")
    assert [h["id"] for h in after] == [h["id"] for h in before] == [found]
    assert after[0]["answer_snippet"] == before[0]["answer_snippet"]


def test_the_command_rebuilds_the_index(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    with engine.connect() as connection:
        expected = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM inquiry)"
                " + (SELECT count(*) FROM answer_template WHERE archived_at IS NULL)"
                " + (SELECT count(*) FROM knowledge_article WHERE status = 'published')"
            )
        ).scalar_one()
    assert main(["reindex"]) == 0
    assert f"indexed {expected} " in capsys.readouterr().err
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM search_entry")).scalar_one()
    assert count == expected


@pytest.mark.parametrize("few", [1, 5000])
def test_the_queue_finds_the_same_whether_few_or_many_match(
    client: TestClient, auth: TokenFactory, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    # PostgreSQL takes ids when fewer than FEW inquiries match, else asks inquiry by
    # inquiry; the results are the same.
    monkeypatch.setattr(queue, "FEW", few)
    ids = [
        post(
            client, auth, new_inquiry(channel_message_id=f"s-q{i}", subject="Tanya", message=text_)
        ).json()["id"]
        for i, text_ in enumerate(["Pengiriman paket", "Kiriman tertahan", "Cukai rokok"])
    ]
    found = client.get("/v1/inquiries", params={"q": "dikirim"}, headers=auth("officer"))
    assert sorted(i["id"] for i in found.json()["items"]) == sorted(ids[:2])
    other = client.get(
        "/v1/inquiries", params={"q": "dikirim"}, headers=auth("officer", office=OTHER)
    )
    assert other.json()["items"] == []
    admin = client.get("/v1/inquiries", params={"q": "rokok"}, headers=auth("admin"))
    every = [i["id"] for i in admin.json()["items"]]  # other tests' committed ones too
    assert ids[2] in every
    assert ids[0] not in every
    assert ids[1] not in every
