"""What whoever runs the bot watches (issue 18): /healthz and /metrics on the bot's one HTTP server,
fetched from a real `coalition-bot run` against the Slack fake, and JSON logs read line by line."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from bot.app import App
from storage import Database
from tests.conftest import START
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, form, sign
from tests.test_discord import Discord, discord_env  # noqa: F401 (fixture)
from tests.test_slack_process import fake, free_port, start_bot, stop, wait_for_line  # noqa: F401 (fixture)


async def test_health_and_metrics_from_a_running_bot_and_its_json_logs(tmp_path: Path, fake: FakeSlack) -> None:  # noqa: F811
    port = free_port()
    bot = await start_bot(
        tmp_path,
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "SLACK_HTTP_PORT": str(port),
            "LOG_FORMAT": "json",
        },
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_for_line(bot, "coalition-bot is running (slack)")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
                health = await response.json()
            assert health == {"healthy": True, "checks": {"database": "ok", "scheduler": "ok", "slack": "ok"}}
            for command, text in (("/coalition", "help"), ("/coalition", "setup Eastside")):
                body = form(fake.slash_command(command, text, user="UADMIN", channel="C1", channel_name="general"))
                async with http.post(
                    f"{base}/slack/events",
                    data=body,
                    headers={**sign(body), "Content-Type": "application/x-www-form-urlencoded"},
                ) as answer:
                    assert answer.status == 200
            async with http.get(f"{base}/metrics") as response:
                assert response.status == 200
                exposition = await response.text()
    finally:
        assert await stop(bot) == 0
    families = {f.name: f for f in text_string_to_metric_families(exposition)}
    events = {
        (s.labels["kind"], s.labels["name"], s.labels["outcome"]): s.value
        for s in families["coalition_events"].samples
        if s.name == "coalition_events_total"
    }
    assert events[("command", "/coalition help", "ok")] == 1
    assert events[("command", "/coalition setup", "ok")] == 1
    latency = [s for s in families["coalition_event_seconds"].samples if s.name.endswith("_count")]
    assert latency and latency[0].value >= 2
    assert "coalition_outbox_messages" in families and "coalition_meeting_reminders" in families
    # No member, channel or typed word in any label.
    assert not any(word in exposition for word in ("UADMIN", "C1", "Eastside"))

    assert bot.stderr is not None
    logged = (await bot.stderr.read()).decode().splitlines()
    entries = [json.loads(line) for line in logged if line.startswith("{")]
    assert entries and all({"time", "level", "logger", "request_id", "message"} <= set(e) for e in entries)
    assert not any("Eastside" in e["message"] for e in entries)  # what was typed stays out of the log


async def test_healthz_names_what_is_wrong_with_503(app: App) -> None:
    async def discord_down() -> str | None:
        return "not connected to the Discord gateway"

    app.health_checks["discord"] = discord_down
    await app.web.start("127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{app.web.port}/healthz"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 503
            health = await response.json()
    finally:
        await app.web.stop()
    assert health["healthy"] is False
    assert health["checks"]["discord"] == "not connected to the Discord gateway"
    assert health["checks"]["database"] == "ok"
    assert health["checks"]["scheduler"] == "not running"  # this App's scheduler was never started


async def test_votes_and_what_may_be_a_mistyped_vote_leave_no_trace_in_the_metrics(bot) -> None:
    """Scraped every second, a count of votes (or of mistyped commands, which may be mistyped
    votes) says when each was cast; other commands are counted by name, never by what was typed."""
    await bot.run("/pol create Budget Yes No")
    await bot.run("/poll vote 1 secret-choice")
    await bot.run("/meeting list")
    exposition = bot.dispatcher.app.metrics.exposition().decode()
    assert "/pol " not in exposition and "secret-choice" not in exposition
    assert 'name="unknown"' not in exposition and "/poll vote" not in exposition
    assert 'name="/meeting list",outcome="ok"' in exposition


# Backup and restore -----------------------------------------------------------------------------


async def test_a_backup_taken_during_a_vote_burst_restores_every_acknowledged_vote(tmp_path: Path) -> None:
    from adapters import build_dispatcher
    from bot.clock import SimulatedClock
    from bot.config import Settings
    from storage import Database
    from storage.backup import backup, restore
    from tests.conftest import START
    from tests.harness import Harness

    path = tmp_path / "coalition.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    app = App(Settings(database_url=db.url, anonymity_secret="s" * 40), db, SimulatedClock(START))
    bot = Harness(build_dispatcher(app))
    await bot.start()
    await bot.run('/poll create "Budget?" Yes No')
    acknowledged: list[str] = []

    async def vote(name: str) -> None:
        if not (await bot.click("poll:vote:1:0", as_=name)).error:
            acknowledged.append(name)

    await asyncio.gather(*(vote(f"a{n}") for n in range(150)))
    before = len(acknowledged)
    burst = asyncio.gather(*(vote(f"b{n}") for n in range(150)))  # still voting while the copy is made
    await asyncio.to_thread(backup, path, tmp_path / "backup.tar.gz")
    await burst
    await app.close()
    assert before == 150 and len(acknowledged) == 300
    assert oct((tmp_path / "backup.tar.gz").stat().st_mode & 0o777) == "0o600"

    restored = tmp_path / "restored" / "coalition.db"
    restored.parent.mkdir()
    await asyncio.to_thread(restore, tmp_path / "backup.tar.gz", restored)
    copy = Database(f"sqlite+aiosqlite:///{restored}")
    async with copy.session() as session:
        ballots = (await session.exec(text("SELECT voter_key FROM ballots WHERE poll_id = 1"))).all()  # type: ignore[call-overload]
    await copy.dispose()
    assert 150 <= len(ballots) <= 300  # every vote acknowledged before the copy began, and whole


async def test_restore_refuses_while_the_bot_runs_and_keeps_what_it_replaces(tmp_path: Path) -> None:
    from storage.backup import BackupProblem, backup, restore, running

    database = tmp_path / "coalition.db"
    sqlite3.connect(database).execute("CREATE TABLE t (x)").connection.close()
    backup(database, tmp_path / "b.tar.gz")
    with running(database), pytest.raises(BackupProblem, match="the bot is running"):
        restore(tmp_path / "b.tar.gz", database)
    restore(tmp_path / "b.tar.gz", database)
    assert (tmp_path / "coalition.db.before-restore").exists()


def test_backup_and_restore_from_the_command_line(tmp_path: Path) -> None:
    """The secret travels apart unless asked for; a restore without it says what to do, and the
    bot will not start on the restored database until the secret is beside it."""
    import tarfile

    from tests.test_console import console

    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    assert console(tmp_path, "/poll create Lunch? Pizza Tacos --anonymous\n", "console", env=env).returncode == 0
    made = console(tmp_path, "", "backup", str(tmp_path / "saved.tar.gz"), env=env)
    assert made.returncode == 0 and "It holds the database only" in made.stdout, made.stderr
    assert f"{(tmp_path / 'c.db.secret').resolve()}" in made.stdout
    with tarfile.open(tmp_path / "saved.tar.gz") as archive:
        assert archive.getnames() == ["coalition.db"]
        assert {oct(m.mode) for m in archive.getmembers()} == {"0o600"}  # a plain `tar xzf` keeps it private
    elsewhere = {"DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    back = console(tmp_path, "", "restore", str(tmp_path / "saved.tar.gz"), env=elsewhere)
    assert back.returncode == 0, back.stderr
    assert "holds no anonymity secret" in back.stdout
    refused = console(tmp_path, "/poll list\n", "console", env=elsewhere)
    assert refused.returncode == 2 and "secret file other.db.secret is not beside it" in refused.stderr
    again = console(
        tmp_path,
        "",
        "restore",
        str(tmp_path / "saved.tar.gz"),
        "--secret-file",
        str(tmp_path / "c.db.secret"),
        env=elsewhere,
    )
    assert again.returncode == 0 and "holds no anonymity secret" not in again.stdout, again.stdout
    listed = console(tmp_path, "/poll list\n", "console", env=elsewhere)
    assert "Lunch?" in listed.stdout, listed.stderr
    # Asked for: the secret goes in, with a warning, and a restore puts it back.
    both = console(tmp_path, "", "backup", str(tmp_path / "both.tar.gz"), "--with-secret", env=env)
    assert both.returncode == 0 and "and its anonymity secret" in both.stdout and "Warning" in both.stdout
    third = {"DATABASE_URL": f"sqlite:///{tmp_path / 'third.db'}"}
    assert console(tmp_path, "", "restore", str(tmp_path / "both.tar.gz"), env=third).returncode == 0
    assert (tmp_path / "third.db.secret").read_text() == (tmp_path / "c.db.secret").read_text()
    # With the secret in the environment, a backup never claims to hold it.
    with_env = {**env, "ANONYMITY_SECRET": (tmp_path / "c.db.secret").read_text().strip()}
    said = console(tmp_path, "", "backup", str(tmp_path / "env.tar.gz"), env=with_env)
    assert "It holds the database only" in said.stdout and "(ANONYMITY_SECRET)" in said.stdout
    with tarfile.open(tmp_path / "env.tar.gz") as archive:
        assert archive.getnames() == ["coalition.db"]


async def test_the_migration_copy_is_gone_once_the_migration_succeeded(tmp_path: Path) -> None:
    from alembic import command

    import storage.migrate as migrating_module
    from storage import Database
    from storage.migrate import alembic_config, migrating

    path = tmp_path / "old.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    config = alembic_config()

    def back(connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, "0014")

    await migrating(db.engine, back)
    copies: list[bool] = []
    original = migrating_module.migrating

    async def watched(engine, work) -> None:  # type: ignore[no-untyped-def]
        copies.append((tmp_path / "old.db.before-0014.backup").exists())  # taken before migrating
        await original(engine, work)

    migrating_module.migrating = watched
    try:
        await db.upgrade()  # as start-up does
    finally:
        migrating_module.migrating = original
    await db.dispose()
    assert copies == [True]
    # Once the migration succeeded the copy is gone: it held the open polls' keys beside their
    # ballots, and would have kept those voters linkable for as long as it lay there.
    assert not (tmp_path / "old.db.before-0014.backup").exists()


def _docker_daemon() -> bool:
    import shutil
    import subprocess

    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


@pytest.mark.skipif(not _docker_daemon(), reason="needs a Docker daemon to build the image")
def test_the_image_builds_and_docker_sees_it_healthy() -> None:
    """With no tokens the image runs the console (stdin kept open with -i) and serves /healthz on
    HTTP_PORT; Docker's own HEALTHCHECK must call it healthy."""
    import subprocess
    import time

    root = Path(__file__).resolve().parent.parent
    subprocess.run(["docker", "build", "-t", "coalition-bot:test", str(root)], check=True, timeout=900)
    started = subprocess.run(
        ["docker", "run", "-d", "-i", "--health-interval=2s", "coalition-bot:test"],
        check=True,
        capture_output=True,
        text=True,
    )
    container = started.stdout.strip()
    try:
        status, deadline = "", time.monotonic() + 120
        while time.monotonic() < deadline and status != "healthy":
            time.sleep(2)
            inspect = ["docker", "inspect", "-f", "{{.State.Health.Status}}", container]
            status = subprocess.run(inspect, capture_output=True, text=True).stdout.strip()
        assert status == "healthy"
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)


