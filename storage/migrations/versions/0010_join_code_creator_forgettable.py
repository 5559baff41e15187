"""join codes outlive a forgotten creator; handled requests; members' ballot salts; sealed polls; feedback counts leave the database

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:20:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The feedback limit is counted in memory now: no stored row pairs a count with a text.
    op.drop_table('anonymous_uses')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ballot_salt', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shown_tally', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('final_tally', sa.Text(), nullable=True))
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.alter_column('sector', existing_type=sqlmodel.sql.sqltypes.AutoString(length=40),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=120), existing_nullable=True)
        batch_op.alter_column('answers', existing_type=sqlmodel.sql.sqltypes.AutoString(length=100),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=120), existing_nullable=False)
    op.create_table('poll_keys',
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('wrapped', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], ),
    sa.PrimaryKeyConstraint('poll_id')
    )
    with op.batch_alter_table('join_codes', schema=None) as batch_op:
        batch_op.alter_column('created_by', existing_type=sa.Integer(), nullable=True)
    op.create_table('handled_requests',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('handled_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handled_requests_at'), ['at'], unique=False)


def downgrade() -> None:
    op.create_table('anonymous_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('anonymous_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_anonymous_uses_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_anonymous_uses_key_hash'), ['key_hash'], unique=False)
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('ballot_salt')
    op.drop_table('poll_keys')
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.alter_column('sector', existing_type=sqlmodel.sql.sqltypes.AutoString(length=120),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=40), existing_nullable=True)
        batch_op.alter_column('answers', existing_type=sqlmodel.sql.sqltypes.AutoString(length=120),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=100), existing_nullable=False)
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.drop_column('final_tally')
        batch_op.drop_column('shown_tally')
    op.drop_table('handled_requests')
    with op.batch_alter_table('join_codes', schema=None) as batch_op:
        batch_op.alter_column('created_by', existing_type=sa.Integer(), nullable=False)
