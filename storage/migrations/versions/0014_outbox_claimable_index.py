"""a partial index of the outbox rows still to send, so claiming does not read delivered history;
an index of edits by the message they edit, so pruning does not scan the outbox per row

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 13:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

CLAIMABLE = "status IN ('pending', 'sending')"


def upgrade() -> None:
    op.create_index(
        'ix_outbox_claimable', 'outbox', ['platform', 'not_before'], unique=False,
        sqlite_where=sa.text(CLAIMABLE), postgresql_where=sa.text(CLAIMABLE),
    )
    op.create_index(op.f('ix_outbox_edit_of_id'), 'outbox', ['edit_of_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_outbox_edit_of_id'), table_name='outbox')
    op.drop_index('ix_outbox_claimable', table_name='outbox')
