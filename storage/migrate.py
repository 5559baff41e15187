"""Alembic, driven from code so that no alembic.ini has to sit in the user's working directory.

Alembic is imported only when a migration has to run: a database already at `HEAD` is recognised
by one query, which keeps a start-up (`printf '/coalition help' | coalition-bot console`) fast.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0028"  # the newest migration; a test checks it is Alembic's head


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    recorded = await recorded_revision(engine)
    if revision == "head" and recorded == HEAD:
        return  # nothing to do, and no need to load Alembic to find that out
    log = logging.getLogger(__name__)
    saved: Path | None = None
    if engine.dialect.name == "sqlite" and recorded is not None and engine.url.database:
        import asyncio

        from storage.backup import before_migration

        # A migration that went wrong must not cost the coalition its data: a copy first.
        saved = await asyncio.to_thread(before_migration, Path(engine.url.database), recorded)
        log.warning("Migrating the database from %s; a copy is at %s", recorded, saved)
    from alembic import command

    logging.getLogger("alembic").setLevel(logging.WARNING)
    config = alembic_config()

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    try:
        await migrating(engine, run)
    except BaseException:
        if saved is not None:
            log.error("The migration failed; the database before it is at %s", saved)
        raise
    if saved is not None:
        # The copy holds open polls' sealed keys beside their ballots, like the database; kept, it
        # would keep those voters linkable (with the secret) long after their polls closed.
        saved.unlink(missing_ok=True)
        log.warning("Migrated to %s; the copy taken before it is removed", revision if revision != "head" else HEAD)


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


async def recorded_revision(engine: AsyncEngine) -> str | None:
    """The revision the database records, read directly; None when it has none yet."""
    async with engine.connect() as conn:
        try:
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        except DBAPIError:
            return None  # a new database: no alembic_version table yet


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
