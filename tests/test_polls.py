"""Polls (issue 7): anonymity, duplicate and racing clicks, hidden results, deadlines across restarts,
ranked-choice counting against worked examples, scheduling polls, reminders, exports, feedback."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from adapters import LIBRARIES
from adapters.discord import render as discord_render
from adapters.slack import render as slack_render
from bot import logs
from bot.app import App
from bot.config import Settings
from bot.services.polls import PollService
from bot.services.runoff import instant_runoff
from storage import Database
from storage.models import Member, Poll
from tests.harness import Harness, shown, two_processes_catch_up
from tests.messengers import MemoryPlatform


@pytest.fixture
async def forum(bot: Harness) -> tuple[Harness, MemoryPlatform]:
    """#general and #eastside (residents) linked; deliveries recorded."""
    platform = MemoryPlatform("console")
    bot.dispatcher.app.add_messenger(platform)
    assert not (await bot.run("/coalition link --tags residents", channel="eastside")).error
    return bot, platform


async def advance(bot: Harness, by: timedelta = timedelta(seconds=2)) -> None:
    clock = bot.dispatcher.app.clock
    await bot.dispatcher.app.scheduler.advance_to(clock.now() + by)


async def rows(bot: Harness, sql: str) -> list[tuple]:
    async with bot.dispatcher.app.db.engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql))).all()]


def card_of(platform: MemoryPlatform, poll: int = 1, channel: int = 1):
    """The poll's card as members now see it in a channel: the last edit, or the post."""
    posted = next(p for p in platform.posted if p.key == f"poll:{poll}:post:{channel}")
    return posted.edits[-1] if posted.edits else posted.reply


# Ranked choice against worked examples ---------------------------------------------------------


def test_instant_runoff_tennessee_capital_example() -> None:
    """The classic example: Memphis leads on first choices, Knoxville wins after two eliminations."""
    memphis, nashville, chattanooga, knoxville = range(4)
    ballots = (
        [[memphis, nashville, chattanooga, knoxville]] * 42
        + [[nashville, chattanooga, knoxville, memphis]] * 26
        + [[chattanooga, knoxville, nashville, memphis]] * 15
        + [[knoxville, chattanooga, nashville, memphis]] * 17
    )
    rounds, winners = instant_runoff(ballots, 4)
    assert [r.counts for r in rounds] == [
        {memphis: 42, nashville: 26, chattanooga: 15, knoxville: 17},
        {memphis: 42, nashville: 26, knoxville: 32},
        {memphis: 42, knoxville: 58},
    ]
    assert [r.eliminated for r in rounds] == [(chattanooga,), (nashville,), ()]
    assert winners == [knoxville]


def test_instant_runoff_majority_in_the_first_round() -> None:
    rounds, winners = instant_runoff([[0, 1]] * 3 + [[1, 0]], 2)
    assert len(rounds) == 1 and winners == [0]


def test_instant_runoff_exhausted_ballots_leave_the_majority_count() -> None:
    """A's 4 of 9 is no majority; once C's bullet votes run out, 4 of the 7 continuing ballots is."""
    rounds, winners = instant_runoff([[0]] * 4 + [[1]] * 3 + [[2]] * 2, 3)
    assert rounds[0].counts == {0: 4, 1: 3, 2: 2} and rounds[0].eliminated == (2,)
    assert rounds[1].counts == {0: 4, 1: 3} and rounds[1].exhausted == 2
    assert winners == [0]


def test_instant_runoff_tie_for_last_is_broken_by_the_earlier_round() -> None:
    """Round 2 has B and C tied for last; in round 1 B had fewer, so B goes."""
    a, b, c, d = range(4)
    ballots = [[a]] * 5 + [[b]] * 3 + [[c]] * 4 + [[d, b]]
    rounds, winners = instant_runoff(ballots, 4)
    assert rounds[1].counts == {a: 5, b: 4, c: 4} and rounds[1].eliminated == (b,)
    assert rounds[2].counts == {a: 5, c: 4} and rounds[2].exhausted == 4
    assert winners == [a]


