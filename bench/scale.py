"""Costs against history and membership (issue 17), at 1x, 10x and 100x.

Per scale (200 / 2,000 / 20,000 members; 1k / 10k / 100k ballots in a poll, past meetings with an
RSVP and an attendance each, acknowledgements of past broadcasts, and delivered outbox rows): the
p50 of start-up (opening the database and the scheduler's first wake), a vote, `/poll results`,
`/meeting list`, `/coalition report`, `/coalition map` and App Home; `/poll remind` and
`/broadcast nudge` to every member, until every reminder is queued, and the longest another
command waits meanwhile; a delivery worker's wake with nothing due; the database's size before
and after the daily housekeeping prunes deliveries older than 30 days. History is seeded in
bulk; the commands run through the dispatcher.

    .venv/bin/python bench/scale.py [--scales 1,10,100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters import build_dispatcher
from bot import logs
from bot.app import App
from bot.clock import SimulatedClock
from bot.config import Settings
from bot.due import EngagementKeeper, Fanouts, Housekeeping
from bot.replies import Reply
from storage import Database
from storage.models import (
    Acknowledgement,
    Attendance,
    Ballot,
    Broadcast,
    Meeting,
    Member,
    Occurrence,
    OutboxMessage,
    Rsvp,
)
from tests.harness import Harness

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def seed(db: Database, members: int, delivered: int) -> None:
    """Members of the console coalition, and delivered rows spread over the last 90 days."""
    async with db.session() as session:
        await session.exec(  # type: ignore[call-overload]
            insert(Member),
            params=[
                {
                    "coalition_id": 1,
                    "platform": "console",
                    "workspace_id": "local",
                    "user_id": f"m{n}",
                    "display_name": f"m{n}",
                    "role": "member",
                    "joined_at": NOW - timedelta(days=100),
                }
                for n in range(members)
            ],
        )
        for start in range(0, delivered, 10_000):
            await session.exec(  # type: ignore[call-overload]
                insert(OutboxMessage),
                params=[
                    {
                        "coalition_id": 1,
                        "kind": "dm",
                        "platform": "console",
                        "workspace_id": "local",
                        "user_id": f"m{n % max(members, 1)}",
                        "payload": '{"text": "an old reminder"}',
                        "dedupe_key": f"history:{n}",
                        "status": "sent",
                        "not_before": NOW - timedelta(minutes=n * 90 * 24 * 60 // delivered),
                        "sent_at": NOW - timedelta(minutes=n * 90 * 24 * 60 // delivered),
                        "created_at": NOW - timedelta(minutes=n * 90 * 24 * 60 // delivered),
                    }
                    for n in range(start, min(start + 10_000, delivered))
                ],
            )
        await session.commit()


async def seed_history(db: Database, members: int, meetings: int) -> None:
    """`meetings` past meetings over the last 90 days (one occurrence, one RSVP and one attendance
    each, from members in turn), and a past broadcast a day acknowledged by a tenth of the members."""
    sectors = ["resident", "police", "city", "nonprofit", "business", "school", "faith"]
    async with db.session() as session:
        await session.exec(  # type: ignore[call-overload]
            text("UPDATE members SET sector = :sector, organisation = :org WHERE id % 7 = :n"),
            params=[{"sector": sector, "org": f"{sector} org", "n": n} for n, sector in enumerate(sectors)],
        )
        for start in range(0, meetings, 10_000):
            chunk = range(start, min(start + 10_000, meetings))
            when = [NOW - timedelta(minutes=(n + 1) * 90 * 24 * 60 // meetings) for n in chunk]
            await session.exec(  # type: ignore[call-overload]
                insert(Meeting),
                params=[
                    {
                        "id": n + 1,
                        "coalition_id": 1,
                        "title": f"Meeting {n}",
                        "timezone": "UTC",
                        "local_start": at.strftime("%Y-%m-%dT%H:%M:%S"),
                        "duration_minutes": 60,
                        "channel_ids": [1],
                        "status": "active",
                        "created_at": at - timedelta(days=7),
                    }
                    for n, at in zip(chunk, when, strict=True)
                ],
            )
            await session.exec(  # type: ignore[call-overload]
                insert(Occurrence),
                params=[
                    {"id": n + 1, "meeting_id": n + 1, "original_start": at, "start": at, "cancelled": False}
                    for n, at in zip(chunk, when, strict=True)
                ],
            )
            await session.exec(  # type: ignore[call-overload]
                insert(Rsvp),
                params=[
                    {
                        "occurrence_id": n + 1,
                        "member_id": n % members + 1,
                        "answer": "going",
                        "at": at - timedelta(days=1),
                    }
                    for n, at in zip(chunk, when, strict=True)
                ],
            )
            await session.exec(  # type: ignore[call-overload]
                insert(Attendance), params=[{"occurrence_id": n + 1, "member_id": n % members + 1} for n in chunk]
            )
        days = 90
        await session.exec(  # type: ignore[call-overload]
            insert(Broadcast),
            params=[
                {
                    "id": 1000 + d,
                    "coalition_id": 1,
                    "author_id": 1,
                    "text": f"Update {d}",
                    "tags": [],
                    "ack_enabled": True,
                    "send_at": NOW - timedelta(days=d + 1),
                    "status": "scheduled",
                    "created_at": NOW - timedelta(days=d + 1),
                }
                for d in range(days)
            ],
        )
        acks = [
            {"broadcast_id": 1000 + d, "member_id": m + 1, "acked_at": NOW - timedelta(days=d + 1, hours=-1)}
            for d in range(days)
            for m in range(d % 10, members, 10 * days // 10)
        ]
        for start in range(0, len(acks), 10_000):
            await session.exec(insert(Acknowledgement), params=acks[start : start + 10_000])  # type: ignore[call-overload]
        await session.commit()


async def p50(action, runs: int = 10) -> float:  # type: ignore[no-untyped-def]
    """The median time of `runs` calls of `action`, in milliseconds."""
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        took.append(time.perf_counter() - started)
    return round(statistics.median(took) * 1000, 2)


async def while_waiting(bot: Harness, work):  # type: ignore[no-untyped-def]
    """Runs `work` while another member asks `/coalition whoami` every 10 ms; returns what `work`
    returned, the seconds it took, and the longest any of those commands took meanwhile (ms)."""
    done = asyncio.Event()
    waits: list[float] = []

    async def bystander() -> None:
        while not done.is_set():
            started = time.perf_counter()
            reply = await bot.run("/coalition whoami", as_="bystander")
            waits.append(time.perf_counter() - started)
            assert not reply.error, reply.text
            await asyncio.sleep(0.01)

    await bot.run("/coalition whoami", as_="bystander")  # joined before, so the first one is not a join
    watcher = asyncio.create_task(bystander())
    await asyncio.sleep(0.03)
    started = time.perf_counter()
    result = await work()
    took = time.perf_counter() - started
    done.set()
    await watcher
    return result, took, round(max(waits) * 1000, 1)


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


async def one_scale(factor: int, workdir: Path) -> dict[str, float]:
    path = workdir / f"scale-{factor}.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    clock = SimulatedClock(NOW)
    app = App(Settings(database_url=db.url), db, clock)
    bot = Harness(build_dispatcher(app))
    await bot.start()
    members, delivered = 200 * factor, 1000 * factor
    await seed(db, members, delivered)
    await bot.run('/poll create "Budget?" Yes No')
    await bot.run('/broadcast send "Road closed"')

    async def queued(command: str) -> Reply:
        """The command, then its reminders queued a slice at a time, as the scheduler would."""
        reply = await bot.run(command)
        await Fanouts(app).run_due(NOW)
        return reply

    reply, remind, remind_wait = await while_waiting(bot, lambda: queued("/poll remind 1"))
    assert not reply.error, reply.text
    reply, nudge, nudge_wait = await while_waiting(bot, lambda: queued("/broadcast nudge 1"))
    assert not reply.error, reply.text
    async with db.session() as session:
        reminders = (await session.exec(text("SELECT COUNT(*) FROM outbox WHERE kind = 'dm'"))).one()[0]  # type: ignore[call-overload]
    assert reminders >= 2 * members, reminders

    # A named poll with 1,000 x scale ballots (kept counts as the migration builds them), then votes.
    await bot.run('/poll create "Priorities?" Lighting Housing Transit Youth')
    poll_id = 2
    async with db.session() as session:
        await session.exec(  # type: ignore[call-overload]
            insert(Ballot),
            params=[
                {"poll_id": poll_id, "voter_key": f"k{n}", "member_id": 1, "choices": str(n % 4), "cast_at": NOW}
                for n in range(1000 * factor)
            ],
        )
        await session.exec(  # type: ignore[call-overload]
            text(
                "INSERT INTO poll_tallies (poll_id, choices, ballots) SELECT poll_id, choices, COUNT(*) "
                f"FROM ballots WHERE poll_id = {poll_id} GROUP BY choices"
            )
        )
        await session.commit()
    votes, results = [], []
    for n in range(20):
        started = time.perf_counter()
        reply = await bot.click(f"poll:vote:{poll_id}:{n % 4}", as_=f"m{n}")
        votes.append(time.perf_counter() - started)
        assert not reply.error, reply.text
        started = time.perf_counter()
        await bot.run(f"/poll results {poll_id}")
        results.append(time.perf_counter() - started)

    # An anonymous poll with 1,000 x scale sealed ballots (sealed with the poll's own keys), then votes:
    # the first count after start opens every ballot once; later ones are kept in memory.
    await bot.run('/poll create "Trust?" High Medium Low Unsure --anonymous')
    anonymous_id = 3
    async with app.unit_of_work() as services:
        poll = await services.polls.find(1, anonymous_id)
        assert poll is not None
        keys = await services.polls.keys_of(poll)
        assert keys is not None
        sealed = [
            {"poll_id": anonymous_id, "voter_key": f"{n:064x}", "choices": keys.seal(str(n % 4))}
            for n in range(1000 * factor)
        ]
    async with db.session() as session:
        for start in range(0, len(sealed), 10_000):
            await session.exec(insert(Ballot), params=sealed[start : start + 10_000])  # type: ignore[call-overload]
        await session.commit()
    anonymous_votes = []
    for n in range(21):
        started = time.perf_counter()
        reply = await bot.click(f"poll:vote:{anonymous_id}:{n % 4}", as_=f"m{100 + n}")
        anonymous_votes.append(time.perf_counter() - started)
        assert not reply.error, reply.text
    first_anonymous = anonymous_votes.pop(0)

    await seed_history(db, members, 1000 * factor)
    # History seeded in bulk arrives at once; a real one grows over months, with the planner's
    # statistics refreshed and each day's engagement kept at every start and daily (Housekeeping).
    # Do both as a start would.
    await db.optimize()
    started = time.perf_counter()
    kept_days = await EngagementKeeper(app).catch_up(NOW)
    keeping = time.perf_counter() - started
    await db.engine.dispose()  # connections opened before it read the statistics: open new ones, as a start would

    async def checked(text: str) -> None:
        reply = await bot.run(text)
        assert not reply.error, reply.text

    async def home() -> None:
        reply = await bot.dispatcher.run_home(bot.actor("m5"), bot.where("general"))
        assert not reply.error, reply.text

    async def start_up() -> None:
        again = App(Settings(database_url=db.url), Database(db.url), clock)
        await again.db.upgrade()  # nothing to do: the check that it is at the newest schema
        await again.scheduler.run_due()  # the first wake: what fell due, and when to wake next
        await again.close()

    listing = await p50(lambda: checked("/meeting list"))
    report = await p50(lambda: checked("/coalition report --since 90d"), runs=5)
    stakeholder_map = await p50(lambda: checked("/coalition map"))
    home_view = await p50(home)
    startup = await p50(start_up, runs=5)

    async with app.unit_of_work() as services:  # what is queued above is due; mark it delivered
        await services.repos.session.exec(text("UPDATE outbox SET status = 'sent', sent_at = created_at"))  # type: ignore[call-overload]
        await services.repos.commit()
    wakes = []
    for _ in range(20):
        started = time.perf_counter()
        async with app.unit_of_work() as services:
            claimed = await services.repos.outbox.claim("console", "bench", NOW, timedelta(seconds=30), 50)
            await services.rollback()
        wakes.append(time.perf_counter() - started)
        assert claimed == []
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
    before = size(path)
    started = time.perf_counter()
    daily = Housekeeping(app)
    await daily.run_due(NOW)
    housekeeping, pruned = time.perf_counter() - started, daily.pruned
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.execute("VACUUM")  # type: ignore[union-attr]
        await raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
    after = size(path)
    await app.close()
    figures = {
        "scale": factor,
        "members": members,
        "delivered_rows": delivered,
        "remind_s": round(remind, 3),
        "nudge_s": round(nudge, 3),
        "remind_longest_other_ms": remind_wait,
        "nudge_longest_other_ms": nudge_wait,
        "idle_wake_p50_ms": round(statistics.median(wakes) * 1000, 2),
        "ballots": 1000 * factor,
        "vote_p50_ms": round(statistics.median(votes) * 1000, 2),
        "results_p50_ms": round(statistics.median(results) * 1000, 2),
        "anonymous_vote_p50_ms": round(statistics.median(anonymous_votes) * 1000, 2),
        "anonymous_first_count_ms": round(first_anonymous * 1000, 2),
        "startup_p50_ms": startup,
        "meeting_list_p50_ms": listing,
        "report_p50_ms": report,
        "days_kept": kept_days,
        "keeping_s": round(keeping, 3),
        "map_p50_ms": stakeholder_map,
        "app_home_p50_ms": home_view,
        "pruned_rows": pruned,
        "housekeeping_s": round(housekeeping, 3),
        "db_bytes_before": before,
        "db_bytes_after_prune": after,
    }
    print(
        f"{factor:>3}x: {members:,} members, {delivered:,} delivered rows | /poll remind {remind:.3f} s, "
        f"/broadcast nudge {nudge:.3f} s (another command waited at most {remind_wait} / {nudge_wait} ms) | "
        f"vote p50 {figures['vote_p50_ms']} ms and /poll results p50 "
        f"{figures['results_p50_ms']} ms over {1000 * factor:,} ballots; anonymous vote p50 "
        f"{figures['anonymous_vote_p50_ms']} ms (the first after start {figures['anonymous_first_count_ms']} ms) | "
        f"idle wake p50 {figures['idle_wake_p50_ms']} ms | start-up p50 {startup} ms, /meeting list {listing} ms, "
        f"/coalition report {report} ms ({kept_days} days kept in {keeping:.2f} s), "
        f"/coalition map {stakeholder_map} ms, App Home {home_view} ms | "
        f"housekeeping pruned {pruned:,} rows in {housekeeping:.2f} s; database {before / 1e6:.1f} MB -> "
        f"{after / 1e6:.1f} MB"
    )
    return figures


async def rsvp_burst(workdir: Path, clicks: int) -> dict[str, float]:
    """`clicks` members press Going on one meeting at once, through the dispatcher's batching."""
    from bot.refs import Actor, ConversationRef, UserRef
    from tests.messengers import MemoryPlatform

    db = Database(f"sqlite+aiosqlite:///{workdir / f'rsvp-{clicks}.db'}")
    await db.upgrade()
    app = App(Settings(database_url=db.url), db, SimulatedClock(NOW))
    app.add_messenger(MemoryPlatform())
    bot = Harness(build_dispatcher(app))
    await bot.start()
    await seed(db, clicks, 0)
    await bot.run('/meeting schedule "Forum" "2026-12-05 19:00"')
    where = ConversationRef("console", "local", "general", name="general")
    app.settle()  # as the running bot does once started

    async def burst():  # type: ignore[no-untyped-def]
        return await asyncio.gather(
            *(
                bot.dispatcher.run_action(
                    "meeting:rsvp:1:going", Actor(UserRef("console", "local", f"m{n}"), f"m{n}"), where
                )
                for n in range(clicks)
            )
        )

    replies, took, longest = await while_waiting(bot, burst)
    assert not any(r.error for r in replies)
    await app.close()
    print(f"RSVP burst: {clicks:,} clicks on one meeting in {took:.2f} s (another command waited at most {longest} ms)")
    return {"seconds": round(took, 3), "longest_other_ms": longest}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10,100")
    args = parser.parse_args()
    logs.configure("ERROR")
    workdir = Path(tempfile.mkdtemp())
    results = [await one_scale(int(f), workdir) for f in args.scales.split(",")]
    bursts = {str(n): await rsvp_burst(workdir, n) for n in (100, 400, 1600)}
    print(json.dumps({"bench": "scale", "results": results, "rsvp_bursts": bursts}))


if __name__ == "__main__":
    asyncio.run(main())
