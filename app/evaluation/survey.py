"""The satisfaction survey (Survei Kepuasan Masyarakat, PermenPAN-RB 14/2017): its nine
elements, the respondent profile, and the IKM arithmetic.

Pure: plain values in, plain values out. The IKM is computed exactly with fractions and
rounded only once, at the end, to 2 decimals half up (DOMAIN.md §8.1); the regulation's
0.111 weight is a rounding of 1/9 and is not used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction


@dataclass(frozen=True)
class Element:
    """One element (unsur) of the questionnaire, rated 1-4."""

    code: str
    name: str
    question: str
    labels: tuple[str, str, str, str]  # the answers 1, 2, 3, 4


ELEMENTS: tuple[Element, ...] = (
    Element(
        "U1",
        "Persyaratan",
        "Bagaimana pendapat Saudara tentang kesesuaian persyaratan pelayanan dengan jenis "
        "pelayanannya?",
        ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"),
    ),
    Element(
        "U2",
        "Sistem, mekanisme dan prosedur",
        "Bagaimana pemahaman Saudara tentang kemudahan prosedur pelayanan di unit ini?",
        ("Tidak mudah", "Kurang mudah", "Mudah", "Sangat mudah"),
    ),
    Element(
        "U3",
        "Waktu penyelesaian",
        "Bagaimana pendapat Saudara tentang kecepatan waktu dalam memberikan pelayanan?",
        ("Tidak cepat", "Kurang cepat", "Cepat", "Sangat cepat"),
    ),
    Element(
        "U4",
        "Biaya/tarif",
        "Bagaimana pendapat Saudara tentang kewajaran biaya/tarif dalam pelayanan?",
        ("Sangat mahal", "Cukup mahal", "Murah", "Gratis"),
    ),
    Element(
        "U5",
        "Produk spesifikasi jenis pelayanan",
        "Bagaimana pendapat Saudara tentang kesesuaian produk pelayanan antara yang "
        "tercantum dalam standar pelayanan dengan hasil yang diberikan?",
        ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai"),
    ),
    Element(
        "U6",
        "Kompetensi pelaksana",
        "Bagaimana pendapat Saudara tentang kompetensi/kemampuan petugas dalam pelayanan?",
        ("Tidak kompeten", "Kurang kompeten", "Kompeten", "Sangat kompeten"),
    ),
    Element(
        "U7",
        "Perilaku pelaksana",
        "Bagaimana pendapat Saudara tentang perilaku petugas dalam pelayanan terkait "
        "kesopanan dan keramahan?",
        (
            "Tidak sopan dan ramah",
            "Kurang sopan dan ramah",
            "Sopan dan ramah",
            "Sangat sopan dan ramah",
        ),
    ),
    Element(
        "U8",
        "Sarana dan prasarana",
        "Bagaimana pendapat Saudara tentang kualitas sarana dan prasarana?",
        ("Buruk", "Cukup", "Baik", "Sangat baik"),
    ),
    Element(
        "U9",
        "Penanganan pengaduan, saran dan masukan",
        "Bagaimana pendapat Saudara tentang penanganan pengaduan pengguna layanan?",
        (
            "Tidak ada",
            "Ada tetapi tidak berfungsi",
            "Berfungsi kurang maksimal",
            "Dikelola dengan baik",
        ),
    ),
)
ELEMENT_CODES: tuple[str, ...] = tuple(e.code for e in ELEMENTS)
ANSWER_VALUES: tuple[int, ...] = (1, 2, 3, 4)

# The questionnaire's respondent profile: stored code -> label shown.
AGE_BANDS: dict[str, str] = {
    "<20": "Di bawah 20 tahun",
    "20-29": "20-29 tahun",
    "30-39": "30-39 tahun",
    "40-49": "40-49 tahun",
    "50-59": "50-59 tahun",
    "60+": "60 tahun ke atas",
}
SEXES: dict[str, str] = {"L": "Laki-laki", "P": "Perempuan"}
EDUCATIONS: dict[str, str] = {
    "SD": "SD",
    "SMP": "SMP",
    "SMA": "SMA",
    "D1-D3": "D1-D3",
    "D4/S1": "D4/S1",
    "S2": "S2",
    "S3": "S3",
}
OCCUPATIONS: dict[str, str] = {
    "PNS": "PNS",
    "TNI": "TNI",
    "POLRI": "POLRI",
    "swasta": "Pegawai swasta",
    "wirausaha": "Wirausaha",
    "lainnya": "Lainnya",
}


@dataclass(frozen=True)
class Grade:
    """A grade of the interval conversion table (interval konversi)."""

    letter: str
    label: str
    label_en: str
    lowest: Decimal  # the lowest converted IKM (2 decimals) with this grade


# Highest first. 76.60 is C and 76.61 B; 88.30 is B and 88.31 A.
GRADES: tuple[Grade, ...] = (
    Grade("A", "Sangat Baik", "Very good", Decimal("88.31")),
    Grade("B", "Baik", "Good", Decimal("76.61")),
    Grade("C", "Kurang Baik", "Poor", Decimal("65.00")),
    Grade("D", "Tidak Baik", "Bad", Decimal("25.00")),
)

_CENT = Decimal("0.01")


def round_half_up(value: Fraction, places: int = 2) -> Decimal:
    """``value`` rounded to ``places`` decimals, halves away from zero (exact)."""
    quantum = Decimal(1).scaleb(-places)
    sign = -1 if value < 0 else 1
    rounded = math.floor(abs(value) * 10**places + Fraction(1, 2))
    return (Decimal(sign * rounded) * quantum).quantize(quantum)


def grade_for(ikm: Decimal) -> Grade:
    """The grade of a converted IKM (25-100) already rounded to 2 decimals."""
    value = ikm.quantize(_CENT, rounding=ROUND_HALF_UP)
    for grade in GRADES:
        if value >= grade.lowest:
            return grade
    return GRADES[-1]


@dataclass(frozen=True)
class IkmResult:
    """The IKM of a set of responses."""

    respondents: int
    nrr: tuple[Fraction, ...]  # per element U1..U9, exact means (1-4)
    ikm_unit: Fraction  # 1-4, exact
    ikm: Decimal  # converted (25-100), rounded half up to 2 decimals
    grade: Grade


def ikm_from_sums(element_sums: Sequence[int], respondents: int) -> IkmResult | None:
    """The IKM from each element's sum of answers over ``respondents`` responses (what a
    report gets from SQL). ``None`` when there are no respondents."""
    if len(element_sums) != len(ELEMENTS):
        raise ValueError(f"expected {len(ELEMENTS)} element sums, got {len(element_sums)}")
    if respondents < 0:
        raise ValueError("respondents must not be negative")
    if respondents == 0:
        return None
    for total in element_sums:
        if not respondents <= total <= 4 * respondents:
            raise ValueError("an element sum outside 1..4 per respondent")
    nrr = tuple(Fraction(int(total), respondents) for total in element_sums)
    ikm_unit = sum(nrr, Fraction(0)) / len(ELEMENTS)
    ikm = round_half_up(ikm_unit * 25)
    return IkmResult(respondents, nrr, ikm_unit, ikm, grade_for(ikm))


def ikm_from_responses(responses: Iterable[Sequence[int] | Mapping[str, int]]) -> IkmResult | None:
    """The IKM of responses, each nine answers in order U1..U9 or keyed ``U1``..``U9``."""
    sums = [0] * len(ELEMENTS)
    count = 0
    for response in responses:
        answers = (
            [response[code] for code in ELEMENT_CODES]
            if isinstance(response, Mapping)
            else list(response)
        )
        if len(answers) != len(ELEMENTS):
            raise ValueError("a response needs exactly nine answers")
        for index, answer in enumerate(answers):
            if answer not in ANSWER_VALUES:
                raise ValueError(f"answer {answer!r} of {ELEMENT_CODES[index]} is not 1-4")
            sums[index] += answer
        count += 1
    return ikm_from_sums(sums, count)


# Krejcie and Morgan (1970): chi-square for 1 degree of freedom at 95%, P = 0.5, d = 0.05.
_CHI_SQUARE = Fraction("3.841")
_P = Fraction(1, 2)
_D = Fraction(5, 100)


def krejcie_morgan(population: int) -> int:
    """The sample size the regulation asks for a population of ``population`` served
    (s = X²NP(1-P) / (d²(N-1) + X²P(1-P)), rounded up)."""
    if population < 0:
        raise ValueError("population must not be negative")
    if population == 0:
        return 0
    spread = _CHI_SQUARE * _P * (1 - _P)
    sample = spread * population / (_D**2 * (population - 1) + spread)
    return min(population, math.ceil(sample))
