"""recovery: a retried job's origin and resume point; per step run the selector candidate
that won, the job a restored row came from, and how much its page changed

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('job') as batch:
        batch.add_column(sa.Column('retry_of', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('resume', sa.JSON(), nullable=True))
        batch.create_index(batch.f('ix_job_retry_of'), ['retry_of'], unique=False)
    with op.batch_alter_table('steprun') as batch:
        batch.add_column(sa.Column('candidate', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('restored_from', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('visual_change', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('steprun') as batch:
        batch.drop_column('visual_change')
        batch.drop_column('restored_from')
        batch.drop_column('candidate')
    with op.batch_alter_table('job') as batch:
        batch.drop_index(batch.f('ix_job_retry_of'))
        batch.drop_column('resume')
        batch.drop_column('retry_of')
