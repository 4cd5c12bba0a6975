"""Office mailboxes (IMAP in, SMTP out).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'mailbox',
        sa.Column('office_code', sa.String(length=32), nullable=False),
        sa.Column('address', sa.String(length=254), nullable=False),
        sa.Column('display_name', sa.String(length=200), nullable=True),
        sa.Column('imap_host', sa.String(length=253), nullable=True),
        sa.Column('imap_port', sa.Integer(), nullable=True),
        sa.Column('imap_security', sa.String(length=8), nullable=True),
        sa.Column('imap_user', sa.String(length=254), nullable=True),
        sa.Column('imap_password', sa.Text(), nullable=True),
        sa.Column('imap_folder', sa.String(length=200), nullable=False),
        sa.Column('imap_processed_folder', sa.String(length=200), nullable=True),
        sa.Column('imap_uidvalidity', sa.BigInteger(), nullable=True),
        sa.Column('imap_last_uid', sa.BigInteger(), nullable=False),
        sa.Column('imap_lease_until', app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('smtp_host', sa.String(length=253), nullable=True),
        sa.Column('smtp_port', sa.Integer(), nullable=True),
        sa.Column('smtp_security', sa.String(length=8), nullable=True),
        sa.Column('smtp_user', sa.String(length=254), nullable=True),
        sa.Column('smtp_password', sa.Text(), nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('last_polled_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['office_code'],
            ['office.code'],
            name=op.f('fk_mailbox_office_code_office'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('office_code', name=op.f('pk_mailbox')),
    )


def downgrade() -> None:
    op.drop_table('mailbox')
