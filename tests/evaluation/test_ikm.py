"""The IKM arithmetic of PermenPAN-RB 14/2017 (DOMAIN.md §8.1): exact, rounded once."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.evaluation.survey import (
    ELEMENT_CODES,
    ELEMENTS,
    grade_for,
    ikm_from_responses,
    ikm_from_sums,
    krejcie_morgan,
    round_half_up,
)

PROPERTY = settings(max_examples=200, deadline=None, database=None)


def test_worked_example_of_domain_md_is_88_89_a() -> None:
    # Every element answered 3,3,4,4 except U4 answered 4,4,4,4.
    low = [3, 3, 3, 4, 3, 3, 3, 3, 3]
    result = ikm_from_responses([low, low, [4] * 9, [4] * 9])
    assert result is not None
    assert result.respondents == 4
    assert result.nrr == (Fraction(7, 2),) * 3 + (Fraction(4),) + (Fraction(7, 2),) * 5
    assert result.ikm_unit == Fraction(32, 9)
    assert result.ikm == Decimal("88.89")
    assert (result.grade.letter, result.grade.label) == ("A", "Sangat Baik")


@pytest.mark.parametrize(
    ("value", "letter"),
    [
        ("25.00", "D"),
        ("64.99", "D"),
        ("65.00", "C"),
        ("76.60", "C"),
        ("76.61", "B"),
        ("88.30", "B"),
        ("88.31", "A"),
        ("100.00", "A"),
    ],
)
def test_grade_edges(value: str, letter: str) -> None:
    assert grade_for(Decimal(value)).letter == letter


def test_all_ones_is_25_and_all_fours_is_100() -> None:
    ones = ikm_from_responses([[1] * 9])
    fours = ikm_from_responses([[4] * 9] * 3)
    assert ones is not None
    assert fours is not None
    assert (ones.ikm, ones.grade.letter) == (Decimal("25.00"), "D")
    assert (fours.ikm, fours.grade.letter) == (Decimal("100.00"), "A")


def test_exact_one_ninth_not_0_111() -> None:
    # Sum of NRR = 32 over one respondent: 32/9 x 25 = 88.888..., exactly 88.89 (A).
    # With the regulation's rounded weight 0.111: 32 x 0.111 x 25 = 88.80 (B).
    result = ikm_from_sums([4, 4, 4, 4, 4, 3, 3, 3, 3], 1)
    assert result is not None
    assert result.ikm == Decimal("88.89")
    assert result.grade.letter == "A"


def test_rounding_only_at_the_end_half_up() -> None:
    assert round_half_up(Fraction(88305, 1000)) == Decimal("88.31")
    assert round_half_up(Fraction(76605, 1000)) == Decimal("76.61")
    assert round_half_up(Fraction(766049, 10000)) == Decimal("76.60")
    # n = 4, S = 98 -> 98 x 25 / 36 = 68.0555... -> 68.06 (rounded from the exact value).
    result = ikm_from_sums([11, 11, 11, 11, 11, 11, 11, 11, 10], 4)
    assert result is not None
    assert result.ikm == Decimal("68.06")


def test_no_respondents_gives_none() -> None:
    assert ikm_from_responses([]) is None
    assert ikm_from_sums([0] * 9, 0) is None


def test_invalid_input_is_refused() -> None:
    with pytest.raises(ValueError, match="not 1-4"):
        ikm_from_responses([[5] * 9])
    with pytest.raises(ValueError, match="nine answers"):
        ikm_from_responses([[3] * 8])
    with pytest.raises(ValueError, match="element sums"):
        ikm_from_sums([3] * 8, 1)
    with pytest.raises(ValueError, match="outside 1"):
        ikm_from_sums([0] * 9, 1)


def test_keyed_responses_are_read_by_code() -> None:
    keyed = {code: (4 if code == "U4" else 2) for code in ELEMENT_CODES}
    result = ikm_from_responses([keyed])
    assert result is not None
    assert result.nrr[3] == 4
    assert result.nrr[0] == 2


@pytest.mark.parametrize(
    ("population", "sample"),
    # The formula rounded up (DOMAIN.md); the printed table rounds some (50 -> 44) down.
    [(0, 0), (1, 1), (10, 10), (50, 45), (100, 80), (500, 218), (1000, 278), (10**6, 384)],
)
def test_krejcie_morgan_table(population: int, sample: int) -> None:
    assert krejcie_morgan(population) == sample


def test_elements_follow_the_questionnaire() -> None:
    assert tuple(f"U{i}" for i in range(1, 10)) == ELEMENT_CODES
    assert ELEMENTS[3].labels[3] == "Gratis"
    assert ELEMENTS[8].labels == (
        "Tidak ada",
        "Ada tetapi tidak berfungsi",
        "Berfungsi kurang maksimal",
        "Dikelola dengan baik",
    )


responses = st.lists(st.lists(st.integers(1, 4), min_size=9, max_size=9), min_size=1, max_size=40)


@PROPERTY
@given(responses)
def test_ikm_matches_a_direct_exact_computation(data: list[list[int]]) -> None:
    result = ikm_from_responses(data)
    assert result is not None
    n = len(data)
    total = sum(sum(r) for r in data)
    exact = Fraction(total * 25, 9 * n)
    assert result.ikm_unit * 25 == exact
    # Half-up rounding of the exact value, computed independently with integers.
    hundredths = (exact * 100 * 2 + 1) // 2
    assert result.ikm == Decimal(int(hundredths)) / 100
    assert Decimal("25.00") <= result.ikm <= Decimal("100.00")
    assert grade_for(result.ikm) == result.grade


@PROPERTY
@given(responses, st.permutations(list(range(40))))
def test_ikm_ignores_the_order_of_responses(data: list[list[int]], order: list[int]) -> None:
    shuffled = [data[i] for i in order if i < len(data)]
    assert ikm_from_responses(data) == ikm_from_responses(shuffled)


@PROPERTY
@given(st.integers(2500, 10000))
def test_grades_are_monotonic(hundredths: int) -> None:
    value = Decimal(hundredths) / 100
    lower = Decimal(hundredths - 1) / 100
    order = "DCBA"
    assert order.index(grade_for(value).letter) >= order.index(grade_for(lower).letter)


@PROPERTY
@given(st.integers(1, 10**7))
def test_sample_is_at_most_the_population_and_grows(population: int) -> None:
    sample = krejcie_morgan(population)
    assert 1 <= sample <= min(population, 385)
    assert krejcie_morgan(population + 1) >= sample
