"""what the page did during a step: dialogs, tabs, warnings

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

COLUMNS = ("dialogs", "tabs", "warnings")


def upgrade() -> None:
    # NOT NULL with a default: SQLite's ALTER TABLE ADD COLUMN takes it as is.
    for name in COLUMNS:
        op.add_column('steprun', sa.Column(name, sa.JSON(), nullable=False,
                                           server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table('steprun') as batch:
        for name in COLUMNS:
            batch.drop_column(name)
