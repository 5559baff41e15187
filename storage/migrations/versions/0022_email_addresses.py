"""members who take part by email: their addresses and whether mail goes to them

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 08:20:00
"""

from alembic import op
import sqlalchemy as sa

import storage.types


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'email_addresses',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('coalition_id', sa.Integer(), sa.ForeignKey('coalitions.id'), nullable=False),
        sa.Column('member_id', sa.Integer(), sa.ForeignKey('members.id'), nullable=False),
        sa.Column('address', sa.String(length=254), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('confirmed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('coalition_id', 'address', name='uq_email_address'),
        sa.UniqueConstraint('member_id', name='uq_email_member'),
    )
    op.create_index('ix_email_addresses_coalition_id', 'email_addresses', ['coalition_id'])
    # A channel that gets every meeting and poll announcement, not only those sent to its tags
    # (a member's own email channel).
    with op.batch_alter_table('channels') as batch:
        batch.add_column(sa.Column('every_announcement', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('channels') as batch:
        batch.drop_column('every_announcement')
    op.drop_index('ix_email_addresses_coalition_id', table_name='email_addresses')
    op.drop_table('email_addresses')
