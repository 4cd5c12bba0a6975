"""Reading a raw RFC 5322 message: headers, sender, the text to keep, attachments and
delivery reports, with the standard library's ``email`` package. Pure: bytes in, values out.

An unreadable mail (broken MIME structure, an unknown charset) and a mail without a
usable sender are refused with their own problem codes; nothing here touches the database.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import errors as email_errors
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from functools import cached_property

from inscriptis import get_text

from app.core.errors import DomainError, Unprocessable


class EmailUnreadable(Unprocessable):
    code, title = "email_unreadable", "Email cannot be read"


class EmailNoSender(Unprocessable):
    code, title = "email_no_sender", "Email has no usable sender"


class EmailTooLarge(DomainError):
    status, code, title = 413, "email_too_large", "Email too large"


# Structural defects that leave the message's parts unknowable.
_FATAL_DEFECTS = (
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
    email_errors.MissingHeaderBodySeparatorDefect,
)
_HEADER_NAME = re.compile(rb"^[!-9;-~]+:", re.MULTILINE)
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,990})>")
# Our outbound mails: Message-ID <infodesk.{delivery_id}@{domain}>.
_OUR_MESSAGE_ID = re.compile(
    r"infodesk\.([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})@",
)
_NOISE_SENDERS = ("mailer-daemon", "postmaster")


@dataclass(frozen=True)
class Attachment:
    """A file that came with the mail."""

    filename: str
    content_type: str
    data: bytes

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class ParsedEmail:
    """What the service needs of one mail."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str | None
    from_address: str | None
    from_name: str | None
    to: tuple[str, ...]
    date: datetime | None
    return_path: str | None
    auto_submitted: str | None
    precedence: str | None
    x_autoreply: bool
    is_delivery_report: bool
    body: str
    attachments: tuple[Attachment, ...] = ()
    # For delivery reports and mailer-daemon mail: the Message-IDs of ours it quotes and the
    # reported diagnostic.
    quoted_delivery_ids: tuple[str, ...] = field(default=())
    diagnostic: str | None = None

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this mail answers, nearest first."""
        seen: dict[str, None] = {}
        for mid in (*self.in_reply_to, *reversed(self.references)):
            seen.setdefault(mid, None)
        return tuple(seen)


def message_ids(value: str | None) -> tuple[str, ...]:
    """The ``<...>`` ids of an In-Reply-To or References header, without brackets."""
    if not value:
        return ()
    return tuple(_MESSAGE_ID.findall(value))


def our_delivery_id(message_id: str) -> str | None:
    """The delivery id in one of our own Message-IDs, else None."""
    match = _OUR_MESSAGE_ID.match(message_id.strip("<> "))
    return match.group(1).lower() if match else None


def clean_text(text: str) -> str:
    """``text`` storable anywhere: undecodable bytes (surrogates) replaced, NULs dropped."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def _header(msg: Message, name: str) -> str | None:
    try:
        value = msg.get(name)
    except (email_errors.MessageError, ValueError, IndexError, TypeError, AttributeError):
        return None
    if value is None:
        return None
    text = clean_text(" ".join(str(value).split()))
    return text or None


def _sender(msg: Message) -> tuple[str | None, str | None]:
    try:
        header = msg.get("From")
        addresses = getattr(header, "addresses", ()) if header is not None else ()
    except (email_errors.MessageError, ValueError, IndexError, TypeError, AttributeError):
        return None, None
    for address in addresses:
        spec = clean_text(address.addr_spec or "").strip()
        if spec in ("", "<>"):
            return "", None
        return spec, clean_text(address.display_name or "").strip() or None
    return None, None


def _addresses(value: str | None) -> tuple[str, ...]:
    """The addresses of a raw To/Cc value (informational; the cheap legacy parser)."""
    if not value:
        return ()
    return tuple(spec for _name, spec in getaddresses([value]) if "@" in spec)


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


def _text_of(leaf: _Leaf) -> str:
    """A text part decoded from its transfer encoding and charset."""
    payload = leaf.part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = leaf.charset or "us-ascii"
    shown = clean_text(charset[:40])
    try:
        return data.decode(charset, errors="replace")
    except LookupError as exc:
        raise EmailUnreadable(f"unknown charset '{shown}' in the message") from exc
    except (UnicodeError, ValueError, TypeError) as exc:
        # Codecs that decode no text (idna, punycode, undefined), a NUL in the name.
        raise EmailUnreadable(f"unusable charset '{shown}' in the message") from exc


