"""Polling office mailboxes over IMAP, against a real Dovecot started for these tests.

Dovecot runs from a temporary configuration: listening on a free loopback port, plaintext
login allowed (loopback only), one passwd-file user, maildirs in a temporary folder. Each
test uses a folder of its own and an office of its own, and commits for real (the poller
opens its own sessions), so nothing depends on another test's mail.
"""

from __future__ import annotations

import getpass
import imaplib
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.calendar.cache import CalendarCache
from app.channels.imap import PollReport, poll_mailboxes, poll_round
from app.channels.mailbox_models import Mailbox
from app.channels.mailbox_schemas import ImapIn, MailboxIn
from app.channels.mailboxes import put_mailbox
from app.cli import main
from app.core.db import utcnow, writer
from app.inquiries.models import Inquiry, InquiryMessage
from app.offices.models import Office
from app.sla.policies import PolicyCache

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "layanan", "rahasia-imap-2026"
REQUIRE = os.environ.get("INFODESK_REQUIRE_REAL_PARTS") == "1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Dovecot:
    port: int
    tls_port: int
    ca_file: Path
    log: Path

    def connect(self) -> imaplib.IMAP4:
        connection = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        connection.login(USER, PASSWORD)
        return connection


def _certificate(root: Path) -> None:
    """A self-signed certificate for 127.0.0.1: the tests trust it through SSL_CERT_FILE."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "infodesk test IMAP")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (root / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (root / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _config(root: Path, port: int, tls_port: int) -> str:
    if os.geteuid() == 0:
        # Dovecot refuses to run login processes or mail access as root.
        for name in ("dovecot", "dovenull"):
            try:
                pwd.getpwnam(name)
            except KeyError:
                pytest.skip(f"the system user {name!r} of the dovecot package is missing")
        internal, login, mail_user = "root", "dovenull", "dovecot"
        shutil.chown(root / "mail", mail_user, mail_user)
    else:
        internal = login = mail_user = getpass.getuser()
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
  default_fields = uid={mail_user} gid={mail_user} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
"""


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    if not Path(DOVECOT).exists():
        reason = f"{DOVECOT} is not installed (Debian package dovecot-imapd)"
        if REQUIRE:
            pytest.fail(reason + " and INFODESK_REQUIRE_REAL_PARTS=1")
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="infodesk-dovecot-"))
    # Dovecot's unprivileged login processes must reach the sockets under base_dir.
    root.chmod(0o755)
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    (root / "run").chmod(0o755)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    port, tls_port = _free_port(), _free_port()
    _certificate(root)
    (root / "dovecot.conf").write_text(_config(root, port, tls_port))
    output = root / "dovecot.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603  (a fixed program and our own config)
            [DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stdout=sink, stderr=sink
        )
    server = Dovecot(
        port=port, tls_port=tls_port, ca_file=root / "cert.pem", log=root / "dovecot.log"
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                text = output.read_text(errors="replace")
                pytest.fail(f"dovecot exited with {process.returncode}: {text}")
            try:
                server.connect().logout()
                break
            except (OSError, imaplib.IMAP4.error):
                if time.monotonic() > deadline:
                    pytest.fail("dovecot did not accept a login within 15 s")
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


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


def _append(server: Dovecot, folder: str, raw: bytes) -> None:
    connection = server.connect()
    try:
        typ, _ = connection.append(f'"{folder}"', None, None, raw)
        assert typ == "OK"
    finally:
        connection.logout()


def _flags(server: Dovecot, folder: str) -> dict[int, bool]:
    """UID -> whether the message is \\Seen."""
    connection = server.connect()
    try:
        typ, _ = connection.select(f'"{folder}"', readonly=True)
        assert typ == "OK"
        _typ, data = connection.uid("FETCH", "1:*", "(FLAGS)")
        seen: dict[int, bool] = {}
        for item in data:
            if isinstance(item, bytes) and b"UID" in item:
                words = item.replace(b"(", b" ").replace(b")", b" ").split()
                uid = int(words[words.index(b"UID") + 1])
                seen[uid] = b"\\Seen" in item
        return seen
    finally:
        connection.logout()


def _unsee(server: Dovecot, folder: str) -> None:
    connection = server.connect()
    try:
        connection.select(f'"{folder}"')
        typ, _ = connection.uid("STORE", "1:*", "-FLAGS", "(\\Seen)")
        assert typ == "OK"
    finally:
        connection.logout()


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
    """The tests' mailboxes, removed afterwards so that later rounds do not poll them."""
    made: list[Box] = []
    yield made
    with Session(writer(engine)) as session:
        for box in made:
            mailbox = session.get(Mailbox, box.office)
            if mailbox is not None:
                session.delete(mailbox)
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
    _append(
        dovecot,
        box.folder,
        _mail(
            "Cut <cut@example.com>",
            "Impor barang",
            "m1@ex.com",
            "Bagaimana cara impor barang kiriman?",
        ),
    )
    _append(
        dovecot,
        box.folder,
        _mail(
            "teuku@example.com", "Cukai rokok", "m2@ex.com", "Berapa tarif cukai rokok tahun 2026?"
        ),
    )
    assert _flags(dovecot, box.folder) == {1: False, 2: False}

    report = _poll()
    assert report.read == 2, report
    assert report.outcomes["created"] == 2, report
    assert _flags(dovecot, box.folder) == {1: True, 2: True}
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
    _append(
        dovecot,
        box.folder,
        _mail(
            "ani@example.com", "Paket tertahan", "crash@ex.com", "Paket saya tertahan di bea cukai."
        ),
    )
    assert _poll().outcomes["created"] == 1
    # As if the poller died after the inquiry's commit, before flag and UID were stored.
    _unsee(dovecot, box.folder)
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
    assert _flags(dovecot, box.folder) == {1: True}
    assert _mailbox(engine, box.office).imap_last_uid == 1


def test_a_reply_threads_as_follow_up(engine: Engine, dovecot: Dovecot, boxes: list[Box]) -> None:
    box = _make_box(engine, dovecot)
    boxes.append(box)
    _append(
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
    _append(dovecot, box.folder, reply)

    report = _poll()
    assert report.outcomes == {"follow_up": 1}, report
    (inquiry,) = _inquiries(engine, box.office)
    assert _inbound_messages(engine, inquiry) == 2
    assert _flags(dovecot, box.folder) == {1: True, 2: True}


def test_processed_mail_is_moved_when_a_folder_is_set(
    engine: Engine, dovecot: Dovecot, boxes: list[Box]
) -> None:
    done = f"D{uuid.uuid4().hex[:12]}"
    connection = dovecot.connect()
    connection.create(f'"{done}"')
    connection.logout()
    box = _make_box(engine, dovecot, processed_folder=done)
    boxes.append(box)
    _append(
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
    assert _flags(dovecot, box.folder) == {}
    assert list(_flags(dovecot, done).values()) == [True]
    assert _poll().read == 0


def test_unreadable_mail_is_skipped_and_recorded(
    engine: Engine, dovecot: Dovecot, boxes: list[Box]
) -> None:
    box = _make_box(engine, dovecot)
    boxes.append(box)
    no_sender = _mail("x@example.com", "Tanpa pengirim", "nosender@ex.com", "Isi.")
    no_sender = b"\r\n".join(ln for ln in no_sender.split(b"\r\n") if not ln.startswith(b"From:"))
    _append(dovecot, box.folder, no_sender)
    _append(
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
    assert _flags(dovecot, box.folder) == {1: False, 2: True}
    assert _poll().read == 0
    assert _mailbox(engine, box.office).last_error is None


def test_wrong_password_is_recorded_and_other_mailboxes_are_still_read(
    engine: Engine, dovecot: Dovecot, boxes: list[Box]
) -> None:
    bad = _make_box(engine, dovecot, password="salah")
    good = _make_box(engine, dovecot)
    boxes.extend([bad, good])
    _append(dovecot, bad.folder, _mail("a@example.com", "Satu", "bad1@ex.com", "Pertanyaan."))
    _append(dovecot, good.folder, _mail("b@example.com", "Dua", "good1@ex.com", "Pertanyaan."))

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
    assert _flags(dovecot, bad.folder) == {1: False}


def test_unreachable_server_is_recorded(engine: Engine, dovecot: Dovecot, boxes: list[Box]) -> None:
    box = _make_box(engine, dovecot, port=_free_port())
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
    _append(dovecot, box.folder, _mail("dewi@example.com", "NPWP", "uv@ex.com", "Pertanyaan."))
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
    _append(dovecot, box.folder, _mail("eka@example.com", "Tarif", "lease@ex.com", "Tanya."))
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
    _append(dovecot, box.folder, _mail("fajar@example.com", "Kurs", "cli@ex.com", "Tanya."))
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
    _append(dovecot, box.folder, _mail("gita@example.com", "TLS", f"{security}@ex.com", "Tanya."))
    report = _poll()
    assert report.outcomes == {"created": 1}, report
    assert _mailbox(engine, box.office).last_error is None


def test_an_untrusted_certificate_is_refused(
    engine: Engine, dovecot: Dovecot, boxes: list[Box], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    box = _make_box(engine, dovecot, security="ssl", port=dovecot.tls_port)
    boxes.append(box)
    _append(dovecot, box.folder, _mail("hana@example.com", "TLS", "untrusted@ex.com", "Tanya."))
    report = _poll()
    assert report.read == 0
    assert _mailbox(engine, box.office).last_error == (
        "cannot connect to IMAP server: SSLCertVerificationError"
    )
    assert _inquiries(engine, box.office) == []
