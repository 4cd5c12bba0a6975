"""Evaluation: survey responses, complaints and their counters.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ELEMENTS = ("u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9")

# The actor of the inquiry's first answer or escalation event; the same on SQLite and
# PostgreSQL.
BACKFILL_FIRST_RESPONDER = sa.text(
    """
    UPDATE inquiry SET first_responder = (
        SELECT e.actor FROM inquiry_event e
        WHERE e.inquiry_id = inquiry.id AND e.action IN ('answer', 'escalate')
        ORDER BY e.at, e.id
        LIMIT 1
    )
    WHERE first_responder IS NULL
      AND EXISTS (
        SELECT 1 FROM inquiry_event e
        WHERE e.inquiry_id = inquiry.id AND e.action IN ('answer', 'escalate')
      )
    """
)


def upgrade() -> None:
    with op.batch_alter_table("inquiry") as batch_op:
        batch_op.add_column(sa.Column("first_responder", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("first_response_working_seconds", sa.Integer(), nullable=True)
        )
    # Inquiries answered or escalated before this release: credit the first response to
    # whoever gave it, from the audit trail. Their working seconds stay null (the
    # officers report's medians cover inquiries first answered after the upgrade).
    op.execute(BACKFILL_FIRST_RESPONDER)
    op.create_table(
        "survey_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inquiry_id", sa.Uuid(), nullable=False),
        sa.Column("office_code", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in ELEMENTS),
        sa.Column("age_band", sa.String(length=16), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("education", sa.String(length=8), nullable=True),
        sa.Column("occupation", sa.String(length=16), nullable=True),
        sa.Column("suggestion", sa.Text(), nullable=True),
        sa.Column("submitted_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        *(
            sa.CheckConstraint(f"{c} BETWEEN 1 AND 4", name=op.f(f"ck_survey_response_{c}_range"))
            for c in ELEMENTS
        ),
        sa.ForeignKeyConstraint(
            ["inquiry_id"], ["inquiry.id"], name=op.f("fk_survey_response_inquiry_id_inquiry")
        ),
        sa.ForeignKeyConstraint(
            ["office_code"], ["office.code"], name=op.f("fk_survey_response_office_code_office")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_response")),
        sa.UniqueConstraint("inquiry_id", name=op.f("uq_survey_response_inquiry_id")),
    )
    op.create_index(
        "ix_survey_response_office_submitted",
        "survey_response",
        ["office_code", "submitted_at"],
        unique=False,
    )
    _create_complaint_tables()


def downgrade() -> None:
    _drop_complaint_tables()
    op.drop_index("ix_survey_response_office_submitted", table_name="survey_response")
    op.drop_table("survey_response")
    with op.batch_alter_table("inquiry") as batch_op:
        batch_op.drop_column("first_response_working_seconds")
        batch_op.drop_column("first_responder")


# Response targets of the national complaints system's guidance (SP4N-LAPOR, PermenPAN-RB
# 62/2018) as DOMAIN.md §8.3 quotes them; configurable by changing the rows.
COMPLAINT_CATEGORIES = [
    {"code": "information", "name": "Permintaan informasi / Request for information",
     "target_working_days": 5},
    {"code": "ordinary", "name": "Pengaduan umum / Ordinary complaint", "target_working_days": 5},
    {"code": "misconduct", "name": "Sengketa atau pelanggaran tanpa pemeriksaan lapangan / "
     "Dispute or misconduct, no field inspection", "target_working_days": 14},
    {"code": "misconduct_inspection", "name": "Sengketa atau pelanggaran dengan pemeriksaan "
     "lapangan / Dispute or misconduct, with field inspection", "target_working_days": 60},
]


def _timestamp(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, app.core.db.UTCDateTime(timezone=True), nullable=nullable)


def _create_complaint_tables() -> None:
    category = op.create_table(
        "complaint_category",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("target_working_days", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "target_working_days >= 1", name=op.f("ck_complaint_category_target_positive")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_complaint_category")),
    )
    op.bulk_insert(category, COMPLAINT_CATEGORIES)
    op.create_table(
        "complaint",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("office_code", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("inquiry_id", sa.Uuid(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _timestamp("received_at"),
        _timestamp("first_response_due_at"),
        _timestamp("due_at"),
        sa.Column("due_explanation", sa.Text(), nullable=False),
        _timestamp("first_responded_at", nullable=True),
        _timestamp("responded_at", nullable=True),
        _timestamp("closed_at", nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("response_delivery", sa.String(length=16), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["category"],
            ["complaint_category.code"],
            name=op.f("fk_complaint_category_complaint_category"),
        ),
        sa.ForeignKeyConstraint(
            ["inquiry_id"], ["inquiry.id"], name=op.f("fk_complaint_inquiry_id_inquiry")
        ),
        sa.ForeignKeyConstraint(
            ["office_code"], ["office.code"], name=op.f("fk_complaint_office_code_office")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
        sa.UniqueConstraint("number", name=op.f("uq_complaint_number")),
    )
    op.create_index(op.f("ix_complaint_inquiry_id"), "complaint", ["inquiry_id"], unique=False)
    op.create_index(
        "ix_complaint_office_received", "complaint", ["office_code", "received_at"], unique=False
    )
    op.create_index(
        "ix_complaint_office_status_due",
        "complaint",
        ["office_code", "status", "due_at"],
        unique=False,
    )
    op.create_table(
        "complaint_counter",
        sa.Column("office_code", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_code"], ["office.code"], name=op.f("fk_complaint_counter_office_code_office")
        ),
        sa.PrimaryKeyConstraint("office_code", "year", name=op.f("pk_complaint_counter")),
    )
    op.create_table(
        "complaint_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_roles", sa.JSON(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        _timestamp("at"),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaint.id"], name=op.f("fk_complaint_event_complaint_id_complaint")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_event")),
    )
    op.create_index(
        op.f("ix_complaint_event_complaint_id"), "complaint_event", ["complaint_id"], unique=False
    )


def _drop_complaint_tables() -> None:
    op.drop_index(op.f("ix_complaint_event_complaint_id"), table_name="complaint_event")
    op.drop_table("complaint_event")
    op.drop_table("complaint_counter")
    op.drop_index("ix_complaint_office_status_due", table_name="complaint")
    op.drop_index("ix_complaint_office_received", table_name="complaint")
    op.drop_index(op.f("ix_complaint_inquiry_id"), table_name="complaint")
    op.drop_table("complaint")
    op.drop_table("complaint_category")
