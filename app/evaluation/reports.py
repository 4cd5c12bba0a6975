"""The SLA, IKM and officer reports: aggregates computed in SQL, never row by row in Python.

Periods are local dates of each office: ``[from 00:00, to + 1 day 00:00)`` in the office's
time zone, turned into UTC bounds per time zone so that the period filters use the
``(office_code, <instant>)`` indexes. Grouping by month or day uses the office's local
date: PostgreSQL converts with ``timezone(zone, instant)``; SQLite, which has no time
zones, shifts by the zone's UTC offset at the start of the period (exact for zones
without daylight saving time, such as WIB, WITA and WIT).

Percentiles (officers' working time to first response) are *continuous* percentiles with
linear interpolation between the two nearest ranks (PostgreSQL ``percentile_cont``, the
"inclusive" definition of Excel's PERCENTILE.INC and numpy's default): position
``1 + p (n - 1)`` in the ascending values. SQLite has no percentile function; the same
ranks are picked with ``row_number()``/``count()`` windows and interpolated.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col

from app.core.db import UTCDateTime
from app.evaluation.models import Complaint, SurveyResponse
from app.evaluation.report_scope import Period, Scope, Zone, local_midnight
from app.evaluation.survey import ELEMENTS, ikm_from_sums, krejcie_morgan, round_half_up
from app.inquiries.models import Inquiry

# The work queue's SLA states, so that the report's breached are the queue's breached.
from app.inquiries.queries import sla_condition
from app.sla.models import SlaPolicyRecord

GROUPS = ("office", "channel", "month", "day")


def _rate(met: int, missed: int) -> float | None:
    total = met + missed
    return round(met / total, 4) if total else None


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# -- SLA ---------------------------------------------------------------------------------


def _period_keys(period: Period, unit: str) -> list[tuple[str, date]]:
    """Each month or day of the period: its key and its first local date."""
    keys: list[tuple[str, date]] = []
    day = period.start
    while day <= period.end:
        key = day.strftime("%Y-%m" if unit == "month" else "%Y-%m-%d")
        if not keys or keys[-1][0] != key:
            keys.append((key, day))
        day += timedelta(days=1)
    return keys


def _local_bucket(session: Session, scope: Scope, instant: Any, unit: str) -> Any:
    """The month or day of ``instant`` in its office's local time, as a key (SQLite) or
    as the 1-based index into the period's keys (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        # width_bucket over the local midnights of the buckets, as UTC instants: a binary
        # search per row, far cheaper than formatting each local timestamp.
        starts = [day for _, day in _period_keys(scope.period, unit)]

        def one(zone: Zone) -> Any:
            tz = ZoneInfo(zone.name)
            bounds = [local_midnight(day, tz) for day in starts]
            array = literal(bounds, type_=postgresql.ARRAY(UTCDateTime()))
            return func.width_bucket(instant, array)

    else:
        pattern = "%Y-%m" if unit == "month" else "%Y-%m-%d"

        def one(zone: Zone) -> Any:
            return func.strftime(pattern, instant, f"{zone.offset_minutes:+d} minutes")

    if len(scope.zones) == 1:
        return one(scope.zones[0])
    office = col(Inquiry.office_code)
    return case(
        *((office.in_(z.offices), one(z)) for z in scope.zones[:-1]),
        else_=one(scope.zones[-1]),
    )


def _all_keys(scope: Scope, group_by: str) -> list[str]:
    if group_by == "office":
        return list(scope.offices)
    if group_by == "channel":
        return []
    return [key for key, _ in _period_keys(scope.period, group_by)]


