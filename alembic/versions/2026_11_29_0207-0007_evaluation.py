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


def upgrade() -> None:
    with op.batch_alter_table("inquiry") as batch_op:
        batch_op.add_column(sa.Column("first_responder", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("first_response_working_seconds", sa.Integer(), nullable=True)
        )
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


def downgrade() -> None:
    op.drop_index("ix_survey_response_office_submitted", table_name="survey_response")
    op.drop_table("survey_response")
    with op.batch_alter_table("inquiry") as batch_op:
        batch_op.drop_column("first_response_working_seconds")
        batch_op.drop_column("first_responder")
