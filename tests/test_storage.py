from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from storage import Database, Repositories
from storage.migrate import alembic_config, current_revision, head_revision, migrating
from storage.models import Member
from tests.conftest import make_database

TABLES = {"coalitions", "spaces", "channels", "members", "alembic_version"}


async def test_migrations_reach_head_and_create_the_tables(db: Database) -> None:
    assert await current_revision(db.engine) == head_revision()
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert names >= TABLES


async def test_upgrade_is_idempotent_and_downgrade_round_trips(db: Database) -> None:
    await db.upgrade()
    config = alembic_config()

    def down_and_up(connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        assert "members" not in inspect(connection).get_table_names()
        command.upgrade(config, "head")

    await migrating(db.engine, down_and_up)
    assert await current_revision(db.engine) == head_revision()


async def test_comma_joined_lists_become_json_lists_on_upgrade(db: Database) -> None:
    """A database from before 0011 keeps its tags, sectors, lead times and channel ids."""
    config = alembic_config()
    when = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def back_to_0010(connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        command.upgrade(config, "0010")
        connection.execute(
            text(
                "INSERT INTO coalitions (id, name, timezone, reminder_minutes, sectors, wanted_sectors, created_at) "
                "VALUES (1, 'Eastside', 'UTC', 'off', 'faith,youth', 'youth', :t)"
            ),
            {"t": when},
        )
        connection.execute(
            text(
                "INSERT INTO spaces (id, coalition_id, platform, workspace_id, name, created_at) "
                "VALUES (1, 1, 'slack', 'T1', 'Eastside', :t)"
            ),
            {"t": when},
        )
        connection.execute(
            text(
                "INSERT INTO channels (id, coalition_id, space_id, platform, workspace_id, channel_id, name, tags, "
                "linked_at, digest_hour) VALUES (1, 1, 1, 'slack', 'T1', 'C1', 'general', 'police,city', :t, 9)"
            ),
            {"t": when},
        )
        connection.execute(
            text(
                "INSERT INTO members (id, coalition_id, platform, workspace_id, user_id, display_name, role, "
                "reminder_minutes, joined_at) VALUES (1, 1, 'slack', 'T1', 'U1', 'Dana', 'member', '120,15', :t)"
            ),
            {"t": when},
        )
        command.upgrade(config, "head")

    await migrating(db.engine, back_to_0010)
    async with db.session() as session:
        repos = Repositories(session)
        coalition = await repos.coalitions.get(1)
        assert coalition is not None
        assert (coalition.reminder_minutes, coalition.sectors, coalition.wanted_sectors) == (
            [],
            ["faith", "youth"],
            ["youth"],
        )
        channel = await repos.coalitions.channel_by_id(1)
        assert channel is not None and channel.tags == ["police", "city"]
        member = await repos.members.by_id(1)
        assert member is not None and member.reminder_minutes == [120, 15]
    async with db.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT tags FROM channels WHERE id = 1"))).scalar_one()
    assert stored == '["police", "city"]'


async def test_coalition_space_channel_member_round_trip(db: Database) -> None:
    async with db.session() as session:
        repos = Repositories(session)
        coalition = await repos.coalitions.create("Eastside Safety", "America/Chicago")
        space = await repos.coalitions.add_space(coalition.id, "slack", "T1", "Eastside PD")
        await repos.coalitions.link_channel(space, "C1", "general", ["police", "city"])
        await repos.members.add(
            Member(
                coalition_id=coalition.id,
                platform="slack",
                workspace_id="T1",
                user_id="U1",
                display_name="Officer Diaz",
                role="coordinator",
                organisation="Eastside PD",
                sector="law enforcement",
                timezone="America/Chicago",
            )
        )
        await repos.commit()
    async with db.session() as session:
        repos = Repositories(session)
        found = await repos.coalitions.space("slack", "T1")
        assert found is not None and found.name == "Eastside PD"
        channel = await repos.coalitions.channel("slack", "T1", "C1")
        assert channel is not None and channel.tags == ["police", "city"]
        member = await repos.members.find(found.coalition_id, "slack", "T1", "U1")
        assert member is not None
        assert (member.display_name, member.sector, member.role) == (
            "Officer Diaz",
            "law enforcement",
            "coordinator",
        )
        assert [c.display_name for c in await repos.members.coordinators(found.coalition_id)] == ["Officer Diaz"]
        assert await repos.members.count(found.coalition_id) == 1


async def test_times_come_back_aware_in_utc(db: Database) -> None:
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    async with db.session() as session:
        repos = Repositories(session)
        coalition = await repos.coalitions.create("C", "UTC")
        coalition.created_at = moment
        await repos.commit()
        cid = coalition.id
    async with db.session() as session:
        loaded = await Repositories(session).coalitions.get(cid)
        assert loaded is not None
        assert loaded.created_at == moment
        assert loaded.created_at.tzinfo is not None
        assert loaded.created_at.utcoffset() == timedelta(0)


async def test_one_channel_cannot_be_linked_twice(db: Database) -> None:
    async with db.session() as session:
        repos = Repositories(session)
        coalition = await repos.coalitions.create("C", "UTC")
        space = await repos.coalitions.add_space(coalition.id, "discord", "G1", "")
        await repos.coalitions.link_channel(space, "1", "a", [])
        with pytest.raises(IntegrityError):
            await repos.coalitions.link_channel(space, "1", "a", [])


async def test_adding_a_member_twice_returns_the_first_row(db: Database) -> None:
    async with db.session() as session:
        repos = Repositories(session)
        coalition = await repos.coalitions.create("C", "UTC")
        first = await repos.members.add(
            Member(
                coalition_id=coalition.id,
                platform="console",
                workspace_id="local",
                user_id="a",
                display_name="A",
            )
        )
        again = await repos.members.add(
            Member(
                coalition_id=coalition.id,
                platform="console",
                workspace_id="local",
                user_id="a",
                display_name="B",
            )
        )
        assert again.id == first.id
        await repos.commit()
        assert await repos.members.count(coalition.id) == 1


async def test_uncommitted_work_is_rolled_back(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await Repositories(session).coalitions.create("Half-made", "UTC")
            raise RuntimeError("crash mid-command")
    async with db.session() as session:
        assert await Repositories(session).coalitions.get(1) is None


async def test_sqlite_uses_wal_and_waits_for_locks(tmp_path: Path) -> None:
    db = await make_database("sqlite", tmp_path)
    try:
        await db.upgrade()
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await db.dispose()


def test_naive_datetimes_are_refused() -> None:
    from storage.types import UTCDateTime

    with pytest.raises(ValueError):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), None)
    assert UTCDateTime().process_result_value(datetime(2026, 1, 1), None) == datetime(2026, 1, 1, tzinfo=UTC)


def test_the_head_the_start_up_checks_is_alembics() -> None:
    """Start-up skips Alembic when the database records `HEAD`; it must be the newest migration."""
    from storage.migrate import HEAD

    assert head_revision() == HEAD


async def test_two_processes_starting_on_a_new_database_both_start(tmp_path: Path) -> None:
    """Two `coalition-bot` processes opening one new SQLite file at once (both migrate it, both
    switch it to WAL): neither fails on the other's lock."""
    import asyncio
    import os

    from tests.test_console import coalition_bot

    for round_ in range(3):
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / f'new-{round_}.db'}"}
        processes = [
            await asyncio.create_subprocess_exec(
                *coalition_bot(),
                "db",
                "upgrade",
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(2)
        ]
        results = [await p.communicate() for p in processes]
        assert [p.returncode for p in processes] == [0, 0], [err.decode()[-300:] for _, err in results]


async def test_a_kind_is_stored_as_its_text_and_read_back_as_the_kind(db: Database) -> None:
    """Kinds are types in code (storage/kinds.py) and the same text in the column as before, so
    rows written before still read; a kind that is none of them is refused before it is written."""
    from storage.kinds import PollKind
    from storage.models import Poll

    async with db.session() as session:
        repos = Repositories(session)
        coalition = await repos.coalitions.create("Eastside Safety", "UTC")
        assert Poll(coalition_id=coalition.id, question="How safe?", options="[]", kind="survey").kind.is_survey
        poll = Poll(coalition_id=coalition.id, question="Lunch?", options='["A", "B"]', kind="ranked")
        session.add(poll)
        await repos.commit()
        connection = await session.connection()
        raw = (await connection.execute(text("SELECT kind FROM polls WHERE id = :id"), {"id": poll.id})).scalar_one()
        assert raw == "ranked"
        with pytest.raises(ValueError, match="'referendum' is not a valid PollKind"):
            Poll(coalition_id=coalition.id, question="?", options="[]", kind="referendum")
    async with db.session() as session:
        read = await session.get(Poll, poll.id)
        assert read is not None and read.kind is PollKind.RANKED and read.kind.ranked