def test_instant_runoff_a_dead_heat_is_a_tie() -> None:
    rounds, winners = instant_runoff([[0, 1], [1, 0]], 2)
    assert winners == [0, 1] and len(rounds) == 1
    assert instant_runoff([], 3)[1] == []


async def test_ranked_poll_through_the_menus_and_its_rounds(forum) -> None:
    bot, platform = forum
    await bot.run('/poll create "Priority for 2027" Lighting Youth Housing --kind ranked')
    # Lighting 2 firsts, Youth 2, Housing 1 whose voter ranks Youth second: Youth wins in round 2.
    for name, ranking in (("a", [0, 1]), ("b", [0, 2]), ("c", [1, 0]), ("d", [1, 2]), ("e", [2, 1])):
        for rank, option in enumerate(ranking):
            assert not (await bot.click(f"poll:rank:1:{rank}", as_=name, value=str(option))).error
    again = await bot.click("poll:rank:1:0", as_="e", value="2")  # the same menu choice delivered twice
    assert "your ranking is 1. Housing, 2. Youth" in shown(again)
    await bot.run("/poll close 1")
    result = shown(await bot.run("/poll results 1"))
    assert "Round 1: Lighting 2, Youth 2, Housing 1. Eliminated: Housing" in result
    assert "Round 2: Lighting 2, Youth 3" in result
    assert "Result: Youth." in result
    await advance(bot)
    final = next(p for p in platform.posted if p.key == "poll:1:results:1")
    assert "Winner: Youth." in shown(final.reply)
    moved = await bot.run("/poll vote 1 3 1", as_="a")
    assert moved.error and "votes are no longer taken" in shown(moved)


async def test_ranked_menu_moves_an_option_rather_than_ranking_it_twice(forum) -> None:
    bot, _ = forum
    await bot.run('/poll create "Order?" A B C --kind ranked')
    await bot.click("poll:rank:1:0", as_="maria", value="0")
    await bot.click("poll:rank:1:1", as_="maria", value="1")
    moved = await bot.click("poll:rank:1:0", as_="maria", value="1")
    assert "your ranking is 1. B, 2. A" in shown(moved)
    assert "Your vote: B, A." in shown(await bot.run("/poll show 1", as_="maria"))


# Anonymity ---------------------------------------------------------------------------------------


async def test_anonymous_ballots_hold_no_identity_and_nobody_can_see_who_voted_what(forum) -> None:
    bot, platform = forum
    await bot.run('/poll create "Do you trust the coalition?" Yes No --anonymous --live')
    for name, option in (("maria", 0), ("jamal", 1), ("lee", 0)):
        reply = await bot.click(f"poll:vote:1:{option}", as_=name)
        assert "nobody, coordinators included, can see who voted what" in shown(reply)
    ballots = await rows(bot, "SELECT voter_key, member_id, choices, cast_at FROM ballots")
    assert len(ballots) == 3 and len({b[2] for b in ballots}) == 3  # sealed: even equal choices differ
    assert all(b[2].startswith("s2:") and b[2] not in ("0", "1") for b in ballots)
    assert all(b[1] is None and b[3] is None and len(b[0]) == 64 for b in ballots)
    names = [user for (user,) in await rows(bot, "SELECT user_id FROM members")]
    assert not any(name in key for key, *_ in ballots for name in names)
    # Coordinators get counts, never names: results, export and reminders say nothing about who.
    export = await bot.run("/poll export 1")
    assert [a.filename for a in export.attachments] == ["poll-1-results.csv"]  # no per-voter file
    table = list(csv.reader(io.StringIO(export.attachments[0].content.decode())))
    assert not any(cell in ("maria", "jamal", "lee") for row in table for cell in row)
    assert [row[4:] for row in table] == [["option", "label", "votes"], ["1", "Yes", "2"], ["2", "No", "1"]]
    counted = shown(await bot.run("/poll results 1"))
    assert "3 voters" in counted and not any(name in counted for name in ("maria", "jamal", "lee"))
    # Nothing the bot stored or logged elsewhere ties a member to this poll's choices.
    assert await rows(bot, "SELECT action FROM audit_log WHERE action LIKE '%poll%'") == [("/poll export",)]
    assert await rows(bot, "SELECT * FROM rate_events WHERE kind LIKE '%vote%'") == []
    await advance(bot)
    private = [p for p in platform.posted if p.target.startswith("dm:")]
    assert private == []  # the voter's confirmation is an ephemeral reply, never a stored message


