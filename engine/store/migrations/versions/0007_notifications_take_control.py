"""notification channels, their deliveries and the notifier's cursor; who holds control of
a job's browser page (take control)

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.common  # noqa: F401  (UTCDateTime)

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
WHEN = models.common.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'notificationchannel',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', S(), nullable=False),
        sa.Column('url', S(), nullable=False),
        sa.Column('shown_url', S(), nullable=False),
        sa.Column('kind', S(), nullable=False),
        sa.Column('signing_secret', S(), nullable=True),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('runbooks', sa.JSON(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_by', S(), nullable=True),
        sa.Column('created_at', WHEN(timezone=True), nullable=False),
        sa.Column('updated_at', WHEN(timezone=True), nullable=False),
        sa.Column('consecutive_failures', sa.Integer(), nullable=False),
        sa.Column('unhealthy_since', WHEN(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'))
    op.create_table(
        'notificationdelivery',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel_id', sa.Integer(), nullable=False),
        sa.Column('event', S(), nullable=False),
        sa.Column('key', S(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('title', S(), nullable=False),
        sa.Column('body', S(), nullable=False),
        sa.Column('link', S(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', S(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', WHEN(timezone=True), nullable=False),
        sa.Column('last_error', S(), nullable=True),
        sa.Column('created_at', WHEN(timezone=True), nullable=False),
        sa.Column('sent_at', WHEN(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['channel_id'], ['notificationchannel.id']),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ux_delivery_channel_key', 'notificationdelivery', ['channel_id', 'key'],
                    unique=True)
    op.create_index('ix_delivery_status_next', 'notificationdelivery',
                    ['status', 'next_attempt_at'])
    op.create_index(op.f('ix_notificationdelivery_channel_id'), 'notificationdelivery',
                    ['channel_id'])
    op.create_index(op.f('ix_notificationdelivery_job_id'), 'notificationdelivery', ['job_id'])
    op.create_table(
        'notifiercursor',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('last_event_id', sa.Integer(), nullable=False),
        sa.Column('updated_at', WHEN(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.add_column('job', sa.Column('control_holder', S(), nullable=True))
    op.add_column('job', sa.Column('control_since', WHEN(timezone=True), nullable=True))
    op.add_column('job', sa.Column('control_seen_at', WHEN(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('job') as batch:
        batch.drop_column('control_seen_at')
        batch.drop_column('control_since')
        batch.drop_column('control_holder')
    op.drop_table('notifiercursor')
    op.drop_index(op.f('ix_notificationdelivery_job_id'), table_name='notificationdelivery')
    op.drop_index(op.f('ix_notificationdelivery_channel_id'), table_name='notificationdelivery')
    op.drop_index('ix_delivery_status_next', table_name='notificationdelivery')
    op.drop_index('ux_delivery_channel_key', table_name='notificationdelivery')
    op.drop_table('notificationdelivery')
    op.drop_table('notificationchannel')