def html_to_text(html: str) -> str:
    """Readable text of an HTML body (inscriptis keeps lists, tables and paragraphs)."""
    return str(get_text(html))


def _safe_filename(name: str | None) -> str | None:
    if not name:
        return None
    name = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in clean_text(name) if ch.isprintable()).strip()
    return name[:255] or None


@dataclass(frozen=True)
class _Leaf:
    """A non-container part with its MIME headers read once (each read of a header
    builds a new header object, which costs more than the rest of the parsing)."""

    part: Message
    content_type: str
    charset: str | None
    disposition: str | None
    filename: str | None


def _params(header: object) -> dict[str, str]:
    try:
        return dict(getattr(header, "params", {}))
    except (email_errors.MessageError, ValueError, IndexError, TypeError, AttributeError):
        return {}


def _leaf(part: Message, content_type: str, type_header: object) -> _Leaf:
    try:
        disposition_header = part.get("Content-Disposition")
    except (email_errors.MessageError, ValueError, IndexError, TypeError, AttributeError):
        disposition_header = None
    disposition = getattr(disposition_header, "content_disposition", None)
    type_params = _params(type_header)
    name = _params(disposition_header).get("filename") or type_params.get("name")
    return _Leaf(
        part=part,
        content_type=content_type,
        charset=(type_params.get("charset") or "").lower() or None,
        disposition=str(disposition).lower() if disposition else None,
        filename=_safe_filename(name),
    )


def _leaves(msg: Message, out: list[_Leaf]) -> list[_Leaf]:
    """The non-container parts, depth first; an attached message is one leaf."""
    header = msg.get("Content-Type")
    content_type = str(getattr(header, "content_type", "") or msg.get_default_type()).lower()
    if "/" not in content_type:
        content_type = "text/plain"
    if content_type == "message/rfc822" or not msg.is_multipart():
        out.append(_leaf(msg, content_type, header))
        return out
    payload = msg.get_payload()
    for sub in payload if isinstance(payload, list) else ():
        if isinstance(sub, Message):
            _leaves(sub, out)
    return out


def _is_attachment(leaf: _Leaf) -> bool:
    if not leaf.content_type.startswith("text/"):
        return True
    return leaf.disposition == "attachment" or leaf.filename is not None


def _part_bytes(leaf: _Leaf) -> bytes:
    if leaf.content_type == "message/rfc822":
        inner = leaf.part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes()
    payload = leaf.part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _choose_body(leaves: list[_Leaf], inline: list[bool]) -> _Leaf | None:
    """The first inline text/plain part, else the first inline text/html part."""
    for wanted in ("text/plain", "text/html"):
        for leaf, is_inline in zip(leaves, inline, strict=True):
            if is_inline and leaf.content_type == wanted:
                return leaf
    return None


def _raw_headers(msg: Message) -> dict[str, str]:
    """Unparsed, unfolded top-level header values by lower-case name (the first wins)."""
    headers: dict[str, str] = {}
    for name, value in msg.raw_items():
        headers.setdefault(name.lower(), clean_text(" ".join(str(value).split())))
    return headers


def _report_details(raw: bytes) -> tuple[tuple[str, ...], str | None]:
    """Delivery ids of ours quoted anywhere in the mail, and the first diagnostic."""
    text = raw.decode("latin-1")
    ids = tuple(dict.fromkeys(m.lower() for m in _OUR_MESSAGE_ID.findall(text)))
    diagnostic = None
    for pattern in (r"^Diagnostic-Code:\s*(.+)$", r"^Status:\s*(\d\.\d+\.\d+.*)$"):
        match = re.search(pattern, text, re.MULTILINE | re.IGNORECASE)
        if match:
            diagnostic = " ".join(match.group(1).split())[:160]
            break
    return ids, diagnostic


