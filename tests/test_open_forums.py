"""Open forums (issue 30): members add options to a poll made with --open, coordinators remove one
(its votes returned with a private note), and check-ins that repeat (--every), each round against
the one before under the anonymity rules."""

from __future__ import annotations

from datetime import timedelta

from tests.harness import Harness, shown
from tests.messengers import MemoryPlatform


async def _count(bot: Harness, poll_id: int) -> str:
    return shown(await bot.run(f"/poll results {poll_id}"))


async def test_members_add_options_to_an_open_poll_and_nothing_else_takes_them(bot: Harness) -> None:
    await bot.run('/poll create "What should the forum be about?" Housing Lighting --open')
    added = await bot.run('/poll add 1 "Youth night"', as_="maria")
    assert "Option 3 ('Youth night') is added to poll #1" in shown(added)
    card = shown(await bot.run("/poll show 1"))
    assert "3. Youth night" in card and "open: any member can add an option" in card
    assert '/poll add 1 "OPTION"' in card
    twice = await bot.run('/poll add 1 "youth  NIGHT"', as_="jamal")  # the same, however it is typed
    assert twice.error and "already has the option 'youth NIGHT'" in shown(twice)
    await bot.run("/poll vote 1 3", as_="jamal")
    assert "3. Youth night: 1 vote" in await _count(bot, 1)
    await bot.run('/poll create "Venue?" Library Online')
    closed_to_adding = await bot.run('/poll add 2 "Park"', as_="maria")
    assert closed_to_adding.error and "does not take new options" in shown(closed_to_adding)
    assert "Usage: `/poll add ID" in shown(closed_to_adding)
    await bot.run("/coalition role @viewer observer")
    observer = await bot.run('/poll add 1 "Parking"', as_="viewer")
    assert observer.error
    for n in range(22):
        await bot.run(f'/poll add 1 "Idea {n}"', as_=f"member{n}")
    full = await bot.run('/poll add 1 "One too many"', as_="maria")
    assert full.error and "already has 25 options" in shown(full)
    await bot.run("/poll close 1")
    late = await bot.run('/poll add 1 "After the close"', as_="maria")
    assert late.error and "closed" in shown(late)
    refused = await bot.run('/poll create "When?" --open', as_="maria")
    assert refused.error


async def test_a_removed_option_returns_its_votes_and_tells_its_voters(bot: Harness) -> None:
    platform = MemoryPlatform()
    app = bot.dispatcher.app
    app.add_messenger(platform)
    await bot.run('/poll create "Which nights?" Monday Tuesday Wednesday Thursday --kind multiple --open')
    await bot.run("/poll vote 1 2", as_="maria")  # Tuesday only: her vote is returned whole
    await bot.run("/poll vote 1 2 4", as_="jamal")  # Tuesday and Thursday: Thursday stays, renumbered
    await bot.run("/poll vote 1 1 3", as_="lee")  # untouched
    not_theirs = await bot.run("/poll remove 1 2", as_="maria")
    assert not_theirs.error and "coordinator" in shown(not_theirs).lower()
    removed = await bot.run("/poll remove 1 2")
    assert "'Tuesday' is removed from poll #1; 2 votes for it were returned (2 told privately)" in shown(removed)
    counted = await _count(bot, 1)
    assert "1. Monday: 1 vote" in counted and "2. Wednesday: 1 vote" in counted and "3. Thursday: 1 vote" in counted
    assert "2 voters" in counted  # maria's ballot is gone; jamal's holds Thursday alone
    assert "Tuesday" not in shown(await bot.run("/poll show 1"))
    await app.scheduler.advance_to(app.clock.now() + timedelta(seconds=5))
    notes = {p.target: shown(p.reply) for p in platform.posted if ":removed:" in p.key}
    assert sorted(notes) == ["dm:jamal", "dm:maria"]
    assert "your vote for it was returned" in notes["dm:maria"]
    assert "'Tuesday' removed" in shown(await bot.run("/coalition audit"))
    # The count agrees with every ballot read again, as the export reads them.
    export = await bot.run("/poll export 1")
    assert not export.error
    assert (await bot.run("/poll remove 1 9")).error
    for n in (3, 2):
        await bot.run(f"/poll remove 1 {n}")
    last = await bot.run("/poll remove 1 1")
    assert last.error and "keeps at least 2" in shown(last)


async def test_removing_from_an_anonymous_poll_tells_every_member_who_may_vote(bot: Harness) -> None:
    platform = MemoryPlatform()
    app = bot.dispatcher.app
    app.add_messenger(platform)
    for name in ("maria", "jamal", "lee"):
        await bot.run("/coalition whoami", as_=name)
    await bot.run('/poll create "Trust?" High Middle Low --anonymous')
    for name, choice in (("maria", 2), ("jamal", 3), ("lee", 3), ("ana", 1)):
        await bot.run(f"/poll vote 1 {choice}", as_=name)
    removed = shown(await bot.run("/poll remove 1 2"))
    assert "every member who may vote is told privately (5)" in removed
    await app.scheduler.advance_to(app.clock.now() + timedelta(seconds=5))
    told = sorted(p.target for p in platform.posted if ":removed:" in p.key)
    assert told == ["dm:admin", "dm:ana", "dm:jamal", "dm:lee", "dm:maria"]  # not only maria, who chose it
    await bot.run("/poll close 1")
    final = await _count(bot, 1)
    assert "2. Low: 2 votes" in final and "1. High: 1 vote" in final and "Middle" not in final


