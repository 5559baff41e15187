"""Group commit: many clicks, one transaction.

When hundreds of members vote within a second, one transaction per click would queue them all
on the database's write lock (SQLite has one writer; PostgreSQL would serialise them on the
poll's card), and each statement costs far more than the work in it. Instead, clicks that arrive
while a batch is being written wait for the next batch; a batch's members are looked up (and
joined) together, its clicks run on one transaction, the poll cards they touched are redrawn
once, and every click is answered once the commit that holds it has succeeded. Batched handlers
refuse before they write (ActionSpec.batched), so a refusal leaves nothing behind; if anything
raises, or the commit fails, the whole batch is rolled back and its clicks are written one
transaction each, so one bad click costs only itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.app import App
from bot.logs import new_request_id, request_id
from bot.refs import Actor, ConversationRef
from bot.replies import Reply
from bot.services import Services
from bot.services.coalitions import Place
from bot.views import MemberView

log = logging.getLogger(__name__)

# What runs an event once its place, member and zone are known: parsing and the handler.
Prepare = Callable[[Services, Place, MemberView | None, ZoneInfo], Awaitable[Reply]]

BATCH_MAX = 500
BATCH_MIN = 10
BATCH_FIRST = 40  # the first batch of a burst, before any has been measured
BATCH_TURN = 0.04  # seconds a batch of clicks may hold the database while other commands wait
BATCH_HOLD = 0.1  # seconds a batch may hold it when nobody is waiting (yet)
BATCH_LINGER = 0.02  # seconds; only once clicks are arriving together, so a lone click never waits


@dataclass
class Click:
    """A click waiting for its batch, and where its answer goes once that batch is committed."""

    actor: Actor
    where: ConversationRef
    prepare: Prepare
    describe: str
    reply: asyncio.Future[Reply]
    rid: str = field(default_factory=new_request_id)


# How the dispatcher runs one click on an open transaction (place, member, language, handler);
# how it runs one alone, in a transaction of its own; and how it takes back members who joined
# only to be refused.
RunOn = Callable[[Services, Click], Awaitable[Reply]]
RunAlone = Callable[[Click], Awaitable[Reply]]
Unjoin = Callable[[Sequence[MemberView]], Awaitable[None]]


class GroupCommit:
    def __init__(self, app: App, run_on: RunOn, run_alone: RunAlone, unjoin: Unjoin) -> None:
        self.app = app
        self._run_on = run_on
        self._run_alone = run_alone
        self._unjoin = unjoin
        self._pending: list[Click] = []
        self._writer: asyncio.Task[None] | None = None
        self._batch_size = BATCH_FIRST

    async def submit(self, actor: Actor, where: ConversationRef, prepare: Prepare, describe: str) -> Reply:
        """The click's reply, once the batch holding it is committed (or it was written alone)."""
        click = Click(actor, where, prepare, describe, asyncio.get_running_loop().create_future())
        self._pending.append(click)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches())
        return await asyncio.shield(click.reply)

    async def _write_batches(self) -> None:
        burst = False
        while self._pending:
            if burst and len(self._pending) < self._batch_size:
                await asyncio.sleep(BATCH_LINGER)  # in a burst, let a few more clicks join this batch
            batch, self._pending = self._pending[: self._batch_size], self._pending[self._batch_size :]
            burst = len(batch) > 1
            started = time.perf_counter()
            replies = await self._write_batch(batch)
            self._size_batches(len(batch), time.perf_counter() - started, others_waiting=self.app.db.queued > 0)
            for click, reply in zip(batch, replies, strict=True):
                click.reply.set_result(reply)
            if any(not r.error for r in replies):
                await self.app.scheduler.poke()

    def _size_batches(self, clicks: int, took: float, others_waiting: bool) -> None:
        """A batch holds the database while it is written. When a member's request waited for it,
        size the next batch from what this one cost a click, so that such a wait stays near
        BATCH_TURN whatever the clicks cost (a vote on a small poll, an RSVP that redraws a busy
        card); when nobody waited, grow it, since bigger batches write faster, but never past
        BATCH_HOLD, what the next member to arrive would have to wait."""
        if clicks <= 1 or took <= 0:
            return
        if others_waiting:
            fits = int(BATCH_TURN * clicks / took)
        else:
            fits = min(2 * self._batch_size, int(BATCH_HOLD * clicks / took))
        self._batch_size = max(BATCH_MIN, min(BATCH_MAX, (self._batch_size + fits) // 2))

    async def _join_all(self, batch: list[Click]) -> Sequence[MemberView]:
        """The newcomers of a batch of clicks, joined in a commit before the one with their votes:
        a commit holding both the new member and a ballot would name them."""
        async with self.app.unit_of_work() as services:
            await _prefetch(services, batch)
            joined = services.coalitions.joined()
            if joined:
                await services.commit()
            return joined

    async def _write_batch(self, batch: list[Click]) -> list[Reply]:
        replies: list[Reply] = []
        joined = await self._join_all(batch)
        try:
            async with self.app.unit_of_work() as services:
                await _prefetch(services, batch)
                for click in batch:
                    request_id.set(click.rid)
                    log.info("%s from %s:someone in %s", click.describe, click.where.platform, click.where.channel_id)
                    replies.append(await self._run_on(services, click))
                acted = {c.actor.user.key for c, r in zip(batch, replies, strict=True) if not r.error}
                refused = {c.actor.user.key for c, r in zip(batch, replies, strict=True) if r.error}
                await services.commit()
        except Exception:
            # Nothing of the batch was written. Each click gets its own transaction instead, so
            # one that fails costs only itself.
            log.exception("writing a batch of %d clicks failed; writing them one by one", len(batch))
            if joined:
                await self._unjoin(joined)
            return [await self._run_alone(click) for click in batch]
        unjoined = [m for m in joined if (m.platform, m.workspace_id, m.user_id) in refused - acted]
        if unjoined:
            await self._unjoin(unjoined)  # a refusal writes nothing, not even the member it refused
        return replies


async def _prefetch(services: Services, batch: list[Click]) -> None:
    """Each place of the batch and its clickers, read (and newcomers joined) in a few queries."""
    services.coalitions.remember_lookups()
    places: dict[tuple[str, str, str], tuple[ConversationRef, list[Actor]]] = {}
    for click in batch:
        places.setdefault(click.where.key, (click.where, []))[1].append(click.actor)
    for where, actors in places.values():
        place = await services.coalitions.resolve(where)
        if place.coalition is not None:
            await services.coalitions.prefetch_members(place.coalition, actors)
