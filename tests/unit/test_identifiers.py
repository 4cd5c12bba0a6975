"""Tests for app.inquiries.identifiers."""

from __future__ import annotations

import string
from collections.abc import Callable

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum import iso6346, luhn
from stdnum.id import npwp as stdnum_npwp

from app.inquiries.identifiers import (
    DOCUMENT_TYPES,
    IdentifierError,
    NppbkcNumber,
    awb_check_digit,
    container_check_digit,
    normalize_awb,
    normalize_bl,
    normalize_container,
    normalize_document,
    normalize_email,
    normalize_handle,
    normalize_hs_code,
    normalize_nik,
    normalize_nitku,
    normalize_nomor_aju,
    normalize_nppbkc,
    normalize_npwp,
    normalize_other,
    normalize_phone,
)

# No example database: the suite must not write .hypothesis/ into a shared checkout.
_settings = settings(database=None, deadline=None, max_examples=200)

_digit = st.sampled_from(string.digits)


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=string.digits, min_size=n, max_size=n)


def _rejects(fn: Callable[[str], object], value: str, match: str) -> None:
    with pytest.raises(IdentifierError, match=match):
        fn(value)


# ----------------------------------------------------------------------------- error type


def test_identifier_error_is_value_error_with_message() -> None:
    with pytest.raises(ValueError, match="NIK must be 16 digits") as info:
        normalize_nik("123")
    assert isinstance(info.value, IdentifierError)
    assert info.value.message == "NIK must be 16 digits"


def test_error_messages_do_not_echo_personal_data() -> None:
    with pytest.raises(IdentifierError) as info:
        normalize_nik("3171010113909999")
    assert "3171010113909999" not in str(info.value)


# ------------------------------------------------------------------------------------ NIK


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3171010101900001", "3171010101900001"),
        ("3171014101900001", "3171014101900001"),  # woman: day + 40
        (" 3171 0101 0190 0001 ", "3171010101900001"),
        ("31.71.01.010190.0001", "3171010101900001"),
        ("3171012902000001", "3171012902000001"),  # 29 Feb 2000
        ("3171016902040001", "3171016902040001"),  # woman born 29 Feb 2004
        ("3171013112999999", "3171013112999999"),
        ("1101010101900001", "1101010101900001"),  # Aceh, lowest province code
        ("9701010101900001", "9701010101900001"),  # new Papua province codes
    ],
)
def test_nik_valid(raw: str, expected: str) -> None:
    assert normalize_nik(raw) == expected


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("", "required"),
        ("317101010190001", "16 digits"),
        ("31710101019000011", "16 digits"),
        ("317101010190000A", "only digits"),
        ("3171010101900001\u0661", "only digits"),  # Arabic-Indic digit
        ("1071010101900001", "province"),
        ("0071010101900001", "province"),
        ("3171010013900001", "month"),
        ("3171010100900001", "month"),
        ("3171010001900001", "date"),
        ("3171013201900001", "date"),
        ("3171014001900001", "date"),
        ("3171017201900001", "date"),
        ("3171013104900001", "date"),  # 31 April
        ("3171012902010001", "date"),  # 29 Feb in a year that is never leap
        ("3171016902010001", "date"),
        ("3171013002000001", "date"),
        ("3171010101900000", "serial"),
    ],
)
def test_nik_invalid(raw: str, match: str) -> None:
    _rejects(normalize_nik, raw, match)


