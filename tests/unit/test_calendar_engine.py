"""Working calendar: day table, working-time arithmetic, ranges, against a naive reference."""

from __future__ import annotations

import functools
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.calendar.engine import (
    DEFAULT_WEEKLY_HOURS,
    WEEKEND_REASON,
    CalendarRangeError,
    Override,
    WorkingCalendar,
    fixed_offset,
    normalise_hours,
)
from app.calendar.holidays import indonesian_holidays
from tests.unit.reference import ZONES, Case, RefCalendar, cases, reference_holidays

WIB = ZoneInfo("Asia/Jakarta")
PROPERTY = settings(max_examples=60, deadline=None, database=None)


@functools.cache
def jakarta() -> WorkingCalendar:
    return WorkingCalendar("Asia/Jakarta")


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)  # type: ignore[misc]


def small(zone: str, overrides: list[Override] | tuple[Override, ...] = ()) -> WorkingCalendar:
    return WorkingCalendar(zone, overrides=overrides, first_year=2024, last_year=2028)


def test_default_hours_follow_pmk_221() -> None:
    cal = jakarta()
    monday, friday = cal.day(date(2026, 11, 23)), cal.day(date(2026, 11, 27))
    assert monday.working
    assert monday.reason is None
    assert monday.hours == ((time(7, 30), time(12, 15)), (time(13), time(17)))
    assert friday.hours == ((time(7, 30), time(11, 30)), (time(13, 15), time(17)))
    saturday = cal.day(date(2026, 11, 28))
    assert (saturday.working, saturday.hours, saturday.reason) == (False, (), WEEKEND_REASON)
    assert cal.closing(date(2026, 11, 27)) == wib(2026, 11, 27, 17)
    assert cal.closing(date(2026, 11, 28)) is None


def test_holidays_and_cuti_bersama_are_days_off_with_their_names() -> None:
    cal = jakarta()
    assert cal.day(date(2026, 12, 24)).reason == "Cuti Bersama Hari Raya Natal"
    assert cal.day(date(2026, 12, 25)).reason == "Hari Raya Natal"
    assert not cal.is_working_day(date(2026, 8, 17))
    # A holiday on a weekend is reported by name rather than as a weekend.
    assert cal.day(date(2026, 3, 21)).reason == "Hari Raya Idul Fitri"
    assert cal.next_working_day(date(2026, 12, 23)) == date(2026, 12, 28)
    assert [d.date.day for d in cal.days(date(2026, 12, 23), date(2026, 12, 28)) if d.working] == [
        23,
        28,
    ]


def test_holiday_table_is_cached_and_read_only() -> None:
    table = indonesian_holidays(2026, 2026)
    assert table is indonesian_holidays(2026, 2026)
    assert table[date(2026, 1, 1)] == "Tahun Baru Masehi"
    with pytest.raises(TypeError):
        table[date(2026, 1, 2)] = "x"  # type: ignore[index]


def test_overrides_apply_in_order_and_open_weekends_and_holidays() -> None:
    ramadan = ((time(8), time(15)),)
    cal = small(
        "Asia/Jakarta",
        [
            Override(date(2026, 11, 23), date(2026, 11, 25), "closed", (), "Banjir"),
            Override(date(2026, 11, 25), date(2026, 11, 25), "open", ramadan, "Jam Ramadan"),
            Override(date(2026, 11, 28), date(2026, 11, 28), "open", ramadan, "Layanan Sabtu"),
            Override(date(2026, 12, 25), date(2026, 12, 25), "open", ramadan, "Piket Natal"),
        ],
    )
    assert cal.day(date(2026, 11, 24)).reason == "Banjir"
    assert not cal.is_working_day(date(2026, 11, 24))
    wednesday = cal.day(date(2026, 11, 25))
    assert wednesday.working
    assert wednesday.hours == ramadan
    assert wednesday.reason == "Jam Ramadan"
    assert cal.closing(date(2026, 11, 25)) == wib(2026, 11, 25, 15)
    assert cal.is_working_day(date(2026, 11, 28))
    assert cal.is_working_day(date(2026, 12, 25))
    assert cal.next_working_day(date(2026, 11, 22)) == date(2026, 11, 25)


def test_bad_hours_and_overrides_are_rejected() -> None:
    with pytest.raises(ValueError, match="empty or reversed"):
        normalise_hours([(time(12), time(8))])
    assert normalise_hours([(time(12), time(17)), (time(8), time(12))]) == ((time(8), time(17)),)
    with pytest.raises(ValueError, match="after it ends"):
        Override(date(2026, 1, 2), date(2026, 1, 1), "closed", (), "x")
    with pytest.raises(ValueError, match="needs hours"):
        Override(date(2026, 1, 1), date(2026, 1, 1), "open", (), "x")
    with pytest.raises(ValueError, match="weekdays"):
        WorkingCalendar("Asia/Jakarta", weekly_hours={7: ()})