async def test_the_voter_key_changes_with_the_secret_and_the_poll(db: Database, clock) -> None:
    """The hash is keyed: without the secret it cannot be recomputed from a member's id."""
    first = App(Settings(database_url=db.url, anonymity_secret="a" * 32), db, clock)
    second = App(Settings(database_url=db.url, anonymity_secret="b" * 32), db, clock)
    keys = []
    for app in (first, second):
        async with app.unit_of_work() as services:
            member = Member(id=7, coalition_id=1, platform="console", workspace_id="w", user_id="maria")
            keys.append(
                await services.polls.voter_key(
                    Poll(id=1, coalition_id=1, question="q", options="[]", anonymous=True), member
                )
            )
            keys.append(
                await services.polls.voter_key(
                    Poll(id=2, coalition_id=1, question="q", options="[]", anonymous=True), member
                )
            )
    assert len(set(keys)) == 4


async def test_named_polls_export_one_row_per_voter_and_forgetting_keeps_the_count(forum) -> None:
    bot, _ = forum
    await bot.run('/poll create "Venue?" Library Online')
    await bot.click("poll:vote:1:0", as_="maria")
    await bot.click("poll:vote:1:1", as_="jamal")
    files = {a.filename: a.content.decode() for a in (await bot.run("/poll export 1")).attachments}
    assert set(files) == {"poll-1-results.csv", "poll-1-voters.csv"}
    for content in files.values():  # each file one rectangular table under one header row
        assert len({len(row) for row in csv.reader(io.StringIO(content))}) == 1
    table = list(csv.reader(io.StringIO(files["poll-1-voters.csv"])))
    assert table[0] == ["voter", "platform", "choices", "time (UTC)"]
    voters = {row[0]: row[2] for row in table if row and row[0] in ("maria", "jamal")}
    assert voters == {"maria": "Library", "jamal": "Online"}
    mine = json.loads((await bot.run("/coalition my-data", as_="maria")).attachments[0].content)
    assert mine["poll_votes"] == [{"poll": 1, "options": [1]}]
    asked = await bot.run("/coalition forget-me", as_="maria")
    await bot.click(asked.buttons[0].action_id, as_="maria")
    assert "2 voters" in shown(await bot.run("/poll results 1"))
    ballots = await rows(bot, "SELECT voter_key, member_id, cast_at FROM ballots WHERE choices = '0'")
    assert len(ballots) == 1 and ballots[0][1] is None and ballots[0][2] is None
    assert ballots[0][0].startswith("forgotten:")


# Duplicates, races and tallies -----------------------------------------------------------------


async def test_the_same_click_twice_is_one_vote(forum) -> None:
    bot, _ = forum
    await bot.run('/poll create "Lunch?" Soup Salad')
    await bot.click("poll:vote:1:0", as_="maria")
    await bot.click("poll:vote:1:0", as_="maria")  # a platform retry
    await bot.run('/poll create "Bring?" Chairs Tables Snacks --kind multiple')
    await bot.click("poll:pick:2", as_="maria", value="0,2")
    await bot.click("poll:pick:2", as_="maria", value="0,2")
    assert await rows(bot, "SELECT poll_id, choices FROM ballots ORDER BY poll_id") == [(1, "0"), (2, "0,2")]
    results = shown(await bot.run("/poll results 2"))
    assert "1 voter" in results and "1. Chairs: 1 vote, 50%" in results and "3. Snacks: 1 vote, 50%" in results