@st.composite
def _valid_niks(draw: st.DrawFn) -> str:
    province = draw(st.integers(11, 99))
    area = draw(_digits(4))
    year = draw(st.integers(0, 99))
    month = draw(st.integers(1, 12))
    last = [31, 29 if year % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    day = draw(st.integers(1, last)) + draw(st.sampled_from([0, 40]))
    serial = draw(st.integers(1, 9999))
    return f"{province:02d}{area}{day:02d}{month:02d}{year:02d}{serial:04d}"


@_settings
@given(_valid_niks())
def test_nik_generated_valid_round_trip(nik: str) -> None:
    assert normalize_nik(nik) == nik
    assert normalize_nik(f"{nik[:6]} {nik[6:12]} {nik[12:]}") == nik


# ---------------------------------------------------------------------- NPWP, NITKU, NPPBKC


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("01.234.567.4-901.000", "012345674901000"),
        ("012345674901000", "012345674901000"),
        ("0012345674901000", "0012345674901000"),
        ("0012 3456 7490 1000", "0012345674901000"),
        ("3171010101900001", "3171010101900001"),  # an individual's NIK as NPWP
        ("01/234/567/4-901/000", "012345674901000"),
    ],
)
def test_npwp_valid(raw: str, expected: str) -> None:
    assert normalize_npwp(raw) == expected


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("", "required"),
        (" .- ", "required"),
        ("01.234.567.8-901.00", "15 or 16 digits"),
        ("00123456789010001", "15 or 16 digits"),
        ("01.234.567.8-901.00O", "only digits"),
        ("01,234,567,8-901,000", "only digits"),
        ("00.000.000.0-000.000", "all zeros"),
    ],
)
def test_npwp_invalid(raw: str, match: str) -> None:
    _rejects(normalize_npwp, raw, match)


def test_nitku() -> None:
    assert normalize_nitku("0012345678901000 000001") == "0012345678901000000001"
    assert normalize_nitku("0012345678901000-000001") == "0012345678901000000001"
    _rejects(normalize_nitku, "0012345678901000", "22 digits")
    _rejects(normalize_nitku, "00123456789010000000012", "22 digits")
    _rejects(normalize_nitku, "0" * 22, "all zeros")
    _rejects(normalize_nitku, "0012345678901000-00000X", "only digits")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0012345678901000123456", NppbkcNumber("0012345678901000123456", legacy=False)),
        ("0012.3456.7890.1000-123456", NppbkcNumber("0012345678901000123456", legacy=False)),
        ("0407.1.3.0012", NppbkcNumber("0407130012", legacy=True)),
        ("123456", NppbkcNumber("123456", legacy=True)),
        ("1" * 21, NppbkcNumber("1" * 21, legacy=True)),
    ],
)
def test_nppbkc_valid(raw: str, expected: NppbkcNumber) -> None:
    assert normalize_nppbkc(raw) == expected


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("12345", "22 digits"),
        ("1" * 23, "22 digits"),
        ("0407.1.3.00I2", "only digits"),
        ("0000.0.0.0000", "all zeros"),
        ("", "required"),
    ],
)
def test_nppbkc_invalid(raw: str, match: str) -> None:
    _rejects(normalize_nppbkc, raw, match)


# ------------------------------------------------------------------------------ nomor aju


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("00002001010220230101000001", "00002001010220230101000001"),
        ("000020-010102-20230101-000001", "00002001010220230101000001"),
        (" 000020 010102 20230101 000001 ", "00002001010220230101000001"),
        ("000020abc10220230101000001", "000020ABC10220230101000001"),
    ],
)
def test_nomor_aju_valid(raw: str, expected: str) -> None:
    assert normalize_nomor_aju(raw) == expected


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("", "required"),
        ("0000200101022023010100000", "26 characters"),
        ("000020010102202301010000011", "26 characters"),
        ("000020.010102.20230101.000001", "26 characters"),
        ("0000200101022023010100000_", "only letters and digits"),
        ("0000200101022023010100000\u00e9", "only letters and digits"),
        # 25 characters that upper() would stretch to 26 ("ß".upper() is "SS").
        ("\u00df" + "0" * 24, "26 characters"),
        ("\u00df" + "0" * 25, "only letters and digits"),
    ],
)
def test_nomor_aju_invalid(raw: str, match: str) -> None:
    _rejects(normalize_nomor_aju, raw, match)


# ------------------------------------------------------------------------------------ AWB


def test_awb_check_digit() -> None:
    assert awb_check_digit("1234567") == 5
    assert awb_check_digit("0000000") == 0
    assert awb_check_digit("9999999") == 9999999 % 7
    _rejects(awb_check_digit, "123456", "7 digits")
    _rejects(awb_check_digit, "123456a", "7 digits")


