"""indexes on the times engagement reports read by period, and on when outbox rows were made
(the daily pruning reads only the rows old enough)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 16:00:00
"""

from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_rsvps_at', 'rsvps', ['at'], unique=False)
    op.create_index('ix_acknowledgements_acked_at', 'acknowledgements', ['acked_at'], unique=False)
    op.create_index('ix_ballots_cast_at', 'ballots', ['cast_at'], unique=False)
    op.create_index('ix_broadcasts_send_at', 'broadcasts', ['send_at'], unique=False)
    op.create_index('ix_outbox_created_at', 'outbox', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_created_at', table_name='outbox')
    op.drop_index('ix_broadcasts_send_at', table_name='broadcasts')
    op.drop_index('ix_ballots_cast_at', table_name='ballots')
    op.drop_index('ix_acknowledgements_acked_at', table_name='acknowledgements')
    op.drop_index('ix_rsvps_at', table_name='rsvps')
