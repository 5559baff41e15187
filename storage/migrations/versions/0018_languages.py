"""languages: the coalition's default, a channel's, a member's own

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 16:20:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('coalitions') as batch:
        batch.add_column(
            sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), server_default='en', nullable=False)
        )
    with op.batch_alter_table('channels') as batch:
        batch.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
    with op.batch_alter_table('members') as batch:
        batch.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('members') as batch:
        batch.drop_column('language')
    with op.batch_alter_table('channels') as batch:
        batch.drop_column('language')
    with op.batch_alter_table('coalitions') as batch:
        batch.drop_column('language')
