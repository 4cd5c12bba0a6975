"""Inbound email: the raw messages received and their attachments.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'inbound_email',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('office_code', sa.String(length=32), nullable=False),
        sa.Column('message_id', sa.Text(), nullable=True),
        sa.Column('message_key', sa.String(length=64), nullable=False),
        sa.Column('sender', sa.String(length=254), nullable=True),
        sa.Column('subject', sa.String(length=300), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=True),
        sa.Column('inquiry_id', sa.Uuid(), nullable=True),
        sa.Column('inquiry_message_id', sa.Integer(), nullable=True),
        sa.Column('raw_key', sa.String(length=128), nullable=False),
        sa.Column('raw_sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('received_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['inquiry_id'], ['inquiry.id'], name=op.f('fk_inbound_email_inquiry_id_inquiry')
        ),
        sa.ForeignKeyConstraint(
            ['inquiry_message_id'],
            ['inquiry_message.id'],
            name=op.f('fk_inbound_email_inquiry_message_id_inquiry_message'),
        ),
        sa.ForeignKeyConstraint(
            ['office_code'], ['office.code'], name=op.f('fk_inbound_email_office_code_office')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_email')),
        sa.UniqueConstraint(
            'office_code', 'message_key', name='uq_inbound_email_office_message_key'
        ),
    )
    with op.batch_alter_table('inbound_email', schema=None) as batch_op:
        batch_op.create_index(
            'ix_inbound_email_inquiry', ['inquiry_id', 'received_at'], unique=False
        )
    op.create_table(
        'email_attachment',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('inquiry_id', sa.Uuid(), nullable=False),
        sa.Column('inbound_email_id', sa.Uuid(), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=127), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('blob_key', sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ['inbound_email_id'],
            ['inbound_email.id'],
            name=op.f('fk_email_attachment_inbound_email_id_inbound_email'),
        ),
        sa.ForeignKeyConstraint(
            ['inquiry_id'], ['inquiry.id'], name=op.f('fk_email_attachment_inquiry_id_inquiry')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_email_attachment')),
    )
    with op.batch_alter_table('email_attachment', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_email_attachment_inbound_email_id'), ['inbound_email_id'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_email_attachment_inquiry_id'), ['inquiry_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('email_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_attachment_inquiry_id'))
        batch_op.drop_index(batch_op.f('ix_email_attachment_inbound_email_id'))
    op.drop_table('email_attachment')
    with op.batch_alter_table('inbound_email', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_email_inquiry')
    op.drop_table('inbound_email')
