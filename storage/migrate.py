"""Alembic, driven from code so that no alembic.ini has to sit in the user's working directory."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    logging.getLogger("alembic").setLevel(logging.WARNING)
    config = alembic_config()

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    await migrating(engine, run)


async def migrating(engine: AsyncEngine, work: Callable[[Connection], None]) -> None:
    """Run `work` (Alembic commands) in one transaction. On SQLite, foreign keys are off meanwhile:
    a batch migration rebuilds a table by copy, drop and rename, and dropping a table that rows
    point at is refused (and a deferred check never forgives it, since a rename restores no row).
    They are checked in full before the commit instead."""
    async with engine.connect() as conn:
        raw = None
        if engine.dialect.name == "sqlite":
            raw = await conn.get_raw_connection()
            # On the driver: outside the transaction, where SQLite honours this pragma.
            await raw.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            async with conn.begin():
                await conn.run_sync(work)
                if raw is not None:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"the migration left rows pointing at nothing: {broken[:5]}")
        finally:
            if raw is not None:
                await raw.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
