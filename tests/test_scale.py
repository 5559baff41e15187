"""Costs that do not grow with history (issue 17): delivered rows are pruned while what duplicate
protection and card edits need stays; edits are upserts that two processes cannot collide on; a
reminder to many members is queued a slice at a time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.app import App
from bot.clock import SimulatedClock
from bot.config import Settings
from bot.due import Fanouts
from bot.refs import Actor, UserRef
from bot.replies import Reply
from bot.scheduler import Scheduler
from bot.services import fanouts
from storage import Database
from storage.models import OutboxMessage
from tests.conftest import POSTGRES_URL, make_database
from tests.harness import Harness, shown
from tests.messengers import MemoryPlatform
from tests.test_outbox import rows, seed


async def test_an_edit_queued_meanwhile_by_another_process_is_updated_not_collided_with(app: App) -> None:
    """The path where this process looked the edit up, found none, and another queued it before
    this insert: the insert becomes an update of that row (new content, a newer version)."""
    await seed(app, 1)
    async with app.unit_of_work() as services:
        original = await services.repos.outbox.by_key("test:0")
        assert original is not None
        await services.outbox.edit(original, Reply("first edit"), key="test:0:edit")
        await services.commit()
    async with app.unit_of_work() as services:
        original = await services.repos.outbox.by_key("test:0")
        assert original is not None
        racing = OutboxMessage(
            coalition_id=original.coalition_id,
            kind="edit",
            platform=original.platform,
            workspace_id=original.workspace_id,
            channel_id=original.channel_id,
            edit_of_id=original.id,
            payload='{"text": "second edit"}',
            dedupe_key="test:0:edit",
            not_before=app.clock.now(),
        )
        await services.repos.outbox.insert_edit(racing)
        await services.commit()
    edits = [r for r in await rows(app) if r.kind == "edit"]
    assert len(edits) == 1 and edits[0].version == 2 and "second edit" in edits[0].payload


@pytest.mark.skipif(POSTGRES_URL is None, reason="two transactions racing need PostgreSQL (set by .ci/run)")
async def test_two_transactions_editing_one_card_on_postgresql_both_commit(tmp_path) -> None:
    db: Database = await make_database("postgres", tmp_path)
    await db.upgrade()
    app = App(Settings(database_url=db.url), db)
    await seed(app, 1)
    async with app.unit_of_work() as first, app.unit_of_work() as second:
        a = await first.repos.outbox.by_key("test:0")
        b = await second.repos.outbox.by_key("test:0")
        assert a is not None and b is not None
        await first.outbox.edit(a, Reply("from process one"), key="test:0:edit")
        # The second saw no edit row either; its insert waits on the first's uncommitted one.
        racing = asyncio.create_task(second.outbox.edit(b, Reply("from process two"), key="test:0:edit"))
        await asyncio.sleep(0.2)
        await first.commit()
        await racing  # then updates the first's row instead of raising UniqueViolation
        await second.commit()
    edits = [r for r in await rows(app) if r.kind == "edit"]
    assert len(edits) == 1 and "from process two" in edits[0].payload
    await app.close()
    await db.dispose()


async def test_old_deliveries_are_pruned_but_open_cards_and_their_keys_stay(
    bot: Harness, clock: SimulatedClock
) -> None:
    app = bot.dispatcher.app
    platform = MemoryPlatform()
    app.add_messenger(platform)
    await bot.run('/poll create "Still open?" Yes No')
    await bot.run('/poll create "Closed long ago?" Yes No')
    await bot.run('/broadcast send "An old update"')
    await app.scheduler.run_due()
    await bot.run("/poll close 2")
    await bot.click("poll:vote:1:0", as_="maria")
    await app.scheduler.advance_to(clock.now() + timedelta(seconds=5))
    before = {r.dedupe_key: r.status for r in await rows(app)}
    assert "poll:1:post:1" in before and "poll:2:post:1" in before

    await app.scheduler.advance_to(clock.now() + timedelta(days=31, hours=1))  # housekeeping runs daily
    after = {r.dedupe_key for r in await rows(app)}
    assert "poll:1:post:1" in after  # poll 1 is open: its card must stay editable
    assert "poll:2:post:1" not in after and not any(k.startswith("broadcast:") for k in after)
    # The open poll's card still takes a vote and is edited, a month on.
    assert not (await bot.click("poll:vote:1:1", as_="lee")).error
    await app.scheduler.advance_to(clock.now() + timedelta(seconds=5))
    card = next(p for p in platform.posted if p.key == "poll:1:post:1")
    assert card.edits and "2 voters" in shown(card.edits[-1])


async def _reminders(app: App) -> list[str]:
    async with app.db.session() as session:
        found = await session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.contains(":remind:")))  # type: ignore[attr-defined]
        return [r.user_id for r in found.all()]


async def test_a_reminder_to_many_members_is_queued_a_slice_at_a_time_and_survives_a_restart(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command only asks; slices of members are queued in their own short transactions, other
    commands run between them, and a restart half-way carries on: every member who has not voted
    is reminded once, and the coordinator is told how many."""
    monkeypatch.setattr(fanouts, "SLICE", 50)
    app = bot.dispatcher.app
    platform = MemoryPlatform()
    app.add_messenger(platform)
    for n in range(300):
        await bot.run("/coalition whoami", as_=f"m{n}")
    await bot.run('/poll create "Budget?" Yes No')
    await bot.click("poll:vote:1:0", as_="m7")
    reply = await bot.run("/poll remind 1")
    assert not reply.error and "Reminding those who have not voted in poll #1" in shown(reply)
    assert await _reminders(app) == []  # nothing queued in the command's own transaction

    for _ in range(2):  # two slices, with a command between them
        async with app.unit_of_work() as services:
            (fanout_id,) = await services.fanouts.waiting()
            assert await services.fanouts.step(fanout_id)
            await services.commit()
        assert not (await bot.run("/poll results 1", as_="m3")).error
    assert len(await _reminders(app)) == 99  # the first 100 members, but m7 voted

    # A restart: a new process on the same database finds the fan-out and carries on.
    again = App(Settings(database_url=app.db.url), Database(app.db.url), app.clock)
    again.add_messenger(platform)
    try:
        await again.scheduler.run_due()
        await again.scheduler.run_due()
    finally:
        await again.close()
    reminded = await _reminders(app)
    assert sorted(reminded) == sorted({"admin", *(f"m{n}" for n in range(300))} - {"m7"})  # once each
    told = [shown(p.reply) for p in platform.posted if p.key.startswith("fanout:")]
    assert told == ["Reminded 300 members privately to vote in poll #1. Nobody is told who has voted."]
    async with app.unit_of_work() as services:
        assert await services.fanouts.waiting() == []


