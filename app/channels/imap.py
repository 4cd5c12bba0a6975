"""Polling the offices' IMAP mailboxes into inquiries.

Each enabled mailbox with IMAP settings is read by UID: new messages (UID above the last
one read, in the folder's current UIDVALIDITY) are fetched without setting ``\\Seen``,
each goes through ``receive_email`` in a transaction of its own, and only after that
transaction has committed is the message marked ``\\Seen`` (or moved) and its UID stored.
A crash in between reads the message again, and its Message-ID makes it a ``duplicate``.

A mail that ``receive_email`` refuses (a 4xx problem: unreadable, too large, no sender),
or that fails in any way but the database's (noted as ``internal_error``), is skipped
past, left unmarked in the folder for a person to look at, and noted in the mailbox's
``last_error``; each mail read renews the poller's hold on the mailbox. Connection and
login problems are noted there too, and polling goes on with the next mailbox. Log lines
name offices and UIDs, never senders or subjects.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from app.calendar.cache import CalendarCache
from app.channels import crypto
from app.channels.inbound import receive_email
from app.channels.mailbox_models import ERROR_MAX, Mailbox
from app.core.config import get_settings
from app.core.db import get_engine, utcnow, writer
from app.core.errors import DomainError
from app.core.security import Principal, Role
from app.sla.policies import PolicyCache

logger = logging.getLogger("infodesk.imap")

# How long one poller holds a mailbox; a crashed poller's hold runs out after this.
LEASE = timedelta(minutes=10)
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_SIZE = re.compile(rb"(?=.*\bUID (?P<uid>\d+))(?=.*\bRFC822\.SIZE (?P<size>\d+))")


@dataclass
class PollReport:
    """What one round over the mailboxes came to."""

    mailboxes: int = 0
    read: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    failed_mailboxes: int = 0


@dataclass(frozen=True)
class _Source:
    office_code: str
    host: str
    port: int
    security: str
    user: str
    password: str
    folder: str
    processed_folder: str | None
    uidvalidity: int | None
    last_uid: int


class _MailboxFailure(Exception):
    """The mailbox cannot be read this round; ``str`` is safe to store and log."""


def _quote(name: str) -> str:
    # Folder names are validated to printable ASCII without quotes or backslashes.
    return '"' + name + '"'


def _connect(source: _Source, timeout: float) -> imaplib.IMAP4:
    if source.security == "ssl":
        return imaplib.IMAP4_SSL(
            source.host, source.port, ssl_context=ssl.create_default_context(), timeout=timeout
        )
    connection = imaplib.IMAP4(source.host, source.port, timeout=timeout)
    if source.security == "starttls":
        connection.starttls(ssl.create_default_context())
    return connection


def _ok(result: tuple[str, Sequence[object]], what: str) -> Sequence[object]:
    typ, data = result
    if typ != "OK":
        raise _MailboxFailure(f"IMAP {what} refused")
    return data


def _uidvalidity(connection: imaplib.IMAP4, folder: str) -> int:
    _typ, data = connection.response("UIDVALIDITY")
    for item in data:
        if isinstance(item, bytes) and item.isdigit():
            return int(item)
    status = _ok(connection.status(_quote(folder), "(UIDVALIDITY)"), "STATUS")
    match = _UIDVALIDITY.search(status[0] if isinstance(status[0], bytes) else b"")
    if match is None:
        raise _MailboxFailure("IMAP folder reports no UIDVALIDITY")
    return int(match.group(1))


def _message_bytes(data: Sequence[object]) -> bytes | None:
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _capabilities(connection: imaplib.IMAP4) -> frozenset[str]:
    # imaplib keeps the greeting's list; servers announce more (MOVE, UIDPLUS) after login.
    data = _ok(connection.capability(), "CAPABILITY")
    words = (
        data[0].decode("ascii", "replace").upper().split()
        if data and isinstance(data[0], bytes)
        else []
    )
    return frozenset(words) | frozenset(connection.capabilities)


def _sizes(connection: imaplib.IMAP4, uids: Sequence[int]) -> dict[int, int]:
    """UID -> size in bytes of each of ``uids``, in one command."""
    if not uids:
        return {}
    data = _ok(connection.uid("FETCH", ",".join(map(str, uids)), "(RFC822.SIZE)"), "FETCH")
    sizes: dict[int, int] = {}
    for item in data:
        if isinstance(item, bytes):
            match = _SIZE.search(item)
            if match is not None:
                sizes[int(match.group("uid"))] = int(match.group("size"))
    return sizes


def _mark_processed(
    connection: imaplib.IMAP4, source: _Source, uid: int, capabilities: frozenset[str]
) -> None:
    _ok(connection.uid("STORE", str(uid), "+FLAGS", "(\\Seen)"), "STORE")
    if source.processed_folder is None:
        return
    target = _quote(source.processed_folder)
    if "MOVE" in capabilities:
        _ok(connection.uid("MOVE", str(uid), target), "MOVE")
        return
    _ok(connection.uid("COPY", str(uid), target), "COPY")
    _ok(connection.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)"), "STORE")
    if "UIDPLUS" in capabilities:
        _ok(connection.uid("EXPUNGE", str(uid)), "EXPUNGE")


def _lease(office_code: str) -> _Source | None:
    """Take the mailbox for this round and read its settings; None when another poller
    holds it or it is no longer to be polled."""
    now = utcnow()
    with Session(writer(get_engine()), expire_on_commit=False) as session:
        taken = session.execute(
            update(Mailbox)
            .where(col(Mailbox.office_code) == office_code)
            .where(col(Mailbox.enabled).is_(True))
            .where(
                or_(col(Mailbox.imap_lease_until).is_(None), col(Mailbox.imap_lease_until) < now)
            )
            .values(imap_lease_until=now + LEASE)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            return None
        mailbox = session.get(Mailbox, office_code)
        session.commit()
    if mailbox is None or mailbox.imap_host is None or not mailbox.imap_password:
        _store(office_code, imap_lease_until=None)
        return None
    try:
        password = crypto.decrypt(mailbox.imap_password)
    except crypto.SecretUnreadable:
        _finish(office_code, error="stored IMAP password cannot be decrypted")
        raise _MailboxFailure("stored IMAP password cannot be decrypted") from None
    return _Source(
        office_code=office_code,
        host=mailbox.imap_host,
        port=mailbox.imap_port or 993,
        security=mailbox.imap_security or "ssl",
        user=mailbox.imap_user or "",
        password=password,
        folder=mailbox.imap_folder,
        processed_folder=mailbox.imap_processed_folder,
        uidvalidity=mailbox.imap_uidvalidity,
        last_uid=mailbox.imap_last_uid,
    )


def _store(office_code: str, **values: object) -> None:
    with Session(writer(get_engine())) as session:
        mailbox = session.get(Mailbox, office_code)
        if mailbox is not None:
            for name, value in values.items():
                setattr(mailbox, name, value)
            session.add(mailbox)
            session.commit()


def _renewed() -> datetime:
    return utcnow() + LEASE


def _finish(office_code: str, *, error: str | None) -> None:
    _store(
        office_code,
        last_polled_at=utcnow(),
        last_error=error[:ERROR_MAX] if error else None,
        imap_lease_until=None,
    )


def _receive(
    source: _Source, raw: bytes, *, calendars: CalendarCache, policies: PolicyCache
) -> str:
    principal = Principal(
        sub=f"imap:{source.office_code}",
        roles=frozenset({Role.integration}),
        office=source.office_code,
    )
    with Session(writer(get_engine()), expire_on_commit=False) as session:
        try:
            result = receive_email(
                session=session,
                calendars=calendars,
                policies=policies,
                office_code=source.office_code,
                raw=raw,
                principal=principal,
                now=utcnow(),
            )
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return str(result.outcome)


def _poll_source(
    source: _Source, report: PollReport, *, calendars: CalendarCache, policies: PolicyCache
) -> tuple[str | None, bool]:
    """Read the new mail of one mailbox; returns the note to record, if any, and whether
    the mailbox could not be read."""
    settings = get_settings()
    note: str | None = None
    try:
        connection = _connect(source, settings.imap_timeout_seconds)
    except (OSError, imaplib.IMAP4.error) as exc:
        return f"cannot connect to IMAP server: {type(exc).__name__}", True
    try:
        try:
            connection.login(source.user, source.password)
        except imaplib.IMAP4.error:
            return "IMAP login failed (check user and password)", True
        capabilities = _capabilities(connection)
        _ok(connection.select(_quote(source.folder)), "SELECT")
        uidvalidity = _uidvalidity(connection, source.folder)
        last_uid = source.last_uid
        if uidvalidity != source.uidvalidity:
            if source.uidvalidity is not None:
                logger.warning(
                    "imap %s: UIDVALIDITY changed, reading the folder again", source.office_code
                )
            last_uid = 0
            _store(source.office_code, imap_uidvalidity=uidvalidity, imap_last_uid=0)
        found = _ok(connection.uid("SEARCH", "UID", f"{last_uid + 1}:*"), "SEARCH")
        words = found[0].split() if found and isinstance(found[0], bytes) else []
        # "n:*" also matches the highest UID when it is below n.
        uids = sorted(u for u in (int(w) for w in words) if u > last_uid)
        batch = uids[: settings.imap_batch_size]
        sizes = _sizes(connection, batch)
        for uid in batch:
            code: str | None = None
            if sizes.get(uid, 0) > settings.max_email_bytes:
                code = "email_too_large"  # not even downloaded
            else:
                fetched = _ok(connection.uid("FETCH", str(uid), "(BODY.PEEK[])"), "FETCH")
                raw = _message_bytes(fetched)
                if raw is None:  # expunged meanwhile
                    _store(source.office_code, imap_last_uid=uid)
                    continue
                try:
                    outcome = _receive(source, raw, calendars=calendars, policies=policies)
                except DomainError as exc:
                    if exc.status >= 500:
                        raise
                    code = exc.code
                except SQLAlchemyError:
                    raise  # the database: the mailbox waits for the next round
                except Exception as exc:
                    # A fault reading this one mail (a bug, a parser surprise): skipped
                    # like a refused mail, so that the mail after it is still read. The
                    # type and where, never the text: it may quote the message.
                    logger.error(
                        "imap %s: UID %d failed: %s",
                        source.office_code,
                        uid,
                        type(exc).__name__,
                        extra={"trace": "".join(traceback.format_tb(exc.__traceback__))},
                    )
                    code = "internal_error"
            if code is not None:
                # Left in the folder unmarked for a person; never blocks the mailbox.
                logger.warning("imap %s: UID %d skipped: %s", source.office_code, uid, code)
                note = f"message UID {uid} skipped: {code}"
                report.skipped += 1
                _store(source.office_code, imap_last_uid=uid, imap_lease_until=_renewed())
                continue
            _mark_processed(connection, source, uid, capabilities)
            # Each mail renews the hold: a long batch is never taken over while being read.
            _store(source.office_code, imap_last_uid=uid, imap_lease_until=_renewed())
            report.read += 1
            report.outcomes[outcome] += 1
    except (OSError, imaplib.IMAP4.error) as exc:
        return f"IMAP error: {type(exc).__name__}", True
    except _MailboxFailure as exc:
        return str(exc), True
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            connection.logout()
    return note, False


def poll_round(*, calendars: CalendarCache, policies: PolicyCache) -> PollReport:
    """One round over every enabled mailbox with IMAP settings."""
    report = PollReport()
    with Session(get_engine()) as session:
        codes = list(
            session.exec(
                select(Mailbox.office_code)
                .where(col(Mailbox.enabled).is_(True))
                .where(col(Mailbox.imap_host).is_not(None))
                .order_by(col(Mailbox.office_code))
            )
        )
    for code in codes:
        try:
            _poll_mailbox(code, report, calendars=calendars, policies=policies)
        except Exception as exc:
            # Anything else (the database, a bug): this mailbox waits for the next round
            # (its lease runs out). Where it happened, not the message: it may quote a
            # sender or subject.
            report.failed_mailboxes += 1
            logger.error(
                "imap %s: polling stopped: %s",
                code,
                type(exc).__name__,
                extra={"trace": "".join(traceback.format_tb(exc.__traceback__))},
            )
            with contextlib.suppress(Exception):
                _finish(code, error=f"polling stopped: {type(exc).__name__}")
    return report


def _poll_mailbox(
    code: str, report: PollReport, *, calendars: CalendarCache, policies: PolicyCache
) -> None:
    try:
        source = _lease(code)
    except _MailboxFailure as exc:
        logger.warning("imap %s: %s", code, exc)
        report.failed_mailboxes += 1
        return
    if source is None:
        return
    report.mailboxes += 1
    note, failed = _poll_source(source, report, calendars=calendars, policies=policies)
    if note is not None:
        logger.warning("imap %s: %s", code, note)
    if failed:
        report.failed_mailboxes += 1
    _finish(code, error=note)


def poll_mailboxes(*, calendars: CalendarCache, policies: PolicyCache) -> int:
    """Fetch new mail of every office mailbox into inquiries; returns how many were read."""
    return poll_round(calendars=calendars, policies=policies).read
