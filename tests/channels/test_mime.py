"""Reading raw mail (the corpus in tests/channels/mime), cutting quoted history, the noise
guard's reasons and the folder blob store: pure functions, no database."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.channels.mime import (
    EmailUnreadable,
    ParsedEmail,
    message_ids,
    noise_reason,
    our_delivery_id,
    parse_email,
)
from app.channels.quoting import strip_quoted
from app.channels.storage import BlobNotFound, FolderStore

CORPUS = Path(__file__).parent / "mime"
DELIVERY = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def parsed(name: str) -> ParsedEmail:
    return parse_email(corpus(name))


def test_quoted_printable_indonesian() -> None:
    mail = parsed("qp_indonesian.eml")
    assert mail.from_address == "siti.rahma@example.co.id"
    assert mail.from_name == "Siti Rahmawati"
    assert mail.to == ("info.aceh@beacukai.go.id",)
    assert mail.message_id == "20261123091240.4471@example.co.id"
    assert mail.subject == "Pertanyaan tentang impor barang kiriman"
    # A soft line break inside a multi-byte character, joined and decoded.
    assert "AWB 126-12345675" in mail.body
    assert "USD 450 — apakah" in mail.body
    assert mail.date is not None
    assert mail.date.utcoffset() is not None
    assert noise_reason(mail) is None


def test_base64_body_and_rfc2047_subject_and_name() -> None:
    mail = parsed("base64_subject.eml")
    assert mail.subject == "Pengiriman paket — status tertahan di gudang ✓"
    assert mail.from_name == "Teuku Umar Öztürk"
    assert mail.body.startswith("Paket saya sudah tiga hari tertahan di gudang.")


def test_html_only_becomes_readable_text() -> None:
    mail = parsed("html_only.eml")
    assert "<" not in mail.body
    assert "alert(1)" not in mail.body
    assert "color" not in mail.body
    assert "tarif bea masuk untuk laptop dengan kode HS 8471.30.20" in mail.body
    assert "* Apakah ada fasilitas ACFTA?" in mail.body
    assert mail.from_name == "PT Samudera Logistik"


def test_alternative_prefers_plain_text() -> None:
    mail = parsed("alternative.eml")
    assert mail.body.strip() == "Berapa tarif cukai untuk cairan rokok elektrik tahun 2026?"
    assert mail.attachments == ()


@pytest.mark.parametrize(
    ("name", "subject", "phrase"),
    [
        ("iso_8859_1.eml", "Importación de café", "cómo exportar café de Gayo a España"),
        ("windows_1252.eml", "Tagihan “bea keluar” kopi", "sebesar € 120 \u2013 apakah benar?"),
    ],
)
def test_single_byte_charsets(name: str, subject: str, phrase: str) -> None:
    mail = parsed(name)
    assert mail.subject == subject
    assert phrase in mail.body
    assert "\r" not in mail.body


def test_pdf_attachment_with_encoded_filename() -> None:
    mail = parsed("pdf_attachment.eml")
    assert mail.body.strip().startswith("Bersama ini saya lampirkan invoice")
    [pdf] = mail.attachments
    assert pdf.filename == "Invoice 2026-11 — final.pdf"
    assert pdf.content_type == "application/pdf"
    assert pdf.data.startswith(b"%PDF-1.4")
    assert pdf.data.rstrip().endswith(b"%%EOF")
    assert pdf.sha256 == hashlib.sha256(pdf.data).hexdigest()


def test_attachment_filename_loses_its_path() -> None:
    raw = (
        b"From: a@example.com\r\nMessage-ID: <p@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nhalo\r\n--b\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
        b'filename="..\\\\..\\\\windows\\\\evil.exe"\r\n\r\nMZ\r\n--b--\r\n'
    )
    [part] = parse_email(raw).attachments
    assert part.filename == "evil.exe"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("auto_reply.eml", "Auto-Submitted: auto-replied"),
        ("bulk.eml", "Precedence: bulk"),
        ("bounce.eml", "delivery status report"),
    ],
)
def test_noise_is_recognised(name: str, reason: str) -> None:
    assert noise_reason(parsed(name)) == reason


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (b"From: MAILER-DAEMON@mx.example.com\r\n", "sender is mailer-daemon"),
        (b"From: postmaster@mx.example.com\r\n", "sender is postmaster"),
        (b"From: a@example.com\r\nReturn-Path: <>\r\n", "null sender"),
        (b"From: <>\r\n", "null sender"),
        (b"From: a@example.com\r\nX-Autoreply: yes\r\n", "X-Autoreply/X-Autorespond"),
        (b"From: a@example.com\r\nX-Autorespond: yes\r\n", "X-Autoreply/X-Autorespond"),
        (b"From: a@example.com\r\nPrecedence: junk\r\n", "Precedence: junk"),
        (b"From: a@example.com\r\nPrecedence: list\r\n", "Precedence: list"),
        (
            b"From: a@example.com\r\nAuto-Submitted: auto-generated\r\n",
            "Auto-Submitted: auto-generated",
        ),
        (b"From: a@example.com\r\nAuto-Submitted: no\r\n", None),
        (
            f"From: a@example.com\r\nMessage-ID: <infodesk.{DELIVERY}@beacukai.go.id>\r\n".encode(),
            "sent by this service",
        ),
        (b"From: a@example.com\r\nPrecedence: first-class\r\n", None),
    ],
)
def test_noise_headers(headers: bytes, reason: str | None) -> None:
    raw = headers + b"Subject: x\r\nMessage-ID: <n@x>\r\n\r\nisi\r\n"
    assert noise_reason(parse_email(raw)) == reason


def test_bounce_names_our_delivery_and_the_diagnostic() -> None:
    mail = parsed("bounce.eml")
    assert mail.is_delivery_report
    assert mail.quoted_delivery_ids == (DELIVERY,)
    assert mail.diagnostic == "smtp; 550 5.1.1 User unknown"


def test_mail_without_message_id() -> None:
    mail = parsed("no_message_id.eml")
    assert mail.message_id is None
    assert mail.from_address == "ahmad.fauzi@example.com"


def test_no_from() -> None:
    mail = parsed("no_from.eml")
    assert mail.from_address is None


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("broken_mime.eml", "broken MIME structure"),
        ("unknown_charset.eml", "unknown charset 'x-klingon-9'"),
        ("charset_idna.eml", "unusable charset 'idna'"),
        ("charset_nul.eml", "unusable charset 'utf"),
        ("param_without_value.eml", "cannot be read (IndexError)"),
    ],
)
def test_unreadable_mail_is_refused(name: str, detail: str) -> None:
    with pytest.raises(EmailUnreadable) as caught:
        parse_email(corpus(name))
    assert detail in caught.value.detail
    assert caught.value.status == 422
    assert caught.value.code == "email_unreadable"


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"just some text without headers\n"])
def test_not_a_message(raw: bytes) -> None:
    with pytest.raises(EmailUnreadable):
        parse_email(raw)


def test_undecodable_header_bytes_and_nul_are_cleaned() -> None:
    raw = b"From: a@example.com\r\nSubject: caf\xe9 \xff\r\nMessage-ID: <c@x>\r\n\r\nisi\x00 ok\r\n"
    mail = parse_email(raw)
    assert mail.subject is not None
    assert mail.subject.startswith("caf")
    mail.subject.encode("utf-8")  # no lone surrogates left
    assert "\x00" not in mail.body
    assert "isi ok" in mail.body


def test_thread_ids_nearest_first() -> None:
    mail = parsed("reply_outlook.eml")
    assert mail.thread_ids == (
        f"infodesk.{DELIVERY}@beacukai.go.id",
        "20261123091240.4471@example.co.id",
    )
    assert message_ids("<a@x> junk <b@y>") == ("a@x", "b@y")
    assert our_delivery_id(f"<infodesk.{DELIVERY.upper()}@beacukai.go.id>") == DELIVERY
    assert our_delivery_id("CAGm8x1Vq@mail.gmail.com") is None
    assert our_delivery_id("infodesk.not-a-uuid@beacukai.go.id") is None


@pytest.mark.parametrize(
    ("name", "new_text"),
    [
        (
            "reply_outlook.eml",
            "Terima kasih, berikut foto resi pengiriman yang diminta. Nilai barang USD 450."
            "\n\nSalam,\nSiti",
        ),
        ("reply_gmail_id.eml", "Baik Pak, dokumen sudah saya kirim lewat portal tadi pagi."),
        ("reply_gmail_en.eml", "One more question: can I pick the parcel up in Banda Aceh myself?"),
    ],
)
def test_replies_keep_only_the_new_text(name: str, new_text: str) -> None:
    assert strip_quoted(parsed(name).body) == new_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ya.\n> dulu\n>> lebih dulu", "Ya."),
        ("Ya.\n\nOn Mon, 23 Nov 2026, Kanwil <a@b> wrote:\n> dulu", "Ya."),
        ("Ya.\n\nPada Sen, 23 Nov 2026 09.00, Kanwil <a@b> menulis:\n> dulu", "Ya."),
        ("Ya.\n-----Original Message-----\nFrom: x\nisi lama", "Ya."),
        ("Ya.\n-----Pesan Asli-----\nDari: x", "Ya."),
        ("Ya.\n\nDari: Kanwil <a@b>\nTerkirim: Senin\nKepada: saya\n\nisi lama", "Ya."),
        ("Ya.\n\nFrom: Kanwil <a@b>\nDate: Monday\nisi lama", "Ya."),
        # Text that merely mentions the words stays.
        ("From: my office we sent the papers on Monday.\nDone.", None),
        ("On Monday I wrote to you.\nStill waiting.", None),
        ("", ""),
    ],
)
def test_strip_quoted(text: str, expected: str | None) -> None:
    assert strip_quoted(text) == (text.strip() if expected is None else expected)


def test_folder_store_is_content_addressed(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "blobs")
    key = store.put(b"isi lampiran")
    assert key == hashlib.sha256(b"isi lampiran").hexdigest()
    assert store.put(b"isi lampiran") == key
    assert store.get(key) == b"isi lampiran"
    assert (tmp_path / "blobs" / key[:2] / key[2:4] / key).is_file()
    assert not list((tmp_path / "blobs").rglob(".tmp-*"))
    with pytest.raises(BlobNotFound):
        store.get("0" * 64)
    with pytest.raises(BlobNotFound):
        store.get("../../etc/passwd")
