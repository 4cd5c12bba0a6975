"""A real Dovecot for the tests, started from a temporary configuration.

It listens on free loopback ports (plain IMAP with STARTTLS, and implicit TLS with a
self-signed certificate for 127.0.0.1 that a test trusts through ``SSL_CERT_FILE``),
allows plaintext login (loopback only), has one passwd-file user and keeps maildirs in a
temporary folder. Without /usr/sbin/dovecot the tests are skipped with the reason, unless
``INFODESK_REQUIRE_REAL_PARTS=1`` (CI), which makes that a failure.
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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "layanan", "rahasia-imap-2026"
REQUIRE = os.environ.get("INFODESK_REQUIRE_REAL_PARTS") == "1"


def free_port() -> int:
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


def run_dovecot() -> Iterator[Dovecot]:
    """Start Dovecot, yield it, stop it (skips or fails when it is not installed)."""
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
    port, tls_port = free_port(), free_port()
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


def append(server: Dovecot, folder: str, raw: bytes) -> None:
    connection = server.connect()
    try:
        typ, _ = connection.append(f'"{folder}"', None, None, raw)
        assert typ == "OK"
    finally:
        connection.logout()


def flags(server: Dovecot, folder: str) -> dict[int, bool]:
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


def unsee(server: Dovecot, folder: str) -> None:
    connection = server.connect()
    try:
        connection.select(f'"{folder}"')
        typ, _ = connection.uid("STORE", "1:*", "-FLAGS", "(\\Seen)")
        assert typ == "OK"
    finally:
        connection.logout()
