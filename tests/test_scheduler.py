from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import SimulatedClock, SystemClock
from bot.scheduler import Scheduler

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Reminders:
    """A due source with the contract real features follow: idempotent, by due time."""

    name = "reminders"

    def __init__(self, due: list[datetime]) -> None:
        self.pending = sorted(due)
        self.sent: list[tuple[datetime, datetime]] = []  # (due, when it ran)

    async def next_due(self, after: datetime) -> datetime | None:
        return self.pending[0] if self.pending else None

    async def run_due(self, now: datetime) -> int:
        ready = [d for d in self.pending if d <= now]
        self.pending = [d for d in self.pending if d > now]
        self.sent += [(d, now) for d in ready]
        return len(ready)


class Broken:
    name = "broken"

    async def next_due(self, after: datetime) -> datetime | None:
        return None

    async def run_due(self, now: datetime) -> int:
        raise RuntimeError("feature bug")


async def test_advance_runs_each_item_once_at_its_own_time() -> None:
    clock = SimulatedClock(START)
    scheduler = Scheduler(clock)
    due = [START + timedelta(hours=h) for h in (1, 5, 24, 30)]
    source = Reminders(due)
    scheduler.add(source)
    assert await scheduler.advance_to(START + timedelta(hours=25)) == 3
    assert source.sent == [(d, d) for d in due[:3]]
    assert clock.now() == START + timedelta(hours=25)
    assert await scheduler.advance_to(START + timedelta(hours=25)) == 0
    assert await scheduler.advance_to(START + timedelta(days=2)) == 1
    assert [d for d, _ in source.sent] == due


async def test_one_failing_source_does_not_stop_the_others() -> None:
    clock = SimulatedClock(START)
    scheduler = Scheduler(clock)
    source = Reminders([START + timedelta(minutes=1)])
    scheduler.add(Broken())
    scheduler.add(source)
    assert await scheduler.advance_to(START + timedelta(minutes=5)) == 1


async def test_only_a_simulated_clock_advances() -> None:
    with pytest.raises(TypeError):
        await Scheduler(SystemClock()).advance_to(START)
    with pytest.raises(ValueError):
        SimulatedClock(START).set(START - timedelta(seconds=1))


async def test_real_time_wakes_up_when_due() -> None:
    import asyncio

    clock = SystemClock()
    scheduler = Scheduler(clock)
    source = Reminders([clock.now() - timedelta(minutes=1), clock.now() + timedelta(milliseconds=300)])
    scheduler.add(source)
    await scheduler.start()
    try:
        for _ in range(20):
            if source.sent:
                break
            await asyncio.sleep(0.05)
        assert len(source.sent) == 1  # what fell due while "down" runs at start-up
        for _ in range(50):
            if len(source.sent) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(source.sent) == 2
    finally:
        await scheduler.stop()


async def test_stop_waits_for_the_run_in_progress() -> None:
    import asyncio

    class Slow:
        name = "slow"
        finished = False

        async def next_due(self, after: datetime) -> datetime | None:
            return None

        async def run_due(self, now: datetime) -> int:
            await asyncio.sleep(0.2)
            Slow.finished = True
            return 1

    scheduler = Scheduler(SystemClock())
    scheduler.add(Slow())
    running = asyncio.create_task(scheduler.run_due())
    await asyncio.sleep(0.05)
    await scheduler.stop()
    assert Slow.finished
    await running


async def test_a_simulated_clock_behind_the_machines_wakes_after_the_delay_not_again_and_again() -> None:
    """The console's `--clock simulated` (and the service tests) run days behind the machine's time:
    a wake-up set at the simulated date was in the machine's past, so the scheduler ran every source
    again at once, without end, holding SQLite's write lock most of the time."""
    import asyncio

    class Counting(Reminders):
        runs = 0

        async def run_due(self, now: datetime) -> int:
            Counting.runs += 1
            return await super().run_due(now)

    clock = SimulatedClock(START)
    scheduler = Scheduler(clock)
    source = Counting([START + timedelta(days=1)])  # tomorrow, on the simulated clock
    scheduler.add(source)
    await scheduler.start()
    try:
        await asyncio.sleep(0.5)
        assert Counting.runs <= 2 and not source.sent  # the start-up run, and no more
    finally:
        await scheduler.stop()