async def test_racing_clicks_are_each_counted_once_and_the_card_equals_the_database(forum) -> None:
    bot, platform = forum
    await bot.run('/poll create "Which night?" Mon Tue Wed')
    await advance(bot)
    clicks = [bot.click(f"poll:vote:1:{n % 3}", as_=f"member{n}") for n in range(30)]
    clicks += [bot.click("poll:vote:1:1", as_="maria") for _ in range(5)]  # one member, five racing clicks
    clicks += [bot.click("poll:vote:1:2", as_="maria")]
    replies = await asyncio.gather(*clicks)
    assert not any(r.error for r in replies), [shown(r) for r in replies if r.error]
    counted = Counter(c for (c,) in await rows(bot, "SELECT choices FROM ballots"))
    assert sum(counted.values()) == 31
    await advance(bot)
    card = shown(card_of(platform))
    for option, label in enumerate(("Mon", "Tue", "Wed")):
        n = counted[str(option)]
        assert f"{option + 1}. {label}: {n} vote{'' if n == 1 else 's'}, {round(100 * n / 31)}%" in card
    assert "31 voters" in card


async def test_bursts_of_votes_edit_the_card_about_once_a_second(forum) -> None:
    bot, platform = forum
    await bot.run('/poll create "Which night?" Mon Tue')
    await advance(bot)
    for n in range(20):
        await bot.click(f"poll:vote:1:{n % 2}", as_=f"m{n}")
    await advance(bot, timedelta(seconds=3))
    posted = next(p for p in platform.posted if p.key == "poll:1:post:1")
    assert 1 <= len(posted.edits) <= 3  # twenty votes, a handful of edits
    assert "20 voters" in shown(posted.edits[-1])


async def test_cross_platform_poll_has_one_tally(forum, db: Database) -> None:
    bot, platform = forum
    code = shown(await bot.run("/coalition invite")).split("`")[1]
    discord = Harness(bot.dispatcher, platform="discord", workspace="G1")
    await discord.run(f"/coalition join {code}", as_="100", channel="200", admin=True)
    discord_platform = MemoryPlatform("discord")
    bot.dispatcher.app.add_messenger(discord_platform)
    await discord.run('/poll create "One poll, two platforms?" Yes No --also all', as_="100", channel="200")
    await advance(bot)
    assert [p.target for p in discord_platform.posted] == ["200"]
    assert sorted(p.target for p in platform.posted) == ["eastside", "general"]
    await bot.click("poll:vote:1:0", as_="maria")
    await discord.click("poll:vote:1:0", as_="101", channel="200")
    await discord.click("poll:vote:1:1", as_="102", channel="200")
    await advance(bot)
    for shown_card in (card_of(platform, channel=1), discord_platform.posted[0].edits[-1]):
        assert "3 voters" in shown(shown_card) and "1. Yes: 2 votes, 67%" in shown(shown_card)


# Hidden results, deadlines, closing --------------------------------------------------------------


async def test_hidden_results_stay_hidden_for_everyone_until_the_poll_closes(forum) -> None:
    bot, platform = forum
    await bot.run('/poll create "Budget priority?" Parks Lights --hidden', as_="maria")
    await bot.click("poll:vote:1:0", as_="jamal")
    await advance(bot)
    card = shown(card_of(platform))
    assert "1 voter" in card and "results shown when it closes" in card and "%" not in card
    for who in ("admin", "maria"):  # a coordinator, and the poll's own creator
        refused = await bot.run("/poll results 1", as_=who)
        assert refused.error and "hidden until it closes" in shown(refused)
        assert (await bot.run("/poll export 1", as_=who)).error
    await bot.run("/poll close 1", as_="maria")
    assert "1. Parks: 1 vote, 100%" in shown(await bot.run("/poll results 1"))


