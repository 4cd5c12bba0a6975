"""Moving the due times of open inquiries after a calendar or policy change.

``calendar`` and ``sla`` publish their changes (``app.core.changes``); this module
subscribes (:func:`subscribe`, called when the application is built).

One query selects the affected rows (open: no SLA outcome fixed yet; their window
between receipt and due time touches the changed dates), the engine computes every new
due time at once with numpy, and one executemany UPDATE writes those that moved. An
outcome already fixed (``met``/``missed``) is never rewritten.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy import bindparam, select, update
from sqlmodel import Session, col
from sqlmodel import select as select_rows

from app.calendar.cache import build_calendar
from app.calendar.engine import WorkingCalendar
from app.core import changes
from app.inquiries.models import Inquiry
from app.offices.models import Office
from app.sla.engine import SlaPolicy, bulk_at_risk_epochs, bulk_due_epochs
from app.sla.models import SlaPolicyRecord
from app.sla.policies import to_engine


def _local_midnight(calendar: WorkingCalendar, day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=calendar.tz).astimezone(UTC)


def recompute_open_due_times(
    *,
    session: Session,
    calendar: WorkingCalendar,
    policies: Mapping[str, SlaPolicy],
    office_code: str | None,
    first_day: date | None = None,
    last_day: date | None = None,
    policy_code: str | None = None,
) -> int:
    """Recompute due times of open inquiries affected by a change; returns how many moved.

    ``first_day``..``last_day`` (local dates, inclusive) bound the change; None means
    unbounded. ``office_code`` or ``policy_code`` narrows the inquiries considered.
    """
    table = Inquiry.__table__  # type: ignore[attr-defined]
    columns = table.c
    query = select(
        columns.id,
        columns.received_at,
        columns.paused_working_seconds,
        columns.policy_code,
        columns.due_at,
        columns.at_risk_at,
        columns.version,
    ).where(columns.sla_outcome.is_(None))
    if office_code is not None:
        query = query.where(columns.office_code == office_code)
    if policy_code is not None:
        query = query.where(columns.policy_code == policy_code)
    if last_day is not None:
        query = query.where(
            columns.received_at < _local_midnight(calendar, last_day + timedelta(1))
        )
    if first_day is not None:
        query = query.where(columns.due_at >= _local_midnight(calendar, first_day))

    groups: dict[str, list[tuple[object, int, int, int, int, int]]] = defaultdict(list)
    for row in session.execute(query):
        groups[row.policy_code].append(
            (
                row.id,
                int(row.received_at.timestamp()),
                row.paused_working_seconds,
                int(row.due_at.timestamp()),
                row.version,
                int(row.at_risk_at.timestamp()),
            )
        )

    changes: list[dict[str, object]] = []
    for code, rows in groups.items():
        policy = policies[code]
        received = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        paused = np.fromiter(
            (r[2] if policy.pause_when_awaiting_requester else 0 for r in rows),
            dtype=np.int64,
            count=len(rows),
        )
        old = np.fromiter((r[3] for r in rows), dtype=np.int64, count=len(rows))
        old_risk = np.fromiter((r[5] for r in rows), dtype=np.int64, count=len(rows))
        new = bulk_due_epochs(calendar, policy, received, paused)
        risk_all = bulk_at_risk_epochs(calendar, policy, new)
        # The at-risk instant can move without the due time (the warning's length, or the
        # hours before a closing that stays): the queue's state is read from both.
        moved = np.flatnonzero((new != old) | (risk_all != old_risk))
        risk = risk_all[moved]
        for index, at_risk in zip(moved.tolist(), risk.tolist(), strict=True):
            moved_row = rows[index]
            changes.append(
                {
                    "b_id": moved_row[0],
                    "b_version": moved_row[4],
                    "b_new_version": moved_row[4] + 1,
                    "b_due": datetime.fromtimestamp(int(new[index]), UTC),
                    "b_risk": datetime.fromtimestamp(int(at_risk), UTC),
                }
            )
    if not changes:
        return 0
    # A new version (ETag) for each moved inquiry; one that changed meanwhile (its version
    # moved on) is left alone: the request that changed it computed its own due time.
    statement = (
        update(table)
        .where(columns.id == bindparam("b_id"), columns.version == bindparam("b_version"))
        .values(
            due_at=bindparam("b_due"),
            at_risk_at=bindparam("b_risk"),
            version=bindparam("b_new_version"),
        )
    )
    session.execute(statement, changes)
    return len(changes)


def after_calendar_change(session: Session, change: changes.CalendarChanged) -> int:
    """Move the due times the office's changed calendar affects."""
    office = session.get(Office, change.office_code)
    if office is None:
        return 0
    policies = {r.code: to_engine(r) for r in session.exec(select_rows(SlaPolicyRecord))}
    return recompute_open_due_times(
        session=session,
        calendar=build_calendar(session, office),
        policies=policies,
        office_code=office.code,
        first_day=change.first_day,
        last_day=change.last_day,
    )


def after_policy_change(session: Session, change: changes.PolicyChanged) -> int:
    """Move the due times of the open inquiries under the replaced policy."""
    record = session.get(SlaPolicyRecord, change.policy_code)
    if record is None:
        return 0
    offices = session.exec(
        select_rows(Inquiry.office_code)
        .where(Inquiry.policy_code == record.code, col(Inquiry.sla_outcome).is_(None))
        .distinct()
    )
    policy = {record.code: to_engine(record)}
    moved = 0
    for office_code in list(offices):
        office = session.get(Office, office_code)
        if office is None:
            continue
        moved += recompute_open_due_times(
            session=session,
            calendar=build_calendar(session, office),
            policies=policy,
            office_code=office_code,
            policy_code=record.code,
        )
    return moved


def subscribe() -> None:
    """Recompute due times whenever a calendar or a policy changes."""
    changes.subscribe(changes.CalendarChanged, after_calendar_change)
    changes.subscribe(changes.PolicyChanged, after_policy_change)
