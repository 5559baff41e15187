"""Report benchmark (issue 9's target): `/coalition report` over a coalition with 2,000 members in 8
sectors, 500 meetings held (with RSVPs and attendance), 300 polls (with ballots) and 100
broadcasts (with acknowledgements), answered with its text and its PNG chart, on a SQLite file and,
with --postgres, on PostgreSQL. Prints p50 and max over 10 runs; the target is under 2 s.

    python bench/report.py [--postgres postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters import build_dispatcher

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text

from bot import logs
from bot.app import App
from bot.config import Settings, normalise_database_url
from bot.refs import Actor, ConversationRef, UserRef
from storage import Database
from storage.models import (
    Acknowledgement,
    Attendance,
    Ballot,
    Broadcast,
    Meeting,
    Member,
    Occurrence,
    Poll,
    Rsvp,
)

SECTORS = ("law-enforcement", "local-government", "nonprofit", "business", "school", "faith", "resident", "youth")


async def seed(db: Database, coalition_id: int, now: datetime) -> None:
    rng = random.Random(7)
    async with db.session() as session:
        await session.exec(  # type: ignore[call-overload]
            insert(Member),
            params=[
                {
                    "coalition_id": coalition_id,
                    "platform": "slack" if n % 2 else "discord",
                    "workspace_id": "W",
                    "user_id": f"U{n}",
                    "display_name": f"Member {n}",
                    "role": "member",
                    "sector": SECTORS[n % len(SECTORS)],
                    "organisation": f"Org {n % 120}",
                    "joined_at": now - timedelta(days=400),
                }
                for n in range(2000)
            ],
        )
        ids = [i for (i,) in (await session.exec(text("SELECT id FROM members WHERE user_id LIKE 'U%'"))).all()]  # type: ignore[call-overload]
        meetings = [
            {
                "coalition_id": coalition_id,
                "title": f"Meeting {n}",
                "timezone": "UTC",
                "local_start": "2026-01-01T18:00:00",
                "channel_ids": [],
                "created_at": now - timedelta(days=200),
            }
            for n in range(500)
        ]
        await session.exec(insert(Meeting), params=meetings)  # type: ignore[call-overload]
        meeting_ids = [i for (i,) in (await session.exec(text("SELECT id FROM meetings"))).all()]  # type: ignore[call-overload]
        starts = [now - timedelta(hours=4 + 8 * n) for n in range(500)]  # spread over the last ~170 days
        await session.exec(  # type: ignore[call-overload]
            insert(Occurrence),
            params=[
                {"meeting_id": m, "original_start": s, "start": s} for m, s in zip(meeting_ids, starts, strict=True)
            ],
        )
        occurrences = [i for (i,) in (await session.exec(text("SELECT id FROM occurrences"))).all()]  # type: ignore[call-overload]
        rsvps, attended = [], []
        for o, start in zip(occurrences, starts, strict=True):
            for member in rng.sample(ids, 40):
                rsvps.append(
                    {"occurrence_id": o, "member_id": member, "answer": "going", "at": start - timedelta(days=1)}
                )
            for member in rng.sample(ids, 25):
                attended.append({"occurrence_id": o, "member_id": member})
        await session.exec(insert(Rsvp), params=rsvps)  # type: ignore[call-overload]
        await session.exec(insert(Attendance), params=attended)  # type: ignore[call-overload]
        polls = [
            {
                "coalition_id": coalition_id,
                "kind": "single",
                "question": f"Poll {n}",
                "options": '["Yes", "No"]',
                "anonymous": n % 3 == 0,
                "hidden": False,
                "allow_change": True,
                "eligible": "",
                "timezone": "UTC",
                "channel_ids": [],
                "status": "closed",
                "created_at": now - timedelta(hours=6 + 13 * n),
            }
            for n in range(300)
        ]
        await session.exec(insert(Poll), params=polls)  # type: ignore[call-overload]
        poll_rows = (await session.exec(text("SELECT id, anonymous, created_at FROM polls"))).all()  # type: ignore[call-overload]
        ballots = []
        for poll_id, anonymous, _created in poll_rows:
            for member in rng.sample(ids, 60):
                ballots.append(
                    {
                        "poll_id": poll_id,
                        "voter_key": f"k{member}" if anonymous else f"member:{member}",
                        "member_id": None if anonymous else member,
                        "choices": str(member % 2),
                        "cast_at": None if anonymous else now - timedelta(days=rng.randint(1, 170)),
                    }
                )
        await session.exec(insert(Ballot), params=ballots)  # type: ignore[call-overload]
        broadcasts = [
            {
                "coalition_id": coalition_id,
                "text": f"Update {n}",
                "ack_enabled": True,
                "send_at": now - timedelta(days=n * 1.7),
                "status": "scheduled",
                "target_count": 3,
                "created_at": now - timedelta(days=n * 1.7),
            }
            for n in range(100)
        ]
        await session.exec(insert(Broadcast), params=broadcasts)  # type: ignore[call-overload]
        broadcast_rows = (await session.exec(text("SELECT id, send_at FROM broadcasts"))).all()  # type: ignore[call-overload]
        acks = []
        for broadcast_id, _sent in broadcast_rows:
            for member in rng.sample(ids, 300):
                acks.append({"broadcast_id": broadcast_id, "member_id": member, "acked_at": now - timedelta(days=1)})
        await session.exec(insert(Acknowledgement), params=acks)  # type: ignore[call-overload]
        await session.commit()


async def run(url: str) -> dict[str, object]:
    db = Database(url)
    if not db.is_sqlite:
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await db.upgrade()
    app = App(Settings(database_url=url), db)
    dispatcher = build_dispatcher(app)
    where = ConversationRef("console", "local", "general", name="general")
    admin = Actor(UserRef("console", "local", "admin"), "admin")
    await dispatcher.ensure_coalition("Bench", where, admin)
    seeded = time.perf_counter()
    await seed(db, 1, datetime.now(UTC))
    seeded = time.perf_counter() - seeded
    times = []
    reply = None
    for _ in range(10):
        started = time.perf_counter()
        reply = await dispatcher.run_text("/coalition report --since 90d --csv", admin, where)
        times.append(time.perf_counter() - started)
        assert not reply.error, reply.text
    assert reply is not None
    backend = "SQLite" if db.is_sqlite else "PostgreSQL"
    sizes = ", ".join(f"{a.filename.split('.')[-1]} {len(a.content) // 1024} KB" for a in reply.attachments)
    print(
        f"/coalition report --since 90d --csv ({backend}; 2,000 members, 500 meetings, 300 polls, 100 broadcasts, "
        f"seeded in {seeded:.1f} s): p50 {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
        f"over 10 runs, text and chart ({sizes})"
    )
    await app.close()
    return {
        "backend": backend,
        "p50_ms": round(statistics.median(times) * 1000),
        "max_ms": round(max(times) * 1000),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="also run on this (emptied!) PostgreSQL database")
    args = parser.parse_args()
    logs.configure("ERROR")
    workdir = Path(tempfile.mkdtemp())
    runs = [await run(f"sqlite+aiosqlite:///{workdir / 'report.db'}")]
    if args.postgres:
        runs.append(await run(normalise_database_url(args.postgres)))
    print(json.dumps({"bench": "report", "runs": runs}))


if __name__ == "__main__":
    asyncio.run(main())