def test_working_seconds_between_whole_days_and_lunch() -> None:
    cal = jakarta()
    monday = cal.working_seconds_between(wib(2026, 11, 23), wib(2026, 11, 24))
    friday = cal.working_seconds_between(wib(2026, 11, 27), wib(2026, 11, 28))
    assert (monday, friday) == ((4 * 60 + 45 + 4 * 60) * 60, (4 * 60 + 3 * 60 + 45) * 60)
    assert cal.working_seconds_between(wib(2026, 11, 23, 12, 20), wib(2026, 11, 23, 12, 50)) == 0
    assert cal.working_seconds_between(wib(2026, 11, 27, 17), wib(2026, 11, 30, 7, 31)) == 60
    with pytest.raises(ValueError, match="before start"):
        cal.working_seconds_between(wib(2026, 11, 24), wib(2026, 11, 23))


def test_sub_seconds_are_floored() -> None:
    cal = jakarta()
    start = wib(2026, 11, 23, 9)
    assert (
        cal.working_seconds_between(
            start.replace(microsecond=999_999), start + timedelta(seconds=1)
        )
        == 1
    )
    assert (
        cal.working_seconds_between(start.replace(microsecond=200), start.replace(microsecond=900))
        == 0
    )
    assert cal.add_working_seconds(start.replace(microsecond=500_000), 10) == start + timedelta(
        seconds=10
    )


def test_add_working_seconds_boundaries() -> None:
    cal = jakarta()
    after_hours = wib(2026, 11, 23, 19, 45, 12)
    assert cal.add_working_seconds(after_hours, 0) == after_hours
    # Exactly filling the morning ends at 12:15, not at the 13:00 reopening.
    assert cal.add_working_seconds(wib(2026, 11, 23, 12), 15 * 60) == wib(2026, 11, 23, 12, 15)
    assert cal.add_working_seconds(wib(2026, 11, 23, 12), 15 * 60 + 1) == wib(
        2026, 11, 23, 13, 0, 1
    )
    assert cal.add_working_seconds(wib(2026, 12, 23, 16), 3601) == wib(2026, 12, 28, 7, 30, 1)
    in_utc = cal.add_working_seconds(datetime(2026, 11, 23, 2, tzinfo=UTC), 60)
    assert in_utc == wib(2026, 11, 23, 9, 1)
    assert in_utc.tzinfo is WIB
    with pytest.raises(ValueError, match=">= 0"):
        cal.add_working_seconds(after_hours, -1)


def test_naive_datetimes_are_rejected() -> None:
    cal = jakarta()
    naive = datetime(2026, 11, 23, 9)
    with pytest.raises(ValueError, match="naive"):
        cal.working_seconds_between(naive, wib(2026, 11, 24))
    with pytest.raises(ValueError, match="naive"):
        cal.add_working_seconds(naive, 60)


def test_out_of_range_raises_calendar_range_error() -> None:
    cal = jakarta()
    with pytest.raises(CalendarRangeError):
        cal.day(date(2019, 12, 31))
    with pytest.raises(CalendarRangeError):
        cal.working_seconds_between(wib(2019, 12, 31, 9), wib(2026, 1, 5))
    with pytest.raises(CalendarRangeError):
        cal.add_working_seconds(wib(2036, 12, 30, 9), 10**6)
    with pytest.raises(CalendarRangeError):
        cal.next_working_day(date(2036, 12, 31))
    # The padding year after last_year is still there for due times near the end.
    assert cal.is_working_day(date(2036, 1, 2))


def test_interval_arrays_and_prefix_sums() -> None:
    starts, ends, cum = jakarta().intervals()
    assert starts.dtype == np.int64
    assert not starts.flags.writeable
    assert np.all(starts < ends)
    assert np.all(ends[:-1] <= starts[1:])
    assert np.array_equal(cum[1:], np.cumsum(ends - starts)[:-1])
    assert cum[0] == 0
    assert starts[0] == int(wib(2020, 1, 2, 7, 30).timestamp())  # 1 January is a holiday


def test_fixed_offsets_are_verified_from_tzdata() -> None:
    lo, hi = int(wib(2020, 1, 1).timestamp()), int(wib(2037, 1, 1).timestamp())
    offsets = [fixed_offset(ZoneInfo(zone), lo, hi) for zone in ZONES]
    assert offsets == [7 * 3600, 8 * 3600, 9 * 3600]
    assert fixed_offset(ZoneInfo("Europe/Berlin"), lo, hi) is None
    # Jakarta moved to +07:00 on 1964-01-01; a range spanning that is not fixed.
    assert fixed_offset(ZoneInfo("Asia/Jakarta"), -(10**9), hi) is None


