"""Several processes on one PostgreSQL database (issue 17): do they add up, and do they keep the
platforms' limits together?

1. Votes: each process casts `--votes` votes by distinct members on one poll through its own
   dispatcher, all at once; the rate of 1 process against the combined rate of 2 (target: at
   least 1.6x), and how many click batches had to be replayed one by one (target: none).
2. Fan-out: one broadcast to 200 channels (100 on a Slack fake, 100 on a Discord fake, both
   enforcing the platforms' limits), made while 1, then 2 running processes wait, and delivered by
   them; they share the pacing through the database: 429s provoked (target: none), total time
   against the minimum the limits allow (target: at most 1.10x), how the rows were spread between
   the processes, nothing lost or doubled.

The fakes and the seeding run in this process; each worker is this script again (`--child`),
started fresh, told to go on its standard input, and reporting one JSON line.

    python bench/multiprocess.py [--postgres postgresql://postgres@127.0.0.1:5432/test] [--votes 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text
from sqlmodel import select

from bench.fanout import minimum_seconds, seed
from bot.config import normalise_database_url
from storage import Database
from storage.models import OutboxMessage

SCRIPT = Path(__file__).resolve()


# The worker processes -------------------------------------------------------------------------


class Replays(logging.Handler):
    """Counts click batches the dispatcher had to write again one by one (a conflict between processes)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "one by one" in record.getMessage():
            self.count += 1


async def child_votes(url: str, votes: int, offset: int) -> dict[str, object]:
    from adapters import build_dispatcher
    from bot.app import App
    from bot.config import Settings
    from bot.refs import Actor, ConversationRef, UserRef

    replays = Replays()
    logging.getLogger("commands.dispatcher").addHandler(replays)
    app = App(Settings(database_url=url), Database(url))
    dispatcher = build_dispatcher(app)
    where = ConversationRef("console", "local", "general", name="general")
    actors = [Actor(UserRef("console", "local", f"voter{offset + n}"), f"Voter {offset + n}") for n in range(votes)]
    app.settle()  # as the running bot does once started
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.monotonic()
    answers = await asyncio.gather(
        *(dispatcher.run_action(f"poll:vote:1:{n % 4}", actor, where) for n, actor in enumerate(actors))
    )
    finished = time.monotonic()
    await app.close()
    return {
        "started": started,
        "finished": finished,
        "refused": sum(1 for a in answers if a.error),
        "replayed_batches": replays.count,
    }


async def child_fanout(url: str, slack_api: str, discord_api: str, discord_gateway: str) -> dict[str, object]:
    import aiohttp
    import discord
    from slack_sdk.web.async_client import AsyncWebClient

    from adapters.discord.app import point_at
    from adapters.discord.messenger import DiscordMessenger
    from adapters.discord.platform import DiscordPlatform
    from adapters.slack.messenger import SlackMessenger
    from adapters.slack.platform import SlackPlatform
    from bot.app import App
    from bot.config import Settings
    from tests.fakes.discord import TOKEN as DISCORD_TOKEN
    from tests.fakes.slack import BOT_TOKEN

    settings = Settings(
        database_url=url, environ={"DISCORD_API_URL": discord_api, "DISCORD_GATEWAY_URL": discord_gateway}
    )
    db = Database(url)
    app = App(settings, db)
    point_at(settings)
    client = discord.Client(intents=discord.Intents.none())
    await client.login(DISCORD_TOKEN)
    # As the Slack adapter wires it: one connection pool for every Web API call.
    http = aiohttp.ClientSession()
    slack = AsyncWebClient(token=BOT_TOKEN, base_url=slack_api, session=http)
    app.add_messenger(SlackMessenger(slack), SlackPlatform.pacing)
    app.add_messenger(DiscordMessenger(client), DiscordPlatform.pacing)
    # Running, as a bot process is when a broadcast comes in: its workers have woken with nothing due.
    assert sum(await asyncio.gather(*(w.run_due(app.clock.now()) for w in app.workers.values()))) == 0
    app.settle()  # as the running bot does once started
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.monotonic()
    while True:
        await asyncio.gather(*(w.run_due(app.clock.now()) for w in app.workers.values()))
        async with db.session() as session:
            open_rows = (
                await session.exec(
                    select(OutboxMessage.id).where(
                        OutboxMessage.kind != "edit",  # the sender's progress report is edited after
                        OutboxMessage.status.in_(["pending", "sending"]),  # type: ignore[attr-defined]
                    )
                )
            ).all()
        if not open_rows:
            break
        await asyncio.sleep(0.02)  # another process holds the rest
    finished = time.monotonic()
    owners = {w.owner for w in app.workers.values()}
    async with db.session() as session:
        mine = (
            await session.exec(
                select(OutboxMessage.id).where(
                    OutboxMessage.status == "sent",
                    OutboxMessage.kind == "post",
                    OutboxMessage.lease_owner.in_(owners),  # type: ignore[union-attr]
                )
            )
        ).all()
    await client.close()
    await http.close()
    await app.close()
    return {"started": started, "finished": finished, "posts_delivered": len(mine)}


# The parent ---------------------------------------------------------------------------------


async def fresh(url: str) -> Database:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await db.upgrade()
    return db


async def spawn(
    processes: int, args: list[list[str]], when_ready: Callable[[], Awaitable[None]] | None = None
) -> list[dict[str, object]]:
    """Start the workers, wait until each is ready (then run `when_ready`), tell them all to go,
    collect their reports."""
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPT),
            "--child",
            *args[n],
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(SCRIPT.parents[1])},
        )
        for n in range(processes)
    ]
    for child in children:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 60)
        assert line.strip() == b"ready", line
    if when_ready is not None:
        await when_ready()
    for child in children:
        assert child.stdin is not None
        child.stdin.write(b"go\n")
        await child.stdin.drain()
    reports = []
    for child in children:
        out, _ = await asyncio.wait_for(child.communicate(), 300)
        reports.append(json.loads(out.decode().strip().splitlines()[-1]))
    return reports


