"""Sending at the pace a platform allows, so our own traffic never provokes a 429.

Each platform gets a global bucket and one bucket per channel. A 429 that arrives anyway pauses
the bucket it concerns for the platform's Retry-After.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class PacingPolicy:
    global_rate: float | None  # messages per second over the whole platform; None: unlimited
    global_burst: int
    channel_rate: float | None  # messages per second in one channel
    channel_burst: int


# Slack: about one message a second per channel with short bursts (chat.postMessage is "special"
# tier); no published global figure, so a workspace-wide ceiling well under Tier 4 keeps us safe.
SLACK = PacingPolicy(global_rate=50.0, global_burst=50, channel_rate=1.0, channel_burst=3)
# Discord: 50 requests a second overall; about 5 messages per 5 seconds in one channel.
DISCORD = PacingPolicy(global_rate=50.0, global_burst=50, channel_rate=1.0, channel_burst=5)
UNLIMITED = PacingPolicy(global_rate=None, global_burst=1, channel_rate=None, channel_burst=1)


class TokenBucket:
    """`rate` tokens a second, holding at most `burst`; `acquire` waits for one."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.updated = time.monotonic()
        self.paused_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self.paused_until:
                    await asyncio.sleep(self.paused_until - now)
                    continue
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)
        self.tokens = 0


class Pacer:
    MAX_CHANNELS = 5000  # buckets kept; the least recently used are dropped (they are full again anyway)

    def __init__(self, policy: PacingPolicy) -> None:
        self.policy = policy
        self.global_bucket = TokenBucket(policy.global_rate, policy.global_burst) if policy.global_rate else None
        self._channels: OrderedDict[str, TokenBucket] = OrderedDict()

    def _channel(self, key: str) -> TokenBucket | None:
        if not self.policy.channel_rate:
            return None
        bucket = self._channels.get(key)
        if bucket is None:
            bucket = TokenBucket(self.policy.channel_rate, self.policy.channel_burst)
            self._channels[key] = bucket
            if len(self._channels) > self.MAX_CHANNELS:
                self._channels.popitem(last=False)
        else:
            self._channels.move_to_end(key)
        return bucket

    async def acquire(self, channel_key: str) -> None:
        bucket = self._channel(channel_key)
        if bucket is not None:
            await bucket.acquire()
        if self.global_bucket is not None:
            await self.global_bucket.acquire()

    def back_off(self, channel_key: str, seconds: float, *, everywhere: bool = False) -> None:
        bucket = self.global_bucket if everywhere else self._channel(channel_key)
        if bucket is not None:
            bucket.pause(seconds)
