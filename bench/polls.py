"""Polls benchmark (issue 7's targets), on a SQLite file in a temporary folder:

1. 2,000 votes from 2,000 distinct members arriving within one second, through the dispatcher with
   the real scheduler and outbox delivering card edits: all recorded, none lost or doubled, how
   long each took to answer (p50, p99, max), and how often the poll card was edited during the
   burst. Then the same 2,000 all at once, for the votes per second this machine sustains.
2. The same burst as signed Slack `block_actions` requests, 200 at a time, against the Slack
   adapter's HTTP endpoint (slack-bolt; Web API on a loopback fake), and, in the same run, against
   a plain slack-bolt app whose handler only acks. Every vote must be in the database; our
   throughput (votes durably recorded and answered per second) is printed beside the plain app's
   (requests acked per second), with the ratio; and beside the true floor of a vote, a plain
   slack-bolt app that acks each click and answers it through response_url (target: at least 0.8).

    python bench/polls.py [--votes 2000] [--concurrency 200] [--postgres postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC
from pathlib import Path

from adapters import build_dispatcher

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text

from adapters.slack.app import SlackAdapter
from bot import logs
from bot.app import App
from bot.config import Settings, normalise_database_url
from bot.markup import plain
from bot.refs import Actor, ConversationRef, UserRef
from storage import Database
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, TEAM, FakeSlack, form, sign
from tests.messengers import MemoryPlatform


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


async def ballots(db: Database) -> tuple[int, int]:
    async with db.engine.connect() as conn:
        total = (await conn.execute(text("SELECT count(*) FROM ballots"))).scalar_one()
        voters = (await conn.execute(text("SELECT count(DISTINCT voter_key) FROM ballots"))).scalar_one()
    return int(total), int(voters)


# 1. The dispatcher ---------------------------------------------------------------------------


async def dispatcher_burst(url: str, votes: int, spread: float = 1.0) -> dict[str, object]:
    db = Database(url)
    if not db.is_sqlite:
        async with db.engine.begin() as conn:  # a clean schema each run
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await db.upgrade()
    app = App(Settings(database_url=url), db)
    platform = MemoryPlatform()
    app.add_messenger(platform)
    dispatcher = build_dispatcher(app)
    where = ConversationRef("console", "local", "general", name="general")
    await dispatcher.ensure_coalition("Bench", where, Actor(UserRef("console", "local", "admin"), "admin"))
    admin = Actor(UserRef("console", "local", "admin"), "admin")
    created = await dispatcher.run_text('/poll create "Bench?" Red Green Blue Gold --anonymous', admin, where)
    assert not created.error, created.text
    await app.scheduler.start()
    app.settle()  # as the running bot does once started
    while not platform.posted:  # noqa: ASYNC110 (the delivery worker posts it; polling a list is enough here)
        await asyncio.sleep(0.01)
    card = platform.posted[0]
    edit_times: list[float] = []
    original_update = platform.update

    async def timed_update(message, reply):  # type: ignore[no-untyped-def]
        await original_update(message, reply)
        edit_times.append(time.perf_counter())

    platform.update = timed_update  # type: ignore[method-assign]

    latencies: list[float] = []
    errors: list[str] = []

    async def vote(n: int, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        arrived = time.perf_counter()
        actor = Actor(UserRef("console", "local", f"voter{n}"), f"Voter {n}")
        reply = await dispatcher.run_action(f"poll:vote:1:{n % 4}", actor, where)
        latencies.append(time.perf_counter() - arrived)
        if reply.error:
            errors.append(reply.text)

    start = time.perf_counter() + 0.05
    await asyncio.gather(*(vote(n, start + spread * n / votes) for n in range(votes)))
    elapsed = time.perf_counter() - start
    await asyncio.sleep(2.5)  # the last coalesced edit
    await app.scheduler.stop()
    total, distinct = await ballots(db)
    burst_edits = [t for t in edit_times if t <= start + elapsed]
    backend = "SQLite" if db.is_sqlite else "PostgreSQL"
    within = f"within {spread:g} s" if spread else "all at once (what this machine sustains)"
    print(f"1. {votes:,} votes from distinct members {within}, through the dispatcher ({backend}):")
    print(f"   recorded {total:,} ballots ({distinct:,} distinct voters), {len(errors)} refused, lost {votes - total}")
    print(
        f"   answer time: p50 {pct(latencies, 50) * 1000:.0f} ms, p99 {pct(latencies, 99) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms; all answered after {elapsed:.2f} s: {votes / elapsed:,.0f} votes/s"
    )
    rate = len(burst_edits) / elapsed if elapsed else 0
    print(
        f"   poll card edits: {len(burst_edits)} during the {elapsed:.2f} s burst ({rate:.1f}/s), "
        f"{len(card.edits)} in all; the last shows {shown_voters(card)}"
    )
    await db.dispose()
    return {
        "backend": backend.lower(),
        "spread_s": spread,
        "recorded": total,
        "lost": votes - total,
        "p50_ms": round(pct(latencies, 50) * 1000),
        "p99_ms": round(pct(latencies, 99) * 1000),
        "votes_per_s": round(votes / elapsed),
    }


def shown_voters(card) -> str:  # type: ignore[no-untyped-def]
    last = card.edits[-1] if card.edits else card.reply
    return next((line for line in plain(last.text, UTC).splitlines() if "voter" in line), "?")


# 2. The Slack adapter over HTTP, beside a plain slack-bolt app -----------------------------------


class SlackSide:
    """Slack, played by another process: the Web API and response_url fake, and the sender of the
    signed requests. Slack's servers are not on our CPU, so neither app measured here pays for
    them; both pay only for what runs in their own process."""

    async def start(self) -> SlackSide:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--slack-side",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self.api_url = (await self._read())["api_url"]
        return self

    async def _read(self) -> dict:
        assert self.process.stdout is not None
        return json.loads(await self.process.stdout.readline())

    async def fire(self, url: str, votes: int, concurrency: int, answers: bool) -> dict:
        assert self.process.stdin is not None
        command = {"url": url, "votes": votes, "concurrency": concurrency, "answers": answers}
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()
        return await self._read()

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()


async def slack_side() -> None:
    """The child process: serve the fake, and fire bursts on request (one JSON line each way)."""
    fake = await FakeSlack().start()
    print(json.dumps({"api_url": fake.api_url}), flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        command = json.loads(line)
        before = len(fake.responses)
        started = time.perf_counter()
        acked, statuses = await fire(command["url"], fake, command["votes"], command["concurrency"])
        while command["answers"] and len(fake.responses) - before < command["votes"]:
            if time.perf_counter() - started > 120:
                break
            await asyncio.sleep(0.01)
        answered = time.perf_counter() - started
        refused = sum("⚠️" in (r.get("text") or "") for r in fake.responses[before:])
        result = {
            "acked": acked,
            "answered": answered,
            "responses": len(fake.responses) - before,
            "refused": refused,
            "statuses": dict(Counter(statuses)),
        }
        print(json.dumps(result), flush=True)
    await fake.stop()


async def fire(url: str, fake: FakeSlack, votes: int, concurrency: int) -> tuple[float, list[int]]:
    """POST `votes` signed block_actions from distinct members, `concurrency` in flight at a time."""
    bodies = [form(fake.block_actions(f"poll:vote:1:{n % 4}", user=f"U{n:06d}")) for n in range(votes)]
    statuses: list[int] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while bodies:
                body = bodies.pop()
                headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    statuses.append(response.status)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, statuses


async def plain_bolt(api_url: str) -> web.AppRunner:
    """The baseline: slack-bolt's own HTTP server and signature check, a handler that only acks."""
    client = AsyncWebClient(token=BOT_TOKEN, base_url=api_url)
    bolt = AsyncApp(client=client, signing_secret=SIGNING_SECRET)

    @bolt.action(re.compile(".+"))
    async def only_ack(ack):  # type: ignore[no-untyped-def]
        await ack()

    runner = web.AppRunner(bolt.web_app(path="/slack/events", port=0))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