async def votes_run(url: str, processes: int, votes: int) -> dict[str, object]:
    from adapters import build_dispatcher
    from bot.app import App
    from bot.config import Settings
    from bot.refs import Actor, ConversationRef, UserRef

    db = await fresh(url)
    app = App(Settings(database_url=url), db)
    dispatcher = build_dispatcher(app)
    where = ConversationRef("console", "local", "general", name="general")
    admin = Actor(UserRef("console", "local", "admin"), "admin")
    await dispatcher.ensure_coalition("Bench", where, admin)
    created = await dispatcher.run_text('/poll create "Bench?" Red Green Blue Gold', admin, where)
    assert not created.error, created.text
    await app.close()
    reports = await spawn(processes, [["votes", url, str(votes), str(n * votes)] for n in range(processes)])
    async with db.engine.connect() as conn:
        ballots = (await conn.execute(text("SELECT count(*) FROM ballots"))).scalar_one()
    await db.dispose()
    elapsed = max(float(r["finished"]) for r in reports) - min(float(r["started"]) for r in reports)  # type: ignore[arg-type]
    cast = processes * votes
    return {
        "processes": processes,
        "votes": cast,
        "recorded": int(ballots),
        "seconds": round(elapsed, 3),
        "votes_per_s": round(cast / elapsed),
        "refused": sum(int(r["refused"]) for r in reports),  # type: ignore[call-overload]
        "replayed_batches": sum(int(r["replayed_batches"]) for r in reports),  # type: ignore[call-overload]
    }


async def fanout_run(url: str, processes: int, per_platform: int) -> dict[str, object]:
    from adapters.discord.platform import DiscordPlatform
    from adapters.slack.platform import SlackPlatform
    from bot.app import App
    from bot.config import Settings
    from tests.fakes.discord import FakeDiscord
    from tests.fakes.slack import FakeSlack

    slack_fake, discord_fake = await FakeSlack().start(), await FakeDiscord().start()
    slack_fake.enforce_pacing = discord_fake.enforce_pacing = True
    db = await fresh(url)

    async def broadcast() -> None:  # once the processes are running
        app = App(Settings(database_url=url), Database(url))
        await seed(app, per_platform)
        await app.close()

    child = ["fanout", url, slack_fake.api_url, discord_fake.api_url, discord_fake.gateway_url]
    reports = await spawn(processes, [child] * processes, broadcast)
    elapsed = max(float(r["finished"]) for r in reports) - min(float(r["started"]) for r in reports)  # type: ignore[arg-type]
    async with db.session() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "post"))).all()
    await db.dispose()
    statuses = Counter(r.status for r in rows)
    arrived = Counter(c for c, messages in slack_fake.messages.items() if c.startswith("C") for _ in messages)
    arrived += Counter(c for c, messages in discord_fake.messages.items() if c.startswith("44") for _ in messages)
    assert SlackPlatform.pacing.overall and DiscordPlatform.pacing.overall
    floor = max(
        minimum_seconds(per_platform + 1, SlackPlatform.pacing.overall.count, SlackPlatform.pacing.overall.seconds),
        minimum_seconds(per_platform, DiscordPlatform.pacing.overall.count, DiscordPlatform.pacing.overall.seconds),
    )
    await slack_fake.stop()
    await discord_fake.stop()
    return {
        "processes": processes,
        "channels": 2 * per_platform,
        "delivered": sum(arrived.values()),
        "doubled": sum(1 for n in arrived.values() if n > 1),
        "lost": 2 * per_platform - len(arrived),
        "rows": dict(statuses),
        "rate_limited": slack_fake.rate_limited + discord_fake.rate_limited,
        "seconds": round(elapsed, 3),
        "minimum_seconds": floor,
        "over_minimum": round(elapsed / floor, 3) if floor else None,
        "posts_per_process": [r["posts_delivered"] for r in reports],
    }


async def parent(url: str, votes: int, per_platform: int, repeats: int) -> None:
    figures: dict[str, object] = {"bench": "multiprocess"}
    for processes in (1, 2):
        runs = [await votes_run(url, processes, votes) for _ in range(repeats)]
        median = sorted(runs, key=lambda r: r["votes_per_s"])[len(runs) // 2]  # type: ignore[arg-type,return-value]
        print(f"votes, {processes} process(es): {[r['votes_per_s'] for r in runs]} votes/s; median run: {median}")
        figures[f"votes_{processes}p"] = median
    one, two = figures["votes_1p"], figures["votes_2p"]
    figures["votes_scaling"] = round(two["votes_per_s"] / one["votes_per_s"], 2)  # type: ignore[index]
    print(f"2 processes / 1 process: {figures['votes_scaling']}x (target at least 1.6x)")
    for processes in (1, 2):
        runs = [await fanout_run(url, processes, per_platform) for _ in range(repeats)]
        median = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]  # type: ignore[arg-type,return-value]
        print(f"fan-out, {processes} process(es): {[r['seconds'] for r in runs]} s; median run: {median}")
        figures[f"fanout_{processes}p"] = median
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--votes", type=int, default=2000, help="votes cast by each process")
    parser.add_argument("--channels-per-platform", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "votes":
            report = asyncio.run(child_votes(rest[0], int(rest[1]), int(rest[2])))
        else:
            report = asyncio.run(child_fanout(*rest))
        print(json.dumps(report), flush=True)
        return
    url = normalise_database_url(args.postgres)
    asyncio.run(parent(url, args.votes, args.channels_per_platform, args.repeats))


if __name__ == "__main__":
    main()
