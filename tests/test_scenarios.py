"""What a member does most, the same test on every platform: schedule and RSVP, vote, broadcast and
acknowledge. Each runs against the console, Slack and Discord through `tests/sides.py`; a platform
added later is covered by adding its side there (README, "Adding a platform")."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.sides import SIDES, Post, Side


@pytest.fixture(params=sorted(SIDES))
async def side(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Side]:
    async with SIDES[request.param](tmp_path) as opened:
        yield opened


def having(words: str):
    def check(posts: list[Post]) -> bool:
        return any(words in p.text for p in posts)

    return check


def the(posts: list[Post], words: str) -> Post:
    return next(p for p in posts if words in p.text)


async def test_a_meeting_is_announced_and_an_rsvp_shows_on_its_card(side: Side) -> None:
    answer = await side.command('/meeting schedule "Budget review" --when "tomorrow 6pm"')
    assert "Scheduled Budget review (#1)" in answer
    card = the(await side.posts(having("Budget review")), "Budget review")
    assert list(card.buttons) == ["Going", "Maybe", "Can't go"]
    assert re.search(r"Going\W+0", card.text)

    answer = await side.click(card, "Going", as_="maria")
    assert "Recorded: Going for Budget review" in answer
    card = the(await side.posts(having("Going 1")), "Budget review")
    assert "Maybe 0" in card.text

    listing = await side.command("/meeting list", as_="maria")
    assert "Budget review" in listing and "#1" in listing


async def test_a_vote_is_counted_once_and_can_be_changed(side: Side) -> None:
    answer = await side.command('/poll create "Lunch?" Pizza Tacos')
    assert "Poll #1" in answer
    card = the(await side.posts(having("Lunch?")), "Lunch?")
    assert list(card.buttons) == ["Pizza", "Tacos"]

    assert "Recorded in poll #1: Tacos" in await side.click(card, "Tacos", as_="maria")
    card = the(await side.posts(having("1 voter")), "Lunch?")
    assert "Recorded in poll #1: Pizza" in await side.click(card, "Pizza", as_="maria")
    card = the(await side.posts(having("1 voter")), "Lunch?")

    results = await side.command("/poll results 1", as_="maria")
    assert re.search(r"1\. Pizza\W+1 vote, 100%", results), results
    assert re.search(r"2\. Tacos\W+0 votes, 0%", results), results


async def test_a_broadcast_reaches_the_channel_and_is_acknowledged(side: Side) -> None:
    answer = await side.command('/broadcast send "Road closed on Main St"')
    assert "Broadcast #1 goes to 1 channel" in answer
    card = the(await side.posts(having("Road closed on Main St")), "Road closed")
    assert list(card.buttons) == ["Acknowledge"]

    assert "your acknowledgement of broadcast #1 is recorded" in await side.click(card, "Acknowledge", as_="maria")
    again = await side.click(card, "Acknowledge", as_="maria")
    assert "already" in again

    status = await side.command("/broadcast status 1")
    assert "Acknowledged by 1 member" in status, status


async def test_a_proposal_is_decided_by_consent_and_an_objection_needs_its_reason(side: Side) -> None:
    answer = await side.command('/decision propose "Hold the youth forum at the library"')
    assert "Proposal #1 is posted" in answer, answer
    card = the(await side.posts(having("Hold the youth forum")), "Hold the youth forum")
    assert list(card.buttons) == ["Consent", "Concern", "Object"]
    assert "If it closed now: it would pass." not in card.text  # nobody has consented yet

    assert "Recorded: Consent on proposal #1" in await side.click(card, "Consent", as_="maria")
    card = the(await side.posts(having("Consent 1")), "Hold the youth forum")
    assert "If it closed now: it would pass." in card.text
    refused = await side.click(card, "Object", as_="maria")
    assert "An objection needs a reason" in refused and "/decision position 1 object" in refused

    assert "Proposal #1 is closed" in await side.command("/decision close 1")
    result = the(await side.posts(having("has closed")), "has closed")
    assert "Passed." in result.text and "Consent 1" in result.text


async def test_a_goal_is_set_and_its_values_say_whether_it_is_on_track(side: Side) -> None:
    answer = await side.command(
        '/goal add "Fewer youth arrests" --measure "youth arrests a month" --baseline 42 --target 30 '
        "--by 2027-12-31 --baseline-date 2026-01-01 --lower-is-better"
    )
    assert "Goal #1 is set: Fewer youth arrests" in answer, answer
    for month, value in (("2026-02", 40), ("2026-03", 38), ("2026-04", 36)):
        assert f"Recorded for goal #1: {value}" in await side.command(f"/goal record 1 {value} --for {month}")
    listed = await side.command("/goal list", as_="maria")
    assert "Fewer youth arrests: latest 36 (-6 since the baseline)" in listed and "on track" in listed, listed


async def test_a_member_adds_an_option_to_an_open_poll_and_the_card_shows_it(side: Side) -> None:
    assert "Poll #1 is being posted" in await side.command('/poll create "Forum topics?" Housing Lighting --open')
    added = await side.command('/poll add 1 "Youth night"', as_="maria")
    assert "Option 3 ('Youth night') is added to poll #1" in added, added
    card = the(await side.posts(having("Youth night")), "Forum topics?")
    assert "Youth night" in card.text
