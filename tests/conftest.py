from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import hypothesis
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

# Hypothesis: a quick run by default (the edit-test loop), the full example counts in CI
# (`.ci/run` sets HYPOTHESIS_PROFILE=ci). Tests say their full count with `examples(N)`.
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
hypothesis.settings.register_profile("dev", deadline=None)
hypothesis.settings.register_profile("ci", deadline=None, print_blob=True)
hypothesis.settings.load_profile(HYPOTHESIS_PROFILE)


def examples(full: int) -> int:
    """How many examples a property test tries: `full` in CI, an eighth (at least 25) otherwise."""
    return full if HYPOTHESIS_PROFILE == "ci" else max(25, full // 8)


@pytest.fixture(autouse=True)
def _discord_ready_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Discord fake sends every server right after READY: no need to wait 2 s for more."""
    from adapters.discord.app import DiscordAdapter

    monkeypatch.setattr(DiscordAdapter, "guild_ready_timeout", 0.05)


# Each test worker (pytest-xdist's gw0, gw1, ...; "main" without it) has databases of its own, so
# parallel workers never drop each other's.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


async def _admin(statements: list[str]) -> None:
    """Run statements on COALITION_TEST_POSTGRES_URL's own database, outside a transaction."""
    assert POSTGRES_URL is not None
    admin = create_async_engine(normalise_database_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await admin.dispose()


def _postgres_named(name: str) -> str:
    assert POSTGRES_URL is not None
    return make_url(normalise_database_url(POSTGRES_URL)).set(database=name).render_as_string(hide_password=False)


async def _fresh_postgres() -> str:
    """An empty database of this worker's own: no tables, for tests of migrating."""
    name = f"{make_url(POSTGRES_URL or '').database}_{WORKER}"
    await _admin([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'])
    return _postgres_named(name)


_templates: dict[str, str] = {}  # backend -> a database migrated once per worker, copied per test


async def _migrated_postgres() -> str:
    """A database of this worker's own at the newest schema: a copy of a template migrated once
    (CREATE DATABASE ... TEMPLATE), not 21 migrations per test."""
    base = make_url(POSTGRES_URL or "").database
    name, template = f"{base}_{WORKER}", f"{base}_{WORKER}_template"
    if "postgres" not in _templates:
        await _admin([f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)', f'CREATE DATABASE "{template}"'])
        db = Database(_postgres_named(template))
        await db.upgrade()
        await db.dispose()
        _templates["postgres"] = template
    await _admin([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}" TEMPLATE "{template}"'])
    return _postgres_named(name)


async def _migrated_sqlite(folder: Path, base: Path) -> str:
    """A SQLite file at the newest schema: a copy of a template file migrated once per worker."""
    if "sqlite" not in _templates:
        template = base / "template.db"
        db = Database(f"sqlite+aiosqlite:///{template}")
        await db.upgrade()
        await db.dispose()  # the last connection closes: the log is folded into the file
        _templates["sqlite"] = str(template)
    target = folder / "coalition.db"
    shutil.copyfile(_templates["sqlite"], target)
    return f"sqlite+aiosqlite:///{target}"


async def migrated_database(backend: str, tmp_path: Path, base: Path) -> Database:
    """A database at the newest schema on `backend` (`base`: the worker's own temporary folder)."""
    if backend == "postgres":
        return Database(await _migrated_postgres())
    return Database(await _migrated_sqlite(tmp_path, base))


async def make_database(backend: str, tmp_path: Path) -> Database:
    """An EMPTY database on `backend` (no schema): for tests that migrate it themselves."""
    if backend == "postgres":
        return Database(await _fresh_postgres())
    return Database(f"sqlite+aiosqlite:///{tmp_path / 'coalition.db'}")


@pytest.fixture(params=BACKENDS)
async def db(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    """An empty database on each backend under test, at the newest schema (a copy of a template:
    tests/test_storage.py migrates from nothing and from an old release themselves)."""
    database = await migrated_database(request.param, tmp_path, tmp_path_factory.getbasetemp())
    await database.upgrade()  # a no-op at the newest schema
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
