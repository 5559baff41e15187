"""a partial index of the outbox rows still to send, so claiming does not read delivered history

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


def downgrade() -> None:
    op.drop_index('ix_outbox_claimable', table_name='outbox')
