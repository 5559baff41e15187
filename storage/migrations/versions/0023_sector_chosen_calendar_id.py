"""whether a member chose their sector themselves (only then does it count in survey figures);
each coalition's random calendar id (it was a hash of the anonymity secret)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 11:00:00
"""

import secrets

from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sectors set before this revision keep counting as they did: who set them was not recorded.
    with op.batch_alter_table('members') as batch:
        batch.add_column(sa.Column('sector_chosen', sa.Boolean(), nullable=False, server_default=sa.true()))
    # Calendars see each meeting's UID change once: a subscribed feed replaces its events; a file
    # imported before this version and imported again shows them twice.
    with op.batch_alter_table('coalitions') as batch:
        batch.add_column(sa.Column('calendar_id', sa.String(length=16), nullable=True))
    connection = op.get_bind()
    for (coalition_id,) in connection.execute(sa.text('SELECT id FROM coalitions')).all():
        connection.execute(
            sa.text('UPDATE coalitions SET calendar_id = :random WHERE id = :id'),
            {'random': secrets.token_hex(8), 'id': coalition_id},
        )
    with op.batch_alter_table('coalitions') as batch:
        batch.alter_column('calendar_id', existing_type=sa.String(length=16), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('coalitions') as batch:
        batch.drop_column('calendar_id')
    with op.batch_alter_table('members') as batch:
        batch.drop_column('sector_chosen')
