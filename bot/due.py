"""What falls due, as DueSources the scheduler wakes: meeting occurrences and reminders, poll
deadlines (a poll past its closing time is closed and its results posted), weekly digests,
reminders and nudges to many members (a slice at a time), the daily housekeeping (old
deliveries pruned, planner statistics refreshed), and engagement kept per day for reports.

Each source asks the database what is next and handles what is due in its own transactions; the
services hold the rules, these only connect them to the clock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)


class MeetingClock:
    name = "meetings"

    def __init__(self, app: App) -> None:
        self.app = app

    async def next_due(self, after: datetime) -> datetime | None:
        async with self.app.unit_of_work() as services:
            return await services.meetings.next_due()

    async def run_due(self, now: datetime) -> int:
        async with self.app.unit_of_work() as services:
            handled = await services.meetings.materialize_due(now)
            handled += await services.meetings.send_due_reminders(now)
            await services.commit()
        return handled


class PollDeadlines:
    """Polls past their closing time close and post their results; a repeating poll's next round opens."""

    name = "polls"

    def __init__(self, app: App) -> None:
        self.app = app

    async def next_due(self, after: datetime) -> datetime | None:
        async with self.app.unit_of_work() as services:
            return await services.polls.next_due()

    async def run_due(self, now: datetime) -> int:
        """Deadlines first, then the rounds of repeating polls: a round closes before the next opens."""
        async with self.app.unit_of_work() as services:
            closed = await services.polls.close_due(now)
            await services.commit()
        async with self.app.unit_of_work() as services:
            opened = await services.polls.open_rounds(now)
            await services.commit()
        return closed + opened


class ProposalDeadlines:
    """Proposals with a closing time close then, and post their result."""

    name = "decisions"

    def __init__(self, app: App) -> None:
        self.app = app

    async def next_due(self, after: datetime) -> datetime | None:
        async with self.app.unit_of_work() as services:
            return await services.decisions.next_close()

    async def run_due(self, now: datetime) -> int:
        async with self.app.unit_of_work() as services:
            closed = await services.decisions.close_due(now)
            await services.commit()
        return closed


class DecisionReviews:
    """A week before a decision's review date, its owner and the coordinators are told."""

    name = "decision-reviews"

    def __init__(self, app: App) -> None:
        self.app = app

    async def next_due(self, after: datetime) -> datetime | None:
        async with self.app.unit_of_work() as services:
            return await services.decisions.next_review_notice()

    async def run_due(self, now: datetime) -> int:
        async with self.app.unit_of_work() as services:
            told = await services.decisions.tell_reviews(now)
            await services.commit()
        return told


class WeeklyDigests:
    name = "digests"

    def __init__(self, app: App) -> None:
        self.app = app

    async def next_due(self, after: datetime) -> datetime | None:
        async with self.app.unit_of_work() as services:
            return await services.digests.next_due()

    async def run_due(self, now: datetime) -> int:
        async with self.app.unit_of_work() as services:
            sent = await services.digests.send_due(now)
            await services.commit()
        return sent


class Fanouts:
    """Reminders and nudges to many members, queued a slice per transaction (bot.services.fanouts):
    between slices, other commands take their turn on the database."""

    name = "fanouts"

    def __init__(self, app: App) -> None:
        self.app = app

    async def next_due(self, after: datetime) -> datetime | None:
        async with self.app.unit_of_work() as services:
            return await services.fanouts.next_due()

    async def run_due(self, now: datetime) -> int:
        async with self.app.unit_of_work() as services:
            waiting = await services.fanouts.waiting()
        slices = 0
        for fanout_id in waiting:
            more = True
            while more and not self.app.scheduler.stopping:
                async with self.app.unit_of_work() as services:
                    more = await services.fanouts.step(fanout_id)
                    await services.commit()
                slices += 1
        return slices


class Housekeeping:
    """At start and then daily: forget deliveries older than OUTBOX_RETENTION_DAYS (the outbox
    would otherwise grow with every message ever sent) and refresh the planner's statistics."""

    name = "housekeeping"
    EVERY = timedelta(days=1)

    def __init__(self, app: App) -> None:
        self.app = app
        self.next_at: datetime | None = None  # in memory: at start, then a day after each run
        self.pruned = 0

    async def next_due(self, after: datetime) -> datetime | None:
        return self.next_at or after

    async def run_due(self, now: datetime) -> int:
        if self.next_at is not None and now < self.next_at:
            return 0
        self.next_at = now + self.EVERY
        async with self.app.unit_of_work() as services:
            self.pruned = await services.outbox.prune(now - timedelta(days=self.app.settings.outbox_retention_days))
            await services.commit()
        await self.app.db.optimize()
        return self.pruned


class PendingErasure:
    """Every minute while an erasure waits (a reader kept SQLite's write-ahead log from being
    emptied when a poll closed or a member was forgotten): try again, until the log is empty."""

    name = "erasure"
    EVERY = timedelta(minutes=1)

    def __init__(self, app: App) -> None:
        self.app = app
        self.tried_at: datetime | None = None

    async def next_due(self, after: datetime) -> datetime | None:
        if self.app.db.erase_pending() is None:
            return None
        return after if self.tried_at is None else self.tried_at + self.EVERY

    async def run_due(self, now: datetime) -> int:
        since = self.app.db.erase_pending()
        if since is None or (self.tried_at is not None and now < self.tried_at + self.EVERY):
            return 0
        self.tried_at = now
        if await self.app.db.finish_erasure():
            log.info("the erasure waiting since %s is done: the write-ahead log is empty", since)
            return 1
        return 0


class EngagementKeeper:
    """At start and then daily: keep each whole day's engagement not kept yet, or changed since it
    was (bot.services.reports), so reports read a row a day. A slice of days per transaction, and a
    few slices per wake-up: a coalition with years of history is caught up over several wake-ups,
    between which deliveries and everything else due go on."""

    name = "engagement"
    EVERY = timedelta(days=1)
    SLICE = 5  # days per transaction
    SLICES = 10  # transactions per wake-up

    def __init__(self, app: App) -> None:
        self.app = app
        self.next_at: datetime | None = None  # in memory: at start, again at once while days remain, then daily

    async def next_due(self, after: datetime) -> datetime | None:
        return self.next_at or after

    async def run_due(self, now: datetime) -> int:
        if self.next_at is not None and now < self.next_at:
            return 0
        kept, budget = 0, self.SLICES
        async with self.app.unit_of_work() as services:
            coalitions = await services.reports.coalitions_to_keep()
        for coalition_id in coalitions:
            async with self.app.unit_of_work() as services:
                days = await services.reports.days_to_keep(coalition_id)
            while days and budget and not self.app.scheduler.stopping:
                async with self.app.unit_of_work() as services:
                    kept += await services.reports.keep_days(coalition_id, days[: self.SLICE])
                    await services.commit()
                days, budget = days[self.SLICE :], budget - 1
            if days:
                self.next_at = now  # more to keep: again on the next wake-up
                return kept
        self.next_at = now + self.EVERY
        return kept

    async def catch_up(self, now: datetime) -> int:
        """Every day there is to keep, now (a start that must not serve reports from the database)."""
        kept = 0
        while True:
            self.next_at = None
            done = await self.run_due(now)
            kept += done
            if self.next_at != now or not done:
                return kept
