"""kept ballot counts for polls that are not anonymous

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 13:50:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('poll_tallies',
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('choices', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('ballots', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], ),
    sa.PrimaryKeyConstraint('poll_id', 'choices')
    )
    # The counts of the ballots already cast, in polls that are not anonymous.
    op.execute(
        "INSERT INTO poll_tallies (poll_id, choices, ballots) "
        "SELECT b.poll_id, b.choices, COUNT(*) FROM ballots b JOIN polls p ON p.id = b.poll_id "
        "WHERE p.anonymous = false GROUP BY b.poll_id, b.choices"
    )


def downgrade() -> None:
    op.drop_table('poll_tallies')
