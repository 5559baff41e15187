"""The anonymous feedback box: a member's words reach the coordinators without their name.

What is kept: the text, in the outbox rows that deliver it (no author), and for the rate limit a
keyed hash of the member with the time of each use. Without the configured secret the hash
cannot be tied to anyone; the log records only that the command ran.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta

from bot.clock import Clock
from bot.markup import timestamp, user_text
from bot.replies import Context, Reply, Section
from bot.services.outbox import Outbox
from bot.services.polls import keyed_hash
from storage import Repositories
from storage.models import AnonymousUse, Coalition, Member

KIND = "feedback"
LIMIT = 3
PERIOD = timedelta(days=1)
COORDINATORS_TAG = "coordinators"


class FeedbackProblem(ValueError):
    """The feedback cannot be taken now; the message says why."""


class FeedbackService:
    def __init__(self, repos: Repositories, outbox: Outbox, clock: Clock, secret: str) -> None:
        self.repos = repos
        self.outbox = outbox
        self.clock = clock
        self.secret = secret

    async def send(self, coalition: Coalition, member: Member, text: str) -> str:
        """Deliver the feedback; returns where it went, in words for the sender."""
        assert coalition.id is not None
        now = self.clock.now()
        key = keyed_hash(self.secret, KIND, coalition.id, member.id)
        uses = await self.repos.polls.anonymous_uses(key, KIND, now - PERIOD)
        if len(uses) >= LIMIT:
            raise FeedbackProblem(
                f"You have sent feedback {len(uses)} times in the last day (the limit is {LIMIT}). "
                f"You can send more {timestamp(uses[len(uses) - LIMIT] + PERIOD, 'R')}."
            )
        await self.repos.polls.add_anonymous_use(AnonymousUse(key_hash=key, kind=KIND, at=now))
        message = Reply(
            text=f"📮 **Anonymous feedback**\n{user_text(text)}",
            blocks=(
                Section(f"📮 **Anonymous feedback**\n{user_text(text)}"),
                Context("Sent with /coalition feedback. The bot does not keep who sent it."),
            ),
        )
        stamp = f"{KIND}:{secrets.token_hex(8)}"  # random: nothing in the delivery rows points back at the hash
        channels = [c for c in await self.repos.coalitions.channels(coalition.id) if COORDINATORS_TAG in c.tag_list]
        if channels:
            for channel in channels:
                await self.outbox.to_channel(coalition.id, channel, message, key=f"{stamp}:c{channel.id}", source=KIND)
            return "the coordinators' channel"
        coordinators = await self.repos.members.coordinators(coalition.id)
        if not coordinators:
            raise FeedbackProblem("This coalition has no coordinators to read feedback yet.")
        for coordinator in coordinators:
            await self.outbox.to_member(
                coordinator, replace(message, private=True), key=f"{stamp}:m{coordinator.id}", source=KIND
            )
        return f"the coordinators ({len(coordinators)}) by direct message"
