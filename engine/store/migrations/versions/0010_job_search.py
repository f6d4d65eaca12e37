"""job search: the indexes the jobs list's filters use, and the full-text index (SQLite
FTS5 with its triggers, PostgreSQL a GIN index over a tsvector), filled from the jobs

Revision ID: 0010
Revises: 0009
"""
from alembic import op

from engine.store import job_fts

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    job_fts.install(op.get_bind())


def downgrade() -> None:
    job_fts.drop(op.get_bind())
