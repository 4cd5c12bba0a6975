"""Office mailboxes through the API: set, read without passwords, passwords encrypted at
rest, validation; the sender and SMTP server they give; the production key check."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.channels import crypto
from app.channels.mailbox_models import Mailbox
from app.channels.mailboxes import (
    SecretKeyRequired,
    ensure_secret_key,
    sender_for,
    smtp_for,
)
from app.channels.targets import Sender, SmtpTarget
from app.core.config import get_settings
from tests.conftest import TokenFactory

URL = "/v1/offices/KANWIL-ACEH/mailbox"
IMAP_SECRET = "imap-rahasia-Aceh-2026"
SMTP_SECRET = "smtp-rahasia-Aceh-2026"
BODY: dict[str, Any] = {
    "address": "layanan.aceh@beacukai.go.id",
    "display_name": "Layanan Informasi Kanwil Aceh",
    "imap": {
        "host": "mail.beacukai.go.id",
        "port": 993,
        "security": "ssl",
        "user": "layanan.aceh",
        "password": IMAP_SECRET,
        "folder": "INBOX",
        "processed_folder": "Diproses",
    },
    "smtp": {
        "host": "smtp.beacukai.go.id",
        "port": 587,
        "security": "starttls",
        "user": "layanan.aceh",
        "password": SMTP_SECRET,
    },
}


def _body(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(BODY)
    body.update(changes)
    return body


def _put(client: TestClient, auth: TokenFactory, body: dict[str, Any], url: str = URL) -> Any:
    return client.put(url, json=body, headers=auth("admin"))


def _no_secret_in(text: str) -> None:
    assert IMAP_SECRET not in text
    assert SMTP_SECRET not in text
    assert '"password"' not in text


def test_put_then_get_shows_settings_but_never_passwords(
    client: TestClient, auth: TokenFactory
) -> None:
    created = _put(client, auth, BODY)
    assert created.status_code == 201, created.text
    _no_secret_in(created.text)
    body = created.json()
    assert body["address"] == "layanan.aceh@beacukai.go.id"
    assert body["imap"]["password_set"] is True
    assert body["imap"]["processed_folder"] == "Diproses"
    assert body["imap"]["last_uid"] == 0
    assert body["smtp"] == {
        "host": "smtp.beacukai.go.id",
        "port": 587,
        "security": "starttls",
        "user": "layanan.aceh",
        "password_set": True,
    }
    read = client.get(URL, headers=auth("admin"))
    assert read.status_code == 200, read.text
    _no_secret_in(read.text)
    assert read.json() == body


def test_passwords_are_encrypted_at_rest_and_kept_when_left_out(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    assert _put(client, auth, BODY).status_code == 201
    stored = session.get(Mailbox, "KANWIL-ACEH")
    assert stored is not None
    assert stored.imap_password
    assert stored.smtp_password
    token = stored.imap_password
    assert IMAP_SECRET not in token
    assert SMTP_SECRET not in stored.smtp_password
    assert crypto.decrypt(token) == IMAP_SECRET
    assert crypto.decrypt(stored.smtp_password) == SMTP_SECRET

    later = _body(display_name="Layanan Aceh")
    del later["imap"]["password"], later["smtp"]["password"]
    again = _put(client, auth, later)
    assert again.status_code == 200, again.text
    assert again.json()["version"] == 2
    assert again.json()["imap"]["password_set"] is True
    session.expire_all()
    stored = session.get(Mailbox, "KANWIL-ACEH")
    assert stored is not None
    assert stored.imap_password == token
    assert crypto.decrypt(stored.smtp_password or "") == SMTP_SECRET


def test_a_new_folder_reads_from_its_start(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    assert _put(client, auth, BODY).status_code == 201
    stored = session.get(Mailbox, "KANWIL-ACEH")
    assert stored is not None
    stored.imap_uidvalidity, stored.imap_last_uid = 7, 41
    session.add(stored)
    session.flush()
    same = _put(client, auth, _body(display_name="Lain"))
    assert same.json()["imap"]["last_uid"] == 41
    other = _body()
    other["imap"]["folder"] = "Layanan"
    moved = _put(client, auth, other)
    assert moved.json()["imap"]["last_uid"] == 0
    assert moved.json()["imap"]["uidvalidity"] is None


def test_sender_and_smtp_target_of_an_office(
    client: TestClient, auth: TokenFactory, session: Session
) -> None:
    assert sender_for(session, "KANWIL-ACEH") is None
    assert smtp_for(session, "KANWIL-ACEH") is None
    assert _put(client, auth, BODY).status_code == 201
    assert sender_for(session, "KANWIL-ACEH") == Sender(
        address="layanan.aceh@beacukai.go.id", display_name="Layanan Informasi Kanwil Aceh"
    )
    assert smtp_for(session, "KANWIL-ACEH") == SmtpTarget(
        host="smtp.beacukai.go.id",
        port=587,
        security="starttls",
        username="layanan.aceh",
        password=SMTP_SECRET,
    )
    disabled = _put(client, auth, _body(enabled=False))
    assert disabled.status_code == 200
    assert sender_for(session, "KANWIL-ACEH") is None
    assert smtp_for(session, "KANWIL-ACEH") is None


def test_smtp_is_optional(client: TestClient, auth: TokenFactory, session: Session) -> None:
    response = _put(client, auth, _body(smtp=None))
    assert response.status_code == 201, response.text
    assert response.json()["smtp"] is None
    assert smtp_for(session, "KANWIL-ACEH") is None
    assert sender_for(session, "KANWIL-ACEH") is not None


def test_delete_removes_the_mailbox(client: TestClient, auth: TokenFactory) -> None:
    missing = client.get(URL, headers=auth("admin"))
    assert missing.status_code == 404
    assert missing.json()["code"] == "mailbox_not_found"
    assert client.delete(URL, headers=auth("admin")).status_code == 404
    assert _put(client, auth, BODY).status_code == 201
    assert client.delete(URL, headers=auth("admin")).status_code == 204
    assert client.get(URL, headers=auth("admin")).status_code == 404


def test_unknown_office_and_other_roles(client: TestClient, auth: TokenFactory) -> None:
    unknown = _put(client, auth, BODY, url="/v1/offices/KPPBC-NOWHERE/mailbox")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"
    assert client.get("/v1/offices/KPPBC-NOWHERE/mailbox", headers=auth("admin")).status_code == 404
    for role in ("officer", "supervisor", "integration", "compliance"):
        assert client.put(URL, json=BODY, headers=auth(role)).status_code == 403
        assert client.get(URL, headers=auth(role)).status_code == 403
        assert client.delete(URL, headers=auth(role)).status_code == 403
    assert client.get(URL).status_code == 401


def _imap(**changes: Any) -> dict[str, Any]:
    return _body(imap={**BODY["imap"], **changes})


def _smtp(**changes: Any) -> dict[str, Any]:
    return _body(smtp={**BODY["smtp"], **changes})


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (_body(address="bukan-alamat"), "#/address"),
        (_body(address="a@b"), "#/address"),
        (_body(address=None), "#/address"),
        (_body(address="lâyanan@beacukai.go.id"), "#/address"),
        (_imap(port=0), "#/imap/port"),
        (_imap(port=65536), "#/imap/port"),
        (_imap(security="tls"), "#/imap/security"),
        (_imap(host="mail server.go.id"), "#/imap/host"),
        (_imap(host="a" * 254), "#/imap/host"),
        (_imap(host=("a" * 64) + ".go.id"), "#/imap/host"),
        (_imap(host=""), "#/imap/host"),
        (_imap(folder='IN"BOX'), "#/imap/folder"),
        (_imap(folder="Kotak\r\nMasuk"), "#/imap/folder"),
        (_imap(user=""), "#/imap/user"),
        (_imap(password="a\r\nb"), "#/imap/password"),
        (_imap(password=None), "#/imap/password"),
        (_smtp(port=-1), "#/smtp/port"),
        (_smtp(security="SSL"), "#/smtp/security"),
        (_smtp(password=None), "#/smtp/password"),
        (_smtp(user=None), "#/smtp/user"),
        (_body(display_name="x" * 201), "#/display_name"),
        (_body(secret="x"), "#/secret"),
    ],
)
def test_invalid_settings_are_refused_naming_the_field(
    client: TestClient, auth: TokenFactory, body: dict[str, Any], pointer: str
) -> None:
    response = _put(client, auth, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert pointer in [e.get("pointer") for e in response.json()["errors"]], response.text
    _no_secret_in(response.text)
    assert client.get(URL, headers=auth("admin")).status_code == 404


def test_a_non_ascii_address_is_refused_saying_smtputf8_is_not_supported(
    client: TestClient, auth: TokenFactory
) -> None:
    response = _put(client, auth, _body(address="lâyanan@beacukai.go.id"))
    assert response.status_code == 422, response.text
    assert "SMTPUTF8" in response.text


def test_an_ip_address_is_a_valid_host(client: TestClient, auth: TokenFactory) -> None:
    response = _put(client, auth, _imap(host="127.0.0.1", security="none", port=143))
    assert response.status_code == 201, response.text
    assert response.json()["imap"]["host"] == "127.0.0.1"


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("INFODESK_ENV", "production")
    monkeypatch.delenv("INFODESK_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_production_without_key_refuses_to_start_once_a_mailbox_exists(
    client: TestClient, auth: TokenFactory, session: Session, production: None
) -> None:
    ensure_secret_key(session)  # no mailbox yet: nothing to protect
    refused = _put(client, auth, BODY)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "secret_key_missing"
    session.add(Mailbox(office_code="KANWIL-ACEH", address="a@beacukai.go.id"))
    session.flush()
    with pytest.raises(SecretKeyRequired):
        ensure_secret_key(session)


def test_production_with_a_key_starts(
    session: Session, production: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFODESK_SECRET_KEY", "k" * 40)
    get_settings.cache_clear()
    session.add(Mailbox(office_code="KANWIL-ACEH", address="a@beacukai.go.id"))
    session.flush()
    ensure_secret_key(session)