async def test_deadline_closes_once_and_survives_a_restart(forum, db: Database, clock) -> None:
    bot, platform = forum
    await bot.run('/poll create "Walk route?" North South --closes "in 1 hour"')
    await bot.click("poll:vote:1:1", as_="maria")
    await advance(bot)
    # The bot is down over the deadline; two processes come back at once.
    await bot.dispatcher.app.scheduler.stop()
    clock.set(clock.now() + timedelta(hours=2))
    await two_processes_catch_up(db.url, clock, platform)
    finals = [p for p in platform.posted if ":results:" in p.key]
    assert sorted(p.target for p in finals) == ["general"]
    assert "Winner: South." in shown(finals[0].reply)
    late = await bot.click("poll:vote:1:0", as_="jamal")
    assert late.error and "votes are no longer taken" in shown(late)


async def test_a_vote_after_the_deadline_is_refused_even_before_the_scheduler_runs(forum, clock) -> None:
    bot, _ = forum
    await bot.run('/poll create "Quick?" Yes No --closes "in 10 minutes"')
    clock.set(clock.now() + timedelta(minutes=11))
    late = await bot.click("poll:vote:1:0", as_="maria")
    assert late.error and "votes are no longer taken" in shown(late)
    assert await rows(bot, "SELECT * FROM ballots") == []


async def test_close_by_creator_or_coordinator_only_and_only_once(forum) -> None:
    bot, platform = forum
    await bot.run('/poll create "Snacks?" Fruit Cake', as_="maria")
    refused = await bot.run("/poll close 1", as_="jamal")
    assert refused.error and "Only the member who created it or a coordinator" in shown(refused)
    assert not (await bot.run("/poll close 1", as_="maria")).error
    again = await bot.run("/poll close 1")
    assert again.error and "already closed" in shown(again)
    await advance(bot)
    assert [p.key for p in platform.posted if ":results:" in p.key] == ["poll:1:results:1"]
    assert "No votes were cast." in shown(platform.posted[-1].reply)


# Reminders ---------------------------------------------------------------------------------------


async def test_remind_nudges_only_eligible_members_who_have_not_voted(forum) -> None:
    bot, platform = forum
    for name in ("maria", "jamal", "lee", "viewer"):
        await bot.run("/coalition whoami", as_=name)
    await bot.run("/coalition role @viewer observer")
    await bot.run('/poll create "Trust?" High Low --anonymous')
    await bot.click("poll:vote:1:0", as_="maria")
    reply = await bot.run("/poll remind 1")
    assert "Reminding those who have not voted in poll #1" in shown(reply)
    assert "Nobody is told who has voted" in shown(reply)
    await advance(bot)
    reminded = sorted(p.target for p in platform.posted if ":remind:" in p.key)
    assert reminded == ["dm:admin", "dm:jamal", "dm:lee"]  # not maria (voted), not the observer
    told = [shown(p.reply) for p in platform.posted if p.key.startswith("fanout:") and p.target == "dm:admin"]
    # How many were reminded is how many have not voted: an anonymous poll's requester is not told.
    assert told == [
        "Reminders to vote in poll #1 went privately to those who have not voted yet, if any. "
        "In an anonymous poll nobody is told how many, or who."
    ]
    assert all("you have not voted in poll #1 yet" in shown(p.reply) for p in platform.posted if ":remind:" in p.key)
    soon = await bot.run("/poll remind 1")
    assert soon.error and "you can remind them again" in shown(soon)


# Eligibility, scheduling polls, bad input -----------------------------------------------------


