"""decisions: proposals, their earlier versions, and members' positions

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 11:40:00
"""

from alembic import op
import sqlalchemy as sa

import storage.types


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'proposals',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('coalition_id', sa.Integer(), sa.ForeignKey('coalitions.id'), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('rules', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('channel_ids', sa.Text(), nullable=False),
        sa.Column('created_by', sa.Integer(), sa.ForeignKey('members.id'), nullable=True),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('closes_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('result', sa.Text(), nullable=True),
        sa.Column('outcome', sa.Text(), nullable=True),
        sa.Column('owner_id', sa.Integer(), sa.ForeignKey('members.id'), nullable=True),
        sa.Column('review_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('review_told_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('reviews_id', sa.Integer(), sa.ForeignKey('proposals.id'), nullable=True),
        sa.Column('public', sa.Boolean(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=True),
        sa.Column('second', sa.Text(), nullable=True),
    )
    op.create_index('ix_proposals_coalition_id', 'proposals', ['coalition_id'])
    op.create_index('ix_proposals_status', 'proposals', ['status'])
    op.create_index('ix_proposals_closes_at', 'proposals', ['closes_at'])
    op.create_index('ix_proposals_review_at', 'proposals', ['review_at'])
    op.create_table(
        'proposal_versions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('proposal_id', sa.Integer(), sa.ForeignKey('proposals.id'), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('replaced_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_proposal_versions_proposal_id', 'proposal_versions', ['proposal_id'])
    op.create_table(
        'positions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('proposal_id', sa.Integer(), sa.ForeignKey('proposals.id'), nullable=False),
        sa.Column('member_id', sa.Integer(), sa.ForeignKey('members.id'), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('position', sa.String(length=12), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.Column('taken_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('proposal_id', 'member_id', name='uq_position_member'),
    )
    op.create_index('ix_positions_proposal_id', 'positions', ['proposal_id'])
    op.create_index('ix_positions_member_id', 'positions', ['member_id'])
    with op.batch_alter_table('action_items') as batch:
        batch.add_column(sa.Column('decision_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_action_items_decision_id', 'proposals', ['decision_id'], ['id'])
        batch.create_index('ix_action_items_decision_id', ['decision_id'])


def downgrade() -> None:
    with op.batch_alter_table('action_items') as batch:
        batch.drop_index('ix_action_items_decision_id')
        batch.drop_constraint('fk_action_items_decision_id', type_='foreignkey')
        batch.drop_column('decision_id')
    op.drop_index('ix_positions_member_id', table_name='positions')
    op.drop_index('ix_positions_proposal_id', table_name='positions')
    op.drop_table('positions')
    op.drop_index('ix_proposal_versions_proposal_id', table_name='proposal_versions')
    op.drop_table('proposal_versions')
    op.drop_index('ix_proposals_review_at', table_name='proposals')
    op.drop_index('ix_proposals_closes_at', table_name='proposals')
    op.drop_index('ix_proposals_status', table_name='proposals')
    op.drop_index('ix_proposals_coalition_id', table_name='proposals')
    op.drop_table('proposals')