def sla_report(
    *, session: Session, scope: Scope, group_by: str, now: datetime
) -> list[dict[str, Any]]:
    """Rows ``{key, received, responded, met, missed, open, open_breached, met_rate}`` of
    the inquiries received in the period, one per key (empty months and days included)."""
    if group_by == "office":
        key: Any = col(Inquiry.office_code)
    elif group_by == "channel":
        key = col(Inquiry.channel)
    else:
        key = _local_bucket(session, scope, col(Inquiry.received_at), group_by)
    first, outcome = col(Inquiry.first_response_at), col(Inquiry.sla_outcome)
    within = scope.within(col(Inquiry.office_code), col(Inquiry.received_at))
    query = (
        select(
            key.label("key"),
            func.count().label("received"),
            func.count(first).label("responded"),
            _count_if(outcome == "met").label("met"),
            _count_if(outcome == "missed").label("missed"),
            _count_if(first.is_(None)).label("open"),
        )
        .where(within)
        .group_by(key)
    )
    # Breached by the work queue's rule (a clock paused awaiting the requester is not
    # breached unless it ran out before the pause): a second query over the few open
    # inquiries only, so that the first stays an index-only scan.
    breached_query = (
        select(key.label("key"), func.count().label("n"))
        .join(SlaPolicyRecord, col(SlaPolicyRecord.code) == col(Inquiry.policy_code))
        .where(within, first.is_(None), sla_condition("breached", now))
        .group_by(key)
    )
    found = {row.key: row for row in session.execute(query)}
    breached = {row.key: int(row.n) for row in session.execute(breached_query)}
    if group_by in ("month", "day") and session.get_bind().dialect.name == "postgresql":
        keys = _all_keys(scope, group_by)
        found = {keys[index - 1]: row for index, row in found.items()}
        breached = {keys[index - 1]: n for index, n in breached.items()}
    rows = []
    for k in sorted(set(_all_keys(scope, group_by)) | set(found)):
        row = found.get(k)
        met, missed = (int(row.met), int(row.missed)) if row else (0, 0)
        rows.append(
            {
                "key": k,
                "received": int(row.received) if row else 0,
                "responded": int(row.responded) if row else 0,
                "met": met,
                "missed": missed,
                "open": int(row.open) if row else 0,
                "open_breached": breached.get(k, 0),
                "met_rate": _rate(met, missed),
            }
        )
    return rows


# -- IKM ---------------------------------------------------------------------------------

_ELEMENT_COLUMNS = tuple(getattr(SurveyResponse, e.code.lower()) for e in ELEMENTS)


def _ikm_value(respondents: int, sums: list[int]) -> dict[str, Any]:
    result = ikm_from_sums(sums, respondents) if respondents else None
    return {
        "respondents": respondents,
        "elements": [
            {
                "code": e.code,
                "name": e.name,
                "nrr": float(round_half_up(result.nrr[i], 4)) if result else None,
            }
            for i, e in enumerate(ELEMENTS)
        ],
        "ikm": float(result.ikm) if result else None,
        "grade": result.grade.letter if result else None,
        "label": result.grade.label if result else None,
    }


def ikm_report(*, session: Session, scope: Scope, channel: str | None) -> dict[str, Any]:
    """The IKM of the responses submitted in the period and the sample the regulation
    asks for, from the number of inquiries served (first response given) in it."""
    responses = select(func.count(), *(func.coalesce(func.sum(c), 0) for c in _ELEMENT_COLUMNS))
    responses = responses.where(
        scope.within(col(SurveyResponse.office_code), col(SurveyResponse.submitted_at))
    )
    served = select(func.count()).where(
        scope.within(col(Inquiry.office_code), col(Inquiry.first_response_at))
    )
    if channel is not None:
        responses = responses.where(col(SurveyResponse.channel) == channel)
        served = served.where(col(Inquiry.channel) == channel)
    count, *sums = session.execute(responses).one()
    population = int(session.execute(served).scalar_one())
    return {
        **_ikm_value(int(count), [int(s) for s in sums]),
        "served": population,
        "sample_needed": krejcie_morgan(population),
    }


# -- officers ----------------------------------------------------------------------------

PERCENTILES = ((1, 2), (9, 10))  # the median and p90, as fractions a/b


