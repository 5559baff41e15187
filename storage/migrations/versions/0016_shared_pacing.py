"""rate-limit windows shared by every process on the database

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 15:45:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pacing_windows',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('paused_until', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('pacing_stamps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_pacing_stamps_key_at', 'pacing_stamps', ['key', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_pacing_stamps_key_at', table_name='pacing_stamps')
    op.drop_table('pacing_stamps')
    op.drop_table('pacing_windows')
