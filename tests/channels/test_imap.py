"""Polling office mailboxes over IMAP, against a real Dovecot started for these tests
(tests/channels/dovecot.py). Each test uses a folder and an office of its own and commits
for real (the poller opens its own sessions), so nothing depends on another test's mail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import app.models  # noqa: F401  (every table, for the clean-up)
from app.calendar.cache import CalendarCache
from app.channels.imap import PollReport, poll_mailboxes, poll_round
from app.channels.mailbox_models import Mailbox
from app.channels.mailbox_schemas import ImapIn, MailboxIn
from app.channels.mailboxes import put_mailbox
from app.cli import main
from app.core.config import get_settings
from app.core.db import metadata, utcnow, writer
from app.inquiries.models import Inquiry, InquiryMessage
from app.offices.models import Office
from app.sla.policies import PolicyCache
from tests.channels.dovecot import (
    PASSWORD,
    USER,
    Dovecot,
    append,
    flags,
    free_port,
    run_dovecot,
    unsee,
)
from tests.channels.test_mime import CORPUS


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    yield from run_dovecot()


@dataclass(frozen=True)
class Box:
    office: str
    folder: str


def _mail(sender: str, subject: str, message_id: str, body: str, **headers: str) -> bytes:
    lines = [
        f"From: {sender}",
        "To: layanan@beacukai.go.id",
        f"Subject: {subject}",
        f"Message-ID: <{message_id}>",
        "Date: Mon, 30 Nov 2026 09:00:00 +0700",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
        "",
        body,
        "",
    ]
    return "\r\n".join(lines).encode()


def _poll() -> PollReport:
    return poll_round(calendars=CalendarCache(0), policies=PolicyCache(0))


def _make_box(engine: Engine, server: Dovecot, *, password: str = PASSWORD, **imap: object) -> Box:
    office = f"IMAP-{uuid.uuid4().hex[:10].upper()}"
    folder = f"T{uuid.uuid4().hex[:12]}"
    connection = server.connect()
    try:
        assert connection.create(f'"{folder}"')[0] == "OK"
    finally:
        connection.logout()
    settings = {
        "host": "127.0.0.1",
        "port": server.port,
        "security": "none",
        "user": USER,
        "password": password,
        "folder": folder,
        **imap,
    }
    with Session(writer(engine)) as session:
        session.add(Office(code=office, name=f"Kantor {office}", timezone="Asia/Jakarta"))
        session.flush()
        put_mailbox(
            session=session,
            office_code=office,
            data=MailboxIn(
                address=f"{office.lower()}@beacukai.go.id", imap=ImapIn.model_validate(settings)
            ),
        )
        session.commit()
    return Box(office=office, folder=folder)


@pytest.fixture
def boxes(engine: Engine) -> Iterator[list[Box]]:
    """The tests' mailboxes. Afterwards their offices go, with everything the polls
    committed for them, so that later tests and rounds see none of it."""
    made: list[Box] = []
    yield made
    offices = [box.office for box in made]
    if not offices:
        return
    inquiries = select(Inquiry.id).where(col(Inquiry.office_code).in_(offices))
    with Session(writer(engine)) as session:
        for table in reversed(metadata.sorted_tables):
            if table.name == "office":
                session.execute(delete(table).where(table.c.code.in_(offices)))
                continue
            found = []
            if "inquiry_id" in table.c:
                found.append(table.c.inquiry_id.in_(inquiries.scalar_subquery()))
            if "office_code" in table.c:
                found.append(table.c.office_code.in_(offices))
            if found:
                session.execute(delete(table).where(or_(*found)))
        session.commit()


def _mailbox(engine: Engine, office: str) -> Mailbox:
    with Session(engine, expire_on_commit=False) as session:
        mailbox = session.get(Mailbox, office)
        assert mailbox is not None
        return mailbox


def _inquiries(engine: Engine, office: str) -> list[Inquiry]:
    with Session(engine) as session:
        return list(session.exec(select(Inquiry).where(col(Inquiry.office_code) == office)))


def _inbound_messages(engine: Engine, inquiry: Inquiry) -> int:
    with Session(engine) as session:
        query = (
            select(func.count())
            .where(col(InquiryMessage.inquiry_id) == inquiry.id)
            .where(col(InquiryMessage.direction) == "inbound")
        )
        return int(session.exec(query).one())


def test_new_mail_becomes_inquiries_and_is_marked_seen(
    engine: Engine, dovecot: Dovecot, boxes: list[Box]
) -> None:
    box = _make_box(engine, dovecot)
    boxes.append(box)
    append(
        dovecot,
        box.folder,
        _mail(
            "Cut <cut@example.com>",
            "Impor barang",
            "m1@ex.com",
            "Bagaimana cara impor barang kiriman?",
        ),
    )
    append(
        dovecot,
        box.folder,
        _mail(
            "teuku@example.com", "Cukai rokok", "m2@ex.com", "Berapa tarif cukai rokok tahun 2026?"
        ),
    )
    assert flags(dovecot, box.folder) == {1: False, 2: False}

    report = _poll()
    assert report.read == 2, report
    assert report.outcomes["created"] == 2, report
    assert flags(dovecot, box.folder) == {1: True, 2: True}
    inquiries = _inquiries(engine, box.office)
    assert sorted(i.requester_email or "" for i in inquiries) == [
        "cut@example.com",
        "teuku@example.com",
    ]
    assert {i.channel for i in inquiries} == {"email"}
    mailbox = _mailbox(engine, box.office)
    assert mailbox.imap_last_uid == 2
    assert mailbox.imap_uidvalidity is not None
    assert mailbox.last_error is None
    assert mailbox.last_polled_at is not None
    assert mailbox.imap_lease_until is None

    again = _poll()
    assert again.read == 0, again
    assert len(_inquiries(engine, box.office)) == 2
    assert poll_mailboxes(calendars=CalendarCache(0), policies=PolicyCache(0)) == 0


def test_crash_before_marking_reads_again_and_deduplicates(
    engine: Engine, dovecot: Dovecot, boxes: list[Box]
) -> None:
    box = _make_box(engine, dovecot)
    boxes.append(box)
    append(
        dovecot,
        box.folder,
        _mail(
            "ani@example.com", "Paket tertahan", "crash@ex.com", "Paket saya tertahan di bea cukai."
        ),
    )
    assert _poll().outcomes["created"] == 1
    # As if the poller died after the inquiry's commit, before flag and UID were stored.
    unsee(dovecot, box.folder)
    with Session(writer(engine)) as session:
        mailbox = session.get(Mailbox, box.office)
        assert mailbox is not None
        mailbox.imap_last_uid = 0
        session.add(mailbox)
        session.commit()

    report = _poll()
    assert report.read == 1, report
    assert report.outcomes == {"duplicate": 1}, report
    assert len(_inquiries(engine, box.office)) == 1
    assert flags(dovecot, box.folder) == {1: True}
    assert _mailbox(engine, box.office).imap_last_uid == 1


def test_a_reply_threads_as_follow_up(engine: Engine, dovecot: Dovecot, boxes: list[Box]) -> None:
    box = _make_box(engine, dovecot)
    boxes.append(box)
    append(
        dovecot,
        box.folder,
        _mail(
            "budi@example.com",
            "Izin impor",
            "first@ex.com",
            "Apakah perlu izin impor untuk suku cadang?",
        ),
    )
    assert _poll().outcomes == {"created": 1}
    reply = _mail(
        "budi@example.com",
        "Re: Izin impor",
        "second@ex.com",
        "Tambahan: barangnya suku cadang mesin.",
        In_Reply_To="<first@ex.com>",
        References="<first@ex.com>",
    )
    append(dovecot, box.folder, reply)

    report = _poll()
    assert report.outcomes == {"follow_up": 1}, report
    (inquiry,) = _inquiries(engine, box.office)
    assert _inbound_messages(engine, inquiry) == 2
    assert flags(dovecot, box.folder) == {1: True, 2: True}


def test_processed_mail_is_moved_when_a_folder_is_set(
    engine: Engine, dovecot: Dovecot, boxes: list[Box]
) -> None:
    done = f"D{uuid.uuid4().hex[:12]}"
    connection = dovecot.connect()
    connection.create(f'"{done}"')
    connection.logout()
    box = _make_box(engine, dovecot, processed_folder=done)
    boxes.append(box)
    append(
        dovecot,
        box.folder,
        _mail(
            "sari@example.com",
            "Barang bawaan",
            "move@ex.com",
            "Berapa batas bebas bea barang bawaan?",
        ),
    )
    assert _poll().outcomes == {"created": 1}
    assert flags(dovecot, box.folder) == {}
    assert list(flags(dovecot, done).values()) == [True]
    assert _poll().read == 0


def test_unreadable_mail_is_skipped_and_recorded(
    engine: Engine, dovecot: Dovecot, boxes: list[Box]
) -> None:
    box = _make_box(engine, dovecot)
    boxes.append(box)
    no_sender = _mail("x@example.com", "Tanpa pengirim", "nosender@ex.com", "Isi.")
    no_sender = b"\r\n".join(ln for ln in no_sender.split(b"\r\n") if not ln.startswith(b"From:"))
    append(dovecot, box.folder, no_sender)
    append(
        dovecot,
        box.folder,
        _mail("rina@example.com", "Ekspor", "ok@ex.com", "Bagaimana prosedur ekspor kopi?"),
    )

    report = _poll()
    assert report.skipped == 1, report
    assert report.failed_mailboxes == 0, report
    assert report.outcomes == {"created": 1}, report
    mailbox = _mailbox(engine, box.office)
    assert mailbox.imap_last_uid == 2
    assert mailbox.last_error is not None
    assert "UID 1" in mailbox.last_error
    assert "x@example.com" not in mailbox.last_error
    # Left unread in the folder for a person; never read again by the poller.
    assert flags(dovecot, box.folder) == {1: False, 2: True}
    assert _poll().read == 0
    assert _mailbox(engine, box.office).last_error is None


def test_wrong_password_is_recorded_and_other_mailboxes_are_still_read(
    engine: Engine, dovecot: Dovecot, boxes: list[Box]
) -> None:
    bad = _make_box(engine, dovecot, password="salah")
    good = _make_box(engine, dovecot)
    boxes.extend([bad, good])
    append(dovecot, bad.folder, _mail("a@example.com", "Satu", "bad1@ex.com", "Pertanyaan."))
    append(dovecot, good.folder, _mail("b@example.com", "Dua", "good1@ex.com", "Pertanyaan."))

    report = _poll()
    assert report.failed_mailboxes == 1, report
    assert report.outcomes == {"created": 1}, report
    failed = _mailbox(engine, bad.office)
    assert failed.last_error == "IMAP login failed (check user and password)"
    assert failed.last_polled_at is not None
    assert failed.imap_last_uid == 0
    assert failed.imap_lease_until is None
    assert _inquiries(engine, bad.office) == []
    assert len(_inquiries(engine, good.office)) == 1
    assert flags(dovecot, bad.folder) == {1: False}


def test_unreachable_server_is_recorded(engine: Engine, dovecot: Dovecot, boxes: list[Box]) -> None:
    box = _make_box(engine, dovecot, port=free_port())
    boxes.append(box)
    report = _poll()
    assert report.failed_mailboxes == 1
    assert report.read == 0
    error = _mailbox(engine, box.office).last_error
    assert error is not None
    assert error.startswith("cannot connect to IMAP server")


def test_a_new_uidvalidity_reads_the_folder_again(
    engine: Engine, dovecot: Dovecot, boxes: list[Box]
) -> None:
    box = _make_box(engine, dovecot)
    boxes.append(box)
    append(dovecot, box.folder, _mail("dewi@example.com", "NPWP", "uv@ex.com", "Pertanyaan."))
    assert _poll().outcomes == {"created": 1}
    with Session(writer(engine)) as session:
        mailbox = session.get(Mailbox, box.office)
        assert mailbox is not None
        assert mailbox.imap_uidvalidity is not None
        mailbox.imap_uidvalidity -= 1  # as if the folder had been rebuilt
        mailbox.imap_last_uid = 99
        session.add(mailbox)
        session.commit()
    report = _poll()
    assert report.outcomes == {"duplicate": 1}, report
    assert _mailbox(engine, box.office).imap_last_uid == 1


def test_a_held_mailbox_is_left_to_its_poller(
    engine: Engine, dovecot: Dovecot, boxes: list[Box]
) -> None:
    box = _make_box(engine, dovecot)
    boxes.append(box)
    append(dovecot, box.folder, _mail("eka@example.com", "Tarif", "lease@ex.com", "Tanya."))
    with Session(writer(engine)) as session:
        mailbox = session.get(Mailbox, box.office)
        assert mailbox is not None
        mailbox.imap_lease_until = utcnow() + timedelta(minutes=5)
        session.add(mailbox)
        session.commit()
    assert _poll().read == 0
    assert _inquiries(engine, box.office) == []


def test_the_command_polls_once_and_prints_counts(
    engine: Engine, dovecot: Dovecot, boxes: list[Box], capsys: pytest.CaptureFixture[str]
) -> None:
    box = _make_box(engine, dovecot)
    boxes.append(box)
    append(dovecot, box.folder, _mail("fajar@example.com", "Kurs", "cli@ex.com", "Tanya."))
    assert main(["imap-poll"]) == 0
    assert capsys.readouterr().out.strip() == (
        "mailboxes=1 read=1 skipped=0 failed_mailboxes=0 created=1"
    )
    assert len(_inquiries(engine, box.office)) == 1


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_with_a_trusted_certificate(
    engine: Engine,
    dovecot: Dovecot,
    boxes: list[Box],
    monkeypatch: pytest.MonkeyPatch,
    security: str,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.ca_file))
    port = dovecot.tls_port if security == "ssl" else dovecot.port
    box = _make_box(engine, dovecot, security=security, port=port)
    boxes.append(box)
    append(dovecot, box.folder, _mail("gita@example.com", "TLS", f"{security}@ex.com", "Tanya."))
    report = _poll()
    assert report.outcomes == {"created": 1}, report
    assert _mailbox(engine, box.office).last_error is None


def test_an_untrusted_certificate_is_refused(
    engine: Engine, dovecot: Dovecot, boxes: list[Box], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    box = _make_box(engine, dovecot, security="ssl", port=dovecot.tls_port)
    boxes.append(box)
    append(dovecot, box.folder, _mail("hana@example.com", "TLS", "untrusted@ex.com", "Tanya."))
    report = _poll()
    assert report.read == 0
    assert _mailbox(engine, box.office).last_error == (
        "cannot connect to IMAP server: SSLCertVerificationError"
    )
    assert _inquiries(engine, box.office) == []


def test_an_oversized_mail_is_skipped(
    engine: Engine, dovecot: Dovecot, boxes: list[Box], monkeypatch: pytest.MonkeyPatch
) -> None:
    box = _make_box(engine, dovecot)
    boxes.append(box)
    append(dovecot, box.folder, _mail("joko@example.com", "Besar", "big@ex.com", "x" * 5000))
    append(dovecot, box.folder, _mail("kiki@example.com", "Kecil", "small@ex.com", "Tanya."))
    monkeypatch.setenv("INFODESK_MAX_EMAIL_BYTES", "2000")
    get_settings.cache_clear()
    try:
        report = _poll()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert report.skipped == 1, report
    assert report.outcomes == {"created": 1}, report
    assert _mailbox(engine, box.office).last_error == "message UID 1 skipped: email_too_large"
    assert flags(dovecot, box.folder) == {1: False, 2: True}


# (A NUL in a header does not survive Dovecot; the endpoint's tests cover that one.)
@pytest.mark.parametrize("name", ["charset_idna.eml", "param_without_value.eml"])
def test_a_mail_the_parser_chokes_on_is_skipped_and_the_next_is_read(
    engine: Engine, dovecot: Dovecot, boxes: list[Box], name: str
) -> None:
    box = _make_box(engine, dovecot)
    boxes.append(box)
    append(dovecot, box.folder, (CORPUS / name).read_bytes())
    append(
        dovecot,
        box.folder,
        _mail("rina@example.com", "Ekspor", f"{uuid.uuid4().hex}@ex.com", "Prosedur ekspor?"),
    )

    report = _poll()
    assert report.failed_mailboxes == 0, report
    assert report.skipped == 1, report
    assert report.outcomes == {"created": 1}, report
    mailbox = _mailbox(engine, box.office)
    assert mailbox.imap_last_uid == 2
    assert mailbox.last_error == "message UID 1 skipped: email_unreadable"
    assert flags(dovecot, box.folder) == {1: False, 2: True}
    assert _poll().read == 0
