"""pacing stamps say whether the platform has answered: a send still on its way never ages out of
its window, in any process

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 01:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Stamps already there are at most a window old, and their sends long answered.
    with op.batch_alter_table('pacing_stamps') as batch:
        batch.add_column(sa.Column('answered', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('pacing_stamps') as batch:
        batch.drop_column('answered')
