"""Personal data: identity-number reads, privacy events, anonymised inquiries.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'identity_read',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('actor_roles', sa.JSON(), nullable=False),
        sa.Column('inquiry_id', sa.Uuid(), nullable=False),
        sa.Column('office_code', sa.String(length=32), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_read')),
    )
    op.create_index(
        'ix_identity_read_office_code_at', 'identity_read', ['office_code', 'at'], unique=False
    )
    op.create_index('ix_identity_read_inquiry_id', 'identity_read', ['inquiry_id'], unique=False)
    op.create_table(
        'privacy_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('subject_kind', sa.String(length=8), nullable=True),
        sa.Column('subject_digest', sa.String(length=64), nullable=True),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_event')),
    )
    with op.batch_alter_table('inquiry') as batch:
        batch.add_column(
            sa.Column('anonymised_at', app.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_index('ix_inquiry_closed_at', ['closed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inquiry') as batch:
        batch.drop_index('ix_inquiry_closed_at')
        batch.drop_column('anonymised_at')
    op.drop_table('privacy_event')
    op.drop_index('ix_identity_read_inquiry_id', table_name='identity_read')
    op.drop_index('ix_identity_read_office_code_at', table_name='identity_read')
    op.drop_table('identity_read')
