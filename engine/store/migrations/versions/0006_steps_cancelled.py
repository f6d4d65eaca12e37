"""jobs: how many top-level steps a Cancel stopped (step status `cancelled`)

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NOT NULL with a default: SQLite's ALTER TABLE ADD COLUMN takes it as is.
    op.add_column('job', sa.Column('steps_cancelled', sa.Integer(), nullable=False,
                                   server_default='0'))
    if op.get_bind().dialect.name == 'postgresql':
        # A step status column made before 0001 may be VARCHAR(7): "cancelled" needs 9
        # (SQLite ignores lengths). Widening a VARCHAR rewrites nothing.
        op.alter_column('steprun', 'status', type_=sa.String(32),
                        existing_nullable=False)


def downgrade() -> None:
    # The step rows a cancel stopped read as failed to a version without the status.
    op.execute("UPDATE steprun SET status = 'failed' WHERE status = 'cancelled'")
    with op.batch_alter_table('job') as batch:
        batch.drop_column('steps_cancelled')
