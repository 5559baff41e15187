"""join codes outlive a forgotten creator

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('join_codes', schema=None) as batch_op:
        batch_op.alter_column('created_by', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('join_codes', schema=None) as batch_op:
        batch_op.alter_column('created_by', existing_type=sa.Integer(), nullable=False)
