"""Outbound mail: the message built from an outbox row, sent by SMTP or written to a file.

The ``From`` is the office mailbox's address (app.channels.mailboxes), else
``INFODESK_MAIL_FROM``; the server is the mailbox's own SMTP server, else
``INFODESK_SMTP_URL``; without either, the mail is written as ``<delivery_id>.eml`` to
``INFODESK_MAIL_OUTBOX_DIR`` and counts as delivered, so that a newcomer can read what
would have been sent. The ``Message-ID`` is ``<infodesk.{delivery_id}@{domain}>`` with
``INFODESK_MESSAGE_ID_DOMAIN`` (default: the domain of ``INFODESK_MAIL_FROM``), never the
mailbox's: the same on every retry, so receivers (and our own inbound threading)
recognise repeats even when the office's mailbox changed in between.
"""

from __future__ import annotations

import html
import os
import re
import smtplib
import ssl
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlmodel import Session, col, select

from app.channels import mailboxes
from app.channels.crypto import SecretUnreadable
from app.channels.models import InboundEmail
from app.channels.outcomes import DELIVERED, NOT_SENT, Attempt
from app.channels.targets import Sender, SmtpSecurity, SmtpTarget
from app.core.config import get_settings
from app.core.db import utcnow
from app.inquiries.models import OutboxMessage

_SCHEMES: dict[str, tuple[SmtpSecurity, int]] = {
    "smtp": ("none", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("ssl", 465),
}
# Kinds sent without a person writing them: marked so that auto-responders stay quiet.
AUTO_REPLIED_KINDS = frozenset({"acknowledgement"})
_ENHANCED = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})")
# The requester's mails referred to in References, newest last.
_MAX_REFERENCES = 10


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp://host:25``, ``smtp+starttls://user:pass@host:587``, ``smtps://host``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES or not parts.hostname:
        raise ValueError("INFODESK_SMTP_URL must be smtp://, smtp+starttls:// or smtps://host")
    security, default_port = _SCHEMES[scheme]
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or default_port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def default_target() -> SmtpTarget | None:
    """The server of ``INFODESK_SMTP_URL``, or None (write .eml files)."""
    url = get_settings().smtp_url
    return parse_smtp_url(url) if url else None


@dataclass(frozen=True)
class MailJob:
    """One mail to send: everything the SMTP conversation needs, no database."""

    delivery_id: uuid.UUID
    sender: Sender
    target: SmtpTarget | None
    recipient: str
    subject: str
    body: str
    kind: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = field(default_factory=tuple)

    @property
    def message_id(self) -> str:
        return message_id_for(self.delivery_id)


def message_id_for(delivery_id: uuid.UUID) -> str:
    """The Message-ID of a delivery: from its id and the configuration only (never the
    office mailbox, which may change between attempts), so every repeat carries it."""
    settings = get_settings()
    domain = settings.message_id_domain or settings.mail_from.rpartition("@")[2]
    return f"<infodesk.{delivery_id}@{domain or 'localhost'}>"


def _threads(session: Session, rows: Sequence[OutboxMessage]) -> dict[uuid.UUID, list[str]]:
    ids = {r.inquiry_id for r in rows if r.inquiry_id is not None and r.channel == "email"}
    if not ids:
        return {}
    found: dict[uuid.UUID, list[str]] = {}
    for inquiry_id, message_id in session.exec(
        select(InboundEmail.inquiry_id, InboundEmail.message_id)
        .where(col(InboundEmail.inquiry_id).in_(ids), col(InboundEmail.message_id).is_not(None))
        .order_by(col(InboundEmail.received_at))
    ):
        if inquiry_id is not None and message_id is not None:
            found.setdefault(inquiry_id, []).append(message_id)
    return found


