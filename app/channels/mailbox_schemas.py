"""Public shapes of an office mailbox. Passwords go in, never out: a response says only
whether one is stored (``password_set``)."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic.config import JsonDict

from app.core.schemas import EmailAddress, Input

Security = Literal["ssl", "starttls", "none"]

_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
# Printable ASCII without the characters IMAP would need escaped or treats as wildcards.
_FOLDER = re.compile(r"^[\x20-\x7e]+$")
_FOLDER_FORBIDDEN = frozenset('"\\*%')


def _ascii_address(value: object) -> object:
    if isinstance(value, str) and not value.isascii():
        raise ValueError(
            "must be an ASCII address: internationalised addresses (SMTPUTF8) are not "
            "supported for sending"
        )
    return value


def _host(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    labels = value.rstrip(".").split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError("must be a host name (letters, digits, hyphens, dots) or an IP address")
    return value.rstrip(".").lower()


def _folder(value: str) -> str:
    if not _FOLDER.fullmatch(value) or _FOLDER_FORBIDDEN.intersection(value):
        raise ValueError('must be printable ASCII without ", \\, * or %')
    return value


def _no_controls(value: str) -> str:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("must not contain control characters")
    return value


HostName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=253),
    AfterValidator(_host),
    Field(examples=["mail.beacukai.go.id"]),
]
Port = Annotated[int, Field(ge=1, le=65535, examples=[993])]
Folder = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_folder),
    Field(examples=["INBOX"]),
]
UserName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=254),
    AfterValidator(_no_controls),
    Field(examples=["infodesk.aceh@beacukai.go.id"]),
]
Password = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1024),
    AfterValidator(_no_controls),
    Field(description="write-only; left out, the stored password is kept"),
]
DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_controls),
]


class ImapIn(Input):
    """Where the office's mail comes in."""

    host: HostName
    port: Port = 993
    security: Security = "ssl"
    user: UserName
    password: Password | None = None
    folder: Folder = "INBOX"
    processed_folder: Folder | None = Field(
        default=None,
        description="move read mail here; left out, read mail stays and is marked \\Seen",
    )


class SmtpIn(Input):
    """Where the office's mail goes out; without it, INFODESK_SMTP_URL is used."""

    host: HostName
    port: Port = 587
    security: Security = "starttls"
    user: UserName | None = None
    password: Password | None = None


class MailboxIn(Input):
    """An office's mailbox: its address and how to reach its servers."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "address": "layanan.aceh@beacukai.go.id",
                    "display_name": "Layanan Informasi Kanwil DJBC Aceh",
                    "enabled": True,
                    "imap": {
                        "host": "mail.beacukai.go.id",
                        "port": 993,
                        "security": "ssl",
                        "user": "layanan.aceh",
                        "password": "rahasia-sekali",
                        "folder": "INBOX",
                        "processed_folder": "Diproses",
                    },
                    "smtp": {
                        "host": "mail.beacukai.go.id",
                        "port": 587,
                        "security": "starttls",
                        "user": "layanan.aceh",
                        "password": "rahasia-sekali",
                    },
                }
            ]
        },
    )

    address: Annotated[
        EmailAddress,
        BeforeValidator(_ascii_address),  # before the email rule, for its message
        Field(description="the From of the office's mail; ASCII only (SMTPUTF8 is not supported)"),
    ]
    display_name: DisplayName | None = None
    enabled: bool = True
    imap: ImapIn | None = Field(default=None, description="left out: the mailbox is not polled")
    smtp: SmtpIn | None = None


class ImapRead(BaseModel):
    """IMAP settings as shown, without the password."""

    host: str
    port: int
    security: Security
    user: str
    password_set: bool
    folder: str
    processed_folder: str | None
    uidvalidity: int | None = Field(description="of the folder when last polled")
    last_uid: int = Field(description="the highest UID read so far")


class SmtpRead(BaseModel):
    """SMTP settings as shown, without the password."""

    host: str
    port: int
    security: Security
    user: str | None
    password_set: bool


MAILBOX_EXAMPLE: JsonDict = {
    "office_code": "KANWIL-ACEH",
    "address": "layanan.aceh@beacukai.go.id",
    "display_name": "Layanan Informasi Kanwil DJBC Aceh",
    "enabled": True,
    "imap": {
        "host": "mail.beacukai.go.id",
        "port": 993,
        "security": "ssl",
        "user": "layanan.aceh",
        "password_set": True,
        "folder": "INBOX",
        "processed_folder": "Diproses",
        "uidvalidity": 1764381600,
        "last_uid": 42,
    },
    "smtp": {
        "host": "mail.beacukai.go.id",
        "port": 587,
        "security": "starttls",
        "user": "layanan.aceh",
        "password_set": True,
    },
    "last_polled_at": "2026-11-29T02:00:00Z",
    "last_error": None,
    "version": 1,
    "updated_at": "2026-11-29T01:00:00Z",
}


class MailboxRead(BaseModel):
    """An office's mailbox as the API shows it: never a password."""

    model_config = ConfigDict(json_schema_extra={"examples": [MAILBOX_EXAMPLE]})

    office_code: str
    address: str
    display_name: str | None
    enabled: bool
    imap: ImapRead | None
    smtp: SmtpRead | None
    last_polled_at: datetime | None
    last_error: str | None = Field(description="the last polling problem, if any")
    version: int
    updated_at: datetime
