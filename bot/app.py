"""The running bot's shared parts: settings, database, clock and scheduler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.scheduler import Scheduler
from bot.services import Services
from storage import Database, Repositories


class App:
    def __init__(self, settings: Settings, db: Database, clock: Clock | None = None) -> None:
        self.settings = settings
        self.db = db
        self.clock: Clock = clock or SystemClock()
        self.scheduler = Scheduler(self.clock)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[Services]:
        """Services on one transaction. The caller commits; anything else is rolled back."""
        async with self.db.session() as session:
            yield Services(Repositories(session), self.settings, self.clock)

    async def close(self) -> None:
        await self.scheduler.stop()
        await self.db.dispose()