def test_dst_zone_takes_the_general_path_and_matches_the_reference() -> None:
    night = ((time(1), time(4)),)
    overrides = [
        Override(date(2026, 3, 29), date(2026, 3, 29), "open", night, "spring forward"),
        Override(date(2026, 10, 25), date(2026, 10, 25), "open", night, "fall back"),
    ]
    cal = WorkingCalendar(
        "Europe/Berlin", holidays={}, overrides=overrides, first_year=2026, last_year=2026
    )
    ref = RefCalendar("Europe/Berlin", holidays={}, overrides=overrides)
    assert cal.fixed_offset is None
    berlin = ZoneInfo("Europe/Berlin")
    for day, hours in ((date(2026, 3, 29), 2), (date(2026, 10, 25), 4)):
        start = datetime.combine(day, time(), berlin)
        end = datetime.combine(day + timedelta(days=1), time(), berlin)
        assert cal.working_seconds_between(start, end) == hours * 3600
        assert ref.working_seconds_between(start, end) == hours * 3600


def test_construction_is_fast() -> None:
    indonesian_holidays(2020, 2036)  # the per-year-range cache is warm in a running service
    best = min(_build_seconds() for _ in range(3))
    assert best < 0.25, f"building a 2020-2036 calendar took {best * 1000:.1f} ms"


def _build_seconds() -> float:
    started = clock.perf_counter()
    WorkingCalendar("Asia/Jakarta", DEFAULT_WEEKLY_HOURS)
    return clock.perf_counter() - started


def test_engine_and_reference_use_the_same_holidays() -> None:
    engine, ref = indonesian_holidays(2024, 2029), reference_holidays(2019, 2037)
    assert dict(engine) == {d: n for d, n in ref.items() if 2024 <= d.year <= 2029}


@PROPERTY
@given(cases(), st.integers(0, 4 * 1440))
def test_working_seconds_between_matches_reference(case: Case, span_minutes: int) -> None:
    zone, start, overrides = case
    end = start + timedelta(minutes=span_minutes)
    expected = RefCalendar(zone, overrides=overrides).working_seconds_between(start, end)
    assert small(zone, overrides).working_seconds_between(start, end) == expected


@PROPERTY
@given(cases(), st.integers(0, 1200))
def test_add_working_seconds_matches_reference(case: Case, minutes: int) -> None:
    zone, start, overrides = case
    expected = RefCalendar(zone, overrides=overrides).add_working_seconds(start, 60 * minutes)
    got = small(zone, overrides).add_working_seconds(start, 60 * minutes)
    assert got == expected
    assert got.tzinfo == ZoneInfo(zone)


@PROPERTY
@given(
    cases(second_grid=True), st.integers(0, 7200), st.integers(0, 999_999), st.integers(0, 999_999)
)
def test_second_resolution_matches_reference(case: Case, span: int, us1: int, us2: int) -> None:
    zone, start, overrides = case
    end = start + timedelta(seconds=span)
    expected = RefCalendar(zone, overrides=overrides).working_seconds_between(start, end, step=1)
    cal = small(zone, overrides)
    start, end = start.replace(microsecond=us1), end.replace(microsecond=us2)
    if end < start:
        with pytest.raises(ValueError, match="before start"):
            cal.working_seconds_between(start, end)
    else:
        assert cal.working_seconds_between(start, end) == expected


@settings(max_examples=300, deadline=None, database=None)
@given(cases(second_grid=True), st.integers(0, 5 * 86400))
def test_add_is_the_earliest_inverse_of_between(case: Case, seconds: int) -> None:
    zone, start, overrides = case
    cal = small(zone, overrides)
    result = cal.add_working_seconds(start, seconds)
    assert result >= start
    assert cal.working_seconds_between(start, result) == seconds
    if seconds:
        assert cal.working_seconds_between(start, result - timedelta(seconds=1)) == seconds - 1


@PROPERTY
@given(cases(), st.integers(-3, 14))
def test_day_table_matches_reference(case: Case, offset: int) -> None:
    zone, start, overrides = case
    day = start.date() + timedelta(days=offset)
    ref, info = RefCalendar(zone, overrides=overrides), small(zone, overrides).day(day)
    assert info.working == ref.is_working_day(day)
    assert info.hours == normalise_hours(ref.hours(day))
    assert small(zone, overrides).closing(day) == ref.closing(day)
    assert (info.reason is None) == (
        info.working and not any(o.start_date <= day <= o.end_date for o in overrides)
    )
