"""SLA rule: worked examples, cut-off boundaries, pauses, states, bulk, against a reference."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.calendar.engine import CalendarRangeError, Override, WorkingCalendar
from app.sla.engine import (
    SkippedDay,
    SlaPolicy,
    at_risk_at,
    bulk_at_risk_epochs,
    bulk_due_epochs,
    compute_due,
    day_one,
    due_at,
    merge_pauses,
    sla_state,
    sla_state_of,
    working_seconds_left,
)
from tests.unit.reference import ZONES, Case, RefCalendar, cases, compute_due_unmemoised

WIB = ZoneInfo("Asia/Jakarta")
DEFAULT = SlaPolicy()
PROPERTY = settings(max_examples=100, deadline=None, database=None)
policies = st.builds(
    SlaPolicy, target_working_days=st.integers(1, 5), late_intake_minutes=st.integers(0, 240)
)


@functools.cache
def calendar(zone: str = "Asia/Jakarta") -> WorkingCalendar:
    return WorkingCalendar(zone)


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)  # type: ignore[misc]


def small(zone: str, overrides: list[Override]) -> WorkingCalendar:
    return WorkingCalendar(zone, overrides=overrides, first_year=2024, last_year=2028)


@pytest.mark.parametrize(
    ("received", "day1", "due"),
    [
        (wib(2026, 11, 23, 9), date(2026, 11, 23), wib(2026, 11, 24, 17)),
        (wib(2026, 11, 23, 15, 30), date(2026, 11, 24), wib(2026, 11, 25, 17)),
        (wib(2026, 11, 28, 10), date(2026, 11, 30), wib(2026, 12, 1, 17)),
        (wib(2026, 12, 23, 16), date(2026, 12, 28), wib(2026, 12, 29, 17)),
    ],
)
def test_worked_examples_of_domain_section_5(received: datetime, day1: date, due: datetime) -> None:
    result = compute_due(calendar(), DEFAULT, received)
    assert result.start_day == day1
    assert result.due_at == due
    assert result.due_at.isoformat() == due.isoformat()  # local time, +07:00
    assert due_at(calendar(), DEFAULT, received) == due
    assert len(result.counted_days) == 2


def test_christmas_example_explains_itself() -> None:
    result = compute_due(calendar(), DEFAULT, wib(2026, 12, 23, 16))
    assert result.late_intake
    assert result.skipped_days == (
        SkippedDay(date(2026, 12, 24), "Cuti Bersama Hari Raya Natal"),
        SkippedDay(date(2026, 12, 25), "Hari Raya Natal"),
        SkippedDay(date(2026, 12, 26), "Akhir pekan"),
        SkippedDay(date(2026, 12, 27), "Akhir pekan"),
    )
    assert result.explanation.splitlines() == [
        "Received Wed 2026-12-23 16:00 WIB, within 120 minutes of closing (17:00): "
        "day 1 is the next working day.",
        "Skipped 2026-12-24 (Cuti Bersama Hari Raya Natal), 2026-12-25 (Hari Raya Natal), "
        "2026-12-26 (Akhir pekan), 2026-12-27 (Akhir pekan).",
        "Day 1: Mon 2026-12-28; day 2: Tue 2026-12-29.",
        "Due at closing, 2026-12-29 17:00 WIB.",
    ]


@pytest.mark.parametrize(
    ("received", "late", "day1"),
    [
        (wib(2026, 11, 23, 14, 59, 59), False, date(2026, 11, 23)),  # one second before cut-off
        (wib(2026, 11, 23, 15), True, date(2026, 11, 24)),  # exactly closing - L
        (wib(2026, 11, 23, 16, 59, 59), True, date(2026, 11, 24)),
        (wib(2026, 11, 23, 17), True, date(2026, 11, 24)),  # exactly closing
        (wib(2026, 11, 23, 23, 59, 59), True, date(2026, 11, 24)),
        (wib(2026, 11, 23, 0, 0), False, date(2026, 11, 23)),  # midnight
        (wib(2026, 11, 23, 6, 15), False, date(2026, 11, 23)),  # before opening
        (wib(2026, 11, 23, 12, 30), False, date(2026, 11, 23)),  # lunch break
        (wib(2026, 11, 27, 11, 45), False, date(2026, 11, 27)),  # Friday prayer break
        (wib(2026, 11, 27, 14, 59, 59), False, date(2026, 11, 27)),
        (wib(2026, 8, 17, 9), False, date(2026, 8, 18)),  # Hari Kemerdekaan
    ],
)
def test_late_intake_cut_off_is_half_open(received: datetime, late: bool, day1: date) -> None:
    result = compute_due(calendar(), DEFAULT, received)
    assert (result.late_intake, result.start_day) == (late, day1)
    assert due_at(calendar(), DEFAULT, received) == result.due_at
    half_second = due_at(calendar(), DEFAULT, received + timedelta(microseconds=500_000))
    assert half_second == result.due_at  # sub-seconds are floored


@pytest.mark.parametrize("zone", ZONES)
def test_every_indonesian_zone_counts_in_local_time(zone: str) -> None:
    tz = ZoneInfo(zone)
    for hour, due_day in ((9, 24), (15, 25)):
        received = datetime(2026, 11, 23, hour, tzinfo=tz)
        expected = datetime(2026, 11, due_day, 17, tzinfo=tz)
        assert due_at(calendar(zone), DEFAULT, received) == expected
        assert compute_due(calendar(zone), DEFAULT, received).due_at.tzinfo == tz
        in_utc = received.astimezone(UTC)
        assert due_at(calendar(zone), DEFAULT, in_utc) == expected


def test_utc_and_offset_inputs() -> None:
    cal = calendar()
    assert due_at(cal, DEFAULT, datetime(2026, 11, 23, 2, tzinfo=UTC)) == wib(2026, 11, 24, 17)
    assert due_at(cal, DEFAULT, datetime(2026, 11, 23, 8, tzinfo=UTC)) == wib(2026, 11, 25, 17)
    # 17:00 UTC on Sunday is Monday 00:00 WIB.
    assert due_at(cal, DEFAULT, datetime(2026, 11, 22, 17, tzinfo=UTC)) == wib(2026, 11, 24, 17)
    wita = timezone(timedelta(hours=8))
    assert due_at(cal, DEFAULT, datetime(2026, 11, 23, 15, 59, 59, tzinfo=wita)).day == 24
    assert due_at(cal, DEFAULT, datetime(2026, 11, 23, 16, tzinfo=wita)).day == 25
    odd = timezone(timedelta(hours=7, microseconds=1))
    assert due_at(cal, DEFAULT, datetime(2026, 11, 23, 15, tzinfo=odd)).day == 24


def test_override_moving_closing_earlier_moves_the_cut_off() -> None:
    short = ((time(8), time(12)),)
    cal = small(
        "Asia/Jakarta", [Override(date(2026, 11, 23), date(2026, 11, 23), "open", short, "Rapat")]
    )
    assert due_at(cal, DEFAULT, wib(2026, 11, 23, 9, 59, 59)) == wib(2026, 11, 24, 17)
    assert due_at(cal, DEFAULT, wib(2026, 11, 23, 10)) == wib(2026, 11, 25, 17)
    closed = small(
        "Asia/Jakarta", [Override(date(2026, 11, 24), date(2026, 11, 24), "closed", (), "Banjir")]
    )
    result = compute_due(closed, DEFAULT, wib(2026, 11, 23, 9))
    assert result.skipped_days == (SkippedDay(date(2026, 11, 24), "Banjir"),)
    assert result.due_at == wib(2026, 11, 25, 17)


def test_pauses_extend_by_working_time_inside_them() -> None:
    cal, received = calendar(), wib(2026, 11, 23, 9)
    one_hour = [(wib(2026, 11, 23, 10), wib(2026, 11, 23, 11))]
    assert compute_due(cal, DEFAULT, received, one_hour).due_at == wib(2026, 11, 25, 8, 30)
    overlapping = [*one_hour, (wib(2026, 11, 23, 10, 30), wib(2026, 11, 23, 11, 30))]
    result = compute_due(cal, DEFAULT, received, overlapping)
    assert result.paused_working_seconds == 5400  # merged, not 7200
    assert result.due_at == wib(2026, 11, 25, 9)
    assert "1h 30m of working time" in result.explanation
    overnight = [(wib(2026, 11, 23, 16), wib(2026, 11, 24, 8))]  # 1 h + 30 min working
    assert compute_due(cal, DEFAULT, received, overnight).paused_working_seconds == 5400
    assert due_at(cal, DEFAULT, received, 5400) == wib(2026, 11, 25, 9)
    ignoring = SlaPolicy(pause_when_awaiting_requester=False)
    assert compute_due(cal, ignoring, received, one_hour).due_at == wib(2026, 11, 24, 17)
    assert due_at(cal, ignoring, received, 3600) == wib(2026, 11, 24, 17)


def test_bad_pauses_are_rejected() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        merge_pauses([(wib(2026, 11, 23, 11), wib(2026, 11, 23, 10))])
    with pytest.raises(ValueError, match="naive"):
        merge_pauses([(datetime(2026, 11, 23, 10), wib(2026, 11, 23, 11))])
    with pytest.raises(ValueError, match=">= 0"):
        due_at(calendar(), DEFAULT, wib(2026, 11, 23, 9), -1)
    touching = merge_pauses(
        [(wib(2026, 1, 5, 11), wib(2026, 1, 5, 12)), (wib(2026, 1, 5, 10), wib(2026, 1, 5, 11))]
    )
    assert touching == [(wib(2026, 1, 5, 10), wib(2026, 1, 5, 12))]


def test_sla_state_transitions() -> None:
    cal, due = calendar(), wib(2026, 11, 24, 17)
    assert sla_state(cal, DEFAULT, due, wib(2026, 11, 23, 16)) == "on_track"  # 9 h 45 m left
    assert sla_state(cal, DEFAULT, due, wib(2026, 11, 24, 12, 59)) == "on_track"  # 4 h 1 m
    assert sla_state(cal, DEFAULT, due, wib(2026, 11, 24, 13, 0, 1)) == "at_risk"
    assert sla_state(cal, DEFAULT, due, due) == "at_risk"
    assert sla_state(cal, DEFAULT, due, due + timedelta(seconds=1)) == "breached"
    assert sla_state(cal, DEFAULT, due, due + timedelta(days=9), responded_at=due) == "met"
    late = due + timedelta(microseconds=1)
    assert sla_state(cal, DEFAULT, due, due, responded_at=late) == "missed"
    quiet = SlaPolicy(warn_before_working_minutes=0)
    assert sla_state(cal, quiet, due, due) == "on_track"
    assert working_seconds_left(cal, due, wib(2026, 11, 24, 16)) == 3600
    assert working_seconds_left(cal, due, due + timedelta(hours=1)) == 0


def test_naive_and_out_of_range_inputs() -> None:
    cal, naive = calendar(), datetime(2026, 11, 23, 9)
    for call in (
        lambda: due_at(cal, DEFAULT, naive),
        lambda: compute_due(cal, DEFAULT, naive),
        lambda: sla_state(cal, DEFAULT, wib(2026, 11, 24, 17), naive),
    ):
        with pytest.raises(ValueError, match="naive"):
            call()
    for received in (
        wib(2019, 12, 31, 9),
        wib(2036, 1, 2, 9),
        datetime(2019, 12, 31, 16, 59, tzinfo=UTC),
    ):
        with pytest.raises(CalendarRangeError):
            due_at(cal, DEFAULT, received)
        with pytest.raises(CalendarRangeError):
            compute_due(cal, DEFAULT, received)
        with pytest.raises(CalendarRangeError):
            bulk_due_epochs(cal, DEFAULT, np.array([int(received.timestamp())]))
    # The last supported day still gets a due time, from the padding year.
    assert due_at(cal, DEFAULT, wib(2035, 12, 31, 16)) == wib(2036, 1, 3, 17)


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="target_working_days"):
        SlaPolicy(target_working_days=0)
    with pytest.raises(ValueError, match="late_intake_minutes"):
        SlaPolicy(late_intake_minutes=-1)


def test_bulk_matches_due_at_elementwise() -> None:
    rng = np.random.default_rng(20261123)
    for zone in ZONES:
        cal = calendar(zone)
        for policy in (DEFAULT, SlaPolicy(target_working_days=4, late_intake_minutes=30)):
            lo, hi = (
                int(datetime(2020, 1, 1, tzinfo=cal.tz).timestamp()),
                int(datetime(2035, 12, 31, 12, tzinfo=cal.tz).timestamp()),
            )
            received = rng.integers(lo, hi, 2000, dtype=np.int64)
            paused = np.where(rng.random(2000) < 0.5, rng.integers(0, 10 * 86400, 2000), 0)
            got = bulk_due_epochs(cal, policy, received, paused)
            plain = bulk_due_epochs(cal, policy, received)
            for r, p, g, q in zip(
                received.tolist(), paused.tolist(), got.tolist(), plain.tolist(), strict=True
            ):
                instant = datetime.fromtimestamp(r, UTC)
                assert g == int(due_at(cal, policy, instant, p).timestamp())
                assert q == int(due_at(cal, policy, instant).timestamp())


@PROPERTY
@given(cases(second_grid=True), policies)
def test_due_matches_reference(case: Case, policy: SlaPolicy) -> None:
    zone, received, overrides = case
    ref_day1, ref_due = RefCalendar(zone, overrides=overrides).due(
        received, policy.target_working_days, policy.late_intake_minutes
    )
    cal = small(zone, overrides)
    result = compute_due(cal, policy, received)
    assert (result.start_day, result.due_at) == (ref_day1, ref_due)
    assert due_at(cal, policy, received) == ref_due
    assert due_at(cal, policy, received.astimezone(UTC)) == ref_due
    bulk = bulk_due_epochs(cal, policy, np.array([int(received.timestamp())]))
    assert bulk.tolist() == [int(ref_due.timestamp())]


@PROPERTY
@given(cases(second_grid=True), policies)
def test_explanation_days_are_consistent(case: Case, policy: SlaPolicy) -> None:
    zone, received, overrides = case
    cal = small(zone, overrides)
    result = compute_due(cal, policy, received)
    local_day = received.date()
    days = cal.days(local_day, result.counted_days[-1])
    assert list(result.counted_days) == [
        d.date for d in days if d.working and d.date >= result.start_day
    ]
    assert [s.date for s in result.skipped_days] == [d.date for d in days if not d.working]
    assert all(s.reason for s in result.skipped_days)
    assert result.late_intake == (cal.is_working_day(local_day) and result.start_day != local_day)
    assert f"day {policy.target_working_days}:" in result.explanation.lower()


@PROPERTY
@given(cases(), policies)
def test_day_one_is_compute_dues_start(case: Case, policy: SlaPolicy) -> None:
    """The queue's shortcut for day 1 and late intake agrees with the full computation,
    from the office's zone, from UTC and from another fixed offset."""
    zone, received, overrides = case
    cal = small(zone, overrides)
    result = compute_due(cal, policy, received)
    for given_as in (
        received,
        received.astimezone(UTC),
        received.astimezone(timezone(timedelta(hours=-3))),
    ):
        assert day_one(cal, policy, given_as) == (result.start_day, result.late_intake)


