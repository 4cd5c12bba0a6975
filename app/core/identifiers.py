"""The email and phone rules that every package shares, and the error they raise.

One rule each, used wherever an address or number comes in (inquiries, complaints, mail
channels, offices): the email-validator package checks an address, the phonenumbers
package parses and formats a number. What stays here is the office's own policy on top
of them: ASCII addresses only, Indonesian numbers only and the written forms accepted.
Error messages never echo the input, because emails and phone numbers are personal data.
"""

from __future__ import annotations

import re
from typing import Final

import phonenumbers
from email_validator import EmailNotValidError, validate_email

__all__ = ["MAX_INPUT", "IdentifierError", "bounded", "normalize_email", "normalize_phone"]


class IdentifierError(ValueError):
    """A malformed identifier; ``message`` is safe to show to the requester."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Inputs are bounded before any parsing so pathological payloads cost O(1) to reject.
MAX_INPUT: Final = 512


def bounded(value: str, name: str, limit: int = MAX_INPUT) -> str:
    """Return ``value``, refusing it when it is longer than ``limit`` characters."""
    if len(value) > limit:
        raise IdentifierError(f"{name} is too long")
    return value


# ---------------------------------------------------------------------------- email

# When email-validator refuses an address, the local part is checked again next to a
# domain known to be valid, so that the message can say which part is wrong without
# reading the library's English.
_VALID_DOMAIN: Final = "example.com"


def _email_valid(address: str) -> str | None:
    """The ASCII form of ``address`` if email-validator accepts it, else None.

    Syntax only: no DNS lookups, no quoted local parts, no IP literals, no SMTPUTF8.
    ``globally_deliverable`` is off because the dot and top-level-domain rules are the
    office's own (below); reserved names such as ``.localhost`` are refused all the same.
    """
    try:
        checked = validate_email(
            address,
            allow_smtputf8=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            strict=True,  # the 64-character limit of a local part (RFC 5321)
            check_deliverability=False,
            globally_deliverable=False,
        )
    except EmailNotValidError:
        return None
    return checked.ascii_email


def normalize_email(value: str) -> str:
    """Validate an ASCII email address; trim it and lowercase the domain.

    email-validator decides whether the local part and the domain are valid (dot-atom
    local parts only, no quoted strings or IP literals; reserved names such as
    ``.localhost`` or ``.test``, and ``xn--`` labels that are not IDNA, are refused).
    On top of it: the address must be ASCII (internationalised domains in punycode),
    the domain needs a dot and a top-level domain that is not all digits. The local part
    is kept as typed.
    """
    text = bounded(value, "Email").strip()
    if not text:
        raise IdentifierError("Email is required")
    if len(text) > 254 or not text.isascii():
        raise IdentifierError("Email is not a valid address")
    local, sep, domain = text.partition("@")
    if not sep or "@" in domain:
        raise IdentifierError("Email must contain exactly one @")
    ascii_email = _email_valid(text)
    if ascii_email is None and _email_valid(f"{local}@{_VALID_DOMAIN}") is None:
        raise IdentifierError("Email local part is not valid")
    labels = domain.split(".")
    if ascii_email is None or len(labels) < 2 or labels[-1].isdigit():
        raise IdentifierError("Email domain is not valid")
    return f"{local}@{ascii_email.partition('@')[2]}"


# ---------------------------------------------------------------------------- phone

_PHONE_CHARS: Final = re.compile(r"\+?[0-9 ().-]+")
_PHONE_SEPARATORS: Final = str.maketrans("", "", " ().-")
_INDONESIA: Final = 62
_NSN_MIN: Final = 8
_NSN_MAX: Final = 12


def _national_digits(text: str) -> str:
    """The digits after the country code or trunk 0, as the office accepts them written.

    These forms are the office's rule rather than libphonenumber's: ``62`` without a plus
    is the country code (libphonenumber would read it as part of a national number), and
    one trunk 0 is dropped after it whatever follows (libphonenumber keeps it when the
    rest is too short, which would change the message a requester sees).
    """
    has_plus = text.startswith("+")
    digits = text.removeprefix("+").translate(_PHONE_SEPARATORS)
    if digits.startswith(str(_INDONESIA)):
        national = digits[2:]
        # "+62 (0)21 ..." is a common business-card style; the trunk 0 is not dialled.
        return national[1:] if national.startswith("0") else national
    if has_plus:
        raise IdentifierError("Phone number must be an Indonesian (+62) number")
    if digits.startswith("0"):
        return digits[1:]
    raise IdentifierError("Phone number must start with 0, 62 or +62")


def normalize_phone(value: str) -> str:
    """Normalise an Indonesian mobile or landline number to E.164 (``+62...``).

    Accepts ``08xx``, ``628xx``, ``+62 8xx`` and ``+62 (0)21 ...`` with spaces, dashes, dots
    and parentheses. The national significant number (after the trunk 0) must be 8-12
    digits and cannot start with 0. Foreign numbers are rejected. The number is parsed and
    formatted by phonenumbers; its stricter validity check (assigned ranges) is not
    applied, so a number on a new prefix is not refused.
    """
    text = bounded(value, "Phone number").strip()
    if not text:
        raise IdentifierError("Phone number is required")
    if _PHONE_CHARS.fullmatch(text) is None:
        raise IdentifierError("Phone number may contain only digits, spaces, + - . ( )")
    if text.count("(") != text.count(")") or text.find("(") > text.find(")"):
        raise IdentifierError("Phone number has unbalanced parentheses")
    national = _national_digits(text)
    if national.startswith("0"):
        raise IdentifierError("Phone number area code must not start with 0")
    if not _NSN_MIN <= len(national) <= _NSN_MAX:
        raise IdentifierError("Phone number must have 8-12 digits after the leading 0")
    number = phonenumbers.parse(f"+{_INDONESIA}{national}")
    if (
        number.country_code != _INDONESIA
        or phonenumbers.national_significant_number(number) != national
    ):  # pragma: no cover - 8-12 digits after +62 always parse as themselves
        raise IdentifierError("Phone number is not a valid Indonesian number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