# coalition-bot doctor -------------------------------------------------------------------------------


async def test_doctor_finds_a_missing_slack_scope_and_a_channel_the_bot_is_not_in(tmp_path: Path) -> None:
    from adapters.cli import diagnose
    from tests.test_slack import slack_env

    async with slack_env(tmp_path) as env:
        assert "is set up" in (await env.command('/coalition setup "Eastside"'))["text"]
        assert await diagnose(env.app.settings) == []  # as installed from the manifest: nothing to fix
        env.fake.scopes.discard("files:write")
        env.fake.members_of["C1"] = False
        problems = await diagnose(env.app.settings)
    scopes = [p for p in problems if "files:write" in p]
    absent = [p for p in problems if "not in #general" in p]
    assert len(scopes) == 1 and "reinstall the app" in scopes[0]
    assert len(absent) == 1 and "/invite @coalition-bot" in absent[0]
    assert len(problems) == 2


def test_doctor_from_the_command_line(tmp_path: Path) -> None:
    from tests.test_console import console

    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    assert console(tmp_path, "/coalition help\n", "console", env=env).returncode == 0
    healthy = console(tmp_path, "", "doctor", env=env)
    assert healthy.returncode == 0 and "No problems found" in healthy.stdout
    wrong = console(tmp_path, "", "doctor", env={**env, "LOG_LEVEL": "LOUD"})
    assert wrong.returncode == 1 and wrong.stdout.startswith("Configuration: LOG_LEVEL")
    unmigrated = console(tmp_path, "", "doctor", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    assert unmigrated.returncode == 1 and "run `coalition-bot db upgrade`" in unmigrated.stdout


async def test_doctor_finds_a_discord_channel_without_send_messages(discord_env: Discord) -> None:  # noqa: F811
    from adapters.cli import diagnose
    from tests.fakes.discord import TOKEN
    from tests.test_discord import GENERAL, set_up, text_of

    env = discord_env
    if True:
        await set_up(env)
        await env.slash("coalition", "link", channel=GENERAL)
        assert await diagnose(env.app.settings) == []  # invited with the link's permissions: nothing to fix
        quiet, gone = "4400000000000000002", "4400000000000000003"
        env.fake.channel(quiet, "quiet")
        env.fake.channel(gone, "old-news")
        await env.slash("coalition", "link", channel=quiet)
        await env.slash("coalition", "link", channel=gone)
        env.fake.bot_permissions[quiet] = (1 << 10) | (1 << 16)  # View Channel, Read History: not Send, not Embed
        del env.fake.channels[gone]
        problems = await diagnose(env.app.settings)
        assert len(problems) == 2, problems
        assert "lacks Send Messages, Embed Links in #quiet" in problems[0] and "settings > Permissions" in problems[0]
        assert "#old-news" in problems[1] and "cannot be seen" in problems[1]
        # A coordinator gets the same report in chat, privately; a member may not ask.
        reply = await env.slash("coalition", "doctor")
        shown = text_of(reply)
        assert (
            reply["data"]["flags"] & 64 and "2 problems found" in shown and "#quiet" in shown and "#old-news" in shown
        )
        assert TOKEN not in shown and TOKEN.split(".")[-1] not in shown  # no secret in chat
        assert "Only coordinators" in text_of(await env.slash("coalition", "doctor", member=env.maria))


async def test_doctor_refused_discord_token_is_one_line(tmp_path: Path) -> None:
    from dataclasses import replace

    from adapters.cli import diagnose
    from tests.fakes.discord import FakeDiscord
    from tests.test_discord import discord_settings

    discord = await FakeDiscord().start()
    try:
        good = discord_settings(tmp_path, discord)
        settings = replace(
            good,
            environ={
                **good.environ,
                "DISCORD_BOT_TOKEN": "MTEwMDAwMDAwMDAwMDAwMDAwMQ.Gwrong.abcdefghijklmnopqrstuvwxyz9876543210",
            },
        )
        problems = await diagnose(settings)
    finally:
        await discord.stop()
    assert len(problems) == 2 and problems[0].startswith("Database: the schema is at nothing")
    assert problems[1].startswith("Discord: DISCORD_BOT_TOKEN: Discord refused this token")


def test_channel_permissions_agree_with_discord_py() -> None:
    """Our reading of roles and overwrites against discord.py's own `permissions_for`, on random servers."""
    import random

    import discord

    from adapters.discord.doctor import channel_permissions

    state = discord.Client(intents=discord.Intents(guilds=True))._connection
    bits = [1 << b for b in (0, 3, 4, 10, 11, 14, 16)]  # invite, admin, manage channels, view, send, embed, history
    chance = random.Random(18)
    for case in range(300):
        guild_id, me, owner = "900", "901", "902" if case % 7 else "901"

        def mask() -> str:
            return str(sum(b for b in bits if chance.random() < 0.4))

        roles = [{"id": guild_id, "name": "@everyone", "permissions": mask(), "position": 0}]
        roles += [{"id": str(910 + i), "name": f"r{i}", "permissions": mask(), "position": i + 1} for i in range(3)]
        mine = [r["id"] for r in roles[1:] if chance.random() < 0.5]
        overwrites = [
            {"id": target, "type": 1 if target == me else 0, "allow": mask(), "deny": mask()}
            for target in [guild_id, *(r["id"] for r in roles[1:]), me]
            if chance.random() < 0.5
        ]
        channel = {"id": "950", "type": 0, "name": "c", "position": 0, "guild_id": guild_id}
        channel["permission_overwrites"] = overwrites
        guild_data = {"id": guild_id, "name": "g", "owner_id": owner, "roles": roles, "channels": [channel]}
        user = {"id": me, "username": "bot", "discriminator": "0", "avatar": None}
        member = {"user": user, "roles": mine, "flags": 0}
        guild = discord.Guild(data=guild_data, state=state)  # type: ignore[arg-type]
        theirs = guild.get_channel(950).permissions_for(discord.Member(data=member, guild=guild, state=state))  # type: ignore[arg-type,union-attr]
        ours = channel_permissions(guild_data, member, channel, me)
        needed = discord.Permissions(view_channel=True, send_messages=True, embed_links=True, read_message_history=True)
        assert ours.value & needed.value == theirs.value & needed.value, case


async def test_doctor_compares_this_machines_clock_with_the_database_servers(db: Database) -> None:
    """PostgreSQL keeps its own clock; a bot whose clock is days behind is told so. SQLite runs on
    this machine's clock, so there is nothing to compare."""
    from bot.clock import SimulatedClock, SystemClock
    from bot.services.doctor import DoctorService
    from storage import Repositories

    async with db.session() as session:
        repos = Repositories(session)
        in_time = await DoctorService(repos, SystemClock(), {}).problems()
        behind = await DoctorService(repos, SimulatedClock(START), {}).problems()
    assert in_time == []
    if db.url.startswith("postgresql"):
        assert len(behind) == 1 and "behind the database server's" in behind[0] and "NTP" in behind[0]
    else:
        assert behind == []
