"""Unit directories per office; the unit's home office on escalations and consultations.

Existing escalations and consultations get the inquiry's own office as their unit's home
office, and each office's directory starts with the unit codes its work already names.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 02:09:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'office_unit',
        sa.Column('office_code', sa.String(length=32), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('home_office_code', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ['office_code'], ['office.code'], name=op.f('fk_office_unit_office_code_office')
        ),
        sa.ForeignKeyConstraint(
            ['home_office_code'],
            ['office.code'],
            name=op.f('fk_office_unit_home_office_code_office'),
        ),
        sa.PrimaryKeyConstraint('office_code', 'code', name=op.f('pk_office_unit')),
    )
    with op.batch_alter_table('inquiry') as batch:
        batch.add_column(sa.Column('escalated_unit_office', sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column('reopened_at', app.core.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table('consultation') as batch:
        batch.add_column(sa.Column('unit_office_code', sa.String(length=32), nullable=True))

    op.execute(
        "UPDATE inquiry SET escalated_unit_office = office_code "
        "WHERE escalated_unit_code IS NOT NULL"
    )
    op.execute(
        "UPDATE consultation SET unit_office_code = "
        "(SELECT i.office_code FROM inquiry i WHERE i.id = consultation.inquiry_id) "
        "WHERE unit_code IS NOT NULL"
    )
    op.execute(
        "INSERT INTO office_unit (office_code, code, name, home_office_code) "
        "SELECT DISTINCT office_code, escalated_unit_code, escalated_unit_code, office_code "
        "FROM inquiry WHERE escalated_unit_code IS NOT NULL "
        "UNION "
        "SELECT DISTINCT i.office_code, c.unit_code, c.unit_code, i.office_code "
        "FROM consultation c JOIN inquiry i ON i.id = c.inquiry_id "
        "WHERE c.unit_code IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table('consultation') as batch:
        batch.drop_column('unit_office_code')
    with op.batch_alter_table('inquiry') as batch:
        batch.drop_column('reopened_at')
        batch.drop_column('escalated_unit_office')
    op.drop_table('office_unit')
