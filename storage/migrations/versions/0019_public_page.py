"""the public page: a coalition's address and switch; what is public (meetings unless private,
polls and broadcasts when marked public); and the language a member's app is set to

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 19:30:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('coalitions') as batch:
        batch.add_column(sa.Column('page_slug', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True))
        batch.add_column(sa.Column('page_on', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.create_unique_constraint('uq_coalitions_page_slug', ['page_slug'])
    with op.batch_alter_table('meetings') as batch:
        batch.add_column(sa.Column('private', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('polls') as batch:
        batch.add_column(sa.Column('public', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('broadcasts') as batch:
        batch.add_column(sa.Column('public', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('members') as batch:
        batch.add_column(sa.Column('app_language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('members') as batch:
        batch.drop_column('app_language')
    with op.batch_alter_table('broadcasts') as batch:
        batch.drop_column('public')
    with op.batch_alter_table('polls') as batch:
        batch.drop_column('public')
    with op.batch_alter_table('meetings') as batch:
        batch.drop_column('private')
    with op.batch_alter_table('coalitions') as batch:
        batch.drop_constraint('uq_coalitions_page_slug', type_='unique')
        batch.drop_column('page_on')
        batch.drop_column('page_slug')
