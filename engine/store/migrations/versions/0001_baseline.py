"""baseline: the schema before migrations

Revision ID: 0001
Revises: 
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.common
from engine.store import job_counts

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('runbook',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', models.common.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.common.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('runbook', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runbook_name'), ['name'], unique=True)

    op.create_table('schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('runbook_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('cron', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('interval_s', sa.Integer(), nullable=True),
    sa.Column('at', models.common.UTCDateTime(timezone=True), nullable=True),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('misfire_grace_s', sa.Integer(), nullable=False),
    sa.Column('created_at', models.common.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.common.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_fired_at', models.common.UTCDateTime(timezone=True), nullable=True),
    sa.Column('misses', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_runbook_name'), ['runbook_name'], unique=False)

    op.create_table('schedulerlock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('expires_at', models.common.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('runbook_id', sa.Integer(), nullable=False),
    sa.Column('runbook_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('runbook_title', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('runbook_version', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sa.Enum('scheduled', 'queued', 'running', 'waiting_for_approval', 'paused', 'completed', 'failed', 'cancelled', name='jobstatus', native_enum=False, length=32), nullable=False),
    sa.Column('trigger', sa.Enum('manual', 'schedule', 'api', 'rerun', 'cli', name='trigger', native_enum=False, length=32), nullable=False),
    sa.Column('started_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('created_at', models.common.UTCDateTime(timezone=True), nullable=False),
    sa.Column('scheduled_for', models.common.UTCDateTime(timezone=True), nullable=True),
    sa.Column('queued_at', models.common.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', models.common.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', models.common.UTCDateTime(timezone=True), nullable=True),
    sa.Column('step_count', sa.Integer(), nullable=False),
    sa.Column('steps_done', sa.Integer(), nullable=False),
    sa.Column('current_step', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('error_kind', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('error_message', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('requested_action', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('rerun_of', sa.Integer(), nullable=True),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('worker_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('lease_expires_at', models.common.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('steps_succeeded', sa.Integer(), nullable=False),
    sa.Column('steps_failed', sa.Integer(), nullable=False),
    sa.Column('steps_skipped', sa.Integer(), nullable=False),
    sa.Column('retry_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rerun_of'], ['job.id'], ),
    sa.ForeignKeyConstraint(['runbook_id'], ['runbook.id'], ),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedule.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index('ix_job_created', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_lease_expires_at'), ['lease_expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_rerun_of'), ['rerun_of'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_runbook_id'), ['runbook_id'], unique=False)
        batch_op.create_index('ix_job_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index('ux_job_schedule_occurrence', ['schedule_id', 'scheduled_for'], unique=True)

    op.create_table('auditevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', models.common.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('status_before', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('status_after', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auditevent_job_id'), ['job_id'], unique=False)

    op.create_table('jobevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', models.common.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('jobevent', schema=None) as batch_op:
        batch_op.create_index('ix_jobevent_job_id_id', ['job_id', 'id'], unique=False)

    op.create_table('steprun',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('iteration', sa.Integer(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('status', sa.Enum('running', 'success', 'failed', 'skipped', name='stepstatus', native_enum=False, length=32), nullable=False),
    sa.Column('started_at', models.common.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', models.common.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('selector_used', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('captures', sa.JSON(), nullable=False),
    sa.Column('error_kind', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('error_message', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('diagnostics', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], ),
    sa.ForeignKeyConstraint(['parent_id'], ['steprun.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('steprun', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_steprun_job_id'), ['job_id'], unique=False)

    op.create_table('artifact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('step_run_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('screenshot', 'video', 'export', 'download', 'trace', name='artifactkind', native_enum=False, length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', models.common.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], ),
    sa.ForeignKeyConstraint(['step_run_id'], ['steprun.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('artifact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_artifact_job_id'), ['job_id'], unique=False)

    job_counts.install(op.get_bind())  # the status counts and their triggers


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS job_status_count")
    with op.batch_alter_table('artifact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_artifact_job_id'))

    op.drop_table('artifact')
    with op.batch_alter_table('steprun', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_steprun_job_id'))

    op.drop_table('steprun')
    with op.batch_alter_table('jobevent', schema=None) as batch_op:
        batch_op.drop_index('ix_jobevent_job_id_id')

    op.drop_table('jobevent')
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auditevent_job_id'))

    op.drop_table('auditevent')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ux_job_schedule_occurrence')
        batch_op.drop_index('ix_job_status_created')
        batch_op.drop_index(batch_op.f('ix_job_runbook_id'))
        batch_op.drop_index(batch_op.f('ix_job_rerun_of'))
        batch_op.drop_index(batch_op.f('ix_job_lease_expires_at'))
        batch_op.drop_index('ix_job_created')

    op.drop_table('job')
    op.drop_table('schedulerlock')
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_runbook_name'))

    op.drop_table('schedule')
    with op.batch_alter_table('runbook', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runbook_name'))

    op.drop_table('runbook')
