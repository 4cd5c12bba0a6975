"""The inquiry a new one continues (a follow-up to one closed long ago).

A plain column, added and dropped in place: rebuilding the table (SQLite's batch mode)
would drop the search triggers on it (0012).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 06:11:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("inquiry", sa.Column("previous_inquiry_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE inquiry DROP COLUMN previous_inquiry_id")