async def test_two_processes_queuing_one_nudge_remind_each_member_once(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes wake on the same fan-out at once: the row is taken in turn (locked on
    PostgreSQL), so no slice is queued twice and the coordinator is told once."""
    monkeypatch.setattr(fanouts, "SLICE", 40)
    app = bot.dispatcher.app
    for n in range(200):
        await bot.run("/coalition whoami", as_=f"m{n}")
    await bot.run('/broadcast send "Read me"')
    await bot.run("/broadcast nudge 1")
    others = [App(Settings(database_url=app.db.url), Database(app.db.url), app.clock) for _ in range(2)]
    try:
        await asyncio.gather(*(Fanouts(other).run_due(app.clock.now()) for other in others))
    finally:
        for other in others:
            await other.close()
    async with app.db.session() as session:
        found = await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "dm"))
        keys = [r.dedupe_key for r in found.all()]
    nudges = [k for k in keys if ":nudge:" in k]
    assert len(nudges) == len(set(nudges)) == 200  # every member but the author, once
    assert len([k for k in keys if k.startswith("fanout:")]) == 1


async def test_members_another_process_joined_meanwhile_are_found_and_never_taken_back(bot: Harness) -> None:
    """A burst of clicks joins its new members in one insert; one that another process joined in
    the meantime is skipped, not a conflict that replays the batch, and is not this batch's to undo."""
    app = bot.dispatcher.app
    await bot.run("/coalition whoami", as_="early")  # joined by "another process", committed
    early, late = (Actor(UserRef("console", "local", name), name) for name in ("early", "late"))
    async with app.unit_of_work() as services:
        place = await services.coalitions.resolve(bot.where("general"))
        assert place.coalition is not None
        services.coalitions.remember_lookups()
        await services.coalitions.prefetch_members(place.coalition, [late, early])
        await services.coalitions.undo_joins({early.user.key, late.user.key})  # both clicks refused
        await services.commit()
    async with app.unit_of_work() as services:
        assert place.coalition is not None
        assert await services.coalitions.find_member(place.coalition, early.user) is not None
        assert await services.coalitions.find_member(place.coalition, late.user) is None


@pytest.mark.parametrize("kind", ["single", "multiple", "ranked"])
async def test_kept_counts_equal_a_recount_through_votes_changes_and_bursts(bot: Harness, kind: str) -> None:
    """A named poll's count is read from kept tallies; after random votes, changed votes, repeated
    clicks and a burst written as one batch, they equal a recount of the ballots."""
    import random

    rng = random.Random(kind)
    await bot.run(f'/poll create "Where next?" Library Park Online Church --kind {kind}')
    voters = [f"v{n}" for n in range(40)]
    for _ in range(120):
        voter, option = rng.choice(voters), rng.randrange(4)
        if kind == "ranked":
            await bot.click(f"poll:rank:1:{rng.randrange(3)}", as_=voter, value=str(option))
        elif kind == "multiple":
            picked = ",".join(str(o) for o in sorted(rng.sample(range(4), rng.randint(1, 3))))
            await bot.click("poll:pick:1", as_=voter, value=picked)
        else:
            await bot.click(f"poll:vote:1:{option}", as_=voter)
    if kind != "ranked":  # and a burst written as one batch
        action, value = ("poll:vote:1:0", None) if kind == "single" else ("poll:pick:1", "0")
        await asyncio.gather(*(bot.click(action, as_=f"b{n}", value=value) for n in range(30)))
    async with bot.dispatcher.app.unit_of_work() as services:
        kept = sorted(await services.repos.polls.tallies(1))
        recounted = sorted(await services.repos.polls.choices(1))
    assert kept == recounted and sum(n for _, n in kept) >= 30


async def test_only_members_waiting_for_the_database_make_a_click_batch_smaller(tmp_path) -> None:
    """A burst of clicks yields to a member's command, not to the deliveries and wake-ups it causes
    itself: the scheduler's sessions wait without being counted."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    await db.upgrade()
    scheduler = Scheduler(SimulatedClock())

    class Due:
        name = "due"

        async def next_due(self, after):  # type: ignore[no-untyped-def]
            return None

        async def run_due(self, now):  # type: ignore[no-untyped-def]
            async with db.session():
                return 1

    scheduler.add(Due())

    async def command() -> None:
        async with db.session():
            pass

    async with db.session():  # a batch of clicks holds the turn
        woken = asyncio.create_task(scheduler.run_due())
        await asyncio.sleep(0.05)
        assert db.queued == 0  # the scheduler's source waits, uncounted
        typed = asyncio.create_task(command())
        await asyncio.sleep(0.05)
        assert db.queued == 1  # a member's command waits, counted
    assert await woken == 1
    await typed
    assert db.queued == 0
    await db.dispose()