@pytest.mark.parametrize("raw", ["126-12345675", "12612345675", "126 1234 5675", " 126-1234567 5 "])
def test_awb_valid(raw: str) -> None:
    assert normalize_awb(raw) == "12612345675"


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("126-12345670", r"AWB check digit does not match \(expected 5\)"),
        ("126-12345679", r"expected 5"),
        ("126-1234567", "11 digits"),
        ("126-123456755", "11 digits"),
        ("126/12345675", "only digits"),
        ("", "required"),
    ],
)
def test_awb_invalid(raw: str, match: str) -> None:
    _rejects(normalize_awb, raw, match)


@_settings
@given(prefix=_digits(3), serial=_digits(7))
def test_awb_generated_valid_round_trip(prefix: str, serial: str) -> None:
    awb = f"{prefix}{serial}{awb_check_digit(serial)}"
    assert normalize_awb(awb) == awb
    assert normalize_awb(f"{awb[:3]}-{awb[3:]}") == awb
    assert normalize_awb(f" {awb[:3]} {awb[3:7]} {awb[7:]} ") == awb


@_settings
@given(prefix=_digits(3), serial=_digits(7), wrong=_digit)
def test_awb_wrong_check_digit_rejected(prefix: str, serial: str, wrong: str) -> None:
    assume(int(wrong) != awb_check_digit(serial))
    with pytest.raises(IdentifierError, match="check digit"):
        normalize_awb(f"{prefix}-{serial}{wrong}")


# ------------------------------------------------------------------------------ container


def test_container_check_digit_known_examples() -> None:
    assert container_check_digit("CSQU305438") == 3
    assert container_check_digit("csqu305438") == 3
    assert container_check_digit("MSKU907032") == 3
    _rejects(container_check_digit, "CSQU30543", "4 letters and 6 digits")
    _rejects(container_check_digit, "CSQ1305438", "4 letters and 6 digits")


@pytest.mark.parametrize(
    "raw", ["CSQU3054383", "csqu3054383", "CSQU 305438 3", "CSQU-305438-3", " CSQU 3054383\t"]
)
def test_container_valid(raw: str) -> None:
    assert normalize_container(raw) == "CSQU3054383"


def test_container_j_and_z_categories() -> None:
    for prefix in ("ABCJ123456", "ABCZ123456"):
        code = f"{prefix}{container_check_digit(prefix)}"
        assert normalize_container(code) == code


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("CSQU3054384", r"Container check digit does not match \(expected 3\)"),
        ("CSQX3054383", "category letter"),
        ("CSQ3054383", "4 letters followed by 7 digits"),
        ("CSQU305438", "4 letters followed by 7 digits"),
        ("CSQU305438A", "4 letters followed by 7 digits"),
        ("CS1U3054383", "4 letters followed by 7 digits"),
        ("CSQU/3054383", "4 letters followed by 7 digits"),
        ("\u00dfQU3054383", "4 letters followed by 7 digits"),
        ("", "required"),
    ],
)
def test_container_invalid(raw: str, match: str) -> None:
    _rejects(normalize_container, raw, match)


_owner = st.text(alphabet=string.ascii_uppercase, min_size=3, max_size=3)
_category = st.sampled_from("UJZ")


@_settings
@given(owner=_owner, category=_category, serial=_digits(6))
def test_container_generated_valid_round_trip(owner: str, category: str, serial: str) -> None:
    code = f"{owner}{category}{serial}"
    full = f"{code}{container_check_digit(code)}"
    assert normalize_container(full) == full
    assert normalize_container(f"{owner.lower()}{category} {serial}-{full[-1]}") == full


@_settings
@given(owner=_owner, category=_category, serial=_digits(6), wrong=_digit)
def test_container_wrong_check_digit_rejected(
    owner: str, category: str, serial: str, wrong: str
) -> None:
    code = f"{owner}{category}{serial}"
    assume(int(wrong) != container_check_digit(code))
    with pytest.raises(IdentifierError, match="check digit"):
        normalize_container(f"{code}{wrong}")