async def floor_bolt(api_url: str) -> tuple[web.AppRunner, aiohttp.ClientSession]:
    """The true floor of a vote: what any vote must do and nothing more. slack-bolt acks the click
    and the handler answers the voter through response_url (on one pooled session, as ours does);
    nothing is recorded."""
    client = AsyncWebClient(token=BOT_TOKEN, base_url=api_url)
    bolt = AsyncApp(client=client, signing_secret=SIGNING_SECRET)
    session = aiohttp.ClientSession()

    @bolt.action(re.compile(".+"))
    async def ack_and_answer(ack, body):  # type: ignore[no-untyped-def]
        await ack()
        answer = {"response_type": "ephemeral", "replace_original": False, "text": "Recorded."}
        async with session.post(body["response_url"], json=answer) as response:
            await response.read()

    runner = web.AppRunner(bolt.web_app(path="/slack/events", port=0))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, session


async def slack_burst(workdir: Path, votes: int, concurrency: int) -> dict[str, object]:
    slack = await SlackSide().start()
    url = f"sqlite+aiosqlite:///{workdir / 'slack.db'}"
    settings = Settings(
        database_url=url,
        http_port=0,
        environ={"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url},
    )
    db = Database(url)
    await db.upgrade()
    app = App(settings, db)
    dispatcher = build_dispatcher(app)
    adapter = SlackAdapter(settings, app, dispatcher)
    await adapter.start()
    await app.scheduler.start()
    app.settle()  # as the running bot does once started
    where = ConversationRef("slack", TEAM, "C1", name="general")
    founder = Actor(UserRef("slack", TEAM, "UADMIN"), "Dana", True)
    await dispatcher.ensure_coalition("Bench", where, founder)
    created = await dispatcher.run_text('/poll create "Bench?" Red Green Blue Gold --anonymous', founder, where)
    assert not created.error, created.text
    plain_runner = await plain_bolt(slack.api_url)
    plain_port = plain_runner.addresses[0][1]
    floor_runner, floor_session = await floor_bolt(slack.api_url)
    floor_port = floor_runner.addresses[0][1]

    cpu = time.process_time()
    plain = await slack.fire(f"http://127.0.0.1:{plain_port}/slack/events", votes, concurrency, answers=False)
    plain_cpu, cpu = time.process_time() - cpu, time.process_time()
    floor = await slack.fire(f"http://127.0.0.1:{floor_port}/slack/events", votes, concurrency, answers=True)
    floor_cpu, cpu = time.process_time() - cpu, time.process_time()
    # Ours acks at once and answers each voter through response_url once the vote is committed:
    # the burst is over when every voter has had that answer.
    ours = await slack.fire(f"http://127.0.0.1:{adapter.port}/slack/events", votes, concurrency, answers=True)
    our_cpu = time.process_time() - cpu
    total, distinct = await ballots(db)
    plain_rate = votes / plain["acked"]
    floor_rate = votes / floor["answered"]
    our_rate = total / ours["answered"]
    print(
        f"2. {votes:,} signed Slack block_actions, {concurrency} concurrent, over HTTP "
        "(slack-bolt; Slack's Web API and the requests played by another process):"
    )
    print(
        f"   plain slack-bolt app (ack only): {plain_rate:,.0f} requests/s {plain['statuses']}, {plain['acked']:.2f} s"
    )
    print(
        f"   the floor, slack-bolt acking and answering each through response_url: {floor_rate:,.0f} answered/s "
        f"{floor['statuses']}, {floor['answered']:.2f} s"
    )
    print(
        f"   coalition-bot: acked {votes / ours['acked']:,.0f} requests/s {ours['statuses']}; {total:,} ballots "
        f"recorded ({distinct:,} voters, {ours['refused']} refused), {ours['responses']:,} voters answered "
        f"after {ours['answered']:.2f} s: {our_rate:,.0f} votes/s"
    )
    print(f"   ratio (votes recorded and answered per second to plain acks per second): {our_rate / plain_rate:.2f}")
    print(f"   ratio to the floor (answered per second; target at least 0.8): {our_rate / floor_rate:.2f}")
    print(
        f"   CPU time in this process: plain app {plain_cpu * 1000 / votes:.2f} ms per request, the floor "
        f"{floor_cpu * 1000 / votes:.2f} ms, coalition-bot {our_cpu * 1000 / votes:.2f} ms per vote"
    )

    await plain_runner.cleanup()
    await floor_runner.cleanup()
    await floor_session.close()
    await app.scheduler.stop()
    await adapter.stop()
    await slack.stop()
    await db.dispose()
    return {
        "plain_acks_per_s": round(plain_rate),
        "votes_per_s": round(our_rate),
        "ratio": round(our_rate / plain_rate, 2),
        "floor_answered_per_s": round(floor_rate),
        "ratio_to_floor": round(our_rate / floor_rate, 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--postgres", metavar="URL", help="also run part 1 on this (emptied!) PostgreSQL database")
    parser.add_argument("--slack-side", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.slack_side:
        await slack_side()
        return
    logs.configure("ERROR")
    workdir = Path(tempfile.mkdtemp())
    bursts = [
        await dispatcher_burst(f"sqlite+aiosqlite:///{workdir / 'burst.db'}", args.votes),
        await dispatcher_burst(f"sqlite+aiosqlite:///{workdir / 'flood.db'}", args.votes, spread=0),
    ]
    if args.postgres:
        bursts.append(await dispatcher_burst(normalise_database_url(args.postgres), args.votes))
        bursts.append(await dispatcher_burst(normalise_database_url(args.postgres), args.votes, spread=0))
    slack = await slack_burst(workdir, args.votes, args.concurrency)
    print(json.dumps({"bench": "polls", "votes": args.votes, "bursts": bursts, "slack": slack}))


if __name__ == "__main__":
    asyncio.run(main())