async def test_only_the_given_roles_or_sectors_may_vote(forum) -> None:
    bot, _ = forum
    await bot.run("/coalition whoami", as_="maria")
    async with bot.dispatcher.app.unit_of_work() as services:
        await services.repos.session.exec(text("UPDATE members SET sector = 'resident' WHERE user_id = 'maria'"))
        await services.repos.commit()
    unknown = await bot.run('/poll create "Residents only?" Yes No --who teachers')
    assert unknown.error and "neither a role (coordinator, member) nor one of the coalition's sectors" in shown(unknown)
    await bot.run('/poll create "Residents only?" Yes No --who resident')
    assert not (await bot.click("poll:vote:1:0", as_="maria")).error
    refused = await bot.click("poll:vote:1:0", as_="jamal")
    assert refused.error and "only for: resident" in shown(refused)
    assert len(await rows(bot, "SELECT * FROM ballots")) == 1


async def test_scheduling_poll_shows_local_times_and_becomes_a_meeting(forum) -> None:
    bot, platform = forum
    reply = await bot.run('/poll when "Budget group" "tuesday 7pm" "wednesday 6pm" "thursday 12:30"')
    assert not reply.error, shown(reply)
    await advance(bot)
    card = card_of(platform)
    # Times are marked spans: each platform renders them in the viewer's own zone.
    assert "Tue 24 Nov 2026, 19:00 UTC" in bot.show(card)
    assert "Tue 24 Nov 2026, 14:00 EST" in bot.show(card, ZoneInfo("America/New_York"))
    await bot.click("poll:pick:1", as_="maria", value="0,1")
    await bot.click("poll:pick:1", as_="jamal", value="1")
    await bot.click("poll:pick:1", as_="lee", value="1,2")
    await bot.run("/poll close 1")
    await advance(bot)
    final = next(p for p in platform.posted if p.key == "poll:1:results:1")
    assert "Winner: " in shown(final.reply) and "Wed 25 Nov 2026, 18:00 UTC" in shown(final.reply)
    assert [b.action_id for b in final.reply.buttons] == ["poll:meet:1:1"]
    refused = await bot.click("poll:meet:1:1", as_="maria")
    assert refused.error and "Only coordinators" in shown(refused)
    made = await bot.click("poll:meet:1:1")
    assert "Scheduled Budget group (meeting #1)" in shown(made)
    await advance(bot)
    assert any(p.key == "meeting:1:announce:1" for p in platform.posted)
    twice = await bot.click("poll:meet:1:1")
    assert twice.error and "already been turned into a meeting" in shown(twice)


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ('/poll create "Q?" Only', "Give at least 2 OPTIONS values (got 1)"),
        ('/poll create "Q?" ' + " ".join(f"o{n}" for n in range(26)), "Give at most 25 OPTIONS values (got 26)"),
        ('/poll create "Q?" Yes yes', "The option 'yes' is given twice"),
        ('/poll create "" A B', "QUESTION is missing"),
        ('/poll create "' + "x" * 301 + '" A B', "QUESTION: QUESTION is 301 characters long; the limit is 300"),
        ('/poll create "Q?" A "' + "y" * 76 + '"', "OPTIONS is 76 characters long; the limit is 75"),
        ('/poll create "Q?" A B --closes "yesterday 5pm"', "past"),
        ('/poll create "Q?" A B --max 2', "--max only applies to multiple-choice polls"),
        ('/poll create "Q?" A B --kind multiple --max 3', "--max must be between 1 and the number of options (2)"),
        ('/poll create "Q?" A B --kind plural', "KIND"),
        ('/poll when "Q" "tuesday 7pm" "tuesday 7pm"', "Two of the times are the same"),
        ("/poll vote 9 1", "There is no poll #9"),
        ("/poll results 9", "There is no poll #9"),
    ],
)
async def test_bad_input_gets_a_clear_message_and_changes_nothing(forum, command: str, says: str) -> None:
    bot, _ = forum
    reply = await bot.run(command)
    assert reply.error and says in shown(reply), shown(reply)
    assert await rows(bot, "SELECT * FROM polls") == []