# -------------------------------------------------------------------------------- HS code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8471", "8471"),
        ("8471.30", "847130"),
        ("847130", "847130"),
        ("8471.30.20", "84713020"),
        ("84713020", "84713020"),
        (" 0101.21.00 ", "01012100"),
    ],
)
def test_hs_code_valid(raw: str, expected: str) -> None:
    assert normalize_hs_code(raw) == expected


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("", "required"),
        ("847", "4, 6 or 8 digits"),
        ("84713", "4, 6 or 8 digits"),
        ("8471302", "4, 6 or 8 digits"),
        ("8471302000", "4, 6 or 8 digits"),
        ("84.71", "4, 6 or 8 digits"),
        ("8471..30", "4, 6 or 8 digits"),
        ("8471.30.", "4, 6 or 8 digits"),
        (".8471", "4, 6 or 8 digits"),
        ("8471-30-20", "4, 6 or 8 digits"),
        ("8471 30 20", "4, 6 or 8 digits"),
        ("8471.3.020", "4, 6 or 8 digits"),
        ("\u0668471", "4, 6 or 8 digits"),
        ("0012.34", "chapter"),
    ],
)
def test_hs_code_invalid(raw: str, match: str) -> None:
    _rejects(normalize_hs_code, raw, match)


@_settings
@given(code=_digits(8).filter(lambda s: not s.startswith("00")))
def test_hs_code_dotted_and_plain_agree(code: str) -> None:
    dotted = f"{code[:4]}.{code[4:6]}.{code[6:]}"
    assert normalize_hs_code(dotted) == normalize_hs_code(code) == code
    assert normalize_hs_code(dotted[:7]) == code[:6]
    assert normalize_hs_code(code[:4]) == code[:4]


# ------------------------------------------------------------------ B/L, other, handle


def test_bl() -> None:
    assert normalize_bl("  MAEU 123456789 ") == "MAEU 123456789"
    assert normalize_bl("x" * 64) == "x" * 64
    assert normalize_bl("x" * 80, max_length=80) == "x" * 80
    _rejects(normalize_bl, "x" * 65, "at most 64 characters")
    _rejects(normalize_bl, "   ", "required")
    _rejects(normalize_bl, "MAEU\x00123", "control characters")


def test_other() -> None:
    assert normalize_other(" SPPB-123/KPU.01/2024 ") == "SPPB-123/KPU.01/2024"
    _rejects(normalize_other, "x" * 101, "at most 100")
    _rejects(normalize_other, "", "required")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@budi_santoso", "@budi_santoso"),
        ("  Bea Cukai Soekarno-Hatta \n", "Bea Cukai Soekarno-Hatta"),
        ("cafe\u0301", "caf\u00e9"),  # NFC so equal handles compare equal
        ("x" * 100, "x" * 100),
    ],
)
def test_handle_valid(raw: str, expected: str) -> None:
    assert normalize_handle(raw) == expected


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("", "required"),
        (" \t\n", "required"),
        ("x" * 101, "at most 100"),
        ("a\nb", "control"),
        ("a\x1bb", "control"),
        ("a\u2028b", "control"),
        ("a\ud800b", "control"),
    ],
)
def test_handle_invalid(raw: str, match: str) -> None:
    _rejects(normalize_handle, raw, match)


# ---------------------------------------------------------------------------------- email


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("budi@example.com", "budi@example.com"),
        (" Budi.Santoso@Customs.GO.ID ", "Budi.Santoso@customs.go.id"),
        ("a+tag@sub-domain.example.co.id", "a+tag@sub-domain.example.co.id"),
        ("o'neil@xn--bcher-kva.example", "o'neil@xn--bcher-kva.example"),
        (f"{'a' * 64}@example.com", f"{'a' * 64}@example.com"),
    ],
)
def test_email_valid(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("", "required"),
        ("budi.example.com", "exactly one @"),
        ("budi@@example.com", "exactly one @"),
        ("a@b@example.com", "exactly one @"),
        ("@example.com", "local part"),
        (f"{'a' * 65}@example.com", "local part"),
        (".budi@example.com", "local part"),
        ("budi.@example.com", "local part"),
        ("bu..di@example.com", "local part"),
        ("bu di@example.com", "local part"),
        ('"budi"@example.com', "local part"),
        ("budi@localhost", "domain"),
        ("budi@example..com", "domain"),
        ("budi@example.com.", "domain"),
        ("budi@-example.com", "domain"),
        ("budi@example-.com", "domain"),
        ("budi@exa_mple.com", "domain"),
        ("budi@10.0.0.1", "domain"),
        ("budi@[10.0.0.1]", "domain"),
        (f"budi@{'a' * 64}.com", "domain"),
        ("b\u00fcdi@example.com", "not a valid address"),
        (f"budi@{'a.' * 125}com", "not a valid address"),  # over 254 characters
    ],
)
def test_email_invalid(raw: str, match: str) -> None:
    _rejects(normalize_email, raw, match)


