"""anonymous proposals: sealed positions and their keys, the count shown while open

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 14:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('proposals') as batch:
        batch.add_column(sa.Column('anonymous', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('shown', sa.Text(), nullable=True))
    op.create_table(
        'proposal_keys',
        sa.Column('proposal_id', sa.Integer(), sa.ForeignKey('proposals.id'), nullable=False),
        sa.Column('wrapped', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('proposal_id'),
    )
    op.create_table(
        'sealed_positions',
        sa.Column('proposal_id', sa.Integer(), sa.ForeignKey('proposals.id'), nullable=False),
        sa.Column('voter_key', sa.String(length=64), nullable=False),
        sa.Column('sealed', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('proposal_id', 'voter_key'),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table('sealed_positions')
    op.drop_table('proposal_keys')
    with op.batch_alter_table('proposals') as batch:
        batch.drop_column('shown')
        batch.drop_column('anonymous')
