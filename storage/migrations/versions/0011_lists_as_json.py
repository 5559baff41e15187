"""lists (tags, sectors, channel ids, lead times, who may vote) stored as JSON instead of comma-joined text

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 12:10:00
"""

import json

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# table, column, old length, element type, nullable
COLUMNS = [
    ("coalitions", "reminder_minutes", 100, int, False),
    ("coalitions", "sectors", 500, str, False),
    ("coalitions", "wanted_sectors", 500, str, False),
    ("channels", "tags", 500, str, False),
    ("members", "reminder_minutes", 100, int, True),
    ("broadcasts", "tags", 500, str, False),
    ("meetings", "channel_ids", 2000, int, False),
    ("polls", "eligible", 500, str, False),
    ("polls", "channel_ids", 2000, int, False),
]


def _to_json(value, kind, nullable):
    if value is None or (nullable and value == ""):
        return None
    if value == "off":  # lead times switched off
        return "[]"
    return json.dumps([kind(part) for part in value.split(",") if part.strip()], ensure_ascii=False)


def _convert(table, column, change) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table}")).all()
    for row_id, value in rows:
        bind.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :id"), {"v": change(value), "id": row_id})


def upgrade() -> None:
    for table, column, length, kind, nullable in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sqlmodel.sql.sqltypes.AutoString(length=length), type_=sa.Text(),
                existing_nullable=nullable,
            )
        _convert(table, column, lambda v, kind=kind, nullable=nullable: _to_json(v, kind, nullable))


def downgrade() -> None:
    for table, column, length, kind, nullable in reversed(COLUMNS):
        def back(value, column=column, nullable=nullable):
            if value is None:
                return None
            items = json.loads(value)
            if column == "reminder_minutes" and not items:
                return "off"
            return ",".join(str(i) for i in items)

        _convert(table, column, back)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.Text(), type_=sqlmodel.sql.sqltypes.AutoString(length=length),
                existing_nullable=nullable,
            )
