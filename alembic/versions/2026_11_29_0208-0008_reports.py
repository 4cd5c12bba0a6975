"""Reports: indexes the SLA, IKM and officer reports read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 02:08:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Served inquiries and officers' first responses per office and period.
    with op.batch_alter_table("inquiry") as batch:
        batch.create_index(
            "ix_inquiry_office_first_response", ["office_code", "first_response_at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("inquiry") as batch:
        batch.drop_index("ix_inquiry_office_first_response")
