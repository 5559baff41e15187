"""Due sources for polls and digests: a poll past its closing time is closed and its results
posted; a channel's weekly digest goes out on its day and hour."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import App


class PollDeadlines:
    name = "polls"

    def __init__(self, app: App) -> None:
        self.app = app

    async def next_due(self, after: datetime) -> datetime | None:
        async with self.app.unit_of_work() as services:
            return await services.repos.polls.next_deadline()

    async def run_due(self, now: datetime) -> int:
        async with self.app.unit_of_work() as services:
            closed = await services.polls.close_due(now)
            await services.repos.commit()
        return closed


class WeeklyDigests:
    name = "digests"

    def __init__(self, app: App) -> None:
        self.app = app

    async def next_due(self, after: datetime) -> datetime | None:
        async with self.app.unit_of_work() as services:
            return await services.repos.reports.next_digest()

    async def run_due(self, now: datetime) -> int:
        async with self.app.unit_of_work() as services:
            sent = await services.digests.send_due(now)
            await services.repos.commit()
        return sent