# ---------------------------------------------------------------------------------- phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("0812.3456.7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("+62-812-3456-7890", "+6281234567890"),
        ("+62 (0)812 3456 7890", "+6281234567890"),
        ("021-1500225", "+62211500225"),
        ("(021) 1500225", "+62211500225"),
        ("(0651) 123456", "+62651123456"),
        ("+62 21 1500225", "+62211500225"),
        ("0800-1-500225", "+628001500225"),
        ("021-123456", "+6221123456"),  # 8-digit national number, the minimum
        ("0812-3456-78901", "+62812345678901"),  # 12-digit national number, the maximum
    ],
)
def test_phone_valid(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("", "required"),
        ("0812-3456-789a", "only digits"),
        ("0812/3456/7890", "only digits"),
        ("0812 3456 7890 ext 12", "only digits"),
        ("081+234567890", "only digits"),
        ("+1 212 555 0100", r"Indonesian \(\+62\)"),
        ("+0812 3456 7890", r"Indonesian \(\+62\)"),
        ("812 3456 7890", "start with 0, 62 or \\+62"),
        ("021-12345", "8-12 digits"),
        ("0812-3456-789012", "8-12 digits"),
        ("+62", "8-12 digits"),
        ("0062 812 3456 7890", "must not start with 0"),
        ("(0651 123456", "parentheses"),
        ("0651) (123456", "parentheses"),
    ],
)
def test_phone_invalid(raw: str, match: str) -> None:
    _rejects(normalize_phone, raw, match)


@_settings
@given(
    nsn=st.builds(
        lambda rest: f"8{rest}", st.text(alphabet=string.digits, min_size=8, max_size=11)
    ),
    sep=st.sampled_from(["", " ", "-", "."]),
)
def test_phone_generated_mobile_formats_agree(nsn: str, sep: str) -> None:
    grouped = sep.join([nsn[:3], nsn[3:7], nsn[7:]])
    expected = f"+62{nsn}"
    assert normalize_phone(f"0{grouped}") == expected
    assert normalize_phone(f"62{grouped}") == expected
    assert normalize_phone(f"+62 {grouped}") == expected
    assert normalize_phone(expected) == expected


# ----------------------------------------------------------------------------- dispatcher


@pytest.mark.parametrize(
    ("doc_type", "raw", "expected"),
    [
        ("nomor_aju", "000020-010102-20230101-000001", "00002001010220230101000001"),
        ("npwp", "01.234.567.4-901.000", "012345674901000"),
        ("nitku", "0012345678901000 000001", "0012345678901000000001"),
        ("nppbkc", "0407.1.3.0012", "0407130012"),
        ("awb", "126-12345675", "12612345675"),
        ("container", "csqu 305438 3", "CSQU3054383"),
        ("hs_code", "8471.30.20", "84713020"),
        ("bl", " MAEU123456789 ", "MAEU123456789"),
        ("other", " PIB 12345 ", "PIB 12345"),
    ],
)
def test_normalize_document(doc_type: str, raw: str, expected: str) -> None:
    assert normalize_document(doc_type, raw) == expected


def test_document_types_are_exactly_the_documented_ones() -> None:
    assert {
        "nomor_aju",
        "npwp",
        "nitku",
        "nppbkc",
        "awb",
        "container",
        "hs_code",
        "bl",
        "other",
    } == DOCUMENT_TYPES


def test_normalize_document_rejects_unknown_type_and_bad_numbers() -> None:
    with pytest.raises(IdentifierError, match="Unknown document type"):
        normalize_document("passport", "A1234567")
    with pytest.raises(IdentifierError, match="check digit"):
        normalize_document("awb", "126-12345670")
    with pytest.raises(IdentifierError, match="at most 64"):
        normalize_document("bl", "x" * 65)


# ----------------------------------------------------------- robustness and idempotence

