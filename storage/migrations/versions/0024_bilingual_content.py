"""a second-language version of broadcasts, polls and meetings, and the language they were written in

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 11:15:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

TABLES = ('broadcasts', 'polls', 'meetings')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('language', sa.String(length=8), nullable=True))
            batch.add_column(sa.Column('second', sa.Text(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('second')
            batch.drop_column('language')