def test_day_one_refuses_what_compute_due_refuses() -> None:
    cal = calendar()
    for received in (datetime(2026, 11, 23, 9), wib(2019, 12, 31, 23), wib(2036, 1, 1)):
        expected = outcome(compute_due, cal, DEFAULT, received)
        assert outcome(day_one, cal, DEFAULT, received) == expected


@settings(max_examples=40, deadline=None, database=None)
@given(cases(), st.lists(st.tuples(st.integers(-600, 4000), st.integers(0, 900)), max_size=3))
def test_pauses_match_reference(case: Case, spans: list[tuple[int, int]]) -> None:
    zone, received, overrides = case
    ref, cal = RefCalendar(zone, overrides=overrides), small(zone, overrides)
    pauses = [
        (received + timedelta(minutes=start), received + timedelta(minutes=start + length))
        for start, length in spans
    ]
    paused_minutes: set[datetime] = set()
    for start, end in pauses:
        t = start.astimezone(UTC)
        while t < end:
            if ref.working_at(t):
                paused_minutes.add(t)
            t += timedelta(minutes=1)
    _, base = ref.due(received, DEFAULT.target_working_days, DEFAULT.late_intake_minutes)
    expected = ref.add_working_seconds(base, 60 * len(paused_minutes))
    result = compute_due(cal, DEFAULT, received, pauses)
    assert result.paused_working_seconds == 60 * len(paused_minutes)
    assert result.due_at == expected
    assert due_at(cal, DEFAULT, received, result.paused_working_seconds) == expected