_SINGLE_ARG: dict[str, Callable[[str], object]] = {
    "nik": normalize_nik,
    "npwp": normalize_npwp,
    "nitku": normalize_nitku,
    "nppbkc": normalize_nppbkc,
    "nomor_aju": normalize_nomor_aju,
    "awb": normalize_awb,
    "container": normalize_container,
    "hs_code": normalize_hs_code,
    "bl": normalize_bl,
    "other": normalize_other,
    "handle": normalize_handle,
    "email": normalize_email,
    "phone": normalize_phone,
}

_noise = st.sampled_from([" ", "-", ".", "/", "(", ")", "+", "@", "\t", "\u00a0", "x", "0"])


@st.composite
def _sprinkled(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """Insert a few separators or stray characters into a mostly well-formed value."""
    chars = list(draw(base))
    for _ in range(draw(st.integers(0, 3))):
        chars.insert(draw(st.integers(0, len(chars))), draw(_noise))
    return "".join(chars)


def _mixed_case(s: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(s), max_size=len(s)).map(
        lambda flips: "".join(c.lower() if f else c for c, f in zip(s, flips, strict=True))
    )


@st.composite
def _valid_awbs(draw: st.DrawFn) -> str:
    serial = draw(_digits(7))
    return f"{draw(_digits(3))}-{serial}{awb_check_digit(serial)}"


@st.composite
def _valid_containers(draw: st.DrawFn) -> str:
    code = f"{draw(_owner)}{draw(_category)}{draw(_digits(6))}"
    return draw(_mixed_case(f"{code}{container_check_digit(code)}"))


_hs_codes = st.one_of(
    _digits(4),
    st.builds("{}.{}".format, _digits(4), _digits(2)),
    st.builds("{}.{}.{}".format, _digits(4), _digits(2), _digits(2)),
    _digits(8),
)
_label = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)
_emails = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[A-Za-z0-9._%+-]{1,12}", fullmatch=True),
    _label,
    st.from_regex(r"[A-Za-z]{2,6}", fullmatch=True),
)
_phones = st.builds(
    "{}{}".format,
    st.sampled_from(["0", "62", "+62 ", "+62 (0)", "(0"]),
    st.text(alphabet=string.digits, min_size=7, max_size=13),
)

# Arbitrary text finds crashes; the per-type near-valid inputs make sure a good share of
# examples are accepted, so idempotence is actually exercised for every normaliser.
_generic = st.one_of(
    st.text(),
    st.text(alphabet=string.digits + " .-/+()", max_size=30),
    st.text(alphabet=string.ascii_letters + string.digits + " -@._+", max_size=30),
)
_NEAR_VALID: dict[str, st.SearchStrategy[str]] = {
    "nik": _valid_niks(),
    "npwp": st.one_of(_digits(15), _digits(16)),
    "nitku": _digits(22),
    "nppbkc": st.text(alphabet=string.digits, min_size=5, max_size=23),
    "nomor_aju": st.text(alphabet=string.ascii_letters + string.digits, min_size=26, max_size=26),
    "awb": _valid_awbs(),
    "container": _valid_containers(),
    "hs_code": _hs_codes,
    "bl": st.text(max_size=70),
    "other": st.text(max_size=110),
    "handle": st.text(max_size=110),
    "email": _emails,
    "phone": _phones,
}


def _canonical(value: object) -> str:
    return value.value if isinstance(value, NppbkcNumber) else str(value)


@pytest.mark.parametrize("name", sorted(_SINGLE_ARG))
@_settings
@given(data=st.data())
def test_normalisation_is_idempotent_and_only_raises_identifier_error(
    name: str, data: st.DataObject
) -> None:
    fn = _SINGLE_ARG[name]
    near_valid = _NEAR_VALID[name]
    raw = data.draw(st.one_of(_generic, near_valid, _sprinkled(near_valid)), label="raw")
    try:
        first = fn(raw)
    except IdentifierError as exc:
        error = exc
    else:
        assert fn(_canonical(first)) == first
        return
    assert error.message
    assert str(error) == error.message