def _percentiles(session: Session, where: ColumnElement[bool]) -> dict[str, list[float | None]]:
    officer, seconds = col(Inquiry.first_responder), col(Inquiry.first_response_working_seconds)
    where = and_(where, seconds.is_not(None))
    if session.get_bind().dialect.name == "postgresql":
        query = (
            select(
                officer,
                *(func.percentile_cont(a / b).within_group(seconds) for a, b in PERCENTILES),
            )
            .where(where)
            .group_by(officer)
        )
        return {
            row[0]: [None if v is None else round(float(v), 1) for v in row[1:]]
            for row in session.execute(query)
        }
    ranked = (
        select(
            officer.label("officer"),
            seconds.label("s"),
            func.row_number().over(partition_by=officer, order_by=seconds).label("rn"),
            func.count().over(partition_by=officer).label("n"),
        )
        .where(where)
        .subquery()
    )
    picks: list[Any] = []
    for a, b in PERCENTILES:
        # position 1 + p (n - 1) = (b + a (n - 1)) / b: its floor and its fraction
        scaled = b + a * (ranked.c.n - 1)
        low = scaled // b
        picks += [
            func.max(case((ranked.c.rn == low, ranked.c.s))),
            func.max(case((ranked.c.rn == low + 1, ranked.c.s))),
            func.max(scaled % b),
        ]
    query = select(ranked.c.officer, *picks).group_by(ranked.c.officer)
    found: dict[str, list[float | None]] = {}
    for row in session.execute(query):
        values: list[float | None] = []
        for i, (_a, b) in enumerate(PERCENTILES):
            low, high, rem = row[1 + 3 * i : 4 + 3 * i]
            if low is None:
                values.append(None)
                continue
            high = low if high is None else high
            values.append(round(low + (high - low) * rem / b, 1))
        found[row[0]] = values
    return found


def officers_report(*, session: Session, scope: Scope) -> list[dict[str, Any]]:
    """One row per officer credited with first responses (answer or escalation notice)
    given in the period: volumes, SLA outcomes, working time to the first response, the
    IKM of the surveys of those inquiries and, for compliance and head, complaints."""
    officer, first = col(Inquiry.first_responder), col(Inquiry.first_response_at)
    escalated_at, answered_at = col(Inquiry.escalated_at), col(Inquiry.answered_at)
    where = and_(scope.within(col(Inquiry.office_code), first), officer.is_not(None))
    # The first response was the escalation notice when it carries the same instant;
    # otherwise (a later action overwrote both) whichever came first.
    by_escalation = case(
        (escalated_at == first, 1),
        (answered_at == first, 0),
        (
            and_(escalated_at.is_not(None), or_(answered_at.is_(None), escalated_at < answered_at)),
            1,
        ),
        else_=0,
    )
    outcome = col(Inquiry.sla_outcome)
    totals = session.execute(
        select(
            officer,
            func.count(),
            func.sum(by_escalation),
            _count_if(outcome == "met"),
            _count_if(outcome == "missed"),
        )
        .where(where)
        .group_by(officer)
    ).all()
    percentiles = _percentiles(session, where)
    surveys = {
        row[0]: (int(row[1]), [int(v) for v in row[2:]])
        for row in session.execute(
            select(officer, func.count(), *(func.sum(c) for c in _ELEMENT_COLUMNS))
            .select_from(SurveyResponse)
            .join(Inquiry, col(Inquiry.id) == col(SurveyResponse.inquiry_id))
            .where(where)
            .group_by(officer)
        )
    }
    complaints: dict[str, int] = {}
    if scope.complaints_visible:
        complaints = {
            row[0]: int(row[1])
            for row in session.execute(
                select(officer, func.count())
                .select_from(Complaint)
                .join(Inquiry, col(Inquiry.id) == col(Complaint.inquiry_id))
                .where(where)
                .group_by(officer)
            )
        }
    rows = []
    for name, responded, escalated, met, missed in sorted(totals, key=lambda r: str(r[0])):
        respondents, sums = surveys.get(name, (0, [0] * len(ELEMENTS)))
        ikm = ikm_from_sums(sums, respondents) if respondents else None
        median, p90 = percentiles.get(name, [None, None])
        rows.append(
            {
                "officer": name,
                "responded": int(responded),
                "answered": int(responded) - int(escalated or 0),
                "escalated": int(escalated or 0),
                "met": int(met),
                "missed": int(missed),
                "met_rate": _rate(int(met), int(missed)),
                "first_response_working_seconds": {"median": median, "p90": p90},
                "ikm": float(ikm.ikm) if ikm else None,
                "respondents": respondents,
                "complaints": complaints.get(name, 0) if scope.complaints_visible else None,
            }
        )
    return rows
