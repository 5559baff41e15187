"""Sending at the pace a platform allows, so our own traffic never provokes a 429.

Limits are sliding windows, the way platforms count them: at most N messages in any period T,
per channel and across the platform. (A token bucket with the same average lets through twice
the burst in its first period, which is exactly when a 429 comes.) A 429 that arrives anyway
pauses the window it concerns for the platform's Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

from storage import Database, Repositories
from storage.pacing import IN_FLIGHT_CHECK, IN_FLIGHT_LIMIT


@dataclass(frozen=True)
class Window:
    count: int
    seconds: float


@dataclass(frozen=True)
class PacingPolicy:
    overall: Window | None  # across the whole platform (workspace, bot)
    channel: Window | None  # in one channel


# Each platform's own policy is part of its `Platform` (adapters/<name>/platform.py).
UNLIMITED = PacingPolicy(overall=None, channel=None)


# A message counts from the platform's answer (see `Slot.done`), and the platform counted it when
# it arrived, which is never later: a window that opens one period after the answers it holds can
# never hold one too many at the platform, so no margin is added to the period.


class SlidingWindow:
    """Admits at most `count` events in any `seconds`; `acquire` waits.

    Each admitted event holds a slot stamped with the time it was let through, and again with the
    time the platform answered (`Slot.done`): the platform counts a message when it arrives, which
    is somewhere between the two, so counting from the later one can never put one too many in
    the platform's window, however long a busy moment delays a request on its way. A slot still
    waiting for its answer never ages out: its message may arrive at any moment.
    """

    def __init__(self, window: Window) -> None:
        self.window = window
        self.sent: deque[Stamp] = deque()
        self.paused_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> Stamp:
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self.paused_until:
                    await asyncio.sleep(self.paused_until - now)
                    continue
                span = self.window.seconds
                while self.sent and now - self.sent[0].at >= (span if self.sent[0].answered else IN_FLIGHT_LIMIT):
                    self.sent.popleft()
                if len(self.sent) < self.window.count:
                    stamp = Stamp(now)
                    self.sent.append(stamp)
                    return stamp
                oldest = self.sent[0]
                wait = span - (now - oldest.at) if oldest.answered else IN_FLIGHT_CHECK
                await asyncio.sleep(max(wait, 0.0) + 0.001)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)


@dataclass
class Stamp:
    at: float
    answered: bool = False


@dataclass
class Slot:
    stamps: list[Stamp]

    async def done(self) -> None:
        now = time.monotonic()
        for stamp in self.stamps:
            stamp.at = max(stamp.at, now)
            stamp.answered = True


class Pacer:
    MAX_CHANNELS = 5000  # windows kept; the least recently used are dropped (they have long emptied)

    def __init__(self, policy: PacingPolicy) -> None:
        self.policy = policy
        self.overall = SlidingWindow(policy.overall) if policy.overall else None
        self._channels: OrderedDict[str, SlidingWindow] = OrderedDict()

    def _channel(self, key: str) -> SlidingWindow | None:
        if self.policy.channel is None:
            return None
        window = self._channels.get(key)
        if window is None:
            window = SlidingWindow(self.policy.channel)
            self._channels[key] = window
            if len(self._channels) > self.MAX_CHANNELS:
                self._channels.popitem(last=False)
        else:
            self._channels.move_to_end(key)
        return window

    async def acquire(self, channel_key: str) -> Slot:
        """Wait for room in the channel's window and the platform's; call `done()` on the returned
        slot once the platform has answered."""
        slot = Slot([])
        channel = self._channel(channel_key)
        try:
            if channel is not None:
                slot.stamps.append(await channel.acquire())
            if self.overall is not None:
                slot.stamps.append(await self.overall.acquire())
        except BaseException:  # cancelled while waiting for the platform's window: nothing was sent
            await slot.done()
            raise
        return slot

    async def back_off(self, channel_key: str, seconds: float, *, everywhere: bool = False) -> None:
        window = self.overall if everywhere else self._channel(channel_key)
        if window is not None:
            window.pause(seconds)


@dataclass
class SharedSlot:
    database: Database
    stamp_ids: list[int]
    admitted_at: float = 0.0  # the database's clock when the windows were read
    asked_at: float = 0.0  # this process's monotonic clock before it asked for admission

    async def done(self) -> None:
        """Move the stamps to the answer's time on the database's clock. Counted from before the
        admission was asked, the time elapsed can only be overestimated (safe: the window opens a
        little later), and writing it takes none of the period, unlike reading the database's
        clock again after another round trip would."""
        if not self.stamp_ids:
            return
        answered_at = self.admitted_at + (time.monotonic() - self.asked_at)
        async with self.database.session() as session:
            await Repositories(session).pacing.answered(self.stamp_ids, answered_at)
            await session.commit()


class SharedPacer:
    """The same windows as `Pacer`, kept in the database, so every process sending for one platform
    counts against one limit (PostgreSQL, where several processes share the work). Without it, two
    processes each keep under the limit and together go over it: 429s.

    The sends waiting in this process are admitted together, one transaction for all of them, so
    the database's round trips do not pace the platform more slowly than its limit does."""

    def __init__(self, policy: PacingPolicy, database: Database, platform: str) -> None:
        self.policy = policy
        self.database = database
        self.platform = platform
        self._waiting: list[tuple[dict[str, tuple[int, float]], asyncio.Future[SharedSlot]]] = []
        self._arrived = asyncio.Event()
        self._admitting: asyncio.Task[None] | None = None

    def _windows(self, channel_key: str) -> dict[str, tuple[int, float]]:
        windows = {}
        if self.policy.channel is not None:
            windows[f"{self.platform}:{channel_key}"] = self.policy.channel
        if self.policy.overall is not None:
            windows[f"{self.platform}:*"] = self.policy.overall
        return {key: (w.count, w.seconds) for key, w in windows.items()}

    async def acquire(self, channel_key: str) -> SharedSlot:
        windows = self._windows(channel_key)
        if not windows:
            return SharedSlot(self.database, [])
        admitted: asyncio.Future[SharedSlot] = asyncio.get_running_loop().create_future()
        self._waiting.append((windows, admitted))
        self._arrived.set()
        if self._admitting is None or self._admitting.done():
            self._admitting = asyncio.create_task(self._admit())
        return await admitted

    async def _admit(self) -> None:
        """Admit whatever is waiting, in order of arrival, until nothing is; sleep until the first
        refused send could go, or another send arrives (it may be for a channel with room)."""
        while self._waiting:
            self._arrived.clear()
            self._waiting = [(w, f) for w, f in self._waiting if not f.done()]  # a cancelled send
            batch = self._waiting[:500]
            asked_at = time.monotonic()
            try:
                async with self.database.session() as session:
                    results, wait, admitted_at = await Repositories(session).pacing.admit([w for w, _ in batch])
                    await session.commit()
            except Exception as exc:  # the database is unreachable: each waiting send fails as a send would
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                self._waiting = self._waiting[len(batch) :]
                continue
            refused = []
            for (windows, future), stamps in zip(batch, results, strict=True):
                if stamps is None:
                    refused.append((windows, future))
                elif not future.done():
                    future.set_result(SharedSlot(self.database, stamps, admitted_at, asked_at))
            self._waiting = refused + self._waiting[len(batch) :]
            if refused:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), wait)

    async def back_off(self, channel_key: str, seconds: float, *, everywhere: bool = False) -> None:
        async with self.database.session() as session:
            await Repositories(session).pacing.pause(f"{self.platform}:{'*' if everywhere else channel_key}", seconds)
            await session.commit()
