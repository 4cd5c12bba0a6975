"""Words for the full-text index: personal data removed, Indonesian stems, and the
mending of the stems the Snowball stemmer gets wrong.

PostgreSQL's built-in ``indonesian`` configuration is the Snowball Indonesian stemmer,
and PyStemmer runs the same algorithm, so documents get the same stems on both
databases: PostgreSQL stems them itself (``to_tsvector('indonesian', ...)``), SQLite's
FTS5 gets them from :func:`document_stems`. The stemmer strips a nasal prefix without
restoring the consonant it replaced ("pengiriman" becomes ``irim``, "kiriman" ``kirim``),
so PostgreSQL mends on the query side: each query word stands for every stem that
:data:`STEM_FIXES` joins to its own (``irim`` or ``kirim``), and documents keep their
plain stems, so that their index needs nothing but the database. SQLite's FTS5 gets the
mended stems themselves (one term per word ranks better than alternatives).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import Stemmer

# A stem the built-in stemmer makes from a prefixed form -> the stem of the root word.
# Only stems that are not words of their own: "menandai" stems to "anda", but "Anda"
# ("you") is in every other message, so that one stays unmended.
STEM_FIXES: Final[dict[str, str]] = {
    # meng-/peng- before k: the k is dropped.
    "irim": "kirim",  # pengiriman, mengirimkan
    "ena": "kena",  # pengenaan, mengenakan
    "eluar": "luar",  # pengeluaran, mengeluarkan (the stemmer makes "keluar" "luar")
    "keluar": "luar",  # dikeluarkan
    "embali": "kembali",  # pengembalian, mengembalikan
    "mbali": "kembali",  # kembali itself
    "urang": "kurang",  # pengurangan
    "uasa": "kuasa",  # penguasaan, menguasai
    "umpul": "kumpul",  # pengumpulan
    "apal": "kapal",  # pengapalan
    "onfirmasi": "konfirmasi",  # mengonfirmasi
    "ontainer": "kontainer",
    "uota": "kuota",
    "urir": "kurir",
    "laim": "klaim",
    # men-/pen- before t: the t is dropped.
    "etap": "tetap",  # penetapan, menetapkan
    "erima": "terima",  # penerimaan, menerima
    "ima": "terima",  # terima itself (ter- taken for a prefix)
    "angguh": "tangguh",  # penangguhan
    "anggung": "tanggung",  # penanggung, tanggungan
    "agih": "tagih",  # penagihan
    "ahan": "tahan",  # penahanan, menahan
    "arif": "tarif",  # penarifan
    "arik": "tarik",  # penarikan
    "olak": "tolak",  # penolakan
    "unda": "tunda",  # penundaan
    "ukar": "tukar",  # penukaran
    "ulis": "tulis",  # penulisan
    "unggu": "tunggu",  # menunggu
    "entu": "tentu",  # penentuan, menentukan
    "erap": "terap",  # penerapan
    "erbit": "terbit",  # penerbitan, menerbitkan
    "indak": "tindak",  # penindakan
    "itip": "titip",  # penitipan
    "umpuk": "tumpuk",  # penumpukan
    "umpang": "tumpang",  # penumpang
    "anya": "tanya",  # menanyakan
    "eliti": "teliti",  # penelitian
    "telit": "teliti",  # teliti itself
    # mem-/pem- before p: the p is dropped, then guessed back wrongly.
    "pasuk": "masuk",  # pemasukan, memasukkan
    # Roots the stemmer cuts as if they had a prefix or suffix.
    "iksa": "periksa",  # periksa (per- taken for a prefix); pemeriksaan is "periksa"
    "itahu": "beritahu",  # pemberitahuan, memberitahukan
    "selesa": "selesai",  # selesai (-i taken for a suffix)
    "sampa": "sampai",  # sampai
    "pabe": "pabean",  # pabean (-an taken for a suffix); kepabeanan is "pabean"
    "paka": "pakai",  # pakai
    "ndala": "kendala",  # kendala
}

# Words that carry no meaning for "similar": never part of a similarity query.
STOPWORDS: Final = frozenset(
    """ada adalah agar akan anda apa apakah atas atau bagaimana bagi bahwa baik banyak
    belum bisa boleh bukan dalam dan dapat dari dengan di dia hal harus hari ini itu jika
    juga kami kamu karena ke kepada ketika kita lagi lain maka mana masih mau mereka
    mohon namun oleh pada para saat saja sama sampai sangat saya sebagai sebelum sedang
    sejak seperti sesuai setelah siapa sudah supaya tapi telah tentang terima terhadap
    tersebut tetapi tidak untuk yaitu yang kasih bapak ibu terimakasih""".split()  # noqa: SIM905
)

_WORD: Final = re.compile(r"[^\W_]+")
_STEMMER: Final = Stemmer.Stemmer("indonesian")

# Personal data, as the intake rules (app/inquiries/identifiers.py) accept it: email
# addresses, and numbers of nine digits or more in any grouping (NIK: 16 digits, NPWP:
# 15 or 16, phone numbers: 9 to 14 with +62, 62 or 0). The same patterns run inside
# PostgreSQL (migration 0010's infodesk_scrub), so they use only syntax that Python's
# re and PostgreSQL's regular expressions read alike. Eight-digit HS codes and dates stay.
EMAIL_PATTERN: Final = (
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
NUMBER_PATTERN: Final = r"\+?[0-9](?:[ .()/-]{0,2}[0-9]){8,}"
_EMAIL: Final = re.compile(EMAIL_PATTERN)
_NUMBER: Final = re.compile(NUMBER_PATTERN)
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Marks around highlighted words, before the snippet is made safe for HTML.
START_MARK: Final = "\x02"
STOP_MARK: Final = "\x03"
MAX_QUERY_LENGTH: Final = 500


def scrub(text: str) -> str:
    """``text`` without email addresses, identity, tax and phone numbers."""
    text = _CONTROL.sub(" ", text)
    return _NUMBER.sub(" ", _EMAIL.sub(" ", text))


def words(text: str) -> list[str]:
    """The lower-case words of ``text`` (letters and digits; other characters split)."""
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The stem PostgreSQL's ``indonesian`` configuration gives a lower-case word."""
    return str(_STEMMER.stemWord(word))


