"""Office mailboxes: their settings, the sender and SMTP server of an office's mail, and
the start-up check that the key for their passwords is configured."""

from __future__ import annotations

from sqlmodel import Session, select

from app.channels import crypto
from app.channels.mailbox_models import Mailbox
from app.channels.mailbox_schemas import ImapRead, MailboxIn, MailboxRead, SmtpRead
from app.channels.targets import Sender, SmtpSecurity, SmtpTarget
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import InvalidField, NotFound
from app.offices.service import get_office


class MailboxNotFound(NotFound):
    code, title = "mailbox_not_found", "Office has no mailbox"


class SecretKeyRequired(RuntimeError):
    """Production start-up without INFODESK_SECRET_KEY while a mailbox exists."""


def get_mailbox(*, session: Session, office_code: str) -> Mailbox:
    """The mailbox of an existing office, or NotFound (office or mailbox)."""
    get_office(session=session, code=office_code)
    mailbox = session.get(Mailbox, office_code)
    if mailbox is None:
        raise MailboxNotFound(f"Office {office_code} has no mailbox.")
    return mailbox


def _encrypt(password: str) -> str:
    return crypto.encrypt(password)  # SecretKeyMissing (409) without a key in production


def put_mailbox(*, session: Session, office_code: str, data: MailboxIn) -> tuple[Mailbox, bool]:
    """Set the mailbox of ``office_code``; returns it and whether it was created.

    A password left out keeps the stored one; a new IMAP server, account or folder starts
    reading that folder from its first message."""
    get_office(session=session, code=office_code)
    mailbox = session.get(Mailbox, office_code)
    created = mailbox is None
    # Validate everything before writing anything.
    imap, smtp = data.imap, data.smtp
    if (
        imap is not None
        and imap.password is None
        and (mailbox is None or not mailbox.imap_password)
    ):
        raise InvalidField("#/imap/password", "required: no IMAP password is stored yet")
    smtp_stored = mailbox is not None and bool(mailbox.smtp_password)
    if smtp is not None and smtp.user is not None and smtp.password is None and not smtp_stored:
        raise InvalidField("#/smtp/password", "required with a user: no password is stored")
    if smtp is not None and smtp.password is not None and smtp.user is None:
        raise InvalidField("#/smtp/user", "required with a password")
    imap_secret = _encrypt(imap.password) if imap is not None and imap.password else None
    smtp_secret = _encrypt(smtp.password) if smtp is not None and smtp.password else None

    if mailbox is None:
        mailbox = Mailbox(office_code=office_code, address=str(data.address))
    else:
        mailbox.version += 1
    mailbox.address = str(data.address)
    mailbox.display_name = data.display_name
    mailbox.enabled = data.enabled
    if imap is None:
        mailbox.imap_host = mailbox.imap_port = mailbox.imap_security = None
        mailbox.imap_user = mailbox.imap_password = mailbox.imap_processed_folder = None
        mailbox.imap_folder = "INBOX"
        mailbox.imap_uidvalidity, mailbox.imap_last_uid = None, 0
    else:
        same_source = (
            mailbox.imap_host,
            mailbox.imap_port,
            mailbox.imap_user,
            mailbox.imap_folder,
        ) == (imap.host, imap.port, imap.user, imap.folder)
        if not same_source:
            mailbox.imap_uidvalidity, mailbox.imap_last_uid = None, 0
        mailbox.imap_host, mailbox.imap_port = imap.host, imap.port
        mailbox.imap_security, mailbox.imap_user = imap.security, imap.user
        mailbox.imap_folder, mailbox.imap_processed_folder = imap.folder, imap.processed_folder
        if imap_secret is not None:
            mailbox.imap_password = imap_secret
    if smtp is None:
        mailbox.smtp_host = mailbox.smtp_port = mailbox.smtp_security = None
        mailbox.smtp_user = mailbox.smtp_password = None
    else:
        mailbox.smtp_host, mailbox.smtp_port = smtp.host, smtp.port
        mailbox.smtp_security, mailbox.smtp_user = smtp.security, smtp.user
        if smtp.user is None:
            mailbox.smtp_password = None
        elif smtp_secret is not None:
            mailbox.smtp_password = smtp_secret
    mailbox.last_error = None
    mailbox.updated_at = utcnow()
    session.add(mailbox)
    session.flush()
    return mailbox, created


def delete_mailbox(*, session: Session, office_code: str) -> None:
    """Remove the mailbox of ``office_code`` (its mail is no longer read or sent from it)."""
    session.delete(get_mailbox(session=session, office_code=office_code))
    session.flush()


def to_read(mailbox: Mailbox) -> MailboxRead:
    """The public view of ``mailbox``: settings without passwords."""
    imap = None
    if mailbox.imap_host is not None:
        imap = ImapRead(
            host=mailbox.imap_host,
            port=mailbox.imap_port or 993,
            security=_security(mailbox.imap_security),
            user=mailbox.imap_user or "",
            password_set=bool(mailbox.imap_password),
            folder=mailbox.imap_folder,
            processed_folder=mailbox.imap_processed_folder,
            uidvalidity=mailbox.imap_uidvalidity,
            last_uid=mailbox.imap_last_uid,
        )
    smtp = None
    if mailbox.smtp_host is not None:
        smtp = SmtpRead(
            host=mailbox.smtp_host,
            port=mailbox.smtp_port or 587,
            security=_security(mailbox.smtp_security),
            user=mailbox.smtp_user,
            password_set=bool(mailbox.smtp_password),
        )
    return MailboxRead(
        office_code=mailbox.office_code,
        address=mailbox.address,
        display_name=mailbox.display_name,
        enabled=mailbox.enabled,
        imap=imap,
        smtp=smtp,
        last_polled_at=mailbox.last_polled_at,
        last_error=mailbox.last_error,
        version=mailbox.version,
        updated_at=mailbox.updated_at,
    )


def _security(value: str | None) -> SmtpSecurity:
    if value == "ssl":
        return "ssl"
    if value == "starttls":
        return "starttls"
    return "none"


def sender_for(session: Session, office_code: str) -> Sender | None:
    """The ``From`` of the office's mail: its enabled mailbox's address, else None."""
    mailbox = session.get(Mailbox, office_code)
    if mailbox is None or not mailbox.enabled:
        return None
    return Sender(address=mailbox.address, display_name=mailbox.display_name)


def smtp_for(session: Session, office_code: str) -> SmtpTarget | None:
    """The office's own SMTP server, when its enabled mailbox has one, else None.

    Raises ``crypto.SecretUnreadable`` when the stored password cannot be decrypted."""
    mailbox = session.get(Mailbox, office_code)
    if mailbox is None or not mailbox.enabled or mailbox.smtp_host is None:
        return None
    return SmtpTarget(
        host=mailbox.smtp_host,
        port=mailbox.smtp_port or 587,
        security=_security(mailbox.smtp_security),
        username=mailbox.smtp_user,
        password=crypto.decrypt(mailbox.smtp_password) if mailbox.smtp_password else None,
    )


def ensure_secret_key(session: Session) -> None:
    """Refuse to start in production without INFODESK_SECRET_KEY when a mailbox exists:
    its passwords could be neither read nor written."""
    settings = get_settings()
    if settings.env == "development" or settings.secret_key:
        return
    if session.exec(select(Mailbox.office_code).limit(1)).first() is not None:
        raise SecretKeyRequired(
            "INFODESK_SECRET_KEY is required in production when an office mailbox exists"
        )
