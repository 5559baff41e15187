"""Sending at the pace a platform allows, so our own traffic never provokes a 429.

Limits are sliding windows, the way platforms count them: at most N messages in any period T,
per channel and across the platform. (A token bucket with the same average lets through twice
the burst in its first period, which is exactly when a 429 comes.) A 429 that arrives anyway
pauses the window it concerns for the platform's Retry-After.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from dataclasses import dataclass


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


# The platform counts a message when it arrives, we when we send it; network jitter between the two
# could put one message too many in the platform's window. A small margin absorbs that.
JITTER_MARGIN = 0.05


class SlidingWindow:
    """Admits at most `count` events in any `seconds` (plus a jitter margin); `acquire` waits.

    Each admitted event holds a slot stamped with the time it was let through, and again with the
    time the platform answered (`Slot.done`): the platform counts a message when it arrives, which
    is somewhere between the two, so counting from the later one can never put one too many in
    the platform's window, however long a busy moment delays a request on its way.
    """

    def __init__(self, window: Window) -> None:
        self.window = window
        self.sent: deque[list[float]] = deque()
        self.paused_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> list[float]:
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self.paused_until:
                    await asyncio.sleep(self.paused_until - now)
                    continue
                span = self.window.seconds + JITTER_MARGIN
                while self.sent and now - self.sent[0][0] >= span:
                    self.sent.popleft()
                if len(self.sent) < self.window.count:
                    stamp = [now]
                    self.sent.append(stamp)
                    return stamp
                await asyncio.sleep(span - (now - self.sent[0][0]) + 0.001)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)


@dataclass
class Slot:
    stamps: list[list[float]]

    def done(self) -> None:
        now = time.monotonic()
        for stamp in self.stamps:
            stamp[0] = max(stamp[0], now)


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
        stamps = []
        channel = self._channel(channel_key)
        if channel is not None:
            stamps.append(await channel.acquire())
        if self.overall is not None:
            stamps.append(await self.overall.acquire())
        return Slot(stamps)

    def back_off(self, channel_key: str, seconds: float, *, everywhere: bool = False) -> None:
        window = self.overall if everywhere else self._channel(channel_key)
        if window is not None:
            window.pause(seconds)
