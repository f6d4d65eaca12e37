"""history: runbook versions as saved (filled from the runbooks and the jobs' own YAML),
archived runbooks, kept jobs and swept artifacts

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.common  # noqa: F401  (UTCDateTime)

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
WHEN = models.common.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'runbookversion',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('runbook_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('title', S(), nullable=False),
        sa.Column('source', S(), nullable=False),
        sa.Column('saved_by', S(), nullable=True),
        sa.Column('saved_at', WHEN(), nullable=False),
        sa.ForeignKeyConstraint(['runbook_id'], ['runbook.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('runbook_id', 'version', name='ux_runbookversion'),
    )
    with op.batch_alter_table('runbookversion') as batch:
        batch.create_index(batch.f('ix_runbookversion_runbook_id'), ['runbook_id'],
                           unique=False)
    # What is known of earlier versions: each job keeps the YAML it ran; then the current.
    op.execute("""
        INSERT INTO runbookversion (runbook_id, version, title, source, saved_by, saved_at)
        SELECT j.runbook_id, j.runbook_version, MIN(j.runbook_title), MIN(j.source), NULL,
               MIN(j.created_at)
        FROM job j JOIN runbook r ON r.id = j.runbook_id AND j.runbook_version < r.version
        GROUP BY j.runbook_id, j.runbook_version""")
    op.execute("""
        INSERT INTO runbookversion (runbook_id, version, title, source, saved_by, saved_at)
        SELECT id, version, title, source, NULL, updated_at FROM runbook""")
    with op.batch_alter_table('runbook') as batch:
        batch.add_column(sa.Column('archived_at', WHEN(), nullable=True))
        batch.add_column(sa.Column('archived_by', S(), nullable=True))
    # NOT NULL with a default: SQLite's ALTER TABLE ADD COLUMN takes it as is.
    op.add_column('job', sa.Column('keep', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.add_column('job', sa.Column('artifacts_deleted_at', WHEN(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('job') as batch:
        batch.drop_column('artifacts_deleted_at')
        batch.drop_column('keep')
    with op.batch_alter_table('runbook') as batch:
        batch.drop_column('archived_by')
        batch.drop_column('archived_at')
    op.drop_table('runbookversion')
