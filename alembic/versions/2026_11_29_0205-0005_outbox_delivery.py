"""Outbox delivery state, webhook endpoints.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# -- outbox delivery ------------------------------------------------------------------------

# PostgreSQL only: wake the delivery worker (LISTEN infodesk_outbox) when a row is written.
_NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION infodesk_outbox_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('infodesk_outbox', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
_NOTIFY_TRIGGER = """
CREATE TRIGGER outbox_message_notify AFTER INSERT ON outbox_message
FOR EACH STATEMENT EXECUTE FUNCTION infodesk_outbox_notify()
"""


def _upgrade_outbox() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office_code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('locked_until', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('locked_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('requeued_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('inquiry_reference', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('requester_handle', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('ticket_number', sa.String(length=64), nullable=True))
    # Rows written before: their office and kind come from the inquiry and its message,
    # the inquiry's details as they are now.
    op.execute(
        "UPDATE outbox_message SET "
        "office_code = (SELECT i.office_code FROM inquiry i WHERE i.id = outbox_message.inquiry_id), "
        "inquiry_reference = (SELECT i.reference FROM inquiry i WHERE i.id = outbox_message.inquiry_id), "
        "requester_handle = (SELECT i.requester_handle FROM inquiry i WHERE i.id = outbox_message.inquiry_id), "
        "ticket_number = (SELECT i.ticket_number FROM inquiry i WHERE i.id = outbox_message.inquiry_id), "
        "kind = (SELECT m.kind FROM inquiry_message m WHERE m.id = outbox_message.message_id), "
        "updated_at = created_at"
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('office_code', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('kind', existing_type=sa.String(length=24), nullable=False)
        batch_op.alter_column('updated_at', existing_type=app.core.db.UTCDateTime(timezone=True), nullable=False)
        batch_op.alter_column('inquiry_id', existing_type=sa.Uuid(), nullable=True)
        batch_op.alter_column('message_id', existing_type=sa.Integer(), nullable=True)
        batch_op.drop_index('ix_outbox_message_inquiry_id')
        batch_op.create_index('ix_outbox_message_inquiry_order', ['inquiry_id', 'id'], unique=False)
        batch_op.create_index(
            'ix_outbox_message_inquiry_pending', ['inquiry_id', 'id'], unique=False,
            postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index('ix_outbox_message_office_status', ['office_code', 'status', 'id'], unique=False)

    with op.batch_alter_table('sla_policy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledge', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('sla_policy', schema=None) as batch_op:
        batch_op.alter_column('acknowledge', existing_type=sa.Boolean(), server_default=None)

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_NOTIFY_FUNCTION)
        op.execute(_NOTIFY_TRIGGER)


def _downgrade_outbox() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS outbox_message_notify ON outbox_message')
        op.execute('DROP FUNCTION IF EXISTS infodesk_outbox_notify()')
    with op.batch_alter_table('sla_policy', schema=None) as batch_op:
        batch_op.drop_column('acknowledge')
    # Rows without an inquiry cannot exist under the older schema.
    op.execute('DELETE FROM outbox_message WHERE inquiry_id IS NULL OR message_id IS NULL')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_office_status')
        batch_op.drop_index('ix_outbox_message_inquiry_pending')
        batch_op.drop_index('ix_outbox_message_inquiry_order')
        batch_op.create_index('ix_outbox_message_inquiry_id', ['inquiry_id'], unique=False)
        batch_op.alter_column('message_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('inquiry_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column('ticket_number')
        batch_op.drop_column('requester_handle')
        batch_op.drop_column('inquiry_reference')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('requeued_at')
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('locked_by')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('kind')
        batch_op.drop_column('office_code')


# -- webhook endpoints (added by the webhooks part; keep below) ------------------------------


def _upgrade_webhooks() -> None:
    op.create_table('webhook_endpoint',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('office_code', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('secret_encrypted', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['office_code'], ['office.code'], name=op.f('fk_webhook_endpoint_office_code_office')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoint')),
    sa.UniqueConstraint('office_code', 'channel', name='uq_webhook_endpoint_office_channel')
    )


def _downgrade_webhooks() -> None:
    op.drop_table('webhook_endpoint')


def upgrade() -> None:
    _upgrade_outbox()
    _upgrade_webhooks()


def downgrade() -> None:
    _downgrade_webhooks()
    _downgrade_outbox()
