"""fan-outs: a reminder or nudge to many members, queued a slice at a time; engagement kept per
day, so a report reads a row a day

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 23:15:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

import storage.types


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'fanouts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('coalition_id', sa.Integer(), nullable=False),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('stamp', sa.Integer(), nullable=False),
        sa.Column('requested_by', sa.Integer(), nullable=True),
        sa.Column('after_member_id', sa.Integer(), nullable=False),
        sa.Column('reached', sa.Integer(), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['coalition_id'], ['coalitions.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'engagement_days',
        sa.Column('coalition_id', sa.Integer(), nullable=False),
        sa.Column('day', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('kept_version', sa.Integer(), nullable=True),
        sa.Column('meetings', sa.Integer(), nullable=False),
        sa.Column('attendance', sa.Text(), nullable=False),
        sa.Column('rsvps', sa.Text(), nullable=False),
        sa.Column('active', sa.LargeBinary(), nullable=False),
        sa.Column('active_sectors', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['coalition_id'], ['coalitions.id']),
        sa.PrimaryKeyConstraint('coalition_id', 'day'),
    )
    with op.batch_alter_table('rsvps') as batch:
        batch.add_column(sa.Column('previous_at', storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rsvps') as batch:
        batch.drop_column('previous_at')
    op.drop_table('engagement_days')
    op.drop_table('fanouts')
