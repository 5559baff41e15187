"""The anonymous feedback box: a member's words reach the coordinators without their name.

What is kept: the text, in the outbox rows that deliver it (no author). The daily limit is counted
in the process's memory under a keyed hash of the member and the day, never in the database: a
stored count would share the delivery's transaction (its WAL commit, its PostgreSQL xmin) and so
pair a text with its sender's key. Deliveries go out in quarter-hour batches and are stamped with
the batch's time; the log never says who sent feedback. A restart forgets the day's counts, so the
limit is per process and per day: it holds back floods, it is not a security boundary.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from bot.clock import Clock
from bot.i18n import _
from bot.markup import timestamp, user_text
from bot.problems import Problem
from bot.replies import Context, Reply, Section
from bot.services.outbox import Outbox
from bot.services.polls import keyed_hash
from bot.views import CoalitionView, MemberView
from storage import Repositories

KIND = "feedback"
LIMIT = 3  # a calendar day (UTC)
BATCH = timedelta(minutes=15)
COORDINATORS_TAG = "coordinators"


class FeedbackProblem(Problem):
    """The feedback cannot be taken now; the message says why."""


class DailyCounts:
    """Feedback sent today, per keyed hash, in this process's memory only."""

    def __init__(self) -> None:
        self.day = ""
        self.counts: dict[str, int] = {}

    def get(self, day: str, key: str) -> int:
        if day != self.day:
            self.day, self.counts = day, {}
        return self.counts.get(key, 0)

    def add(self, day: str, key: str) -> None:
        self.counts[key] = self.get(day, key) + 1


class FeedbackService:
    def __init__(self, repos: Repositories, outbox: Outbox, clock: Clock, secret: str, counts: DailyCounts) -> None:
        self.repos = repos
        self.outbox = outbox
        self.clock = clock
        self.secret = secret
        self.counts = counts

    async def send(self, coalition: CoalitionView, member: MemberView, text: str) -> str:
        """Deliver the feedback; returns where it went, in words for the sender."""
        assert coalition.id is not None
        now = self.clock.now()
        today = now.astimezone(UTC).date()
        key = keyed_hash(self.secret, KIND, coalition.id, member.ballot_salt or member.id, today.isoformat())
        uses = self.counts.get(today.isoformat(), key)
        if uses >= LIMIT:
            tomorrow = datetime.combine(today + timedelta(days=1), time(), UTC)
            raise FeedbackProblem(
                _(
                    "You have sent feedback {uses} times today (the limit is {limit} a day). You can "
                    "send more from {time} ({relative})."
                ).format(uses=uses, limit=LIMIT, time=timestamp(tomorrow, "t"), relative=timestamp(tomorrow, "R"))
            )
        batch = _next_batch(now)
        message = Reply(
            text=_("📮 **Anonymous feedback**\n{text}").format(text=user_text(text)),
            blocks=(
                Section(_("📮 **Anonymous feedback**\n{text}").format(text=user_text(text))),
                Context(_("Sent with /coalition feedback. The bot does not keep who sent it.")),
            ),
        )
        stamp = f"{KIND}:{secrets.token_hex(8)}"  # random: nothing in the delivery rows points back at the hash
        channels = [c for c in await self.repos.coalitions.channels(coalition.id) if COORDINATORS_TAG in c.tags]
        if channels:
            for channel in channels:
                await self.outbox.to(
                    channel,
                    message,
                    key=f"{stamp}:c{channel.id}",
                    source=KIND,
                    not_before=batch,
                    at=batch,
                    sealed=True,  # unreadable in a copy of the database until it goes
                )
            self.counts.add(today.isoformat(), key)
            return _("the coordinators' channel")
        coordinators = await self.repos.members.coordinators(coalition.id)
        if not coordinators:
            raise FeedbackProblem(_("This coalition has no coordinators to read feedback yet."))
        for coordinator in coordinators:
            await self.outbox.to(
                coordinator,
                replace(message, private=True),
                key=f"{stamp}:m{coordinator.id}",
                source=KIND,
                not_before=batch,
                at=batch,
                sealed=True,  # unreadable in a copy of the database until it goes
            )
        self.counts.add(today.isoformat(), key)
        return _("the coordinators ({coordinators}) by direct message").format(coordinators=len(coordinators))


def _next_batch(now: datetime) -> datetime:
    """The next quarter hour: feedback sent within one goes out, and is stamped, together."""
    step = int(BATCH.total_seconds())
    return datetime.fromtimestamp((int(now.timestamp()) // step + 1) * step, UTC)
