"""Validation and normalisation of Indonesian customs and identity identifiers.

Every ``normalize_*`` function is pure: it takes the raw user input, returns the canonical
stored form, or raises :class:`IdentifierError` with a short English message suitable for a
422 problem detail. Values are only checked for being well-formed; nothing is looked up, so
well-formed but unknown numbers are accepted. Error messages never echo the input because
several of these identifiers (NIK, NPWP, phone, email) are personal data.

Maintained libraries do the checking where one covers the number: python-stdnum the NPWP
check digit and ISO 6346 containers, email-validator addresses and phonenumbers phone
numbers (both in :mod:`app.core.identifiers`, shared with the packages below this one).
The rest is written here because no maintained library covers it: NIK (stdnum's ``id.nik``
refuses a regency missing from its own list, and new ones keep being made), NITKU,
NPPBKC, nomor aju, the IATA air waybill and the BTKI HS code. The length, character and
separator rules in front of the libraries are the office's own, and give its messages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from stdnum import iso6346
from stdnum.exceptions import ValidationError
from stdnum.id import npwp as stdnum_npwp

from app.core.identifiers import MAX_INPUT as _MAX_INPUT
from app.core.identifiers import IdentifierError, bounded, normalize_email, normalize_phone

__all__ = [
    "DOCUMENT_TYPES",
    "IdentifierError",
    "NppbkcNumber",
    "awb_check_digit",
    "container_check_digit",
    "normalize_awb",
    "normalize_bl",
    "normalize_container",
    "normalize_document",
    "normalize_email",
    "normalize_handle",
    "normalize_hs_code",
    "normalize_nik",
    "normalize_nitku",
    "normalize_nomor_aju",
    "normalize_nppbkc",
    "normalize_npwp",
    "normalize_other",
    "normalize_phone",
]


_DIGITS: Final = re.compile(r"[0-9]+")
_NIK_SEPARATORS: Final = str.maketrans("", "", ".-")
_NUMBER_SEPARATORS: Final = str.maketrans("", "", ".-/")
_DASH: Final = str.maketrans("", "", "-")
_AJU: Final = re.compile(r"[0-9A-Z]{26}")
_CONTAINER: Final = re.compile(r"([A-Z]{3})([UJZ])([0-9]{6})([0-9])")
_CONTAINER_LOOSE: Final = re.compile(r"[A-Z]{4}[0-9]{7}")
_HS_CODE: Final = re.compile(r"([0-9]{4})(?:\.?([0-9]{2})(?:\.?([0-9]{2}))?)?")
# Zl/Zp are included because a line break inside a stored value breaks CSV exports and logs.
_CONTROL_CATEGORIES: Final = frozenset({"Cc", "Cs", "Zl", "Zp"})


def _squash(value: str, name: str, table: dict[int, int | None]) -> str:
    """Remove all Unicode whitespace plus the separators in ``table``."""
    return "".join(bounded(value, name).split()).translate(table)


def _digits(value: str, name: str, table: dict[int, int | None]) -> str:
    compact = _squash(value, name, table)
    if not compact:
        raise IdentifierError(f"{name} is required")
    if _DIGITS.fullmatch(compact) is None:
        raise IdentifierError(f"{name} must contain only digits")
    return compact


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) in _CONTROL_CATEGORIES for ch in value)


def _free_text(value: str, name: str, max_length: int) -> str:
    raw = bounded(value, name, max(_MAX_INPUT, 4 * max_length))
    text = unicodedata.normalize("NFC", raw).strip()
    if not text:
        raise IdentifierError(f"{name} is required")
    if len(text) > max_length:
        raise IdentifierError(f"{name} must be at most {max_length} characters")
    if _has_control(text):
        raise IdentifierError(f"{name} must not contain control characters")
    return text


# ---------------------------------------------------------------------------- NIK

# 29 Feb is accepted when YY % 4 == 0: 20YY is then a leap year (2000 included), so the date
# exists in at least one century even though 1900 was not a leap year.
_DAYS_IN_MONTH: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def normalize_nik(value: str) -> str:
    """Validate a 16-digit NIK (spaces, dots and dashes ignored) and return its digits.

    Province codes 11-99 are accepted rather than the current official list, because codes
    keep being added (the 2022 Papua splits) and rejecting a real resident is worse than
    accepting a mistyped code. Regency and district codes are not checked. The birth date
    must exist in some century (day 41-71 encodes women), and the serial must not be 0000.
    """
    digits = _digits(value, "NIK", _NIK_SEPARATORS)
    if len(digits) != 16:
        raise IdentifierError("NIK must be 16 digits")
    if int(digits[0:2]) < 11:
        raise IdentifierError("NIK province code must be 11-99")
    day, month, year = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    if day > 40:
        day -= 40
    if not 1 <= month <= 12:
        raise IdentifierError("NIK birth month must be 01-12")
    if not 1 <= day <= _DAYS_IN_MONTH[month - 1] or (month == 2 and day == 29 and year % 4):
        raise IdentifierError("NIK birth date is not a valid date")
    if digits[12:16] == "0000":
        raise IdentifierError("NIK serial must not be 0000")
    return digits


# ------------------------------------------------------------------- NPWP, NITKU, NPPBKC


def normalize_npwp(value: str) -> str:
    """Validate a 15-digit (pre-2024) or 16-digit NPWP, ignoring ``. - /`` and spaces.

    In the 15-digit form, and in the 16-digit form that is it with a leading 0, the 9th
    digit is a Luhn check digit over the first 8 (``01.234.567.4-901.000``), which
    python-stdnum verifies. The other 16-digit form is an individual's NIK and has no
    check digit; it is accepted as 16 digits (stdnum would look its regency up in a list).
    """
    digits = _digits(value, "NPWP", _NUMBER_SEPARATORS)
    if len(digits) not in (15, 16):
        raise IdentifierError("NPWP must be 15 or 16 digits")
    # All zeros is the tax office's placeholder for "no NPWP", never a real taxpayer.
    if digits.count("0") == len(digits):
        raise IdentifierError("NPWP must not be all zeros")
    if len(digits) == 15 or digits.startswith("0"):
        try:
            stdnum_npwp.validate(digits)
        except ValidationError:
            raise IdentifierError(
                "NPWP check digit is wrong: the 9th digit of the 15-digit form does not "
                "match the first 8"
            ) from None
    return digits


def normalize_nitku(value: str) -> str:
    """Validate a 22-digit NITKU (16-digit NPWP + 6), ignoring ``. - /`` and spaces."""
    digits = _digits(value, "NITKU", _NUMBER_SEPARATORS)
    if len(digits) != 22:
        raise IdentifierError("NITKU must be 22 digits")
    if digits.count("0") == len(digits):
        raise IdentifierError("NITKU must not be all zeros")
    return digits


@dataclass(frozen=True, slots=True)
class NppbkcNumber:
    """A normalised NPPBKC: digits only, flagged ``legacy`` unless it is the 22-digit form."""

    value: str
    legacy: bool


_NPPBKC_LEGACY_MIN: Final = 6


def normalize_nppbkc(value: str) -> NppbkcNumber:
    """Validate an NPPBKC excise licence number and return its digits with a legacy flag.

    The PMK 68/2023 form is 22 digits (16-digit NPWP + 6-digit NILKU). Licences issued
    earlier used shorter, office-specific layouts (e.g. ``0407.1.3.0012``), so any 6-21
    digits are accepted as legacy. Spaces, dots, dashes and slashes are separators only and
    are dropped, so a legacy number is stored as digits just like the current form.
    """
    digits = _digits(value, "NPPBKC", _NUMBER_SEPARATORS)
    if digits.count("0") == len(digits):
        raise IdentifierError("NPPBKC must not be all zeros")
    if len(digits) == 22:
        return NppbkcNumber(digits, legacy=False)
    if _NPPBKC_LEGACY_MIN <= len(digits) < 22:
        return NppbkcNumber(digits, legacy=True)
    raise IdentifierError("NPPBKC must be 22 digits (or 6-21 digits for a legacy licence)")


# ------------------------------------------------------------------------ nomor aju


def normalize_nomor_aju(value: str) -> str:
    """Validate a 26-character nomor aju: spaces and dashes dropped, letters uppercased.

    The usual layout is all digits, but letters are accepted because some CEISA document
    codes are alphanumeric and the layout is not something we enforce.
    """
    compact = _squash(value, "Nomor aju", _DASH)
    if not compact:
        raise IdentifierError("Nomor aju is required")
    # ASCII is checked before upper() because e.g. "ß".upper() is "SS" and changes the length.
    if compact.isascii():
        compact = compact.upper()
    if _AJU.fullmatch(compact) is None:
        if len(compact) == 26:
            raise IdentifierError("Nomor aju must contain only letters and digits")
        raise IdentifierError("Nomor aju must be 26 characters")
    return compact


# ------------------------------------------------------------------------------- AWB


def awb_check_digit(serial: str) -> int:
    """Return the IATA air waybill check digit (serial mod 7) of a 7-digit serial."""
    if len(serial) != 7 or _DIGITS.fullmatch(serial) is None:
        raise IdentifierError("AWB serial must be 7 digits")
    return int(serial) % 7


def normalize_awb(value: str) -> str:
    """Validate an 11-digit air waybill (``123-45678903``, spaces allowed); return digits."""
    digits = _digits(value, "AWB", _DASH)
    if len(digits) != 11:
        raise IdentifierError("AWB must be 11 digits")
    expected = awb_check_digit(digits[3:10])
    if int(digits[10]) != expected:
        raise IdentifierError(f"AWB check digit does not match (expected {expected})")
    return digits


# ------------------------------------------------------------------------- container


def container_check_digit(first10: str) -> int:
    """Return the ISO 6346 check digit for owner code + category + 6-digit serial.

    A remainder of 10 is written as 0 (python-stdnum does the same); ISO 6346 discourages
    such serials but they exist.
    """
    code = first10.upper() if first10.isascii() else first10
    if len(code) != 10 or _CONTAINER_LOOSE.fullmatch(code + "0") is None:
        raise IdentifierError("Container prefix must be 4 letters and 6 digits")
    return int(iso6346.calc_check_digit(code))


def normalize_container(value: str) -> str:
    """Validate an ISO 6346 container number (e.g. ``CSQU 305438-3``); return 11 characters.

    python-stdnum checks the number; the category letters are the office's: U, J and Z
    (stdnum also takes R).
    """
    code = _squash(value, "Container number", _DASH)
    if not code:
        raise IdentifierError("Container number is required")
    # ASCII first for the same reason as in normalize_nomor_aju.
    if code.isascii():
        code = code.upper()
    if len(code) != 11 or _CONTAINER_LOOSE.fullmatch(code) is None:
        raise IdentifierError("Container number must be 4 letters followed by 7 digits")
    if _CONTAINER.fullmatch(code) is None:
        raise IdentifierError("Container category letter must be U, J or Z")
    try:
        return iso6346.validate(code)
    except ValidationError:
        expected = container_check_digit(code[:10])
        raise IdentifierError(
            f"Container check digit does not match (expected {expected})"
        ) from None


# -------------------------------------------------------------------------- HS code


def normalize_hs_code(value: str) -> str:
    """Validate a BTKI 2022 HS code of 4, 6 or 8 digits, dots only as in ``8471.30.20``."""
    text = bounded(value, "HS code").strip()
    if not text:
        raise IdentifierError("HS code is required")
    match = _HS_CODE.fullmatch(text)
    if match is None:
        raise IdentifierError("HS code must be 4, 6 or 8 digits, optionally as 8471.30.20")
    digits = "".join(part for part in match.groups() if part is not None)
    if digits.startswith("00"):
        raise IdentifierError("HS code chapter must not be 00")
    return digits


# ------------------------------------------------------------------ free-text numbers


def normalize_bl(value: str, max_length: int = 64) -> str:
    """Validate a bill of lading number: carrier-specific text, trimmed and length-bounded."""
    return _free_text(value, "Bill of lading number", max_length)


def normalize_other(value: str) -> str:
    """Validate a document number of unknown type: trimmed, 1-100 characters."""
    return _free_text(value, "Document number", 100)


def normalize_handle(value: str) -> str:
    """Validate a social media handle: trimmed, 1-100 characters, no control characters."""
    return _free_text(value, "Handle", 100)


# ------------------------------------------------------------------------- dispatcher


def _nppbkc_value(value: str) -> str:
    return normalize_nppbkc(value).value


def _bl_default(value: str) -> str:
    return normalize_bl(value)


_DOCUMENT_NORMALIZERS: Final[dict[str, Callable[[str], str]]] = {
    "nomor_aju": normalize_nomor_aju,
    "npwp": normalize_npwp,
    "nitku": normalize_nitku,
    "nppbkc": _nppbkc_value,
    "awb": normalize_awb,
    "container": normalize_container,
    "hs_code": normalize_hs_code,
    "bl": _bl_default,
    "other": normalize_other,
}

DOCUMENT_TYPES: Final = frozenset(_DOCUMENT_NORMALIZERS)


def normalize_document(doc_type: str, number: str) -> str:
    """Normalise ``number`` according to ``doc_type`` (one of :data:`DOCUMENT_TYPES`)."""
    normalizer = _DOCUMENT_NORMALIZERS.get(doc_type)
    if normalizer is None:
        expected = ", ".join(sorted(DOCUMENT_TYPES))
        raise IdentifierError(f"Unknown document type; expected one of: {expected}")
    return normalizer(number)
