from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.app import App
from bot.clock import SimulatedClock
from bot.config import Settings
from bot.replies import Reply
from bot.services import Services
from bot.services.deliveries import MAX_ATTEMPTS
from storage import Database
from storage.models import Member, OutboxMessage
from tests.conftest import START
from tests.messengers import MemoryPlatform, PlatformDown


async def seed(app: App, channels: int, platform: str = "console") -> list[str]:
    """A coalition with `channels` linked channels and one queued post to each."""
    async with app.unit_of_work() as services:
        coalition = await services.repos.coalitions.create("C", "UTC")
        space = await services.repos.coalitions.add_space(coalition.id, platform, "w", "")
        keys = []
        for n in range(channels):
            channel = await services.repos.coalitions.link_channel(space, f"ch{n}", f"ch{n}", [])
            key = f"test:{n}"
            await services.outbox.to(channel, Reply(f"hello {n}"), key=key, source="test")
            keys.append(key)
        await services.repos.commit()
    return keys


async def ana(services: Services) -> Member:
    """A coalition with one member, Ana on the console, to send private messages to."""
    coalition = await services.repos.coalitions.create("C", "UTC")
    return await services.repos.members.add(
        Member(coalition_id=coalition.id, platform="console", workspace_id="w", user_id="ana", display_name="Ana")
    )


