"""schedules: an overlap rule, kept after deletion, intervals counted from their last
change; the scheduler lock says since when

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

import models.common  # noqa: F401  (UTCDateTime)

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NOT NULL with a default: SQLite's ALTER TABLE ADD COLUMN takes it as is.
    op.add_column('schedule', sa.Column(
        'overlap', sa.Enum('skip', 'queue', 'allow', name='scheduleoverlap', native_enum=False,
                           length=32), nullable=False, server_default='skip'))
    op.add_column('schedule', sa.Column('deleted_at', models.common.UTCDateTime(timezone=True),
                                        nullable=True))
    op.add_column('schedule', sa.Column('interval_from',
                                        models.common.UTCDateTime(timezone=True), nullable=True))
    op.add_column('schedulerlock', sa.Column('since', models.common.UTCDateTime(timezone=True),
                                             nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('schedulerlock') as batch:
        batch.drop_column('since')
    with op.batch_alter_table('schedule') as batch:
        batch.drop_column('interval_from')
        batch.drop_column('deleted_at')
        batch.drop_column('overlap')