@_settings
@given(raw=st.text(min_size=1000, max_size=2000))
def test_oversized_input_is_rejected_cheaply(raw: str) -> None:
    for fn in _SINGLE_ARG.values():
        with pytest.raises(IdentifierError):
            fn(raw)


# ------------------------------------------------------------ NPWP check digit (stdnum)


@pytest.mark.parametrize(
    "raw",
    [
        "01.312.166.0-091.000",  # python-stdnum's own examples
        "016090524017000",
        "01.300.066.6-091.000",
        "0013121660091000",  # the 16-digit form of the first: a leading 0
    ],
)
def test_npwp_with_a_correct_check_digit_is_accepted(raw: str) -> None:
    assert stdnum_npwp.is_valid(raw)
    assert normalize_npwp(raw) == "".join(ch for ch in raw if ch.isdigit())


@pytest.mark.parametrize(
    "raw",
    [
        "01.234.567.8-901.000",
        "012345678901000",
        "0012345678901000",
        "01.312.166.1-091.000",
        "016090525017000",
    ],
)
def test_npwp_with_a_wrong_check_digit_is_refused(raw: str) -> None:
    assert not stdnum_npwp.is_valid(raw)
    _rejects(normalize_npwp, raw, "NPWP check digit is wrong")


def test_npwp_check_digit_message_does_not_echo_the_number() -> None:
    with pytest.raises(IdentifierError) as info:
        normalize_npwp("012345678901000")
    assert "012345678" not in info.value.message


@_settings
@given(first8=_digits(8), rest=_digits(6), wrong=_digit, leading_zero=st.booleans())
def test_npwp_check_digit_is_the_luhn_digit_over_the_first_8(
    first8: str, rest: str, wrong: str, leading_zero: bool
) -> None:
    assume(first8 + rest != "0" * 14)
    right = luhn.calc_check_digit(first8)
    prefix = "0" if leading_zero else ""
    good = f"{prefix}{first8}{right}{rest}"
    assert normalize_npwp(good) == good
    assume(wrong != right)
    _rejects(normalize_npwp, f"{prefix}{first8}{wrong}{rest}", "check digit")


@_settings
@given(nik=_digits(16).filter(lambda s: s[0] != "0"))
def test_an_npwp_that_is_a_nik_has_no_check_digit(nik: str) -> None:
    assert normalize_npwp(nik) == nik


# ------------------------------------------------------- containers and stdnum agree


@_settings
@given(owner=_owner, category=_category, serial=_digits(6))
def test_container_check_digit_agrees_with_stdnum(owner: str, category: str, serial: str) -> None:
    code = f"{owner}{category}{serial}"
    full = f"{code}{container_check_digit(code)}"
    assert iso6346.is_valid(full)
    assert normalize_container(full) == full


def test_container_category_r_is_still_refused() -> None:
    code = f"CSQR305438{iso6346.calc_check_digit('CSQR305438')}"
    assert iso6346.is_valid(code)
    _rejects(normalize_container, code, "category letter")


# ------------------------------------------------------ email: email-validator's rule


@pytest.mark.parametrize(
    "raw",
    [
        "budi@mail.localhost",
        "budi@printer.local",
        "budi@example.test",
        "budi@example.invalid",
        "budi@abc.onion",
        "budi@1.in-addr.arpa",
        "budi@ab--cd.example.com",  # not punycode, but looks like a reserved label
        "budi@xn--zz.example.com",  # an xn-- label that is not IDNA
    ],
)
def test_email_domains_that_cannot_receive_mail_are_refused(raw: str) -> None:
    _rejects(normalize_email, raw, "domain")


def test_email_local_part_is_kept_as_typed() -> None:
    # email-validator would lowercase these role names; the address is stored as given.
    assert normalize_email("Postmaster@Example.COM") == "Postmaster@example.com"


# ------------------------------------------------------------- phone: phonenumbers agrees


@_settings
@given(nsn=st.text(alphabet=string.digits, min_size=8, max_size=12).filter(lambda s: s[0] != "0"))
def test_phone_e164_agrees_with_phonenumbers(nsn: str) -> None:
    got = normalize_phone(f"0{nsn}")
    parsed = phonenumbers.parse(got)
    assert parsed.country_code == 62
    assert phonenumbers.national_significant_number(parsed) == nsn
    assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == got
