"""SLA engine benchmark: due_at and compute_due latency, businesstimedelta, bulk throughput.

Run from the repo root as ``python -m bench.bench_sla`` or ``python bench/bench_sla.py``.
Prints PASS/MISS per target; the exit status is 1 if any target was missed.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import businesstimedelta as btd
import numpy as np
import pytz

from app.calendar.engine import WorkingCalendar
from app.calendar.holidays import indonesian_holidays
from app.sla.engine import SlaPolicy, bulk_at_risk_epochs, bulk_due_epochs, compute_due, due_at

ZONE = "Asia/Jakarta"
SEED = 20261123
rows: list[tuple[str, str, str, str]] = []
T = TypeVar("T")


def report(name: str, value: str, target: str = "", ok: bool | None = None) -> None:
    status = "" if ok is None else ("PASS" if ok else "MISS")
    rows.append((name, value, target, status))


def epochs_between(rng: np.random.Generator, first: datetime, last: datetime, n: int) -> list[int]:
    return rng.integers(int(first.timestamp()), int(last.timestamp()), n).tolist()


def per_call_median(fn: Callable[[T], object], inputs: Sequence[T], batch: int) -> float:
    """Median over batches of the mean time per call, in seconds."""
    times = []
    for at in range(0, len(inputs), batch):
        chunk = inputs[at : at + batch]
        started = time.perf_counter()
        for x in chunk:
            fn(x)
        times.append((time.perf_counter() - started) / len(chunk))
    return statistics.median(times)


def bench_build() -> WorkingCalendar:
    started = time.perf_counter()
    indonesian_holidays(2020, 2036)
    cold = time.perf_counter() - started
    builds = []
    for _ in range(5):
        started = time.perf_counter()
        cal = WorkingCalendar(ZONE)
        builds.append(time.perf_counter() - started)
    report("holidays package, 2020-2036 (cached per range)", f"{cold * 1e3:.1f} ms")
    best = min(builds)
    report(
        "calendar build 2020-2036, warm holidays", f"{best * 1e3:.1f} ms", "<= 50 ms", best <= 0.05
    )
    return cal


def bench_due_at(cal: WorkingCalendar, rng: np.random.Generator) -> None:
    policy = SlaPolicy()
    epochs = epochs_between(
        rng, datetime(2020, 1, 1, tzinfo=UTC), datetime(2035, 12, 1, tzinfo=UTC), 100_000
    )
    local = [datetime.fromtimestamp(e, cal.tz) for e in epochs]
    in_utc = [datetime.fromtimestamp(e, UTC) for e in epochs]
    for label, inputs in (("office zone", local), ("UTC", in_utc)):
        due_at(cal, policy, inputs[0])  # build the policy tables outside the timing
        median = per_call_median(lambda x: due_at(cal, policy, x), inputs, 1000)
        report(
            f"1. due_at median, 100k instants ({label})",
            f"{median * 1e6:.2f} us",
            "<= 5 us",
            median <= 5e-6,
        )


def bench_compute_due(rng: np.random.Generator) -> None:
    # A fresh calendar, so the memo misses below are real first calls.
    cal, policy = WorkingCalendar(ZONE), SlaPolicy()
    # Receipts of one year, as the endpoint sees them (around now); every day's memo entries
    # are built on its first receipt, then hit.
    epochs = epochs_between(
        rng, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), 100_000
    )
    received = [datetime.fromtimestamp(e, cal.tz) for e in epochs]
    paused = [
        (r, [(r + timedelta(hours=1), r + timedelta(hours=int(h)))])
        for r, h in zip(received[:20_000], rng.integers(2, 72, 20_000), strict=True)
    ]
    compute_due(cal, policy, datetime(2025, 6, 2, 9, tzinfo=cal.tz))  # policy tables
    days = sorted({r.date() for r in received})
    started = time.perf_counter()
    for day in days:
        compute_due(cal, policy, datetime.combine(day, received[0].timetz()))
    miss = (time.perf_counter() - started) / len(days)
    median = per_call_median(lambda x: compute_due(cal, policy, x), received, 1000)
    report(
        "4a. compute_due median, 100k receipts in 2026, no pauses",
        f"{median * 1e6:.2f} us",
        "<= 20 us",
        median <= 20e-6,
    )
    median = per_call_median(lambda x: compute_due(cal, policy, x[0], x[1]), paused, 1000)
    report("4b. compute_due median, 20k receipts with one pause", f"{median * 1e6:.2f} us")
    report(
        f"4c. compute_due, first receipt of each of {len(days)} days (memo miss)",
        f"{miss * 1e6:.0f} us",
    )


def btd_rule(years: range) -> btd.Rules:
    """The same calendar in businesstimedelta's terms: hours, the two lunch breaks, holidays."""
    tz = pytz.timezone(ZONE)
    day = btd.WorkDayRule(
        start_time=datetime.min.time().replace(hour=7, minute=30),
        end_time=datetime.min.time().replace(hour=17),
        working_days=[0, 1, 2, 3, 4],
        tz=tz,
    )
    lunch = btd.LunchTimeRule(
        start_time=datetime.min.time().replace(hour=12, minute=15),
        end_time=datetime.min.time().replace(hour=13),
        working_days=[0, 1, 2, 3],
        tz=tz,
    )
    friday = btd.LunchTimeRule(
        start_time=datetime.min.time().replace(hour=11, minute=30),
        end_time=datetime.min.time().replace(hour=13, minute=15),
        working_days=[4],
        tz=tz,
    )
    # A set of dates, not the holidays object: membership is what HolidayRule asks for.
    days = set(indonesian_holidays(years.start, years.stop - 1))
    return btd.Rules([day, lunch, friday, btd.HolidayRule(days, tz=tz)])