def canonical(word: str) -> str:
    """The mended stem of a lower-case word: what all its forms have in common."""
    raw = stem(word)
    return STEM_FIXES.get(raw, raw)


def _variants() -> dict[str, frozenset[str]]:
    joined: dict[str, set[str]] = defaultdict(set)
    for raw, fixed in STEM_FIXES.items():
        joined[fixed].update({raw, fixed})
    return {fixed: frozenset(raws) for fixed, raws in joined.items()}


_VARIANTS: Final = _variants()


@dataclass(frozen=True, slots=True)
class Term:
    """One word of a query: its mended stem and every plain stem of its forms."""

    canonical: str
    stems: frozenset[str]


def term(word: str) -> Term:
    """The query term of a lower-case word."""
    fixed = canonical(word)
    return Term(fixed, _VARIANTS.get(fixed, frozenset({fixed})))


def document_stems(text: str | None) -> str:
    """The mended stems of ``text`` (scrubbed), space-separated: SQLite's FTS5 content."""
    if not text:
        return ""
    return " ".join(canonical(w) for w in words(scrub(text)))


def query_terms(query: str) -> list[Term]:
    """One term per distinct query word: a document matches the query when it holds
    every term (in any of its forms)."""
    terms: list[Term] = []
    for word in words(scrub(query)):
        found = term(word)
        if found not in terms:
            terms.append(found)
    return terms


def similarity_terms(text: str, limit: int = 16) -> list[Term]:
    """The terms of the meaningful words of ``text``, for finding similar ones."""
    terms: list[Term] = []
    for word in words(scrub(text)):
        if word in STOPWORDS or len(word) < 3 or word.isdigit():
            continue
        found = term(word)
        if found not in terms:
            terms.append(found)
        if len(terms) == limit:
            break
    return terms


def tsquery(terms: Iterable[Term], operator: str = "&") -> str:
    """The terms as the text of a PostgreSQL ``tsquery`` over plain stems (read with the
    ``simple`` configuration, which keeps them as they are)."""
    return f" {operator} ".join(
        "(" + " | ".join(f"'{s}'" for s in sorted(t.stems)) + ")" for t in terms
    )


def fts5_query(terms: Iterable[Term], operator: str = "AND") -> str:
    """The terms as an SQLite FTS5 query over mended stems."""
    return f" {operator} ".join(f'"{t.canonical}"' for t in terms)


def highlight(text: str, terms: list[Term], width: int = 30) -> str:
    """About ``width`` words of ``text`` around its first matching word, the matches
    between :data:`START_MARK` and :data:`STOP_MARK` (SQLite's snippets; PostgreSQL
    makes them with ``ts_headline``)."""
    wanted = {t.canonical for t in terms}
    tokens = re.split(r"([^\W_]+)", text)
    matches = {i for i in range(1, len(tokens), 2) if canonical(tokens[i].lower()) in wanted}
    start = max(1, min(matches) - width // 3 * 2) if matches else 1
    end = min(len(tokens), start + 2 * width)
    out = []
    for i in range(start, end):
        token = tokens[i]
        if i in matches:
            out.append(f"{START_MARK}{token}{STOP_MARK}")
        else:
            out.append(token)
    return "".join(out).strip()


def snippet_html(marked: str) -> str:
    """A marked snippet as safe HTML: the text escaped, the matches in ``<mark>``."""
    escaped = html.escape(" ".join(marked.split()), quote=False)
    return escaped.replace(START_MARK, "<mark>").replace(STOP_MARK, "</mark>")


_GREETING: Final = re.compile(r"\AYth\. [^\n]*,\n\n(?:Tiket / Ticket [^\n]*:\n\n)?")
_FOOTER: Final = "\n\n---\nNomor referensi"


def officer_text(body: str) -> str:
    """The officer's own words in an answer or resolution as sent (app.inquiries.texts):
    without the greeting, which names the requester, and the standard footer."""
    return _GREETING.sub("", body).split(_FOOTER, 1)[0].strip()
