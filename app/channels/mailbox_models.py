"""Database table of the offices' mailboxes: where their mail comes in (IMAP) and goes out
(SMTP). Passwords are stored encrypted (``app.channels.crypto``), never in plaintext."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Integer, String, Text
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow

HOST_MAX = 253
FOLDER_MAX = 200
USER_MAX = 254
ERROR_MAX = 500


class Mailbox(SQLModel, table=True):
    """One office's mailbox. IMAP settings are optional (a mailbox may only send), and so
    are the SMTP settings (without them the service-wide ``INFODESK_SMTP_URL`` is used)."""

    __tablename__ = "mailbox"

    office_code: str = Field(
        sa_column=Column(
            String(32), ForeignKey("office.code", ondelete="CASCADE"), primary_key=True
        )
    )
    address: str = Field(sa_column=Column(String(254), nullable=False))
    display_name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))

    imap_host: str | None = Field(default=None, sa_column=Column(String(HOST_MAX)))
    imap_port: int | None = Field(default=None, sa_column=Column(Integer))
    imap_security: str | None = Field(default=None, sa_column=Column(String(8)))
    imap_user: str | None = Field(default=None, sa_column=Column(String(USER_MAX)))
    # Fernet token of the password (app.channels.crypto.encrypt).
    imap_password: str | None = Field(default=None, sa_column=Column(Text))
    imap_folder: str = Field(default="INBOX", sa_column=Column(String(FOLDER_MAX), nullable=False))
    # Where read mail is moved; null: it stays and is marked \Seen.
    imap_processed_folder: str | None = Field(default=None, sa_column=Column(String(FOLDER_MAX)))
    # The folder's UIDVALIDITY when last_uid was read; a change resets last_uid.
    imap_uidvalidity: int | None = Field(default=None, sa_column=Column(BigInteger))
    imap_last_uid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))

    smtp_host: str | None = Field(default=None, sa_column=Column(String(HOST_MAX)))
    smtp_port: int | None = Field(default=None, sa_column=Column(Integer))
    smtp_security: str | None = Field(default=None, sa_column=Column(String(8)))
    smtp_user: str | None = Field(default=None, sa_column=Column(String(USER_MAX)))
    smtp_password: str | None = Field(default=None, sa_column=Column(Text))

    # A poller holds the mailbox until then, so that two workers do not read it at once.
    imap_lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)

    enabled: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    last_polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # The last polling problem, without personal data; null after a clean round.
    last_error: str | None = Field(default=None, sa_column=Column(String(ERROR_MAX)))
    version: int = Field(default=1, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