def timed(fn: Callable[[], list[int]]) -> tuple[float, list[int]]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def bench_businesstimedelta(
    cal: WorkingCalendar, rng: np.random.Generator, n: int = 10_000
) -> None:
    rule = btd_rule(range(2020, 2037))
    starts = [
        datetime.fromtimestamp(e, pytz.utc)
        for e in epochs_between(
            rng, datetime(2024, 1, 1, tzinfo=UTC), datetime(2030, 12, 1, tzinfo=UTC), n
        )
    ]
    # businesstimedelta's "add 0" jumps to the next opening while ours returns the start itself
    # (earliest instant with 0 working seconds in between), so we add 1..2000 minutes.
    minutes = rng.integers(1, 2000, n).tolist()
    ends = [
        s + timedelta(seconds=int(x))
        for s, x in zip(starts, rng.integers(0, 10 * 86400, n), strict=True)
    ]

    def ours_add() -> list[int]:
        return [
            int(cal.add_working_seconds(s, 60 * m).timestamp())
            for s, m in zip(starts, minutes, strict=True)
        ]

    def theirs_add() -> list[int]:
        return [
            int((s + btd.BusinessTimeDelta(rule, seconds=60 * m)).timestamp())
            for s, m in zip(starts, minutes, strict=True)
        ]

    def ours_between() -> list[int]:
        return [cal.working_seconds_between(s, e) for s, e in zip(starts, ends, strict=True)]

    def theirs_between() -> list[int]:
        return [
            int(rule.difference(s, e).timedelta.total_seconds())
            for s, e in zip(starts, ends, strict=True)
        ]

    for label, ours, theirs in (
        ("2a. add N working minutes", ours_add, theirs_add),
        ("2b. working time between", ours_between, theirs_between),
    ):
        t_ours, r_ours = timed(ours)
        t_theirs, r_theirs = timed(theirs)
        mismatches = sum(a != b for a, b in zip(r_ours, r_theirs, strict=True))
        speedup = t_theirs / t_ours
        report(
            f"{label}: ours / businesstimedelta per op",
            f"{t_ours / n * 1e6:.2f} us / {t_theirs / n * 1e6:.0f} us",
        )
        report(f"{label}: speedup", f"{speedup:.0f}x", ">= 100x", speedup >= 100)
        report(f"{label}: mismatches over {n:,} instants", str(mismatches), "0", mismatches == 0)


def bench_bulk(cal: WorkingCalendar, rng: np.random.Generator, n: int = 1_000_000) -> None:
    policy = SlaPolicy()
    received = rng.integers(
        int(datetime(2020, 1, 1, tzinfo=UTC).timestamp()),
        int(datetime(2035, 12, 1, tzinfo=UTC).timestamp()),
        n,
    )
    paused = np.where(rng.random(n) < 0.3, rng.integers(0, 5 * 86400, n), 0)
    bulk_due_epochs(cal, policy, received[:10])
    for label, pauses in (("no pauses", None), ("30% paused", paused)):
        best = min(
            timed(lambda p=pauses: bulk_due_epochs(cal, policy, received, p).tolist()[:0])[0]
            for _ in range(3)
        )
        report(
            f"3. bulk_due_epochs, 1,000,000 rows ({label})", f"{best:.3f} s", "<= 1 s", best <= 1.0
        )


def bench_bulk_at_risk(cal: WorkingCalendar, rng: np.random.Generator, n: int = 1_000_000) -> None:
    policy = SlaPolicy()
    due = bulk_due_epochs(
        cal,
        policy,
        rng.integers(
            int(datetime(2020, 1, 1, tzinfo=UTC).timestamp()),
            int(datetime(2035, 12, 1, tzinfo=UTC).timestamp()),
            n,
        ),
    )
    bulk_at_risk_epochs(cal, policy, due[:10])
    best = min(
        timed(lambda: bulk_at_risk_epochs(cal, policy, due).tolist()[:0])[0] for _ in range(3)
    )
    report("5. bulk_at_risk_epochs, 1,000,000 rows", f"{best:.3f} s", "<= 1 s", best <= 1.0)


def main() -> int:
    machine = platform.processor() or platform.machine()
    nproc = len(os.sched_getaffinity(0))
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"machine: {machine}, nproc {nproc}, {python}, {platform.platform()}")
    rng = np.random.default_rng(SEED)
    cal = bench_build()
    bench_due_at(cal, rng)
    bench_businesstimedelta(cal, rng)
    bench_bulk(cal, rng)
    bench_compute_due(rng)
    bench_bulk_at_risk(cal, rng)
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    header = ("benchmark", "result", "target", "status")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 1 if any(row[3] == "MISS" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
