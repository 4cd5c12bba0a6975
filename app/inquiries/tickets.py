"""Escalation ticket numbers: unique, gap-free and increasing per office and year.

One statement both creates the year's counter and advances it (``INSERT ... ON CONFLICT
DO UPDATE ... RETURNING``). On PostgreSQL the conflicting row stays locked until the
transaction ends, so concurrent escalations of one office queue behind each other; on
SQLite writers already hold the database lock from ``BEGIN IMMEDIATE``. A transaction
that rolls back takes its increment with it, so no number is lost. Never ``max() + 1``.
"""

from __future__ import annotations

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

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
        dialect = session.get_bind().dialect.name
        module = postgresql if dialect == "postgresql" else sqlite
        table = TicketCounter.__table__  # type: ignore[attr-defined]
        insert: Insert = module.insert(table).values(
            office_code=office_code, year=year, last_value=1
        )
        statement = insert.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["office_code", "year"],
            set_={"last_value": table.c.last_value + 1},
        ).returning(table.c.last_value)
        value = session.execute(statement).scalar_one()
        return self.format(office_code, year, int(value))