def mail_jobs(*, session: Session, rows: Sequence[OutboxMessage]) -> list[MailJob | Attempt]:
    """For each email row, in order, its job; or the attempt to record when it cannot go."""
    settings = get_settings()
    fallback = Sender(address=settings.mail_from)
    senders: dict[str, Sender] = {}
    targets: dict[str, SmtpTarget | Attempt | None] = {}
    threads = _threads(session, rows)
    results: list[MailJob | Attempt] = []
    for row in rows:
        if not row.recipient:
            results.append(Attempt(delivered=False, error="no recipient address"))
            continue
        office = row.office_code
        if office not in senders:
            senders[office] = mailboxes.sender_for(session, office) or fallback
        if office not in targets:
            try:
                targets[office] = mailboxes.smtp_for(session, office) or default_target()
            except SecretUnreadable:
                targets[office] = Attempt(
                    delivered=False,
                    retryable=True,
                    error="mailbox SMTP password unreadable with INFODESK_SECRET_KEY",
                )
            except ValueError as exc:
                targets[office] = Attempt(delivered=False, retryable=True, error=str(exc))
        target = targets[office]
        if isinstance(target, Attempt):
            results.append(target)
            continue
        refs = threads.get(row.inquiry_id, []) if row.inquiry_id else []
        results.append(
            MailJob(
                delivery_id=row.delivery_id,
                sender=senders[office],
                target=target,
                recipient=row.recipient,
                subject=row.subject or "Layanan informasi Bea dan Cukai",
                body=row.body,
                kind=row.kind,
                in_reply_to=refs[-1] if refs else None,
                references=tuple(refs[-_MAX_REFERENCES:]),
            )
        )
    return results


def _html(body: str) -> str:
    paragraphs = "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in body.split("\n\n")
    )
    return (
        '<!DOCTYPE html><html lang="id"><head><meta charset="utf-8"></head>'
        f'<body style="font-family:sans-serif">{paragraphs}</body></html>'
    )


# RFC 5322 allows 998 characters a line: ids are never folded onto a line of their own.
_WIRE = compat32.clone(linesep="\r\n", max_line_length=998)
_UTF8_QP = Charset("utf-8")
_UTF8_QP.header_encoding = BASE64
_UTF8_QP.body_encoding = QP


def _header(value: str) -> str | Header:
    return value if value.isascii() else Header(value, _UTF8_QP)


def build_message(job: MailJob) -> Message:
    """The mail of ``job``: UTF-8 text with an HTML alternative, threading headers.

    Built with the standard library's compat32 classes, four times faster than
    ``EmailMessage`` and as correct for the simple text mail we send."""
    message = MIMEMultipart("alternative")
    name = job.sender.display_name
    # formataddr encodes a non-ASCII name itself (RFC 2047).
    message["From"] = formataddr((name, job.sender.address)) if name else job.sender.address
    message["To"] = job.recipient
    message["Subject"] = _header(job.subject)  # type: ignore[assignment]
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = job.message_id
    if job.in_reply_to:
        message["In-Reply-To"] = f"<{job.in_reply_to}>"
    if job.references:
        message["References"] = " ".join(f"<{r}>" for r in job.references)
    if job.kind in AUTO_REPLIED_KINDS:
        message["Auto-Submitted"] = "auto-replied"
    message["X-Infodesk-Kind"] = job.kind
    message.attach(MIMEText(job.body, "plain", _UTF8_QP))  # type: ignore[arg-type]
    message.attach(MIMEText(_html(job.body), "html", _UTF8_QP))  # type: ignore[arg-type]
    return message


def wire_bytes(job: MailJob) -> bytes:
    """The mail as sent: CRLF line ends (smtplib leaves bytes as they are)."""
    return build_message(job).as_bytes(policy=_WIRE)


def _code_error(code: int, text: bytes | str) -> Attempt:
    # The server's text can quote the address; keep only the codes.
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    enhanced = _ENHANCED.match(raw)
    error = f"SMTP {code}" + (f" {enhanced.group(1)}" if enhanced else "")
    return Attempt(delivered=False, retryable=400 <= code < 500 or code < 200, error=error)


def attempt_from_error(exc: Exception) -> Attempt:
    """What an SMTP failure means: 4xx and connection faults later, 5xx dead."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()), (550, b""))
        return _code_error(code, text)
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPHeloError):
        # The server refuses us, not this mail: a setting to fix, then it goes out.
        return Attempt(delivered=False, retryable=True, error=f"SMTP {exc.smtp_code} (session)")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _code_error(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return Attempt(delivered=False, retryable=True, error="SMTP server disconnected")
    if isinstance(exc, TimeoutError):
        return Attempt(delivered=False, retryable=True, error="SMTP timeout")
    return Attempt(delivered=False, retryable=True, error=f"SMTP {type(exc).__name__}")


def _connect(target: SmtpTarget, timeout: float) -> smtplib.SMTP:
    client: smtplib.SMTP
    if target.security == "ssl":
        client = smtplib.SMTP_SSL(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=timeout)
        if target.security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if target.username:
        client.login(target.username, target.password or "")
    return client


def _quit(client: smtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def unsendable(exc: BaseException) -> Attempt:
    """A mail that failed for a reason of its own, not the server's: dead at once."""
    return Attempt(delivered=False, retryable=False, error=type(exc).__name__)