def outcome(call: Callable[..., object], *args: object) -> str:
    """The repr of a call's result, or its exception's type and message."""
    try:
        return repr(call(*args))
    except (ValueError, OverflowError) as exc:
        return f"{type(exc).__name__}: {exc}"


def random_overrides(rng: random.Random, around: date) -> list[Override]:
    result = []
    for n in range(rng.randint(0, 6)):
        start = around + timedelta(days=rng.randint(-3, 40))
        end = start + timedelta(days=rng.randint(0, 3))
        if rng.random() < 0.5:
            result.append(Override(start, end, "closed", (), f"Penutupan {n}"))
        else:
            closes = time(rng.randint(13, 21), rng.choice((0, 15, 59)), rng.choice((0, 0, 30)))
            hours = ((time(7, 30), time(11, 30)), (time(12), closes))
            result.append(Override(start, end, "open", hours, f"Jam khusus {n}"))
    return result


# Indonesian zones take the fixed-offset fast path; the DST zones cover the datetime route.
@pytest.mark.parametrize(
    ("zone", "first_year", "last_year"),
    [*((zone, 2024, 2028) for zone in ZONES), ("Europe/Amsterdam", 2025, 2026)],
)
def test_compute_due_equals_the_unmemoised_rule(zone: str, first_year: int, last_year: int) -> None:
    rng = random.Random(f"{zone}-20261123")
    tz = ZoneInfo(zone)
    odd = timezone(timedelta(hours=7, microseconds=1))
    for _ in range(3):
        around = date(first_year + 1, rng.randint(1, 12), 1)
        cal = WorkingCalendar(
            zone,
            overrides=random_overrides(rng, around),
            first_year=first_year,
            last_year=last_year,
        )
        middle = datetime.combine(around, time(), tz).timestamp()
        lo = datetime(first_year - 1, 12, 31, 12, tzinfo=tz).timestamp()
        hi = datetime(last_year + 1, 1, 1, 12, tzinfo=tz).timestamp()
        for _ in range(400):
            # Mostly near the overrides, so memo entries are hit as well as built.
            if rng.random() < 0.25:
                epoch = rng.uniform(lo, hi)
            else:
                epoch = middle + rng.uniform(-3, 45) * 86400
            if rng.random() < 0.6:
                epoch = float(int(epoch) // 60 * 60 + rng.choice((0, 0, rng.randint(1, 59))))
            shown_in = rng.choice(
                (tz, UTC, timezone(timedelta(hours=rng.randint(-12, 14))), odd, WIB)
            )
            received = datetime.fromtimestamp(epoch, shown_in)
            policy = SlaPolicy(
                target_working_days=rng.randint(1, 5),
                late_intake_minutes=rng.choice((0, 30, 120, 240, 600, 1500)),
                pause_when_awaiting_requester=rng.random() < 0.7,
            )
            pauses = []
            for _ in range(rng.choice((0, 0, 1, 2, 3))):
                start = received + timedelta(seconds=rng.uniform(-3 * 86400, 5 * 86400))
                pauses.append((start, start + timedelta(seconds=rng.uniform(-60, 3 * 86400))))
            expected = outcome(compute_due_unmemoised, cal, policy, received, pauses)
            assert outcome(compute_due, cal, policy, received, pauses) == expected
            assert outcome(compute_due, cal, policy, received, pauses) == expected


@pytest.mark.parametrize("zone", [*ZONES, "Europe/Amsterdam"])
def test_compute_due_equals_the_unmemoised_rule_at_day_boundaries(zone: str) -> None:
    cal = small(zone, [])
    policies = [SlaPolicy(late_intake_minutes=late) for late in (0, 120, 600)]
    for day in (date(2026, 3, 29), date(2026, 11, 23), date(2026, 11, 27), date(2026, 11, 28)):
        walls = {0, 86399}
        for opens, closes in cal.day(day).hours:
            walls |= {
                opens.hour * 3600 + opens.minute * 60,
                closes.hour * 3600 + closes.minute * 60,
            }
        walls |= {w - 7200 for w in walls} | {w - 36000 for w in walls}
        for wall in sorted(w + d for w in walls for d in (-1, 0, 1) if 0 <= w + d < 86400):
            received = datetime.combine(day, time(), cal.tz) + timedelta(seconds=wall)
            for policy in policies:
                expected = outcome(compute_due_unmemoised, cal, policy, received)
                assert outcome(compute_due, cal, policy, received) == expected


def test_compute_due_errors_match_the_unmemoised_rule() -> None:
    cal = calendar()
    for received in (datetime(2026, 11, 23, 9), wib(2019, 12, 31, 23), wib(2036, 1, 1)):
        expected = outcome(compute_due_unmemoised, cal, DEFAULT, received)
        assert outcome(compute_due, cal, DEFAULT, received) == expected
    pause = (wib(2026, 11, 23, 11), wib(2026, 11, 23, 10))
    expected = outcome(compute_due_unmemoised, cal, DEFAULT, wib(2026, 11, 23), [pause])
    assert "before it starts" in expected
    assert outcome(compute_due, cal, DEFAULT, wib(2026, 11, 23), [pause]) == expected


def warn(minutes: int) -> SlaPolicy:
    return SlaPolicy(warn_before_working_minutes=minutes)


@pytest.mark.parametrize(
    ("due", "minutes", "expected"),
    [
        *((wib(2026, 11, d, 17), 240, wib(2026, 11, d, 13)) for d in (23, 24, 25, 26)),
        (wib(2026, 11, 27, 17), 240, wib(2026, 11, 27, 11, 15)),  # Friday: 3 h 45 m after prayer
        (wib(2026, 11, 23, 17), 0, wib(2026, 11, 23, 17)),
        (wib(2026, 11, 23, 13, 30), 30, wib(2026, 11, 23, 13)),  # level of 12:15, latest is 13:00
        (wib(2026, 11, 24, 8, 30), 60, wib(2026, 11, 24, 7, 30)),  # not Monday 17:00
        (wib(2026, 11, 30, 9, 30), 240, wib(2026, 11, 27, 15)),  # over the weekend
    ],
)
def test_at_risk_boundaries(due: datetime, minutes: int, expected: datetime) -> None:
    got = at_risk_at(calendar(), warn(minutes), due)
    assert got == expected
    assert got.tzinfo == WIB
    assert at_risk_at(calendar(), warn(minutes), due.astimezone(UTC)).isoformat() == (
        expected.isoformat()
    )
    epochs = bulk_at_risk_epochs(calendar(), warn(minutes), np.array([int(due.timestamp())]))
    assert epochs.tolist() == [int(expected.timestamp())]


def test_at_risk_ignores_pauses_and_clamps_to_the_table() -> None:
    cal = calendar()
    received, pause = wib(2026, 11, 23, 9), [(wib(2026, 11, 23, 10), wib(2026, 11, 23, 11))]
    paused_due = compute_due(cal, DEFAULT, received, pause).due_at
    assert paused_due == wib(2026, 11, 25, 8, 30)
    # Only the due time matters: 1 h on Wednesday morning, 3 h on Tuesday afternoon.
    assert at_risk_at(cal, DEFAULT, paused_due) == wib(2026, 11, 24, 14)
    # Less than W of working time since the table's first instant: at risk from that instant.
    short = small("Asia/Jakarta", [])
    assert at_risk_at(short, DEFAULT, wib(2024, 1, 2, 9)) == wib(2024, 1, 1)
    with_seconds = wib(2026, 11, 23, 17) + timedelta(microseconds=250)
    assert at_risk_at(cal, warn(0), with_seconds) == with_seconds
    with pytest.raises(CalendarRangeError):
        at_risk_at(short, DEFAULT, wib(2030, 1, 2))
    with pytest.raises(CalendarRangeError):
        bulk_at_risk_epochs(short, DEFAULT, np.array([int(wib(2023, 12, 31).timestamp())]))
    with pytest.raises(ValueError, match="naive"):
        at_risk_at(cal, DEFAULT, datetime(2026, 11, 23, 17))
    with pytest.raises(ValueError, match="integer"):
        bulk_at_risk_epochs(cal, DEFAULT, np.array([1.5]))


warn_policies = st.builds(SlaPolicy, warn_before_working_minutes=st.integers(0, 1440))


@PROPERTY
@given(cases(), warn_policies)
def test_at_risk_matches_reference(case: Case, policy: SlaPolicy) -> None:
    zone, due, overrides = case
    cal = small(zone, overrides)
    first = datetime(2024, 1, 1, tzinfo=cal.tz)
    expected = RefCalendar(zone, overrides=overrides).at_risk_at(
        due, 60 * policy.warn_before_working_minutes, first
    )
    assert at_risk_at(cal, policy, due) == expected


@PROPERTY
@given(cases(second_grid=True), warn_policies, st.integers(-86400, 6 * 86400))
def test_at_risk_at_is_where_sla_state_turns_at_risk(
    case: Case, policy: SlaPolicy, before: int
) -> None:
    zone, due, overrides = case
    cal = small(zone, overrides)
    risk = at_risk_at(cal, policy, due)
    threshold = 60 * policy.warn_before_working_minutes
    first = datetime(2024, 1, 1, tzinfo=cal.tz)
    if risk > first or threshold == 0:
        assert cal.working_seconds_between(risk, due) >= threshold
    if risk < due:  # latest: one second later is too late
        assert cal.working_seconds_between(risk + timedelta(seconds=1), due) < threshold
    seconds = [-before, -1, 0, 1]
    for now in [due + timedelta(seconds=s) for s in seconds] + [
        risk + timedelta(seconds=s) for s in seconds
    ]:
        if now >= first:
            state = sla_state(cal, policy, due, now)
            assert (state == "at_risk") == (risk < now <= due), (now, state)


@PROPERTY
@given(
    cases(second_grid=True),
    warn_policies,
    st.integers(-3 * 86400, 86400),
    st.integers(0, 999_999),
)
def test_state_from_the_stored_instants_is_sla_state(
    case: Case, policy: SlaPolicy, before: int, micro: int
) -> None:
    """A running clock's state from its due time and at-risk instant alone (the queue's)
    is the engine's, at whole seconds and between them, around both instants."""
    zone, due, overrides = case
    cal = small(zone, overrides)
    risk = at_risk_at(cal, policy, due)
    first = datetime(2024, 1, 1, tzinfo=cal.tz)
    for base in (due, risk):
        for s in (before, -1, 0, 1):
            now = base + timedelta(seconds=s, microseconds=micro)
            if first <= now <= datetime(2028, 12, 31, tzinfo=cal.tz):
                assert sla_state_of(due, risk, now) == sla_state(cal, policy, due, now), now


def test_bulk_at_risk_matches_scalar_elementwise() -> None:
    rng = np.random.default_rng(20261124)
    empty = WorkingCalendar("Asia/Jakarta", weekly_hours={}, holidays={}, last_year=2021)
    for cal in (*(calendar(zone) for zone in ZONES), empty):
        t = cal.tables
        edges = np.array([t.day_starts[0], t.day_starts[-1], *t.starts[:50], *t.ends[-50:]])
        dues = np.concatenate(
            [rng.integers(t.day_starts[0], t.day_starts[-1], 3000), edges, edges[2:] + 1]
        )
        for minutes in (0, 1, 240, 1440, 100_000):
            got = bulk_at_risk_epochs(cal, warn(minutes), dues).tolist()
            for due, g in zip(dues.tolist(), got, strict=True):
                instant = datetime.fromtimestamp(due, UTC)
                assert g == int(at_risk_at(cal, warn(minutes), instant).timestamp())
