"""Anonymising requesters' data once the retention period after closure has passed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from sqlmodel import Session, col, select

from app.core.config import get_settings
from app.core.db import utcnow, write_session
from app.core.errors import log_unexpected
from app.inquiries.models import Inquiry
from app.privacy.anonymise import anonymise, delete_blobs
from app.privacy.models import PrivacyEvent

logger = logging.getLogger("infodesk.privacy")

BATCH = 500


def cutoff(now: datetime, years: int) -> datetime:
    """The instant ``years`` calendar years before ``now`` (29 February gives 28)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def due(session: Session, now: datetime, years: int, limit: int = BATCH) -> list[object]:
    """Inquiries closed before the cut-off and not yet anonymised."""
    statement = (
        select(Inquiry.id)
        .where(
            col(Inquiry.closed_at) < cutoff(now, years),
            col(Inquiry.anonymised_at).is_(None),
        )
        .order_by(col(Inquiry.closed_at))
        .limit(limit)
    )
    return list(session.exec(statement).all())


def run(
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    transaction: Callable[[], AbstractContextManager[Session]] = write_session,
) -> int:
    """Anonymise every inquiry past its retention period, one batch per ``transaction``;
    how many. Each batch is audited as a ``retention`` privacy event."""
    now = now or utcnow()
    years = get_settings().retention_years
    total = 0
    while True:
        with transaction() as session:
            ids = due(session, now, years)
            if not ids or dry_run:
                return total + (len(ids) if dry_run else 0)
            done = anonymise(session, ids, [], now)  # type: ignore[arg-type]
            session.add(
                PrivacyEvent(
                    at=now,
                    actor="retention",
                    action="retention",
                    reason=f"closed more than {years} years ago",
                    counts=done.counts(),
                )
            )
            session.flush()
        delete_blobs(done.blobs)
        total += len(ids)
        logger.info("retention anonymised inquiries", extra={"count": len(ids)})


def retention_forever(stop: threading.Event) -> None:
    """Run the retention every ``retention_check_seconds`` until ``stop`` (the worker)."""
    settings = get_settings()
    while not stop.is_set():
        try:
            run()
        except Exception as exc:
            log_unexpected(exc)
        stop.wait(settings.retention_check_seconds)
