"""Pacing: a sliding window counts a message from when the platform answered, not only from when
it was let through, so a slow request cannot put one too many in the platform's window."""

from __future__ import annotations

import asyncio
import time

from bot.pacing import JITTER_MARGIN, Pacer, PacingPolicy, Window


async def test_a_slot_is_held_until_the_platform_answered() -> None:
    pacer = Pacer(PacingPolicy(overall=Window(2, 0.2), channel=None))
    first = await pacer.acquire("c")
    (await pacer.acquire("c")).done()
    await asyncio.sleep(0.15)  # the first request is slow: the platform answers only now
    first.done()
    answered = time.monotonic()
    (await pacer.acquire("c")).done()  # takes the second's slot once it ages out
    (await pacer.acquire("c")).done()  # takes the first's, which counts from when it was answered
    assert time.monotonic() - answered >= 0.2 + JITTER_MARGIN - 0.01


async def test_a_channel_window_and_the_overall_window_both_hold() -> None:
    pacer = Pacer(PacingPolicy(overall=Window(10, 1.0), channel=Window(1, 0.2)))
    (await pacer.acquire("a")).done()
    (await pacer.acquire("b")).done()  # another channel goes at once
    started = time.monotonic()
    (await pacer.acquire("a")).done()
    assert time.monotonic() - started >= 0.2 + JITTER_MARGIN - 0.05
