"""Fan-out benchmark: one broadcast to 200 channels, 100 on a Slack fake and 100 on a Discord fake
that enforce the platforms' limits, through the real slack_sdk and discord.py clients.

    python bench/fanout.py [--channels-per-platform 100]

Prints the total time, the minimum the limits allow, the ratio, and how many 429s our own pacing
provoked (the target: within 10% of the minimum, no 429, no failure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import discord
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import select

from adapters.discord.app import point_at
from adapters.discord.messenger import DiscordMessenger
from adapters.discord.platform import DiscordPlatform
from adapters.slack.messenger import SlackMessenger
from adapters.slack.platform import SlackPlatform
from bot.app import App
from bot.config import Settings
from bot.refs import Actor, ConversationRef, UserRef
from storage import Database
from storage.models import OutboxMessage
from tests.fakes.discord import TOKEN as DISCORD_TOKEN
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import BOT_TOKEN, TEAM, FakeSlack


def minimum_seconds(messages: int, overall: int, per: float) -> float:
    """Under a sliding window of `overall` messages per `per` seconds, the last of `messages` can go
    no earlier than this (channels are distinct, so per-channel limits do not bind)."""
    return (math.ceil(messages / overall) - 1) * per


async def seed(app: App, per_platform: int) -> None:
    """A coalition with `per_platform` Slack and as many Discord channels, and one broadcast to all."""
    founder = Actor(UserRef("slack", TEAM, "UADMIN"), "Dana", True)
    async with app.unit_of_work() as services:
        place = await services.coalitions.create("Bench", ConversationRef("slack", TEAM, "C0", name="c0"), founder)
        for n in range(1, per_platform):
            await services.coalitions.link(place.space, ConversationRef("slack", TEAM, f"C{n}", name=f"c{n}"), [])
        guild = await services.repos.coalitions.add_space(place.coalition.id, "discord", "G1", "")
        for n in range(per_platform):
            channel_id = str(4400000000000000001 + n)
            await services.coalitions.link(guild, ConversationRef("discord", "G1", channel_id, name=f"d{n}"), [])
        author = await services.coalitions.member_for(place.coalition, founder)
        await services.broadcasts.create(place.coalition.id, author, "Road closure on Main St", None, None, True)
        await services.repos.commit()


async def run(per_platform: int) -> None:
    slack_fake, discord_fake = await FakeSlack().start(), await FakeDiscord().start()
    slack_fake.enforce_pacing = discord_fake.enforce_pacing = True
    workdir = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    settings = Settings(
        database_url=url,
        environ={"DISCORD_API_URL": discord_fake.api_url, "DISCORD_GATEWAY_URL": discord_fake.gateway_url},
    )
    db = Database(url)
    await db.upgrade()
    app = App(settings, db)

    await seed(app, per_platform)

    point_at(settings)
    client = discord.Client(intents=discord.Intents.none())
    await client.login(DISCORD_TOKEN)
    app.add_messenger(
        SlackMessenger(AsyncWebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)), SlackPlatform.pacing
    )
    app.add_messenger(DiscordMessenger(client), DiscordPlatform.pacing)

    started = time.monotonic()
    await app.scheduler.run_due()
    elapsed = time.monotonic() - started

    async with db.session() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "post"))).all()
    statuses = Counter(r.status for r in rows)
    slack_posts = sum(len(m) for c, m in slack_fake.messages.items() if c.startswith("C"))
    discord_posts = sum(len(m) for c, m in discord_fake.messages.items() if c.startswith("44"))
    # The sender's report is a DM on Slack: one more message in Slack's workspace window.
    floor = max(
        minimum_seconds(per_platform + 1, SlackPlatform.pacing.overall.count, SlackPlatform.pacing.overall.seconds),
        minimum_seconds(per_platform, DiscordPlatform.pacing.overall.count, DiscordPlatform.pacing.overall.seconds),
    )
    print(f"channels: {per_platform} Slack + {per_platform} Discord = {2 * per_platform}")
    print(f"delivered: Slack {slack_posts}, Discord {discord_posts}; outbox rows {dict(statuses)}")
    print(f"429 answers provoked: Slack {slack_fake.rate_limited}, Discord {discord_fake.rate_limited}")
    print(
        f"total time: {elapsed:.3f} s; minimum the limits allow: {floor:.3f} s; "
        f"over the minimum: {elapsed - floor:.3f} s ({(elapsed / floor - 1) * 100 if floor else 0:.1f}%)"
    )

    await client.close()
    await app.close()
    await slack_fake.stop()
    await discord_fake.stop()
    figures = {
        "bench": "fanout",
        "channels": 2 * per_platform,
        "delivered": {"slack": slack_posts, "discord": discord_posts},
        "rate_limited": {"slack": slack_fake.rate_limited, "discord": discord_fake.rate_limited},
        "seconds": round(elapsed, 3),
        "minimum_seconds": round(floor, 3),
    }
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels-per-platform", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(run(args.channels_per_platform))


if __name__ == "__main__":
    main()
