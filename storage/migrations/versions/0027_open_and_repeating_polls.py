"""open polls (members add options) and polls that repeat (--every)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 14:30:00
"""

from alembic import op
import sqlalchemy as sa

import storage.types


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('polls') as batch:
        batch.add_column(sa.Column('open_options', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('every', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('series_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('round', sa.Integer(), nullable=False, server_default='1'))
        batch.add_column(sa.Column('next_round_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key('fk_polls_series_id', 'polls', ['series_id'], ['id'])
        batch.create_index('ix_polls_series_id', ['series_id'])
        batch.create_index('ix_polls_next_round_at', ['next_round_at'])
        # One poll per round of a series, whatever two processes opening the next round at once do.
        batch.create_unique_constraint('uq_polls_series_round', ['series_id', 'round'])


def downgrade() -> None:
    with op.batch_alter_table('polls') as batch:
        batch.drop_constraint('uq_polls_series_round', type_='unique')
        batch.drop_index('ix_polls_next_round_at')
        batch.drop_index('ix_polls_series_id')
        batch.drop_constraint('fk_polls_series_id', type_='foreignkey')
        batch.drop_column('next_round_at')
        batch.drop_column('round')
        batch.drop_column('series_id')
        batch.drop_column('every')
        batch.drop_column('open_options')
