"""The meetings' clockwork as a DueSource: next occurrences of series, and reminders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import App


class MeetingClock:
    name = "meetings"

    def __init__(self, app: App) -> None:
        self.app = app

    async def next_due(self, after: datetime) -> datetime | None:
        async with self.app.unit_of_work() as services:
            times = [
                t
                for t in (
                    await services.repos.meetings.next_reminder(),
                    await services.repos.meetings.next_materialize(),
                )
                if t is not None
            ]
        return min(times) if times else None

    async def run_due(self, now: datetime) -> int:
        async with self.app.unit_of_work() as services:
            handled = await services.meetings.materialize_due(now)
            handled += await services.meetings.send_due_reminders(now)
            await services.repos.commit()
        return handled
