"""The words of the index: Indonesian stems, their mending, personal data removed."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.inquiries import identifiers
from app.search.text import (
    START_MARK,
    STEM_FIXES,
    STOP_MARK,
    canonical,
    document_stems,
    fts5_query,
    highlight,
    officer_text,
    query_terms,
    scrub,
    similarity_terms,
    snippet_html,
    stem,
    term,
    tsquery,
)


@pytest.mark.parametrize(
    "forms",
    [
        ["kiriman", "dikirim", "mengirimkan", "pengiriman", "pengirim", "terkirim", "kirim"],
        ["pemeriksaan", "diperiksa", "memeriksa", "periksa"],
        ["penerimaan", "menerima", "diterima", "terima"],
        ["penetapan", "menetapkan", "ditetapkan", "tetap"],
        ["pengenaan", "dikenakan", "mengenakan", "kena"],
        ["pemberitahuan", "memberitahukan", "diberitahukan", "beritahu"],
        ["pengeluaran", "mengeluarkan", "dikeluarkan", "keluar"],
        ["penyelesaian", "menyelesaikan", "diselesaikan", "selesai"],
        ["pemasukan", "memasukkan", "dimasukkan", "masuk"],
        ["penangguhan", "menangguhkan", "ditangguhkan"],
        ["pembayaran", "membayar", "dibayar", "bayar"],
    ],
)
def test_the_forms_of_a_word_share_one_mended_stem(forms: list[str]) -> None:
    assert len({canonical(f) for f in forms}) == 1, {f: canonical(f) for f in forms}


def test_the_built_in_stemmer_misses_the_nasal_forms_that_the_fixes_mend() -> None:
    # PostgreSQL's (and PyStemmer's) Snowball Indonesian, as it is.
    assert stem("pengiriman") == "irim"
    assert stem("kiriman") == "kirim"
    assert stem("mengirimkan") == "irim"
    assert canonical("pengiriman") == canonical("kiriman") == "kirim"


def test_every_fix_mends_a_stem_into_a_stem_that_is_not_mended_again() -> None:
    for raw, fixed in STEM_FIXES.items():
        assert raw != fixed
        assert fixed not in STEM_FIXES, fixed


def test_words_that_only_look_prefixed_stay_apart() -> None:
    # "menandai" stems to "anda", but "Anda" (you) is another word: not joined.
    assert canonical("anda") == "anda"
    assert canonical("empat") == "empat"
    assert term("anda").stems == frozenset({"anda"})


def test_a_query_word_stands_for_every_stem_of_its_forms() -> None:
    assert term("kiriman").stems == frozenset({"kirim", "irim"})
    assert term("pengiriman") == term("dikirim")
    assert [t.canonical for t in query_terms("Pengiriman paket, paket!")] == ["kirim", "paket"]
    assert tsquery(query_terms("pengiriman paket")) == "('irim' | 'kirim') & ('paket')"
    assert fts5_query(query_terms("pengiriman paket"), "OR") == '"kirim" OR "paket"'


def test_sqlite_indexes_the_mended_stems() -> None:
    assert document_stems("Pengiriman Paket, diperiksa") == "kirim paket periksa"
    assert document_stems(None) == ""


NIK = "1171024108900001"


@pytest.mark.parametrize(
    "text",
    [
        f"NIK saya {NIK} mohon dicek",
        "NIK 1171 0241 0890 0001",
        "NIK 11.71.02.410890.0001",
        "NPWP 01.234.567.8-901.000",
        "NPWP 0123456789012345",
        "hubungi 0812-3456-7890 atau +62 812 3456 7890 atau (021) 2345-6789",
        "email cut.nyak@example.com atau CUT+bea@mail.example.co.id",
    ],
)
def test_personal_data_is_removed(text: str) -> None:
    scrubbed = scrub(text)
    assert sum(ch.isdigit() for ch in scrubbed) == 0, scrubbed
    assert "@" not in scrubbed


def test_short_numbers_stay() -> None:
    # HS codes, dates, amounts and regulations are worth finding.
    text = "HS 8471.30.20, PMK 4/2025, FOB USD 3, tanggal 29-11-2026, Rp 1.500.000"
    assert scrub(text) == text


@given(st.from_regex(r"[1-9][0-9]{15}", fullmatch=True), st.sampled_from(["", " ", ".", "-"]))
def test_every_nik_the_intake_accepts_is_removed(digits: str, separator: str) -> None:
    try:
        nik = identifiers.normalize_nik(digits)
    except identifiers.IdentifierError:
        return
    written = separator.join(re.findall("....", nik))
    assert identifiers.normalize_nik(written) == nik
    assert not any(ch.isdigit() for ch in scrub(f"NIK: {written}, terima kasih"))


@given(
    st.sampled_from(["08", "628", "+628", "+62 8", "(021) ", "021-", "+62 (0)21 "]),
    st.from_regex(r"[1-9][0-9]{7,9}", fullmatch=True),
    st.sampled_from(["", " ", "-", "."]),
)
def test_every_phone_number_the_intake_accepts_is_removed(
    prefix: str, rest: str, separator: str
) -> None:
    written = prefix + separator.join([rest[:3], rest[3:7], rest[7:]]).strip(separator)
    try:
        identifiers.normalize_phone(written)
    except identifiers.IdentifierError:
        return
    assert not any(ch.isdigit() for ch in scrub(f"telepon {written} ya")), written


@given(st.emails())
def test_every_email_address_the_intake_accepts_is_removed(address: str) -> None:
    try:
        normalised = identifiers.normalize_email(address)
    except identifiers.IdentifierError:
        return
    assert "@" not in scrub(f"kirim ke {normalised} ya")


@given(st.from_regex(r"[0-9]{15,16}", fullmatch=True))
def test_every_npwp_the_intake_accepts_is_removed(digits: str) -> None:
    try:
        npwp = identifiers.normalize_npwp(digits)
    except identifiers.IdentifierError:
        return
    formatted = f"{npwp[:2]}.{npwp[2:5]}.{npwp[5:8]}.{npwp[8]}-{npwp[9:12]}.{npwp[12:]}"
    assert not any(ch.isdigit() for ch in scrub(f"NPWP {formatted} dan {npwp}"))


def test_a_snippet_marks_every_form_and_is_safe_html() -> None:
    text = "Untuk <b>pengiriman</b> barang, kiriman Anda diperiksa dulu."
    marked = highlight(text, query_terms("dikirim"))
    assert marked.count(START_MARK) == 2
    assert snippet_html(marked) == (
        "Untuk &lt;b&gt;<mark>pengiriman</mark>&lt;/b&gt; barang, <mark>kiriman</mark> "
        "Anda diperiksa dulu."
    )
    assert STOP_MARK not in snippet_html(marked)


def test_similarity_leaves_out_the_words_without_meaning() -> None:
    terms = similarity_terms("Apakah paket saya yang dikirim dari Singapura sudah tiba?")
    assert [t.canonical for t in terms] == ["paket", "kirim", "singapura", "tiba"]


def test_the_officers_text_is_taken_out_of_a_sent_answer() -> None:
    sent = (
        "Yth. Cut Nyak Dhien,\n\nSilakan lengkapi invoice.\n\n---\n"
        "Nomor referensi / Reference: IQ-S4KF9VY5\nsurvei ..."
    )
    assert officer_text(sent) == "Silakan lengkapi invoice."
    resolved = "Yth. Cut,\n\nTiket / Ticket KANWIL-ACEH-2026-000001:\n\nSudah selesai."
    assert officer_text(resolved) == "Sudah selesai."
