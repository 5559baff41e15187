"""Persistence: SQLModel tables, the async engine, repositories and Alembic migrations.

Nothing outside this package writes SQL; services receive repositories bound to one session.
"""

from storage.database import Database
from storage.repositories import Repositories

__all__ = ["Database", "Repositories"]