async def rows(app: App) -> list[OutboxMessage]:
    async with app.db.session() as session:
        return list((await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_each_message_is_delivered_once_and_recorded(app: App) -> None:
    platform = MemoryPlatform()
    app.add_messenger(platform)
    keys = await seed(app, 5)
    assert await app.scheduler.run_due() == 5
    assert sorted(platform.keys()) == sorted(keys)
    saved = await rows(app)
    assert {r.status for r in saved} == {"sent"}
    assert sorted(r.message_id for r in saved) == sorted(p.message_id for p in platform.posted)
    assert await app.scheduler.run_due() == 0
    assert len(platform.posted) == 5


async def test_not_before_is_respected(app: App, clock: SimulatedClock) -> None:
    platform = MemoryPlatform()
    app.add_messenger(platform)
    async with app.unit_of_work() as services:
        coalition = await services.repos.coalitions.create("C", "UTC")
        space = await services.repos.coalitions.add_space(coalition.id, "console", "w", "")
        channel = await services.repos.coalitions.link_channel(space, "ch", "ch", [])
        later = START + timedelta(hours=2)
        await services.outbox.to(channel, Reply("later"), key="k", not_before=later)
        await services.repos.commit()
    assert await app.scheduler.run_due() == 0
    assert await app.scheduler.advance_to(START + timedelta(hours=1)) == 0
    assert await app.scheduler.advance_to(START + timedelta(hours=3)) == 1
    assert (await rows(app))[0].sent_at == later


async def test_the_same_delivery_cannot_be_queued_twice(app: App) -> None:
    await seed(app, 1)
    with pytest.raises(IntegrityError):
        await seed_again(app)


async def seed_again(app: App) -> None:
    async with app.unit_of_work() as services:
        channel = (await services.repos.coalitions.channels(1))[0]
        await services.outbox.to(channel, Reply("again"), key="test:0")
        await services.repos.commit()


async def test_server_errors_are_retried_with_backoff(app: App, clock: SimulatedClock) -> None:
    platform = MemoryPlatform()
    app.add_messenger(platform)
    await seed(app, 1)
    platform.fail_next("500", "500")
    assert await app.scheduler.run_due() == 0
    row = (await rows(app))[0]
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 500 from the platform")
    assert row.not_before == START + timedelta(seconds=1)
    assert await app.scheduler.advance_to(START + timedelta(seconds=1)) == 0  # second 500
    assert (await rows(app))[0].not_before == START + timedelta(seconds=3)
    assert await app.scheduler.advance_to(START + timedelta(seconds=10)) == 1
    assert len(platform.posted) == 1
    assert (await rows(app))[0].status == "sent"


async def test_a_minute_of_429s_delays_but_loses_nothing(app: App, clock: SimulatedClock) -> None:
    platform = MemoryPlatform()
    platform.retry_after = 5
    app.add_messenger(platform)
    await seed(app, 3)
    platform.fail_next(*["429"] * 36)  # a minute of refusals for three channels
    await app.scheduler.advance_to(START + timedelta(minutes=2))
    saved = await rows(app)
    assert {r.status for r in saved} == {"sent"}
    assert Counter(platform.keys()) == Counter({"test:0": 1, "test:1": 1, "test:2": 1})
    assert all(r.attempts == 1 for r in saved)  # waiting on Retry-After uses up no attempt


async def test_permanent_errors_fail_at_once_with_the_reason(app: App) -> None:
    platform = MemoryPlatform()
    app.add_messenger(platform)
    await seed(app, 1)
    platform.fail_next("gone")
    await app.scheduler.run_due()
    row = (await rows(app))[0]
    assert (row.status, row.last_error) == ("failed", "channel_not_found")


async def test_attempts_are_bounded(app: App, clock: SimulatedClock) -> None:
    platform = MemoryPlatform()
    app.add_messenger(platform)
    await seed(app, 1)
    platform.fail_next(*["500"] * (MAX_ATTEMPTS + 5))
    await app.scheduler.advance_to(START + timedelta(hours=2))
    row = (await rows(app))[0]
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert platform.calls == MAX_ATTEMPTS
    assert platform.posted == []


async def test_two_processes_never_send_one_message_twice(db: Database, tmp_path: Path) -> None:
    """Two apps with their own engines on one database, as two processes would be."""
    clock = SimulatedClock(START)
    first = App(Settings(database_url=db.url), db, clock)
    second_db = Database(db.url)
    second = App(Settings(database_url=db.url), second_db, clock)
    platform = MemoryPlatform()
    platform.latency = 0.05  # each send takes a little while, so the two processes really overlap (under load too)
    first.add_messenger(platform, batch=7)
    second.add_messenger(platform, batch=7)
    try:
        keys = await seed(first, 60)
        await second.scheduler.next_due()  # both processes connected before the race starts
        await asyncio.gather(first.scheduler.run_due(), second.scheduler.run_due(), first.scheduler.run_due())
        assert Counter(platform.keys()) == Counter(dict.fromkeys(keys, 1))
        assert {r.status for r in await rows(first)} == {"sent"}
        owners = {r.lease_owner for r in await rows(first)}
        assert len(owners) == 2, "both processes should have taken part"
    finally:
        await second_db.dispose()


async def test_a_crash_after_the_platform_took_the_message_does_not_double_it(app: App, clock: SimulatedClock) -> None:
    """The process dies between the platform's accepting a message and our recording it."""
    platform = MemoryPlatform()
    worker = app.add_messenger(platform)
    await seed(app, 2)
    platform.fail_next("accept-then-crash")
    with pytest.raises(PlatformDown):
        await worker._deliver((await _claim(app, worker.owner))[0])
    assert platform.keys() == ["test:0"]
    # A new process starts later; the old lease has run out.
    restarted = App(app.settings, app.db, clock)
    restarted.add_messenger(platform)
    await restarted.scheduler.advance_to(START + timedelta(minutes=5))
    assert Counter(platform.keys()) == Counter({"test:0": 1, "test:1": 1})
    assert {r.status for r in await rows(app)} == {"sent"}


async def test_a_crash_before_the_platform_took_it_sends_it_once(app: App, clock: SimulatedClock) -> None:
    platform = MemoryPlatform()
    worker = app.add_messenger(platform)
    await seed(app, 1)
    await _claim(app, worker.owner)  # claimed, then the process died before sending
    restarted = App(app.settings, app.db, clock)
    restarted.add_messenger(platform)
    assert await restarted.scheduler.run_due() == 0  # the lease still protects it
    await restarted.scheduler.advance_to(START + timedelta(minutes=5))
    assert platform.keys() == ["test:0"]


async def test_edits_wait_for_their_message_and_coalesce(app: App) -> None:
    platform = MemoryPlatform()
    app.add_messenger(platform)
    async with app.unit_of_work() as services:
        original = await services.outbox.to(await ana(services), Reply("0 of 3"), key="report")
        await services.outbox.edit(original, Reply("1 of 3"), key="report-edit")
        await services.outbox.edit(original, Reply("2 of 3"), key="report-edit")
        await services.repos.commit()
    await app.scheduler.advance_to(START + timedelta(seconds=5))
    assert len(platform.posted) == 1
    assert [e.text for e in platform.posted[0].edits] == ["2 of 3"]


async def test_a_timeout_after_sending_is_checked_before_sending_again(app: App, clock: SimulatedClock) -> None:
    platform = MemoryPlatform()
    app.add_messenger(platform)
    await seed(app, 1)
    platform.fail_next("accept-then-timeout")
    await app.scheduler.advance_to(START + timedelta(minutes=1))
    assert platform.keys() == ["test:0"]
    assert (await rows(app))[0].status == "sent"


async def _claim(app: App, owner: str):
    async with app.unit_of_work() as services:
        claimed = await services.repos.outbox.claim("console", owner, app.clock.now(), timedelta(minutes=2), 1)
        await services.repos.commit()
    return claimed


async def test_a_slow_batch_keeps_its_lease(app: App) -> None:
    """Rows still being sent are not taken over by another process as if their sender had died.

    The send is held open by the test rather than by a fixed sleep, and the lease is long enough
    that a loaded machine's scheduling jitter is not mistaken for a missing renewal."""
    from bot.clock import SystemClock

    real = App(app.settings, app.db, SystemClock())
    started, release = asyncio.Event(), asyncio.Event()

    class Slow(MemoryPlatform):
        async def send(self, conversation, reply, *, key):  # type: ignore[no-untyped-def]
            started.set()
            await release.wait()
            return await super().send(conversation, reply, key=key)

    platform = Slow()
    lease = timedelta(seconds=1.5)
    worker = real.add_messenger(platform, lease=lease)
    await seed(real, 1)
    sending = asyncio.create_task(real.scheduler.run_due())
    await asyncio.wait_for(started.wait(), 10)
    first_lease = (await rows(real))[0].lease_until
    assert first_lease is not None
    past_it = first_lease + timedelta(seconds=0.3) - SystemClock().now()
    await asyncio.sleep(max(past_it.total_seconds(), 0))  # past the first lease; renewals extended it
    assert (await rows(real))[0].lease_until > first_lease
    other = App(app.settings, app.db, SystemClock())
    other.add_messenger(platform, lease=lease)
    assert await other.scheduler.run_due() == 0
    release.set()
    assert await sending == 1
    assert platform.keys() == ["test:0"]
    assert worker.owner == (await rows(real))[0].lease_owner


async def test_an_edit_of_a_message_that_never_arrived_fails_with_it_and_does_not_wait_forever(app: App) -> None:
    platform = MemoryPlatform()
    app.add_messenger(platform)
    async with app.unit_of_work() as services:
        original = await services.outbox.to(await ana(services), Reply("0 of 3"), key="report")
        await services.repos.commit()
    platform.fail_next("gone")
    await app.scheduler.run_due()
    async with app.unit_of_work() as services:
        failed = await services.repos.outbox.get(original.id or 0)
        assert failed is not None
        await services.outbox.edit(failed, Reply("1 of 3"), key="report-edit")
        await services.repos.commit()
    await app.scheduler.advance_to(START + timedelta(seconds=5))
    by_key = {r.dedupe_key: r for r in await rows(app)}
    assert by_key["report"].status == "failed"
    assert (by_key["report-edit"].status, by_key["report-edit"].last_error) == (
        "failed",
        "the message to edit was never delivered",
    )
    assert platform.posted == []
