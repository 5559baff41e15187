"""Meetings benchmark (issue 6's targets), on a SQLite file in a temporary folder:

1. 1,000 reminders due within one minute, delivered by the real scheduler (APScheduler, real
   clock) through the outbox: how late each one goes out (p50, p99, max), and that each goes once.
2. 10,000 meetings in the database: time to start (scheduler rebuilt from the database).
3. `/meeting list` over those 10,000 meetings: p50 and p99 answer time.

    python bench/meetings.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters import build_dispatcher

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import select

from bot import logs
from bot.app import App
from bot.config import Settings
from bot.refs import Actor, ConversationRef, UserRef
from storage import Database
from storage.models import Meeting, Occurrence, OutboxMessage, Reminder
from tests.harness import Harness
from tests.messengers import MemoryPlatform


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


async def coalition(app: App) -> tuple[int, int]:
    founder = Actor(UserRef("console", "local", "admin"), "admin")
    async with app.unit_of_work() as services:
        place = await services.coalitions.create(
            "Bench", ConversationRef("console", "local", "general", name="general"), founder
        )
        await services.repos.commit()
        assert place.coalition and place.channel
        return place.coalition.id or 0, place.channel.id or 0


async def seed(
    app: App, coalition_id: int, channel_id: int, starts: list[datetime], reminder_offset: timedelta | None
) -> None:
    """Meetings inserted in bulk (the service's path is exercised by the tests, not timed here)."""
    async with app.db.session() as session:
        meetings = [
            Meeting(
                coalition_id=coalition_id,
                title=f"Meeting {n}",
                timezone="UTC",
                local_start=s.replace(tzinfo=None).isoformat(),
                channel_ids=[channel_id],
                rrule="FREQ=WEEKLY",
                next_materialize_at=s,
            )
            for n, s in enumerate(starts)
        ]
        session.add_all(meetings)
        await session.flush()
        occurrences = [
            Occurrence(meeting_id=m.id, original_start=s, start=s) for m, s in zip(meetings, starts, strict=True)
        ]
        session.add_all(occurrences)
        await session.flush()
        if reminder_offset is not None:
            session.add_all(
                Reminder(
                    occurrence_id=o.id,
                    due_at=o.start - reminder_offset,
                    offset_minutes=int(reminder_offset.total_seconds() // 60),
                )
                for o in occurrences
            )
        await session.commit()


async def reminders_burst(workdir: Path) -> dict[str, int]:
    db = Database(f"sqlite+aiosqlite:///{workdir / 'burst.db'}")
    await db.upgrade()
    app = App(Settings(database_url=db.url), db)
    platform = MemoryPlatform()
    app.add_messenger(platform)
    cid, chid = await coalition(app)
    first_due = datetime.now(UTC) + timedelta(seconds=5)
    starts = [first_due + timedelta(hours=1, milliseconds=60 * n) for n in range(1000)]  # due over 60 s
    await seed(app, cid, chid, starts, timedelta(hours=1))
    await app.scheduler.start()
    for _ in range(240):  # at most two minutes
        if sum(":remind:" in p.key for p in platform.posted) >= 1000:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)
    await app.scheduler.stop()
    async with db.session() as session:
        due = {r.occurrence_id: r.due_at for r in (await session.exec(select(Reminder))).all()}
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.contains(":remind:")))).all()  # type: ignore[attr-defined]
    late = [(r.sent_at - due[r.source_id]).total_seconds() for r in rows if r.sent_at and r.source_id in due]
    copies = Counter(p.key for p in platform.posted if ":remind:" in p.key)
    print(
        f"1,000 reminders due within one minute: {len(late)} delivered, {sum(c > 1 for c in copies.values())} doubled"
    )
    p50, p99, worst = (pct(late, 50) * 1000, pct(late, 99) * 1000, max(late) * 1000)
    print(f"  lateness after the due time: p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {worst:.0f} ms")
    await db.dispose()
    doubled = sum(c > 1 for c in copies.values())
    return {"delivered": len(late), "doubled": doubled, "late_p50_ms": round(p50), "late_p99_ms": round(p99)}


async def large_database(workdir: Path) -> dict[str, float]:
    url = f"sqlite+aiosqlite:///{workdir / 'big.db'}"
    db = Database(url)
    await db.upgrade()
    app = App(Settings(database_url=url), db)
    cid, chid = await coalition(app)
    now = datetime.now(UTC)
    await seed(app, cid, chid, [now + timedelta(days=1, minutes=n) for n in range(10_000)], timedelta(hours=1))
    await app.close()

    started = time.perf_counter()
    db = Database(url)
    await db.upgrade()
    app = App(Settings(database_url=url), db)
    app.add_messenger(MemoryPlatform())
    await app.scheduler.start()
    await app.scheduler.next_due()
    startup = time.perf_counter() - started
    print(f"10,000 meetings: start-up (migrations checked, scheduler rebuilt) {startup * 1000:.0f} ms")

    bot = Harness(build_dispatcher(app))
    times = []
    for _ in range(200):
        t = time.perf_counter()
        reply = await bot.run("/meeting list")
        times.append(time.perf_counter() - t)
        assert not reply.error
    print(f"  /meeting list: p50 {pct(times, 50) * 1000:.1f} ms, p99 {pct(times, 99) * 1000:.1f} ms over 200 runs")
    await app.close()
    return {
        "meetings": 10_000,
        "startup_ms": round(startup * 1000),
        "list_p50_ms": round(pct(times, 50) * 1000, 1),
        "list_p99_ms": round(pct(times, 99) * 1000, 1),
    }


async def main() -> None:
    logs.configure("ERROR")
    workdir = Path(tempfile.mkdtemp())
    large = await large_database(workdir)
    burst = await reminders_burst(workdir)
    print(json.dumps({"bench": "meetings", "large": large, "reminders": burst}))


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    asyncio.run(main())