async def test_votes_out_of_range_or_too_many_are_refused(forum) -> None:
    bot, _ = forum
    await bot.run('/poll create "Bring?" Chairs Tables Snacks --kind multiple --max 2')
    too_many = await bot.click("poll:pick:1", as_="maria", value="0,1,2")
    assert too_many.error and "at most 2 choices" in shown(too_many)
    assert (await bot.run("/poll vote 1 4", as_="maria")).error
    assert "'Cake' is not one of the options" in shown(await bot.run("/poll vote 1 Cake", as_="maria"))
    assert "Recorded in poll #1: Chairs and Snacks" in shown(await bot.run("/poll vote 1 chairs 3", as_="maria"))


async def test_votes_are_final_when_changes_are_off(forum) -> None:
    bot, _ = forum
    await bot.run('/poll create "Final?" A B --no-change')
    await bot.click("poll:vote:1:0", as_="maria")
    assert not (await bot.click("poll:vote:1:0", as_="maria")).error  # the same click again is fine
    changed = await bot.click("poll:vote:1:1", as_="maria")
    assert changed.error and "does not allow changing a vote" in shown(changed)


async def test_mass_mentions_and_markup_in_polls_are_rendered_harmless(forum) -> None:
    bot, platform = forum
    await bot.run('/poll create "@everyone <!channel> *vote*" "<@U123> yes" "@here no"')
    await advance(bot)
    card = card_of(platform)
    rendered = slack_render.message(card)
    # Slack reads mentions only in mrkdwn (and the notification text); button labels are plain text.
    mrkdwn = json.dumps(
        [rendered["text"]]
        + [b["text"]["text"] for b in rendered["blocks"] if b["type"] == "section"]
        + [e["text"] for b in rendered["blocks"] if b["type"] == "context" for e in b["elements"]]
    )
    assert "<!channel>" not in mrkdwn and "<!everyone>" not in mrkdwn and "<@U123>" not in mrkdwn
    assert "<!here>" not in mrkdwn and "&lt;!channel&gt;" in mrkdwn
    labels = [e["text"] for b in rendered["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert all(label["type"] == "plain_text" for label in labels)
    discord = discord_render.message(card)
    assert not discord.allowed_mentions.everyone and discord.allowed_mentions.users == []
    assert "@everyone" not in json.dumps([e.to_dict() for e in discord.embeds])


async def test_many_options_get_a_menu_and_few_get_buttons(forum) -> None:
    bot, platform = forum
    await bot.run('/poll create "Few?" A B C')
    await bot.run('/poll create "Many?" A B C D E F G')
    await bot.run('/poll create "Several?" A B C --kind multiple')
    await advance(bot)
    few, many, several = (card_of(platform, n) for n in (1, 2, 3))
    assert [b.action_id for b in few.buttons] == ["poll:vote:1:0", "poll:vote:1:1", "poll:vote:1:2"]
    slack_many = slack_render.message(many)["blocks"][-1]["elements"][0]
    assert slack_many["type"] == "static_select" and len(slack_many["options"]) == 7
    slack_several = slack_render.message(several)["blocks"][-1]["elements"][0]
    assert slack_several["type"] == "multi_static_select" and slack_several["max_selected_items"] == 3
    discord_several = discord_render.message(several).rows[0][0]
    assert discord_several.kind == "select" and discord_several.max_values == 3


# The anonymous feedback box ----------------------------------------------------------------------


async def test_feedback_reaches_the_coordinators_without_a_name_and_is_rate_limited(forum) -> None:
    bot, platform = forum
    await bot.run("/coalition link --tags coordinators", channel="steering")
    for n in range(3):
        reply = await bot.run(f'/coalition feedback "The forum at 5pm is hard for parents ({n})"', as_="maria")
        assert not reply.error and "the coordinators' channel without your name" in shown(reply)
        # The tip is true on every platform: the answer is private, and no tip sends anyone to a DM
        # the platform would not let them write in.
        assert reply.private and "Only you saw the command" in shown(reply) and "direct message" not in shown(reply)
    limited = await bot.run('/coalition feedback "one more"', as_="maria")
    assert limited.error and "the limit is 3 a day" in shown(limited)
    await advance(bot, timedelta(minutes=15))  # feedback goes out in quarter-hour batches
    delivered = [p for p in platform.posted if p.key.startswith("feedback:")]
    assert [p.target for p in delivered] == ["steering"] * 3
    assert "maria" not in json.dumps([shown(p.reply) for p in delivered])
    async with bot.dispatcher.app.unit_of_work() as services:
        outbox = (
            await services.repos.session.exec(text("SELECT user_id, dedupe_key FROM outbox WHERE source = 'feedback'"))
        ).all()
    assert all(user is None and "maria" not in key for user, key in outbox)
    assert await rows(bot, "SELECT * FROM audit_log WHERE action LIKE '%feedback%'") == []
    assert await rows(bot, "SELECT * FROM rate_events") == []


async def test_feedback_goes_to_coordinators_by_dm_without_a_coordinators_channel(forum) -> None:
    bot, platform = forum
    reply = await bot.run('/coalition feedback "Thank you for the youth night"', as_="maria")
    assert "the coordinators (1) by direct message" in shown(reply)
    await advance(bot, timedelta(minutes=15))
    assert [p.target for p in platform.posted if p.key.startswith("feedback:")] == ["dm:admin"]


async def test_logs_never_say_which_option_an_anonymous_voter_chose(forum, caplog: pytest.LogCaptureFixture) -> None:
    bot, _ = forum
    await bot.run('/poll create "Trust?" High Low --anonymous')
    caplog.set_level("DEBUG")
    logs.quiet_libraries(logging.DEBUG, LIBRARIES)  # as `coalition-bot run` does with LOG_LEVEL=DEBUG
    await bot.click("poll:vote:1:1", as_="maria")
    await bot.click("poll:pick:1", as_="jamal", value="1")
    assert "action poll:vote from console:someone" in caplog.text and "maria" not in caplog.text
    voted = [r.getMessage() for r in caplog.records if "poll:vote:1:1" in r.getMessage() or "'1'" in r.getMessage()]
    assert voted == [], voted


async def test_a_click_that_crashes_in_a_batch_costs_only_itself(forum, monkeypatch: pytest.MonkeyPatch) -> None:
    """Clicks arriving together are written in one transaction; when one of them raises, the batch
    is rolled back and its clicks are written one by one, so only the bad one fails."""
    bot, _ = forum
    await bot.run('/poll create "Which night?" Mon Tue')
    original = PollService.vote

    async def vote(self: PollService, poll: Poll, member: Member, choices: list[int]) -> list[int]:
        if member.user_id == "broken":
            raise RuntimeError("a bug")
        return await original(self, poll, member, choices)

    monkeypatch.setattr(PollService, "vote", vote)
    names = [f"m{n}" for n in range(8)] + ["broken"]
    replies = await asyncio.gather(*(bot.click("poll:vote:1:0", as_=name) for name in names))
    assert [r.error for r in replies] == [False] * 8 + [True]
    assert "something went wrong on our side" in shown(replies[-1])
    assert len(await rows(bot, "SELECT * FROM ballots")) == 8


async def test_refused_clicks_in_a_batch_write_nothing_for_themselves(forum) -> None:
    bot, _ = forum
    await bot.run("/coalition whoami", as_="viewer")
    await bot.run("/coalition role @viewer observer")
    await bot.run('/poll create "Which night?" Mon Tue --no-change')
    await bot.click("poll:vote:1:0", as_="early")
    replies = await asyncio.gather(
        bot.click("poll:vote:1:1", as_="viewer"),  # observers read along but do not vote
        bot.click("poll:vote:1:1", as_="early"),  # votes are final here
        bot.click("poll:vote:1:1", as_="late"),
    )
    assert [r.error for r in replies] == [True, True, False]
    assert sorted(await rows(bot, "SELECT choices FROM ballots")) == [("0",), ("1",)]
