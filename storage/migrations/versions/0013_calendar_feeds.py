"""calendar feed addresses: a generation per member and for the coalition's public feed

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 13:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_generation', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('coalitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_feed_generation', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('coalitions', schema=None) as batch_op:
        batch_op.drop_column('public_feed_generation')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('feed_generation')