def _send_over(
    target: SmtpTarget, jobs: Sequence[MailJob], deadline: float | None = None
) -> list[Attempt]:
    """Send ``jobs`` over one connection. A connection dropped while sending is opened
    again once; a server that cannot be reached fails the rest of the batch at once.
    After ``deadline`` (``time.monotonic()``), no new mail is started: NOT_SENT."""
    timeout = get_settings().smtp_timeout_seconds
    attempts: list[Attempt] = []
    client: smtplib.SMTP | None = None
    for job in jobs:
        if deadline is not None and time.monotonic() > deadline:
            attempts.append(NOT_SENT)
            continue
        try:
            data = wire_bytes(job)
        except Exception as exc:
            # The mail cannot be built (an address formataddr cannot encode): the same on
            # every attempt, so given up at once; the batch goes on.
            attempts.append(unsendable(exc))
            continue
        for again in (False, True):
            if client is None:
                try:
                    client = _connect(target, timeout)
                except Exception as exc:
                    down = attempt_from_error(exc)
                    if not down.retryable:
                        down = Attempt(delivered=False, retryable=True, error=down.error)
                    return attempts + [down] * (len(jobs) - len(attempts))
            try:
                client.sendmail(job.sender.address, [job.recipient], data)
            except (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError) as exc:
                _quit(client)
                client = None
                if again:
                    attempts.append(attempt_from_error(exc))
                continue
            except smtplib.SMTPException as exc:
                attempts.append(attempt_from_error(exc))
                try:
                    client.rset()
                except (smtplib.SMTPException, OSError):
                    _quit(client)
                    client = None
            except OSError as exc:
                attempts.append(attempt_from_error(exc))
                _quit(client)
                client = None
            except Exception as exc:
                # Not the server's fault (smtplib cannot encode a non-ASCII address): this
                # mail is given up; the conversation is in an unknown state, so reconnect.
                attempts.append(unsendable(exc))
                _quit(client)
                client = None
            else:
                attempts.append(DELIVERED)
            break
    _quit(client)
    return attempts


def write_eml(job: MailJob, folder: Path | None = None) -> Attempt:
    """Write the mail to ``<folder>/<delivery_id>.eml`` (atomically); delivered."""
    folder = folder or get_settings().mail_outbox_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{job.delivery_id}.eml"
        temporary = folder / f".{job.delivery_id}.tmp"
        temporary.write_bytes(wire_bytes(job))
        os.replace(temporary, final)
    except OSError as exc:
        return Attempt(delivered=False, retryable=True, error=f"outbox folder: {exc.strerror}")
    except Exception as exc:
        return unsendable(exc)
    return DELIVERED


def send_mails(jobs: Sequence[MailJob], *, deadline: float | None = None) -> list[Attempt]:
    """Deliver ``jobs``: one SMTP connection per server, .eml files without one; the
    attempts in the jobs' order (NOT_SENT for those not started by ``deadline``, a
    ``time.monotonic()`` value). Never raises."""
    results: dict[int, Attempt] = {}
    by_target: dict[SmtpTarget, list[tuple[int, MailJob]]] = {}
    for index, job in enumerate(jobs):
        if job.target is None:
            late = deadline is not None and time.monotonic() > deadline
            results[index] = NOT_SENT if late else write_eml(job)
        else:
            by_target.setdefault(job.target, []).append((index, job))
    # Each server gets up to smtp_connections connections, each sending its share in turn
    # (a batch holds at most one row per inquiry, so their order within it is free).
    width = get_settings().smtp_connections
    shares = [
        (target, items[start::width])
        for target, items in by_target.items()
        for start in range(min(width, len(items)))
    ]

    def send(share: tuple[SmtpTarget, list[tuple[int, MailJob]]]) -> None:
        target, items = share
        try:
            sent = _send_over(target, [j for _, j in items], deadline)
        except Exception as exc:  # a bug: these rows are tried again later
            sent = [Attempt(delivered=False, retryable=True, error=type(exc).__name__)] * len(items)
        for (index, _job), attempt in zip(items, sent, strict=True):
            results[index] = attempt

    if len(shares) == 1:
        send(shares[0])
    elif shares:
        with ThreadPoolExecutor(len(shares), thread_name_prefix="infodesk-smtp") as pool:
            list(pool.map(send, shares))
    return [results[i] for i in range(len(jobs))]
