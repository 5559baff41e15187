"""The outbox's rows as a delivery worker moves them: claimed under a lease, held while pacing
makes the worker wait, then sent, retried or failed.

The worker (bot/delivery.py) talks to the platform; this says what each outcome means for the
row: how long a rate-limited or failed send waits, when a row has been tried enough, what an edit
waits for. It is the worker's service seam, as the other services are the handlers': the worker
reaches no repository itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock
from bot.messenger import DeliveryError
from bot.refs import ConversationRef, MessageRef
from storage import Repositories
from storage.models import OutboxMessage
from storage.outbox import CANCELLED, FAILED, Claimed

MAX_ATTEMPTS = 10  # with the backoff below: about 14 minutes of trying before a row is failed
BACKOFF_CAP = timedelta(minutes=5)
EDIT_WAIT = timedelta(seconds=1)  # an edit whose message is not out yet waits this long


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** max(0, attempts - 1)), BACKOFF_CAP)


class Deliveries:
    def __init__(self, repos: Repositories, clock: Clock) -> None:
        self.repos = repos
        self.clock = clock

    async def queue_figures(self, now: datetime) -> tuple[list[tuple[str, str, int]], dict[str, datetime]]:
        """For the metrics: rows not yet finished, by platform and status; and, by platform, when
        the oldest row waiting fell due."""
        return await self.repos.outbox.open_counts(), await self.repos.outbox.oldest_waiting(now)

    async def next_due(self, platform: str) -> datetime | None:
        """When the next row for `platform` falls due: pending, or held by a lease that ran out."""
        return await self.repos.outbox.next_due(platform)

    async def claim(
        self, platform: str, owner: str, lease: timedelta, batch: int, per_channel: int | None
    ) -> list[Claimed]:
        """Rows due now, held by `owner` for `lease`: no more than `batch`, nor than `per_channel`
        of one channel (the rest is claimed after, by whichever process is free)."""
        return await self.repos.outbox.claim(platform, owner, self.clock.now(), lease, batch, per_channel)

    async def hold(self, owner: str, lease: timedelta) -> None:
        """Keep `owner`'s rows in flight for another `lease`, so no other process takes them over
        as if this one had crashed."""
        await self.repos.outbox.renew(owner, self.clock.now() + lease)

    async def sent(self, owner: str, outcomes: list[tuple[int, int, str]]) -> list[bool]:
        """Each (row, version, message id) sent: True, or False where newer content arrived while
        it was sent (it goes again, as an edit of the message it now knows)."""
        now = self.clock.now()
        return [
            await self.repos.outbox.mark_sent(row_id, owner, version, message_id, now)
            for row_id, version, message_id in outcomes
        ]

    async def edit_target(self, row: OutboxMessage, owner: str) -> MessageRef | None:
        """The message an edit row replaces, or None when there is none to edit now: the original
        failed or was cancelled (the edit fails with it), or is not out yet (the edit waits)."""
        assert row.id is not None and row.edit_of_id is not None
        original = await self.repos.outbox.get(row.edit_of_id)
        if original is None or original.status in (FAILED, CANCELLED):
            await self.repos.outbox.mark_failed(row.id, owner, "the message to edit was never delivered")
            return None
        if original.message_id is None:
            waiting = "waiting for the message to edit"
            await self.repos.outbox.mark_retry(row.id, owner, self.clock.now() + EDIT_WAIT, waiting, maybe_sent=False)
            return None
        channel = original.channel_id or ""
        if original.kind == "dm":
            channel = f"dm:{original.user_id}"
        return MessageRef(ConversationRef(original.platform, original.workspace_id, channel), original.message_id)

    async def failed(self, row: OutboxMessage, owner: str, problem: DeliveryError) -> bool:
        """A send that did not go through. Rate limited: again exactly when the platform said,
        without counting it as an attempt. A permanent refusal, or the last of MAX_ATTEMPTS:
        failed for good (True). Otherwise again after a growing wait."""
        assert row.id is not None
        now = self.clock.now()
        if problem.retry_after is not None:
            await self.repos.outbox.mark_retry(
                row.id,
                owner,
                now + timedelta(seconds=problem.retry_after),
                problem.reason,
                maybe_sent=problem.unknown,
                refund_attempt=True,
            )
            return False
        if problem.permanent or row.attempts >= MAX_ATTEMPTS:
            await self.repos.outbox.mark_failed(row.id, owner, problem.reason)
            return True
        await self.repos.outbox.mark_retry(
            row.id, owner, now + backoff(row.attempts), problem.reason, maybe_sent=problem.unknown
        )
        return False
