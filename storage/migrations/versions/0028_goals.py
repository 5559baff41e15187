"""goals and their values

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 15:10:00
"""

from alembic import op
import sqlalchemy as sa

import storage.types


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'goals',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('coalition_id', sa.Integer(), sa.ForeignKey('coalitions.id'), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('measure', sa.String(length=300), nullable=False),
        sa.Column('unit', sa.String(length=40), nullable=True),
        sa.Column('baseline', sa.Float(), nullable=False),
        sa.Column('baseline_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('target', sa.Float(), nullable=False),
        sa.Column('target_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('lower_is_better', sa.Boolean(), nullable=False),
        sa.Column('sector', sa.String(length=40), nullable=True),
        sa.Column('public', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(length=12), nullable=False),
        sa.Column('source_ref', sa.String(length=300), nullable=True),
        sa.Column('owner_id', sa.Integer(), sa.ForeignKey('members.id'), nullable=True),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('outcome', sa.Text(), nullable=True),
        sa.Column('created_by', sa.Integer(), sa.ForeignKey('members.id'), nullable=True),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('closed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_goals_coalition_id', 'goals', ['coalition_id'])
    op.create_table(
        'goal_values',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('goal_id', sa.Integer(), sa.ForeignKey('goals.id'), nullable=False),
        sa.Column('period_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.Column('source', sa.String(length=300), nullable=True),
        sa.Column('recorded_by', sa.Integer(), sa.ForeignKey('members.id'), nullable=True),
        sa.Column('recorded_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('goal_id', 'period_at', name='uq_goal_value_period'),
    )
    op.create_index('ix_goal_values_goal_id', 'goal_values', ['goal_id'])


def downgrade() -> None:
    op.drop_table('goal_values')
    op.drop_table('goals')
