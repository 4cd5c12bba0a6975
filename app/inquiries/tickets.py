"""Escalation ticket numbers: unique, gap-free and increasing per office and year.

One statement both creates the year's counter and advances it (``INSERT ... ON CONFLICT
DO UPDATE ... RETURNING``). On PostgreSQL the conflicting row stays locked until the
transaction ends, so concurrent escalations of one office queue behind each other; on
SQLite writers already hold the database lock from ``BEGIN IMMEDIATE``. A transaction
that rolls back takes its increment with it, so no number is lost. Never ``max() + 1``.
"""

from __future__ import annotations

from sqlmodel import Session

from app.core.db import increment_counter
from app.inquiries.models import TicketCounter


class TicketNumberAllocator:
    """Issues ``<OFFICE>-<YYYY>-<NNNNNN>`` numbers inside the caller's transaction."""

    width = 6

    @staticmethod
    def format(office_code: str, year: int, value: int) -> str:
        """The printed ticket number."""
        return f"{office_code}-{year}-{value:0{TicketNumberAllocator.width}d}"

    def allocate(self, session: Session, office_code: str, year: int) -> str:
        """The next number of ``office_code`` in ``year``."""
        table = TicketCounter.__table__  # type: ignore[attr-defined]
        value = increment_counter(session, table, {"office_code": office_code, "year": year})
        return self.format(office_code, year, int(value))
