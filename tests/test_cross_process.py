"""Real `coalition-bot run` processes sharing one database, against the Slack and Discord fakes."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import select

from bot.app import App
from bot.config import Settings
from bot.refs import Actor, ConversationRef, UserRef
from storage import Database
from storage.models import OutboxMessage
from tests.conftest import POSTGRES_URL, _fresh_postgres
from tests.fakes.discord import TOKEN as DISCORD_TOKEN
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, TEAM, FakeSlack, form, manifest_scopes, sign
from tests.test_slack import eventually
from tests.test_slack_process import free_port, start_bot, stop, wait_for_line

GENERAL = "4400000000000000001"


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeSlack, FakeDiscord]]:
    slack = await FakeSlack().start()
    slack.user("UADMIN", "Dana", admin=True)
    discord = await FakeDiscord().start()
    yield slack, discord
    await slack.stop()
    await discord.stop()


async def slash(http: aiohttp.ClientSession, port: int, fake: FakeSlack, command: str, text: str) -> dict:
    body = form(fake.slash_command(command, text, user="UADMIN"))
    headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
    async with http.post(f"http://127.0.0.1:{port}/slack/events", data=body, headers=headers) as response:
        assert response.status == 200
        return await response.json()


async def test_a_broadcast_typed_in_slack_is_delivered_to_discord_by_the_discord_process(
    tmp_path: Path, fakes: tuple[FakeSlack, FakeDiscord]
) -> None:
    slack_fake, discord_fake = fakes
    port = free_port()
    slack_bot = await start_bot(
        tmp_path,
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack_fake.api_url,
            "SLACK_HTTP_PORT": str(port),
        },
    )
    discord_bot = await start_bot(
        tmp_path,
        {
            "DISCORD_BOT_TOKEN": DISCORD_TOKEN,
            "DISCORD_API_URL": discord_fake.api_url,
            "DISCORD_GATEWAY_URL": discord_fake.gateway_url,
        },
    )
    try:
        await wait_for_line(slack_bot, "coalition-bot is running (slack)")
        await wait_for_line(discord_bot, "coalition-bot is running (discord)")
        async with aiohttp.ClientSession() as http:
            assert "is set up" in (await slash(http, port, slack_fake, "/coalition", 'setup "Eastside"'))["text"]
            invite = (await slash(http, port, slack_fake, "/coalition", "invite"))["text"]
            code = invite.split("`")[1]
            admin = discord_fake.member("5500000000000000001", "Kim", manage_guild=True)
            joined = await discord_fake.slash("coalition", "join", {"code": code}, admin, GENERAL)
            assert "has joined" in (joined["data"].get("content") or "")
            sent = await slash(http, port, slack_fake, "/broadcast", 'send "Both platforms, one broadcast"')
            assert "goes to 2 channels" in sent["text"]
        in_discord = await eventually(lambda: discord_fake.messages[GENERAL], within=15)
        in_slack = await eventually(lambda: slack_fake.messages["C1"], within=15)
        await asyncio.sleep(2.5)  # a further polling round of both processes
        assert len(discord_fake.messages[GENERAL]) == 1 and len(slack_fake.messages["C1"]) == 1
        assert "Both platforms, one broadcast" in in_discord[0]["embeds"][0]["description"]
        assert "Both platforms, one broadcast" in in_slack[0]["text"]
    finally:
        assert await stop(slack_bot) == 0
        assert await stop(discord_bot) == 0


async def seed_broadcast(db_url: str, channels: int) -> None:
    """A coalition with `channels` linked Slack channels and a broadcast to all of them, queued."""
    db = Database(db_url)
    await db.upgrade()
    app = App(Settings(database_url=db_url), db)
    founder = Actor(UserRef("slack", TEAM, "UADMIN"), "Dana", True)
    async with app.unit_of_work() as services:
        place = await services.coalitions.create("Eastside", ConversationRef("slack", TEAM, "C0", name="c0"), founder)
        for n in range(1, channels):
            await services.coalitions.link(place.space, ConversationRef("slack", TEAM, f"C{n}", name=f"c{n}"), [])
        author = await services.coalitions.member_for(place.coalition, founder)
        await services.broadcasts.create(place.coalition.id, author, "Road closure on Main St", None, None, False)
        await services.repos.commit()
    await db.dispose()


async def statuses(db_url: str) -> Counter[str]:
    db = Database(db_url)
    async with db.session() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "post"))).all()
    await db.dispose()
    return Counter(r.status for r in rows)


async def _kill_mid_broadcast_and_restart(tmp_path: Path, slack_fake: FakeSlack, read_history: bool) -> Counter[str]:
    """200 channels; the bot is SIGKILLed mid-broadcast and started again; how many each got."""
    db_file = tmp_path / "run.db"
    await seed_broadcast(f"sqlite+aiosqlite:///{db_file}", 200)
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_fake.api_url,
        "SLACK_HTTP_PORT": str(free_port()),
        "OUTBOX_LEASE_SECONDS": "2",
        "SLACK_READ_HISTORY": "true" if read_history else "false",
    }
    # From the 60th message on, Slack keeps each message but holds its answer: the kill lands with
    # messages that arrived while the bot never learned so (whatever the machine's speed).
    slack_fake.hold_after = 60
    first = await start_bot(tmp_path, env)
    await wait_for_line(first, "coalition-bot is running (slack)")
    await eventually(lambda: sum(len(m) for m in slack_fake.messages.values()) > 60, within=20)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    slack_fake.release()
    delivered_before = sum(len(m) for m in slack_fake.messages.values())
    assert delivered_before < 200, "the kill should land mid-broadcast"

    second = await start_bot(tmp_path, {**env, "SLACK_HTTP_PORT": str(free_port())})
    try:
        await wait_for_line(second, "coalition-bot is running (slack)")
        await eventually(lambda: len([c for c in slack_fake.messages if c.startswith("C")]) == 200, within=40)
        await asyncio.sleep(3)
        assert await statuses(f"sqlite+aiosqlite:///{db_file}") == Counter({"sent": 200})
        return Counter({c: len(m) for c, m in slack_fake.messages.items() if c.startswith("C")})
    finally:
        assert await stop(second) == 0


async def test_sigkill_mid_broadcast_then_restart_delivers_each_channel_exactly_once(tmp_path: Path) -> None:
    """With SLACK_READ_HISTORY chosen (and its scopes granted), the bot finds what it sent."""
    slack_fake = await FakeSlack(scopes=manifest_scopes(read_history=True)).start()
    try:
        per_channel = await _kill_mid_broadcast_and_restart(tmp_path, slack_fake, read_history=True)
        assert set(per_channel.values()) == {1}, {c: n for c, n in per_channel.items() if n != 1}
        assert any(m == "conversations.history" for m in slack_fake.methods())
    finally:
        await slack_fake.stop()


async def test_without_history_a_kill_repeats_at_most_the_messages_in_flight(
    tmp_path: Path, fakes: tuple[FakeSlack, FakeDiscord]
) -> None:
    """The default: the bot cannot read its channels, so what was in flight at the kill (sent, its
    outcome not yet recorded) may go twice: at most the batch being sent. Nothing is lost."""
    slack_fake, _ = fakes
    per_channel = await _kill_mid_broadcast_and_restart(tmp_path, slack_fake, read_history=False)
    assert set(per_channel) == {f"C{n}" for n in range(200)}  # nothing lost
    doubled = [c for c, n in per_channel.items() if n > 1]
    assert max(per_channel.values()) <= 2 and len(doubled) <= 100, doubled  # 100: the worker's batch
    assert "conversations.history" not in slack_fake.methods()


async def test_sigterm_mid_broadcast_finishes_the_batch_in_flight_and_exits_cleanly(
    tmp_path: Path, fakes: tuple[FakeSlack, FakeDiscord]
) -> None:
    slack_fake, _ = fakes
    slack_fake.enforce_pacing = True  # Slack's own limits: the broadcast takes a while
    db_file = tmp_path / "run.db"
    await seed_broadcast(f"sqlite+aiosqlite:///{db_file}", 120)
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_fake.api_url,
        "SLACK_HTTP_PORT": str(free_port()),
    }
    bot = await start_bot(tmp_path, env)
    await wait_for_line(bot, "coalition-bot is running (slack)")
    await eventually(lambda: sum(len(m) for m in slack_fake.messages.values()) >= 5, within=20)
    bot.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(bot.communicate(), 60)
    assert bot.returncode == 0, err.decode()
    assert "Session is closed" not in err.decode() and "Traceback" not in err.decode(), err.decode()[-2000:]
    delivered = sum(len(m) for m in slack_fake.messages.values())
    counts = await statuses(f"sqlite+aiosqlite:///{db_file}")
    # Every message Slack took is recorded as sent; the rest wait, unclaimed, for the restart.
    assert counts["sent"] == delivered and counts["sent"] + counts["pending"] == 120, (counts, delivered)


@pytest.mark.skipif(
    POSTGRES_URL is None, reason="two processes share pacing on PostgreSQL (COALITION_TEST_POSTGRES_URL)"
)
async def test_two_processes_on_postgres_pace_one_channel_together_without_a_429(tmp_path: Path) -> None:
    """Nine broadcasts to one Slack channel, which takes 3 messages in any 3 seconds, delivered by two
    processes at once. Each claims at most a channel's window at a time, so both take part; they
    count against one window kept in the database, so Slack never answers 429; each message once."""
    url = await _fresh_postgres()
    db = Database(url)
    await db.upgrade()
    app = App(Settings(database_url=url), db)
    founder = Actor(UserRef("slack", TEAM, "UADMIN"), "Dana", True)
    async with app.unit_of_work() as services:
        place = await services.coalitions.create("Eastside", ConversationRef("slack", TEAM, "C0", name="c0"), founder)
        author = await services.coalitions.member_for(place.coalition, founder)
        for n in range(9):
            await services.broadcasts.create(place.coalition.id, author, f"Update {n}", None, None, False)
        await services.repos.commit()
    await app.close()
    slack_fake = await FakeSlack().start()
    slack_fake.enforce_pacing = True
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_fake.api_url,
        "DATABASE_URL": url,
        "ANONYMITY_SECRET": "b7e1d4c9a2f05e8b3c6d9a1f4e7b2c5d8a0f3e6b9c2d5a8f9c4e7a1d3b6f8e2a",
    }
    bots = [await start_bot(tmp_path, {**env, "SLACK_HTTP_PORT": str(free_port())}) for _ in range(2)]
    try:
        for bot in bots:
            await wait_for_line(bot, "coalition-bot is running (slack)")
        await eventually(lambda: len(slack_fake.messages["C0"]) == 9, within=30)
        await asyncio.sleep(1.5)
    finally:
        codes = [await stop(bot) for bot in bots]
        await slack_fake.stop()
    texts = Counter(m["text"] for m in slack_fake.messages["C0"])
    assert len(texts) == 9 and all(v == 1 for v in texts.values()), texts  # nine updates, each once
    assert slack_fake.rate_limited == 0
    db = Database(url)
    async with db.session() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "post"))).all()
    await db.dispose()
    assert Counter(r.status for r in rows) == Counter({"sent": 9})
    assert len({r.lease_owner for r in rows}) == 2, "both processes delivered part of the burst"
    assert codes == [0, 0]
