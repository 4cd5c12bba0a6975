"""Reports: indexes the SLA, IKM and officer reports read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 02:08:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The reports read only these columns, so that PostgreSQL answers them with index-only
# scans instead of visiting one heap page per inquiry of the office and period.
RECEIVED = ["office_code", "received_at", "channel", "sla_outcome", "first_response_at", "due_at"]
FIRST_RESPONSE = [
    "office_code",
    "first_response_at",
    "first_responder",
    "sla_outcome",
    "first_response_working_seconds",
    "answered_at",
    "escalated_at",
    "channel",
    "id",
]


INDEXES = {
    "ix_inquiry_report_received": RECEIVED,
    "ix_inquiry_report_first_response": FIRST_RESPONSE,
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Large indexes on a table in service: built CONCURRENTLY (writes go on), which
        # cannot run inside a transaction. IF NOT EXISTS makes a rerun after a failure
        # safe; an INVALID index left by a failed build must be dropped first.
        with op.get_context().autocommit_block():
            for name, columns in INDEXES.items():
                op.create_index(
                    name, "inquiry", columns, postgresql_concurrently=True, if_not_exists=True
                )
        return
    with op.batch_alter_table("inquiry") as batch:
        batch.create_index("ix_inquiry_report_received", RECEIVED)
        batch.create_index("ix_inquiry_report_first_response", FIRST_RESPONSE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name in reversed(INDEXES):
                op.drop_index(
                    name, table_name="inquiry", postgresql_concurrently=True, if_exists=True
                )
        return
    with op.batch_alter_table("inquiry") as batch:
        batch.drop_index("ix_inquiry_report_first_response")
        batch.drop_index("ix_inquiry_report_received")