def _check_structure(raw: bytes, msg: Message) -> None:
    if not raw.strip() or not _HEADER_NAME.match(raw.lstrip()):
        raise EmailUnreadable("the body is not an RFC 5322 message (no header fields)")
    for part in msg.walk():
        for defect in part.defects:
            if isinstance(defect, _FATAL_DEFECTS):
                raise EmailUnreadable(f"broken MIME structure: {type(defect).__name__}")


# What the standard library's parser and codecs raise on hostile input (a header
# parameter without a value, a NUL in a charset name, a codec that is no text codec).
_PARSE_ERRORS = (
    ValueError,
    IndexError,
    TypeError,
    LookupError,
    UnicodeError,
    AttributeError,
    email_errors.MessageError,
)


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse ``raw``; EmailUnreadable when its structure or a charset cannot be read."""
    try:
        return _parse(raw)
    except EmailUnreadable:
        raise
    except _PARSE_ERRORS as exc:
        # The type only: the exception's text can quote the message.
        raise EmailUnreadable(f"the message cannot be read ({type(exc).__name__})") from None


def _parse(raw: bytes) -> ParsedEmail:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    _check_structure(raw, msg)
    headers = _raw_headers(msg)
    leaves = _leaves(msg, [])
    inline = [not _is_attachment(leaf) for leaf in leaves]
    body_leaf = _choose_body(leaves, inline)
    body = ""
    if body_leaf is not None:
        text = _text_of(body_leaf)
        text = html_to_text(text) if body_leaf.content_type == "text/html" else text
        body = clean_text(text).replace("\r\n", "\n").replace("\r", "\n")
    attachments: list[Attachment] = []
    for leaf, is_inline in zip(leaves, inline, strict=True):
        if is_inline:
            # Text parts other than the body (the HTML alternative) still must be readable.
            if leaf is not body_leaf:
                _text_of(leaf)
            continue
        attachments.append(
            Attachment(
                filename=leaf.filename or f"attachment-{len(attachments) + 1}",
                content_type=leaf.content_type[:127],
                data=_part_bytes(leaf),
            )
        )
    from_address, from_name = _sender(msg)
    is_report = msg.get_content_type() == "multipart/report" and (
        str(msg.get_param("report-type") or "").lower() == "delivery-status"
        or any(leaf.content_type == "message/delivery-status" for leaf in leaves)
    )
    noise_sender = (from_address or "").split("@", 1)[0].lower() in _NOISE_SENDERS
    quoted: tuple[str, ...] = ()
    diagnostic = None
    if is_report or noise_sender:
        quoted, diagnostic = _report_details(raw)
    mid = message_ids(headers.get("message-id"))
    return ParsedEmail(
        message_id=mid[0] if mid else None,
        in_reply_to=message_ids(headers.get("in-reply-to")),
        references=message_ids(headers.get("references")),
        subject=_header(msg, "Subject") if "subject" in headers else None,
        from_address=from_address,
        from_name=from_name,
        to=_addresses(headers.get("to")),
        date=_date(headers.get("date")),
        return_path=headers.get("return-path"),
        auto_submitted=headers.get("auto-submitted"),
        precedence=headers.get("precedence"),
        x_autoreply="x-autoreply" in headers or "x-autorespond" in headers,
        is_delivery_report=is_report,
        body=body,
        attachments=tuple(attachments),
        quoted_delivery_ids=quoted,
        diagnostic=diagnostic,
    )


def noise_reason(mail: ParsedEmail) -> str | None:
    """Why the mail is machine-made noise that must never become an inquiry, else None."""
    if mail.is_delivery_report:
        return "delivery status report"
    local = (mail.from_address or "").split("@", 1)[0].lower()
    if local in _NOISE_SENDERS:
        return f"sender is {local}"
    if mail.from_address == "" or (mail.return_path or "").replace(" ", "") == "<>":
        return "null sender"
    if mail.message_id and our_delivery_id(mail.message_id):
        # One of our own mails come back (a copy to the office's mailbox, a forward).
        return "sent by this service"
    auto = (mail.auto_submitted or "no").split(";", 1)[0].strip().lower()
    if auto != "no":
        return f"Auto-Submitted: {auto[:40]}"
    precedence = (mail.precedence or "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    if mail.x_autoreply:
        return "X-Autoreply/X-Autorespond"
    return None
