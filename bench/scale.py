"""Costs against history and membership (issue 17), at 1x, 10x and 100x.

Per scale: queuing `/poll remind` and `/broadcast nudge` to every member (200 / 2,000 / 20,000
members), a delivery worker's wake with nothing due over 1k / 10k / 100k delivered outbox rows, and
the database's size before and after the daily housekeeping prunes deliveries older than 30 days.
Members and delivered rows are seeded in bulk; the commands run through the dispatcher.

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
from bot.due import Housekeeping
from storage import Database
from storage.models import Ballot, Member, OutboxMessage
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

    started = time.perf_counter()
    reply = await bot.run("/poll remind 1")
    remind = time.perf_counter() - started
    assert not reply.error, reply.text
    started = time.perf_counter()
    reply = await bot.run("/broadcast nudge 1")
    nudge = time.perf_counter() - started
    assert not reply.error, reply.text

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
    pruned = await Housekeeping(app).run_due(NOW)
    housekeeping = time.perf_counter() - started
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
        "idle_wake_p50_ms": round(statistics.median(wakes) * 1000, 2),
        "ballots": 1000 * factor,
        "vote_p50_ms": round(statistics.median(votes) * 1000, 2),
        "results_p50_ms": round(statistics.median(results) * 1000, 2),
        "pruned_rows": pruned,
        "housekeeping_s": round(housekeeping, 3),
        "db_bytes_before": before,
        "db_bytes_after_prune": after,
    }
    print(
        f"{factor:>3}x: {members:,} members, {delivered:,} delivered rows | /poll remind {remind:.3f} s, "
        f"/broadcast nudge {nudge:.3f} s | vote p50 {figures['vote_p50_ms']} ms and /poll results p50 "
        f"{figures['results_p50_ms']} ms over {1000 * factor:,} ballots | "
        f"idle wake p50 {figures['idle_wake_p50_ms']} ms | "
        f"housekeeping pruned {pruned:,} rows in {housekeeping:.2f} s; database {before / 1e6:.1f} MB -> "
        f"{after / 1e6:.1f} MB"
    )
    return figures


async def rsvp_burst(workdir: Path, clicks: int) -> float:
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
    started = time.perf_counter()
    replies = await asyncio.gather(
        *(
            bot.dispatcher.run_action(
                "meeting:rsvp:1:going", Actor(UserRef("console", "local", f"m{n}"), f"m{n}"), where
            )
            for n in range(clicks)
        )
    )
    took = time.perf_counter() - started
    assert not any(r.error for r in replies)
    await app.close()
    print(f"RSVP burst: {clicks:,} clicks on one meeting in {took:.2f} s")
    return took


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10,100")
    args = parser.parse_args()
    logs.configure("ERROR")
    workdir = Path(tempfile.mkdtemp())
    results = [await one_scale(int(f), workdir) for f in args.scales.split(",")]
    bursts = {str(n): round(await rsvp_burst(workdir, n), 3) for n in (100, 400, 1600)}
    print(json.dumps({"bench": "scale", "results": results, "rsvp_burst_s": bursts}))


if __name__ == "__main__":
    asyncio.run(main())
