"""The Discord adapter end to end: the real discord.py against the loopback REST and gateway fake."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters import build_dispatcher, platform
from adapters.discord.app import DiscordAdapter, sync_commands
from bot.app import App
from bot.config import Settings
from bot.refs import ConversationRef
from bot.replies import Actions, Button, Reply, Section
from commands import build_registry
from storage import Database
from tests.fakes.discord import GUILD, TOKEN, FakeDiscord
from tests.test_slack import eventually

GENERAL = "4400000000000000001"
ADMIN = "5500000000000000001"
MARIA = "5500000000000000002"
EPHEMERAL = 64


@dataclass
class Discord:
    fake: FakeDiscord
    adapter: DiscordAdapter
    app: App
    admin: dict[str, Any]
    maria: dict[str, Any]

    async def slash(
        self, command: str, sub: str, member: dict[str, Any] | None = None, channel: str = GENERAL, **options: Any
    ) -> dict[str, Any]:
        return await self.fake.slash(command, sub, options, member or self.admin, channel)


def discord_settings(tmp_path: Path, fake: FakeDiscord) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'discord.db'}",
        environ={"DISCORD_BOT_TOKEN": TOKEN, "DISCORD_API_URL": fake.api_url, "DISCORD_GATEWAY_URL": fake.gateway_url},
    )


@pytest.fixture
async def discord_env(tmp_path: Path) -> AsyncIterator[Discord]:
    fake = await FakeDiscord().start()
    fake.heartbeat_interval = 300
    settings = discord_settings(tmp_path, fake)
    db = Database(settings.database_url)
    await db.upgrade()
    app = App(settings, db)
    # Started as `coalition-bot run` starts it: through the platform contract.
    adapter = await asyncio.wait_for(platform("discord").start(settings, app, build_dispatcher(app)), 20)
    assert isinstance(adapter, DiscordAdapter)
    await app.scheduler.start()
    env = Discord(fake, adapter, app, fake.member(ADMIN, "Dana", manage_guild=True), fake.member(MARIA, "Maria"))
    yield env
    await app.inflight.drain(10)  # as a stop does: what was acknowledged is finished first
    await adapter.stop()
    await app.close()
    await fake.stop()
    assert fake.refused == [], fake.refused  # nothing the bot sent would Discord have refused


def text_of(callback: dict[str, Any]) -> str:
    data = callback["data"]
    return (data.get("content") or "") + "\n".join(e.get("description") or "" for e in data.get("embeds") or [])


def custom_ids(data: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in data.get("components") or [] for c in row["components"]]


async def set_up(env: Discord) -> None:
    reply = await env.slash("coalition", "setup", name="Northside Residents")
    assert "is set up" in text_of(reply), reply


async def test_connects_through_the_gateway_and_heartbeats(discord_env: Discord) -> None:
    assert discord_env.fake.identified.is_set()
    assert discord_env.adapter.client.user is not None
    assert [g.id for g in discord_env.adapter.client.guilds] == [int(GUILD)]
    await eventually(lambda: discord_env.fake.heartbeats >= 2)


async def test_sync_records_the_generated_commands(discord_env: Discord) -> None:
    await sync_commands(discord_env.adapter.settings, build_registry(), int(GUILD))
    synced = discord_env.fake.commands[GUILD]
    assert [c["name"] for c in synced] == build_registry().names()
    coalition = next(c for c in synced if c["name"] == "coalition")
    setup = next(o for o in coalition["options"] if o["name"] == "setup")
    spanish = {"es-ES": "el nombre de la coalición", "es-419": "el nombre de la coalición"}
    assert setup["type"] == 1 and setup["options"][0] == {
        "type": 3,
        "name": "name",
        "name_localizations": {"es-ES": "nombre", "es-419": "nombre"},
        "description": "the coalition's name",
        "description_localizations": spanish,
        "required": True,
        "max_length": 80,
    }
    # Members whose Discord is in Spanish read every command's description in Spanish.
    meeting = next(c for c in synced if c["name"] == "meeting")
    assert meeting["description_localizations"]["es-419"].startswith("Programe reuniones")
    described = [o for c in synced for o in c["options"]]
    assert all(o["description_localizations"].get("es-ES") for o in described)
    await sync_commands(discord_env.adapter.settings, build_registry(), None)
    assert [c["name"] for c in discord_env.fake.commands["global"]] == build_registry().names()


async def test_slash_command_gets_its_reply_in_the_callback(discord_env: Discord) -> None:
    callback = await discord_env.slash("coalition", "help", discord_env.maria)
    assert callback["type"] == 4
    assert callback["data"]["flags"] & EPHEMERAL
    assert "/coalition link" in text_of(callback)
    assert custom_ids(callback["data"]) == [
        "help:show:broadcast",
        "help:show:coalition",
        "help:show:decision",
        "help:show:goal",
        "help:show:meeting",
        "help:show:poll",
    ]
    assert callback["data"]["allowed_mentions"]["parse"] == []


async def test_server_without_a_coalition_gets_guidance(discord_env: Discord) -> None:
    callback = await discord_env.slash("broadcast", "list", discord_env.maria)
    assert callback["data"]["flags"] & EPHEMERAL
    assert "isn't part of a coalition yet" in text_of(callback)


async def test_manage_server_makes_a_coordinator(discord_env: Discord) -> None:
    await set_up(discord_env)
    refused = await discord_env.slash("coalition", "link", discord_env.maria)
    assert "Only coordinators" in text_of(refused) and "Dana" in text_of(refused)
    whoami = await discord_env.slash("coalition", "whoami", discord_env.maria)
    assert "a member of **Northside Residents**" in text_of(whoami)


async def test_button_click_edits_the_message(discord_env: Discord) -> None:
    help_reply = await discord_env.slash("coalition", "help", discord_env.maria)
    message = discord_env.fake.posted_message(
        GENERAL, help_reply["data"]["embeds"], help_reply["data"]["components"], flags=EPHEMERAL
    )
    callback = await discord_env.fake.click("help:show:coalition", message, discord_env.maria)
    assert callback["type"] == 7  # UPDATE_MESSAGE: the same message, edited
    assert "/coalition link" in text_of(callback)
    old = {
        **message,
        "components": [
            {"type": 1, "components": [{"type": 2, "style": 2, "label": "Yes", "custom_id": "retired:vote:9:9"}]}
        ],
    }  # from a feature long gone
    stale = await discord_env.fake.click("retired:vote:9:9", old, discord_env.maria)
    assert stale["type"] == 4 and "no longer does anything" in text_of(stale)


async def test_timezone_autocomplete(discord_env: Discord) -> None:
    await set_up(discord_env)
    interaction = discord_env.fake._interaction(
        4,
        {
            "id": "1",
            "name": "coalition",
            "type": 1,
            "options": [
                {
                    "type": 1,
                    "name": "timezone",
                    "options": [{"type": 3, "name": "zone", "value": "chic", "focused": True}],
                }
            ],
        },
        discord_env.maria,
        GENERAL,
    )
    callback = await discord_env.fake._inject(interaction)
    assert callback["type"] == 8
    assert {"name": "America/Chicago", "value": "America/Chicago"} in callback["data"]["choices"]


async def test_broadcast_form_and_delivery_without_pings(discord_env: Discord) -> None:
    await set_up(discord_env)
    opened = await discord_env.slash("broadcast", "send")
    assert opened["type"] == 9 and opened["data"]["custom_id"] == "modal:broadcast.send"
    fields = [c["custom_id"] for row in opened["data"]["components"] for c in row["components"]]
    assert fields == ["text", "to", "at", "ack", "public"]
    done = await discord_env.fake.submit(
        "modal:broadcast.send", {"text": "@everyone **Walk** moved <@&123>", "ack": "yes"}, discord_env.admin, GENERAL
    )
    assert "Broadcast #1 goes to 1 channel now" in text_of(done)
    posted = (await eventually(lambda: discord_env.fake.messages[GENERAL]))[0]
    description = posted["embeds"][0]["description"]
    assert "@everyone" not in description.replace("@\u200beveryone", "")
    assert "\\*\\*Walk\\*\\*" in description
    assert posted["allowed_mentions"]["parse"] == []
    assert custom_ids(posted) == ["broadcast:ack:1"]
    assert posted["nonce"]


async def test_a_429_is_waited_out_and_the_message_arrives_once(discord_env: Discord) -> None:
    await set_up(discord_env)
    discord_env.fake.fail["POST /channels/{id}/messages"] = [429]
    await discord_env.slash("broadcast", "send", text="Budget notes are up", ack=False)
    await eventually(lambda: discord_env.fake.messages[GENERAL])
    await asyncio.sleep(0.5)
    assert len(discord_env.fake.messages[GENERAL]) == 1
    assert discord_env.fake.rate_limited == 1


async def test_slow_commands_are_deferred_then_answered(discord_env: Discord, monkeypatch: pytest.MonkeyPatch) -> None:
    import adapters.discord.app as module

    monkeypatch.setattr(module, "ANSWER_BUDGET", 0.0)
    callback = await discord_env.slash("coalition", "help", discord_env.maria)
    assert callback["type"] == 5  # deferred: "thinking"
    followup = await eventually(lambda: discord_env.fake.followups)
    assert "/coalition link" in followup[0]["content"] + json.dumps(followup[0]["embeds"])


async def test_my_data_arrives_as_a_private_file(discord_env: Discord) -> None:
    await set_up(discord_env)
    callback = await discord_env.slash("coalition", "my-data", discord_env.maria)
    assert callback["data"]["flags"] & EPHEMERAL
    assert [a["filename"] for a in callback["data"]["attachments"]] == ["my-coalition-data.json"]
    upload = discord_env.fake.uploads[-1]
    assert json.loads(upload["content"])["you"]["user_id"] == "5500000000000000002"


async def test_meeting_ids_autocomplete(discord_env: Discord) -> None:
    await set_up(discord_env)
    await discord_env.slash("meeting", "schedule", discord_env.admin, title="Budget review", when="in 3 days at 18:00")
    interaction = discord_env.fake._interaction(
        4,
        {
            "id": "1",
            "name": "meeting",
            "type": 1,
            "options": [
                {"type": 1, "name": "rsvp", "options": [{"type": 4, "name": "id", "value": "bud", "focused": True}]}
            ],
        },
        discord_env.maria,
        GENERAL,
    )
    callback = await discord_env.fake._inject(interaction)
    assert callback["type"] == 8
    [choice] = callback["data"]["choices"]
    assert choice["value"] == 1 and choice["name"].startswith("#1 Budget review (")


async def test_poll_form_multi_choice_menu_and_poll_autocomplete(discord_env: Discord) -> None:
    await set_up(discord_env)
    opened = await discord_env.slash("poll", "create")
    assert opened["type"] == 9 and opened["data"]["custom_id"] == "modal:poll.create"
    fields = [c["custom_id"] for row in opened["data"]["components"] for c in row["components"]]
    assert fields == ["question", "options", "kind", "anonymous", "closes"]
    done = await discord_env.fake.submit(
        "modal:poll.create",
        {"question": "What should we bring?", "options": "Chairs\nTables\nSnacks", "kind": "multiple"},
        discord_env.admin,
        GENERAL,
    )
    assert "Poll #1 is being posted in this channel" in text_of(done)
    card = (await eventually(lambda: discord_env.fake.messages[GENERAL]))[0]
    [menu] = [c for row in card["components"] for c in row["components"]]
    assert menu["type"] == 3 and menu["custom_id"] == "s|poll:pick:1" and menu["max_values"] == 3
    message = discord_env.fake.posted_message(GENERAL, card["embeds"], card["components"])
    voted = await discord_env.fake.click("s|poll:pick:1", message, discord_env.maria, values=["0", "2"])
    assert voted["data"]["flags"] & EPHEMERAL
    assert "Recorded in poll #1: **Chairs** and **Snacks**" in text_of(voted)
    edited = await eventually(lambda: [m for m in discord_env.fake.messages[GENERAL] if m.get("edited_timestamp")])
    assert "-# 1 voter" in edited[0]["embeds"][0]["description"]
    interaction = discord_env.fake._interaction(
        4,
        {
            "id": "1",
            "name": "poll",
            "type": 1,
            "options": [
                {
                    "type": 1,
                    "name": "results",
                    "options": [{"type": 4, "name": "id", "value": "bring", "focused": True}],
                }
            ],
        },
        discord_env.maria,
        GENERAL,
    )
    callback = await discord_env.fake._inject(interaction)
    [choice] = callback["data"]["choices"]
    assert choice["value"] == 1 and choice["name"] == "#1 What should we bring? (open)"


async def test_a_delivery_is_recognised_after_a_crash_without_nonces(discord_env: Discord) -> None:
    """Discord forgets nonces within minutes and never returns them when messages are read back:
    after a crash the bot still finds the message it sent, by what Discord does return."""
    messenger = discord_env.adapter.messenger
    where = ConversationRef("discord", GUILD, GENERAL)
    card = Reply(
        "📊 Venue? (poll #4)", blocks=(Section("📊 Venue? (poll #4)"), Actions((Button("Library", "poll:vote:4:0"),)))
    )
    since = datetime.now(UTC)
    sent = await messenger.send(where, card, key="poll:4:post:1")
    discord_env.fake._nonces.clear()  # the few minutes of enforce_nonce are over
    assert "nonce" not in (await discord_env.adapter.client.http.logs_from(int(GENERAL), 5))[0]
    found = await messenger.find_sent(where, "poll:4:post:1", reply=card, since=since)
    assert found is not None and found.message_id == sent.message_id
    other = Reply("📊 Venue? (poll #5)", blocks=(Actions((Button("Library", "poll:vote:5:0"),)),))
    assert await messenger.find_sent(where, "poll:5:post:1", reply=other, since=since) is None


async def test_linking_a_channel_the_bot_cannot_post_in_warns_at_once(discord_env: Discord) -> None:
    await set_up(discord_env)
    quiet = "4400000000000000002"
    discord_env.fake.channel(quiet, "quiet")
    discord_env.fake.bot_permissions[quiet] = 1 << 10  # may see the channel, not post in it
    linked = text_of(await discord_env.slash("coalition", "link", channel=quiet))
    assert "now linked" in linked and "I can't post in this channel" in linked and "Send Messages" in linked
    assert "can't post" not in text_of(await discord_env.slash("coalition", "link", channel=GENERAL, tags="all"))
    await discord_env.slash("broadcast", "send", text="Budget notes are up", ack=False)
    await eventually(lambda: discord_env.fake.messages[GENERAL])
    status = ""
    for _ in range(100):
        status = text_of(await discord_env.slash("broadcast", "status", id=1))
        if "failed 1" in status:  # not "failed 0", which every status line says
            break
        await asyncio.sleep(0.05)
    assert "#quiet" in status and "give the bot's role View Channel, Send Messages and Embed Links" in status, status


async def test_the_poll_form_holds_25_options_of_full_length(discord_env: Discord) -> None:
    await set_up(discord_env)
    await discord_env.slash("poll", "create")
    options = [f"Option {n:02d}: " + "x" * 64 for n in range(1, 26)]
    done = await discord_env.fake.submit(
        "modal:poll.create",
        {"question": "Which would you choose?", "options": "\n".join(options)},
        discord_env.admin,
        GENERAL,
    )
    assert "Poll #1 is being posted" in text_of(done), text_of(done)
    card = (await eventually(lambda: discord_env.fake.messages[GENERAL]))[0]
    assert "Option 25" in json.dumps(card)


async def test_the_add_an_option_button_opens_the_form_with_the_poll_filled_in(discord_env: Discord) -> None:
    await set_up(discord_env)
    await discord_env.slash("poll", "create", question="Topics for the forum?", options="Housing Lighting", open=True)
    card = (await eventually(lambda: discord_env.fake.messages[GENERAL]))[0]
    [add] = [c for row in card["components"] for c in row["components"] if "form:" in c.get("custom_id", "")]
    message = discord_env.fake.posted_message(GENERAL, card["embeds"], card["components"])
    opened = await discord_env.fake.click(add["custom_id"], message, discord_env.maria)
    assert opened["type"] == 9 and opened["data"]["custom_id"] == "modal:poll.add"
    [first] = opened["data"]["components"][0]["components"]
    assert first["custom_id"] == "id" and first["value"] == "1"
    done = await discord_env.fake.submit(
        "modal:poll.add", {"id": "1", "option": "Youth night"}, discord_env.maria, GENERAL
    )
    assert "Option 3 ('Youth night') is added to poll #1" in text_of(done)