async def test_the_add_button_says_what_to_type_where_there_are_no_forms(bot: Harness) -> None:
    await bot.run('/poll create "Topics?" Housing Lighting --open')
    card = await bot.run("/poll show 1")
    assert "form:poll.add:1" in [b.action_id for b in card.buttons]
    said = await bot.click("form:poll.add:1", as_="maria")
    assert 'Type it here: `/poll add 1 "OPTION"`' in shown(said)


async def test_a_weekly_check_in_opens_each_round_once_and_compares_with_the_last(bot: Harness) -> None:
    platform = MemoryPlatform()
    app = bot.dispatcher.app
    app.add_messenger(platform)
    made = await bot.run('/poll create "How safe did the week feel?" Safe Unsure Unsafe --every weekly')
    assert not made.error, shown(made)
    assert "round 1, repeats every week" in shown(await bot.run("/poll show 1"))
    for name, choice in (("maria", 1), ("jamal", 2), ("lee", 3)):
        await bot.run(f"/poll vote 1 {choice}", as_=name)
    await app.scheduler.advance_to(app.clock.now() + timedelta(days=7, minutes=1))
    listed = shown(await bot.run("/poll list"))
    assert "#2" in listed
    second = shown(await bot.run("/poll show 2"))
    assert "round 2, repeats every week" in second and "1. Safe" in second
    assert "closed" in shown(await bot.run("/poll show 1"))
    for name, choice in (("maria", 1), ("jamal", 1), ("lee", 3), ("ana", 1)):
        await bot.run(f"/poll vote 2 {choice}", as_=name)
    # Running what is due again, or twice at once, opens no second copy of a round.
    await app.scheduler.run_due()
    await app.scheduler.advance_to(app.clock.now() + timedelta(days=7, minutes=1))
    results = [shown(p.reply) for p in platform.posted if ":results:" in p.key]
    assert len(results) == 2
    assert "Change from round 1: Safe +2, Unsure -1, Unsafe +0" in results[1]
    stop = await bot.run("/poll close 3 --series")
    assert "No more rounds will open" in shown(stop)
    await app.scheduler.advance_to(app.clock.now() + timedelta(days=8))
    assert "#4" not in shown(await bot.run("/poll list"))
    rounds = [p for p in platform.posted if ":post:" in p.key]
    assert len(rounds) == 3  # one card per round, each posted once


async def test_an_anonymous_check_in_shows_no_change_that_a_voter_or_two_would_explain(bot: Harness) -> None:
    platform = MemoryPlatform()
    app = bot.dispatcher.app
    app.add_messenger(platform)
    await bot.run('/poll create "Trust the police?" Yes No --anonymous --every weekly')
    for name in ("maria", "jamal", "lee"):
        await bot.run("/poll vote 1 1", as_=name)
    await app.scheduler.advance_to(app.clock.now() + timedelta(days=7, minutes=1))
    for name in ("maria", "jamal", "lee", "ana"):  # one more voter: the change would be theirs
        await bot.run("/poll vote 2 2" if name == "ana" else "/poll vote 2 1", as_=name)
    await app.scheduler.advance_to(app.clock.now() + timedelta(days=7, minutes=1))
    results = [shown(p.reply) for p in platform.posted if ":results:" in p.key]
    assert len(results) == 2 and "Change from round" not in results[1]
    refused = await bot.run('/poll when "Walk?" "tue 7pm" "wed 7pm" --every weekly')  # fixed times
    assert refused.error
    bad = await bot.run('/poll create "Q?" A B --every fortnightly-ish')
    assert bad.error and "is not a recurrence I understand" in shown(bad)
    late = await bot.run('/poll create "Q?" A B --every weekly --closes "in 10 days"')
    assert late.error and "Each round closes before the next opens" in shown(late)


async def test_a_second_process_counts_an_anonymous_poll_again_after_an_option_is_removed(bot: Harness) -> None:
    """Each process keeps an open anonymous poll's count in memory, checked against the number of
    ballots stored. Removing an option renumbers the ballots without changing how many there
    are: the other process must count again, not show the old numbers under the new options."""
    from dataclasses import replace

    from adapters import build_dispatcher
    from bot.app import App
    from storage import Database

    app = bot.dispatcher.app
    await bot.run('/poll create "Which first?" Lighting Housing Transit --anonymous --live')
    for n, option in enumerate((1, 1, 2, 2, 2)):  # nobody chose Lighting
        await bot.click(f"poll:vote:1:{option}", as_=f"voter{n}")
    # Every process on one database shares its secret (on PostgreSQL given by ANONYMITY_SECRET).
    other = App(replace(app.settings, anonymity_secret=app.secret), Database(app.db.url), app.clock)
    other_bot = Harness(build_dispatcher(other))
    await other_bot.click("poll:vote:1:2", as_="elsewhere")  # the other process now holds the count

    async def counts(where: App) -> tuple[list[int], list[int]]:
        async with where.unit_of_work() as services:
            poll = await services.polls.find(1, 1)
            assert poll is not None
            kept = await services.polls.results(poll)
            exact = await services.polls.results(poll, exact=True)
        return kept.counts, exact.counts

    assert await counts(other) == ([0, 2, 4], [0, 2, 4])
    await bot.run("/poll remove 1 1")  # Lighting goes: as many ballots as before, every one renumbered
    assert await counts(other) == ([2, 4], [2, 4])
    assert await counts(app) == ([2, 4], [2, 4])
    await other.close()
