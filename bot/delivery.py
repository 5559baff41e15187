"""Delivering the outbox: one worker per platform, in every process that runs that platform.

The worker is a DueSource: the scheduler wakes it when a row falls due. Each batch is claimed in
its own short transaction, sent under the platform's pacing, and each outcome is recorded as soon
as it is known (outcomes known together share one commit), so a crash loses at most the outcome of
messages in flight, and those are checked with the platform (`find_sent`) before they are sent again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.messenger import DeliveryError, Messenger
from bot.pacing import Pacer, SharedPacer
from bot.refs import ConversationRef, UserRef
from bot.replies import reply_from_dict
from bot.sealing import open_payload
from storage.outbox import Claimed

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

ProgressHook = Callable[[set[int]], Awaitable[None]]


class DeliveryWorker:
    def __init__(
        self,
        app: App,
        messenger: Messenger,
        pacer: Pacer | SharedPacer,
        *,
        batch: int | None = None,
        concurrency: int = 25,
        lease: timedelta = timedelta(seconds=30),
        owner: str | None = None,
    ) -> None:
        self.app = app
        self.messenger = messenger
        self.platform = messenger.platform
        self.pacer = pacer
        # No more than the platform lets through in one period: sending more at once cannot go any
        # sooner, and what is left stays claimable by another process that is free meanwhile.
        overall = pacer.policy.overall
        self.batch = batch or (overall.count if overall is not None else 100)
        # No more of one channel's burst than the platform takes at once: the rest is claimed after,
        # by whichever process is free, instead of waiting here while another process idles.
        self.per_channel = pacer.policy.channel.count if pacer.policy.channel is not None else None
        self.lease = lease
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.name = f"outbox:{self.platform}"
        self._slots = asyncio.Semaphore(concurrency)
        # Deliveries recorded together (group commit): each waits for the commit that holds its own
        # outcome, as before, but those that finish while one commit runs share the next one.
        self._sent: list[tuple[int, int, str, asyncio.Future[bool]]] = []
        self._recording: asyncio.Task[None] | None = None

    async def next_due(self, after: datetime) -> datetime | None:
        async with self.app.unit_of_work() as services:
            return await services.deliveries.next_due(self.platform)

    async def run_due(self, now: datetime) -> int:
        delivered = 0
        while True:
            async with self.app.unit_of_work() as services:
                claimed = await services.deliveries.claim(
                    self.platform, self.owner, self.lease, self.batch, self.per_channel
                )
                await services.commit()
            if not claimed:
                return delivered
            done = asyncio.Event()
            renewing = asyncio.create_task(self._renew_lease(done))
            try:
                results = await asyncio.gather(*(self._deliver(c) for c in claimed))
            finally:
                done.set()
                await renewing
            delivered += sum(results)
            # Progress reports may queue an edit that is due now: keep claiming until nothing is.
            await self._report_progress(claimed)
            if self.app.scheduler.stopping:
                return delivered  # shutting down: what is left goes after the restart

    async def _renew_lease(self, done: asyncio.Event) -> None:
        """Keep our hold on the rows in flight while pacing makes us wait, so no other process
        takes them over as if we had crashed. Stops between renewals, never inside one."""
        while not done.is_set():
            try:
                await asyncio.wait_for(done.wait(), self.lease.total_seconds() / 3)
                return
            except TimeoutError:
                pass
            async with self.app.unit_of_work() as services:
                await services.deliveries.hold(self.owner, self.lease)
                await services.commit()

    async def _deliver(self, claimed: Claimed) -> int:
        row = claimed.row
        assert row.id is not None
        channel_key = f"{row.workspace_id}:{row.channel_id or 'dm:' + (row.user_id or '')}"
        try:
            async with self._slots:
                message_id = await self._send(claimed, channel_key)
        except DeliveryError as exc:
            await self._failed(claimed, channel_key, exc)
            return 0
        except Exception as exc:
            # A bug or a network failure with no platform answer: the message may have arrived.
            log.exception("delivery %s raised", row.dedupe_key)
            await self._failed(claimed, channel_key, DeliveryError(f"{type(exc).__name__}: {exc}", unknown=True))
            return 0
        if message_id is None:
            return 0
        current = await self._record_sent(row.id, row.version, message_id)
        if not current:
            log.debug("edit %s got newer content while sending; it goes again", row.dedupe_key)
        waited = (self.app.clock.now() - row.not_before).total_seconds()
        self.app.metrics.delivery.labels(row.platform).observe(max(waited, 0.0))
        return 1

    async def _record_sent(self, row_id: int, version: int, message_id: str) -> bool:
        """Mark one row sent; returns once the commit holding it is done (False: newer content
        arrived meanwhile). A crash loses no more than before: only outcomes not yet committed."""
        recorded: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._sent.append((row_id, version, message_id, recorded))
        if self._recording is None or self._recording.done():
            self._recording = asyncio.create_task(self._record_waiting())
        return await recorded

    async def _record_waiting(self) -> None:
        while self._sent:
            batch, self._sent = self._sent, []
            try:
                async with self.app.unit_of_work() as services:
                    outcomes = [(row_id, version, message_id) for row_id, version, message_id, _future in batch]
                    results = await services.deliveries.sent(self.owner, outcomes)
                    await services.commit()
            except Exception as exc:  # the database failed: each delivery learns it, as it would alone
                for *_rest, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (*_rest, future), current in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(current)

    async def _send(self, claimed: Claimed, channel_key: str) -> str | None:
        row = claimed.row
        reply = reply_from_dict(json.loads(open_payload(row.payload, self.app.secret)))
        target: ConversationRef | UserRef
        if row.kind == "dm":
            target = UserRef(row.platform, row.workspace_id, row.user_id or "")
        else:
            target = ConversationRef(row.platform, row.workspace_id, row.channel_id or "")
        if row.kind == "edit":
            return await self._edit(claimed, target, channel_key)
        if claimed.maybe_sent_before:
            found = await self.messenger.find_sent(target, row.dedupe_key, reply=reply, since=row.created_at)
            if found is not None:
                log.info("delivery %s had already arrived; not sent again", row.dedupe_key)
                return found.message_id
        slot = await self.pacer.acquire(channel_key)
        try:
            if isinstance(target, UserRef):
                sent = await self.messenger.send_private(target, reply, key=row.dedupe_key)
            else:
                sent = await self.messenger.send(target, reply, key=row.dedupe_key)
        finally:
            await slot.done()
        return sent.message_id

    async def _edit(self, claimed: Claimed, target: ConversationRef | UserRef, channel_key: str) -> str | None:
        row = claimed.row
        assert row.id is not None and row.edit_of_id is not None
        async with self.app.unit_of_work() as services:
            message = await services.deliveries.edit_target(row, self.owner)
            await services.commit()
        if message is None:
            return None
        slot = await self.pacer.acquire(channel_key)
        try:
            reply = reply_from_dict(json.loads(open_payload(row.payload, self.app.secret)))
            await self.messenger.update(message, reply)
        finally:
            await slot.done()
        return message.message_id

    async def _failed(self, claimed: Claimed, channel_key: str, exc: DeliveryError) -> None:
        row = claimed.row
        assert row.id is not None
        if exc.retry_after is not None:
            self.app.metrics.rate_limited.labels(row.platform).inc()
            # The platform's own pacing: wait exactly as long as asked; it is not a failure.
            await self.pacer.back_off(channel_key, exc.retry_after)
        async with self.app.unit_of_work() as services:
            if await services.deliveries.failed(row, self.owner, exc):
                log.warning("delivery %s failed after %d attempts: %s", row.dedupe_key, row.attempts, exc.reason)
            await services.commit()

    async def _report_progress(self, claimed: list[Claimed]) -> None:
        touched: dict[str, set[int]] = {}
        for c in claimed:
            if c.row.source and c.row.source_id is not None and c.row.kind != "edit":
                touched.setdefault(c.row.source, set()).add(c.row.source_id)
        for source, ids in touched.items():
            hook = self.app.progress_hooks.get(source)
            if hook is not None:
                try:
                    await hook(ids)
                except Exception:
                    log.exception("progress report for %s failed", source)
