"""The async engine and sessions.

SQLite gets WAL (readers never block the writer) and a busy timeout (a second process waits for
the lock instead of failing), which is what lets a Slack process and a Discord process share one
file. PostgreSQL goes through asyncpg.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

SQLITE_BUSY_TIMEOUT_MS = 10_000


_background: ContextVar[bool] = ContextVar("background", default=False)


@contextmanager
def in_background() -> Iterator[None]:
    """Sessions opened within (and in tasks started within) are background work: nobody is
    waiting for an answer, so no burst of clicks needs to make room for them sooner."""
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        if self.is_sqlite:
            owner_only(sqlite_path(url))
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        self._turn = asyncio.Lock() if self.is_sqlite else None
        self._queued = 0
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False, autoflush=True)

    @property
    def queued(self) -> int:
        """How many of this process's sessions for members' requests are waiting for their turn on
        SQLite (always 0 on PostgreSQL, where sessions do not take turns): a long writer can yield
        to them sooner. Background work (see `in_background`) is not counted: a burst of clicks
        need not shrink for the deliveries and wake-ups it causes itself."""
        return self._queued

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction the caller commits; anything not committed is rolled back.

        On SQLite every transaction takes the single write lock (BEGIN IMMEDIATE). Within one
        process, sessions take turns on an asyncio lock first: waiting there hands the database
        over the moment it is free, where SQLite's own busy handler would sleep and retry, which
        under a burst of votes costs more time than the writes. Sessions are never nested, and
        none is held across a call to Slack or Discord. Other processes still meet the busy timeout.
        """
        if self._turn is None:
            async with self._rolled_back_unless_committed() as session:
                yield session
            return
        counted = not _background.get()
        self._queued += counted
        try:
            await self._turn.acquire()
        finally:
            self._queued -= counted
        try:
            async with self._rolled_back_unless_committed() as session:
                yield session
        finally:
            self._turn.release()

    @asynccontextmanager
    async def _rolled_back_unless_committed(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise

    async def write_problem(self) -> str | None:
        """Whether a write transaction can begin, without writing: SQLite's write lock is taken (every
        session here begins IMMEDIATE), PostgreSQL is not read-only. What is wrong, or None."""
        from sqlalchemy import text

        async with self.session() as session:
            if not self.is_sqlite:
                read_only = (await session.exec(text("SHOW transaction_read_only"))).one()[0]  # type: ignore[call-overload]
                if read_only == "on":
                    return "the database is read-only (a replica, or in recovery)"
            else:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
            await session.rollback()
        return None

    def erase_pending(self) -> str | None:
        """Since when an erasure waits for the write-ahead log to be emptied, or None."""
        return erase_pending_since(self.engine)

    async def finish_erasure(self) -> bool:
        """Try again to empty the write-ahead log of what was erased; True once it is."""
        if self._turn is None:
            return await erase_freed(self.engine)
        async with self._turn:
            return await erase_freed(self.engine)

    async def optimize(self) -> None:
        """Fresh statistics for the query planner (`optimize`), taking this process's turn on
        SQLite like any session, so that it never runs into another session's write lock."""
        if self._turn is None:
            await optimize(self.engine)
            return
        async with self._turn:
            await optimize(self.engine)

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        from storage.migrate import upgrade

        await upgrade(self.engine)

    async def dispose(self) -> None:
        await self.engine.dispose()


def upsert(session: AsyncSession, table: type[SQLModel]) -> Any:
    """An INSERT that takes ON CONFLICT clauses, in the dialect of `session`'s database (both
    PostgreSQL and SQLite have them; SQLAlchemy spells them per dialect)."""
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL; None for an in-memory database."""
    path = url.partition(":///")[2].partition("?")[0]
    return None if not path or path.startswith(":memory:") else Path(path)


def owner_only(path: Path | None) -> None:
    """The database file, made readable by its owner only before SQLite first opens it. SQLite gives
    the -wal and -shm files it creates beside it the same permissions, so those are covered too;
    files made by an older version are narrowed here."""
    if path is None:
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError:
        return  # a folder we may not write in: SQLite will report it clearly when it opens the file
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module's own transaction handling does not BEGIN before a SAVEPOINT, so the
    # savepoint's RELEASE would commit half a command. We issue BEGIN ourselves instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # Switching a new file to WAL takes a lock that another process starting on the same file (two
    # `coalition-bot run`s) may hold for a moment, and SQLite does not wait for it: try again.
    for attempt in range(100):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError:
            if attempt == 99:
                raise
            time.sleep(0.05)  # on the driver's own thread, once per new connection
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted rows are overwritten with zeros, not left in free pages (closed polls' ballots and keys).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def optimize(engine: AsyncEngine) -> None:
    """Fresh statistics for the query planner: SQLite's `PRAGMA optimize` (which analyses what
    needs it), PostgreSQL's `ANALYZE`. Cheap when little changed; run at start and daily."""
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute("PRAGMA optimize=0x10002")  # type: ignore[union-attr]
            return
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql("ANALYZE")


CHECKPOINT_WAIT_MS = 2000  # how long one erasing checkpoint waits for readers to let go
ERASE_PENDING = ".erase-pending"  # beside a SQLite file: an erasure the write-ahead log still holds


def erase_pending_marker(engine: AsyncEngine) -> Path | None:
    """Where a SQLite file database notes an erasure its write-ahead log could not yet give up."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database.startswith(":memory:"):
        return None
    return Path(database + ERASE_PENDING)


def erase_pending_since(engine: AsyncEngine) -> str | None:
    """When an erasure first could not finish (the marker's time, UTC), or None when none waits."""
    marker = erase_pending_marker(engine)
    try:
        made = marker.stat().st_mtime if marker is not None else None
    except FileNotFoundError:
        return None
    return None if made is None else datetime.fromtimestamp(made, UTC).isoformat(timespec="seconds")


async def _checkpoint(engine: AsyncEngine) -> bool:
    """Copy the write-ahead log into the file and empty it; False when a reader (another process,
    an online backup, a `sqlite3` shell) still holds part of it, so it could not be emptied."""
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        # Straight on the driver: SQLAlchemy would BEGIN first, and no checkpoint runs inside a transaction.
        await raw.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")  # type: ignore[union-attr]
        try:
            cursor = await raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
            busy, *_frames = await cursor.fetchone()
        finally:
            await raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")  # type: ignore[union-attr]
    return busy == 0


async def erase_freed(engine: AsyncEngine) -> bool:
    """After deleting what must not be recovered: SQLite copies the write-ahead log into the file
    (where secure_delete has zeroed the deleted rows) and empties it; PostgreSQL rewrites the small
    key table so no dead copy of a deleted key stays in its pages, and vacuums the ballots.

    True when done. On SQLite a reader can keep the log from being emptied: tried twice, then a
    marker beside the file (`coalition.db.erase-pending`, made when it first failed) says an erasure waits;
    the housekeeping tries again every minute and `doctor` reports it. Never a silent success."""
    if engine.dialect.name == "sqlite":
        done = await _checkpoint(engine)
        if not done:
            await asyncio.sleep(0.2)
            done = await _checkpoint(engine)
        marker = erase_pending_marker(engine)
        if marker is not None:
            if done:
                marker.unlink(missing_ok=True)  # this checkpoint emptied the log of every earlier erasure too
            elif not marker.exists():
                marker.touch()
        return done
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql("VACUUM FULL poll_keys")
        await autocommit.exec_driver_sql("VACUUM ballots, survey_responses")
    return True


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front: a second process waits (busy timeout) instead of
    # failing later when its read snapshot turns out stale at the first write.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
