"""Waking the bot when something falls due.

The database is the source of truth: each feature (reminders, poll deadlines, scheduled broadcasts,
the outbox) is a `DueSource` that can say when its next item is due and can process everything due
at a given moment, idempotently. APScheduler only wakes the process at the right time; a periodic
safety tick also picks up rows written by another process. With a simulated clock, `advance_to`
walks time forward, stopping at each due moment on the way, so nothing is skipped or run twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock, SimulatedClock, SystemClock
from bot.logs import request_id
from storage.database import in_background

log = logging.getLogger(__name__)

SAFETY_TICK = timedelta(seconds=2)  # how soon a row written by another process is noticed
POKE_GAP = timedelta(milliseconds=100)  # the closest two wake-ups asked for by new writes may be
LONG_RUN = 300.0  # seconds one wake-up may take (a large fan-out) before it counts as stuck


class DueSource(Protocol):
    name: str

    async def next_due(self, after: datetime) -> datetime | None:
        """The earliest moment at which something is due (may be at or before `after`)."""
        ...

    async def run_due(self, now: datetime) -> int:
        """Process everything due at `now`; return how many items were handled. Must be idempotent."""
        ...


class Scheduler:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sources: list[DueSource] = []
        self._aps: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()
        self._stopping = False
        self._last_wake: datetime | None = None
        # Monotonic times, for readiness: when the scheduler started, when a run last finished,
        # and when the run in progress (if any) began. `last_success` is wall-clock, for metrics.
        self._since = time.monotonic()
        self._finished: float | None = None
        self._running_since: float | None = None
        self.last_success: float | None = None

    def add(self, source: DueSource) -> None:
        self.sources.append(source)

    async def run_due(self) -> int:
        """Run every source once at the clock's current time; one run at a time per process."""
        async with self._lock:
            return await self._run_all()

    async def _run_all(self) -> int:
        now = self.clock.now()
        # A wake-up poked by a command inherits that command's context: its log lines must not
        # carry the command's request id.
        token = request_id.set("-")
        self._running_since = time.monotonic()
        try:
            with in_background():  # the sources' tasks start here, and keep this for their sessions
                results = await asyncio.gather(*(self._run(source, now) for source in self.sources))
        finally:
            self._running_since = None
            request_id.reset(token)
        self._finished = time.monotonic()
        self.last_success = self.clock.now().timestamp()
        return sum(results)

    def seconds_since_progress(self, now: float) -> float | None:
        """How long the scheduler has made no progress: since the last finished run (or its start),
        not counting a run in progress unless it has taken longer than LONG_RUN."""
        if self._running_since is not None:
            took = now - self._running_since
            return took if took > LONG_RUN else 0.0
        return now - (self._finished if self._finished is not None else self._since)

    @staticmethod
    async def _run(source: DueSource, now: datetime) -> int:
        """Sources run side by side (Slack's deliveries need not wait for Discord's)."""
        try:
            return await source.run_due(now)
        except Exception:
            # One failing feature must not stop another; its rows stay due for the next tick.
            log.exception("due source %s failed", source.name)
            return 0

    async def next_due(self) -> datetime | None:
        now = self.clock.now()
        with in_background():
            times = [t for s in self.sources if (t := await s.next_due(now)) is not None]
        return min(times) if times else None

    async def advance_to(self, target: datetime) -> int:
        """Move a simulated clock to `target`, running what falls due at each moment on the way."""
        clock = self.clock
        if not isinstance(clock, SimulatedClock):
            raise TypeError("only a simulated clock can be advanced")
        handled = await self.run_due()
        while True:
            due = await self.next_due()
            if due is None or due > target:
                break
            already_due = due <= clock.now()
            if not already_due:
                clock.set(due)
            count = await self.run_due()
            handled += count
            if count == 0 and already_due and await self.next_due() == due:
                # Something reports as due but nothing moved (another process holds it): stop here
                # rather than spin; it is looked at again on the next move.
                break
        clock.set(max(target, clock.now()))
        return handled + await self.run_due()

    # Real time -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._aps is not None and not self._stopping

    async def start(self) -> None:
        """Process what fell due while the bot was down, then keep waking at the right moments."""
        self._stopping = False
        self._since = time.monotonic()
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._aps.add_job(
            self._wake,
            "interval",
            seconds=SAFETY_TICK.total_seconds(),
            id="safety-tick",
            coalesce=True,
            max_instances=1,
        )
        self._aps.start()
        # What fell due while the bot was down runs at once, but in the background: a large
        # backlog must not hold up the adapters' start.
        self._wake_at(self.clock.now())

    async def poke(self) -> None:
        """Something new was written: wake up soon (in the background) and re-arm from there. In a
        burst (hundreds of votes a second) pokes come faster than wake-ups are worth: one wake-up
        looks at every source, so they are spaced at least POKE_GAP apart."""
        if self._aps is not None and not self._stopping:
            now = self.clock.now()
            self._wake_at(max(now, self._last_wake + POKE_GAP) if self._last_wake else now)

    @property
    def stopping(self) -> bool:
        """Work in progress checks this between batches, so a shutdown waits for one batch, not all."""
        return self._stopping

    async def stop(self) -> None:
        """No new wake-ups, then wait for the one in progress: a delivery half-recorded when the
        database closes would be sent again after the restart."""
        self._stopping = True
        async with self._lock:  # the run in progress finishes; later wake-ups return at once
            pass
        if self._aps is not None:
            # Only now: APScheduler's shutdown cancels jobs still running.
            self._aps.shutdown(wait=False)
            self._aps = None

    async def _wake(self) -> None:
        async with self._lock:
            if self._stopping:
                return
            self._last_wake = self.clock.now()
            await self._run_all()
            due = await self.next_due()
            if due is None or self._aps is None:
                return
            self._wake_at(max(due, self.clock.now() + timedelta(milliseconds=10)))

    def _wake_at(self, when: datetime) -> None:
        """One pending wake-up job at a time; a second may queue behind a running one (the lock).
        APScheduler keeps the machine's time and the clock may be simulated (the console's
        `--clock simulated`, tests): the wake-up comes after the same delay, not at the same date,
        or a simulated clock days behind would wake it again and again at once."""
        assert self._aps is not None
        delay = max(when - self.clock.now(), timedelta(0))
        self._aps.add_job(
            self._wake,
            "date",
            run_date=SystemClock().now() + delay,  # APScheduler's own time: the machine's
            id="wake",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            max_instances=2,
        )
