"""Where outbound mail goes and whom it comes from: plain values shared by the mailboxes,
the SMTP sender and the worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SmtpSecurity = Literal["ssl", "starttls", "none"]


@dataclass(frozen=True)
class SmtpTarget:
    """An SMTP server to submit mail to."""

    host: str
    port: int
    security: SmtpSecurity = "none"
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class Sender:
    """The ``From`` of an office's mail."""

    address: str
    display_name: str | None = None
