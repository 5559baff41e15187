from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from adapters import build_dispatcher
from bot.app import App
from bot.clock import SimulatedClock
from bot.config import Settings, normalise_database_url
from commands.dispatcher import Dispatcher
from storage import Database
from tests.harness import Harness

# Set by .ci/run when the machine's PostgreSQL answers; storage tests then run on both backends.
POSTGRES_URL = os.environ.get("COALITION_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _fresh_postgres() -> str:
    """An empty database of this test worker's own (`test_gw0`, ... under pytest-xdist, made on
    first use beside COALITION_TEST_POSTGRES_URL's), so parallel workers never drop each other's."""
    assert POSTGRES_URL is not None
    url = normalise_database_url(POSTGRES_URL)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        base = make_url(url)
        name = f"{base.database}_{worker}"
        admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            exists = (await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})).first()
            if exists is None:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
        url = base.set(database=name).render_as_string(hide_password=False)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return url


async def make_database(backend: str, tmp_path: Path) -> Database:
    if backend == "postgres":
        return Database(await _fresh_postgres())
    return Database(f"sqlite+aiosqlite:///{tmp_path / 'coalition.db'}")


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database on each backend under test, with the schema migrated to the newest."""
    database = await make_database(request.param, tmp_path)
    await database.upgrade()
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
async def app(db: Database, clock: SimulatedClock) -> AsyncIterator[App]:
    application = App(Settings(database_url=db.url), db, clock)
    yield application
    await application.scheduler.stop()


@pytest.fixture
def dispatcher(app: App) -> Dispatcher:
    return build_dispatcher(app)


@pytest.fixture
async def bot(dispatcher: Dispatcher) -> Harness:
    """A console coalition with #general linked and `admin` coordinating, as the console starts one."""
    harness = Harness(dispatcher)
    await harness.start()
    return harness
