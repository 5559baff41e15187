"""The running bot's shared parts: settings, database, clock, scheduler and delivery workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from bot.clock import Clock, SystemClock
from bot.config import Settings, anonymity_secret
from bot.delivery import DeliveryWorker, ProgressHook
from bot.due import MeetingClock, PollDeadlines, WeeklyDigests
from bot.messenger import Messenger
from bot.pacing import UNLIMITED, Pacer, PacingPolicy
from bot.scheduler import Scheduler
from bot.services import Services
from bot.services.feedback import DailyCounts
from storage import Database, Repositories


class App:
    def __init__(self, settings: Settings, db: Database, clock: Clock | None = None) -> None:
        self.settings = settings
        self.db = db
        self.clock: Clock = clock or SystemClock()
        self.secret = anonymity_secret(settings)
        self.feedback_counts = DailyCounts()
        self.scheduler = Scheduler(self.clock)
        self.workers: dict[str, DeliveryWorker] = {}
        self.progress_hooks: dict[str, ProgressHook] = {"broadcast": self._broadcast_progress}
        self.scheduler.add(MeetingClock(self))
        self.scheduler.add(PollDeadlines(self))
        self.scheduler.add(WeeklyDigests(self))

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[Services]:
        """Services on one transaction. The caller commits; anything else is rolled back."""
        async with self.db.session() as session:
            yield Services(Repositories(session), self.settings, self.clock, self.secret, self.feedback_counts)

    def add_messenger(
        self, messenger: Messenger, pacing: PacingPolicy = UNLIMITED, **options: object
    ) -> DeliveryWorker:
        """Deliver this platform's outbox rows from this process."""
        options.setdefault("lease", timedelta(seconds=self.settings.outbox_lease_seconds))
        worker = DeliveryWorker(self, messenger, Pacer(pacing), **options)  # type: ignore[arg-type]
        self.workers[messenger.platform] = worker
        self.scheduler.add(worker)
        return worker

    async def _broadcast_progress(self, broadcast_ids: set[int]) -> None:
        async with self.unit_of_work() as services:
            for broadcast_id in sorted(broadcast_ids):
                await services.broadcasts.refresh_report(broadcast_id)
            await services.repos.commit()

    async def close(self) -> None:
        await self.scheduler.stop()
        await self.db.dispose()
