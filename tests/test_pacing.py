"""Pacing: a sliding window counts a message from when the platform answered, not only from when
it was let through, so a slow request cannot put one too many in the platform's window."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.pacing import Pacer, PacingPolicy, SharedPacer, Window
from storage import Database
from tests.conftest import BACKENDS, migrated_database

MakePacer = Callable[[PacingPolicy], Pacer | SharedPacer]


@pytest.fixture(params=["in-process", *(f"shared-{backend}" for backend in BACKENDS)])
async def make_pacer(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[MakePacer]:
    """Each test runs on the in-process windows and on the windows kept in the database (on each
    database backend): both must keep the same limits."""
    if request.param == "in-process":
        yield Pacer
        return
    db = await migrated_database(request.param.removeprefix("shared-"), tmp_path, tmp_path_factory.getbasetemp())
    yield lambda policy: SharedPacer(policy, db, "fake")
    await db.dispose()


async def test_a_slot_is_held_until_the_platform_answered(make_pacer: MakePacer) -> None:
    pacer = make_pacer(PacingPolicy(overall=Window(2, 0.2), channel=None))
    first = await pacer.acquire("c")
    await (await pacer.acquire("c")).done()
    await asyncio.sleep(0.15)  # the first request is slow: the platform answers only now
    await first.done()
    answered = time.monotonic()
    await (await pacer.acquire("c")).done()  # takes the second's slot once it ages out
    await (await pacer.acquire("c")).done()  # takes the first's, which counts from when it was answered
    assert time.monotonic() - answered >= 0.2 - 0.01


async def test_a_send_still_waiting_for_its_answer_never_ages_out(make_pacer: MakePacer) -> None:
    """Its message may reach the platform at any moment: until it is answered it counts as now."""
    pacer = make_pacer(PacingPolicy(overall=Window(1, 0.1), channel=None))
    slow = await pacer.acquire("c")
    started = time.monotonic()
    nxt = asyncio.create_task(pacer.acquire("c"))
    await asyncio.sleep(0.3)  # three periods, and the first send is still on its way
    assert not nxt.done()
    await slow.done()
    await (await nxt).done()
    assert time.monotonic() - started >= 0.3 + 0.1 - 0.01


async def test_a_channel_window_and_the_overall_window_both_hold(make_pacer: MakePacer) -> None:
    pacer = make_pacer(PacingPolicy(overall=Window(10, 1.0), channel=Window(1, 0.2)))
    await (await pacer.acquire("a")).done()
    await (await pacer.acquire("b")).done()  # another channel goes at once
    started = time.monotonic()
    await (await pacer.acquire("a")).done()
    assert time.monotonic() - started >= 0.2 - 0.05


async def test_two_shared_pacers_keep_one_limit_between_them(db: Database) -> None:
    """Two processes' pacers on one database: together they admit no more than the window allows,
    and a Retry-After that one of them receives holds the other too."""
    policy = PacingPolicy(overall=None, channel=Window(3, 0.4))
    first, second = SharedPacer(policy, db, "fake"), SharedPacer(policy, db, "fake")
    admitted: list[float] = []

    async def send(pacer: SharedPacer) -> None:
        slot = await pacer.acquire("c")
        admitted.append(time.monotonic())
        await slot.done()

    await asyncio.gather(*(send(p) for p in [first, second] * 4))
    admitted.sort()
    assert len(admitted) == 8
    for i in range(3, 8):  # any four admissions span more than the window
        assert admitted[i] - admitted[i - 3] >= 0.4, admitted
    await asyncio.sleep(0.5)
    await first.back_off("c", 0.3)
    started = time.monotonic()
    await (await second.acquire("c")).done()
    assert time.monotonic() - started >= 0.29
