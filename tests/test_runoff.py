"""Instant runoff by the published rules (README, "How ranked polls are counted"), checked against
worked examples, an exhaustive one-at-a-time elimination, and pyrankvote as an independent count."""

from __future__ import annotations

import random
from functools import cache

import pyrankvote
import pytest

from bot.services.runoff import EARLIER, LOT, TOGETHER, instant_runoff
from tests.harness import Harness, shown

LIGHTING, YOUTH, HOUSING, TRANSIT = range(4)
# The example from issue 16: three options tied for last, which together hold more than the leader.
TIED_THREE = [[0, 1]] * 2 + [[1, 0]] * 2 + [[2, 0]] * 2 + [[3]] * 3


def sequential_winners(ballots: list[list[int]], option_count: int) -> frozenset[int]:
    """Every winner that eliminating one option with the fewest votes at a time can give, over
    every way of choosing among options tied for fewest. Written for the test, apart from the bot."""
    frozen = tuple(tuple(b) for b in ballots)

    @cache
    def winners(continuing: frozenset[int]) -> frozenset[int]:
        counts = dict.fromkeys(continuing, 0)
        for ballot in frozen:
            top = next((c for c in ballot if c in continuing), None)
            if top is not None:
                counts[top] += 1
        valid = sum(counts.values())
        if valid == 0:
            return frozenset()
        best = max(counts.values())
        if best * 2 > valid or len(continuing) == 1:
            return frozenset(o for o, n in counts.items() if n == best)
        fewest = min(counts.values())
        found: frozenset[int] = frozenset()
        for option in (o for o, n in counts.items() if n == fewest):
            found |= winners(continuing - {option})
        return found

    return winners(frozenset(range(option_count)))


def pyrankvote_winner(ballots: list[list[int]], option_count: int) -> int:
    candidates = [pyrankvote.Candidate(str(i)) for i in range(option_count)]
    cast = [pyrankvote.Ballot(ranked_candidates=[candidates[c] for c in b]) for b in ballots]
    result = pyrankvote.instant_runoff_voting(candidates, cast)
    return int(result.get_winners()[0].name)


def random_ballots(rng: random.Random) -> tuple[list[list[int]], int]:
    options = rng.randint(2, 5)
    voters = rng.randint(1, 14)  # few voters: ties for last are common
    ballots = [rng.sample(range(options), rng.randint(1, options)) for _ in range(voters)]
    return ballots, options


def test_three_tied_for_last_who_outnumber_the_leader_are_not_dropped_together() -> None:
    rounds, winners = instant_runoff(TIED_THREE, 4, seed=1)
    assert winners in ([LIGHTING], [YOUTH])
    assert rounds[0].counts == {LIGHTING: 2, YOUTH: 2, HOUSING: 2, TRANSIT: 3}
    assert rounds[0].tied == (LIGHTING, YOUTH, HOUSING) and rounds[0].decided_by == LOT
    assert len(rounds[0].eliminated) == 1
    assert set(winners) <= sequential_winners(TIED_THREE, 4)


def test_the_draw_is_the_same_on_every_recount_and_differs_between_polls() -> None:
    assert instant_runoff(TIED_THREE, 4, seed=7) == instant_runoff(TIED_THREE, 4, seed=7)
    drawn = {instant_runoff(TIED_THREE, 4, seed=poll)[0][0].eliminated for poll in range(1, 40)}
    assert drawn == {(LIGHTING,), (YOUTH,), (HOUSING,)}  # by lot, so each can be drawn


def test_options_that_together_trail_the_next_one_go_out_together() -> None:
    a, b, c, d = range(4)
    ballots = [[a]] * 6 + [[b, c]] * 5 + [[c, b]] + [[d, a]]
    rounds, winners = instant_runoff(ballots, 4)
    assert rounds[0].eliminated == (c, d) and rounds[0].decided_by == TOGETHER
    assert rounds[1].counts == {a: 7, b: 6}
    assert winners == [a]


def test_a_tie_for_last_is_broken_by_the_latest_round_that_separates_the_options() -> None:
    a, b, c, d = range(4)
    ballots = [[a]] * 5 + [[b]] * 3 + [[c]] * 4 + [[d, b]]
    rounds, winners = instant_runoff(ballots, 4)
    assert rounds[1].tied == (b, c) and rounds[1].eliminated == (b,) and rounds[1].decided_by == EARLIER
    assert winners == [a]


def test_only_the_last_two_tied_in_every_round_are_a_tie() -> None:
    rounds, winners = instant_runoff([[0, 1], [1, 0]], 2)
    assert winners == [0, 1] and rounds[-1].tied == (0, 1)
    # Three in a dead heat are not a three-way tie: one is drawn, and the count goes on.
    rounds, winners = instant_runoff([[0, 1], [1, 2], [2, 0]], 3, seed=3)
    assert rounds[0].decided_by == LOT and len(winners) == 1
    assert set(winners) <= sequential_winners([[0, 1], [1, 2], [2, 0]], 3)


def test_thousands_of_random_counts_agree_with_one_at_a_time_elimination_and_pyrankvote() -> None:
    rng = random.Random(20261206)
    compared = tied = 0
    for poll in range(3000):
        ballots, options = random_ballots(rng)
        rounds, winners = instant_runoff(ballots, options, seed=poll)
        possible = sequential_winners(ballots, options)
        assert set(winners) <= possible, (ballots, options, rounds, winners, possible)
        assert len(winners) <= 2
        if any(r.decided_by in (EARLIER, LOT) or (r.tied and not r.eliminated) for r in rounds):
            tied += 1
            continue
        compared += 1
        assert winners == [pyrankvote_winner(ballots, options)], (ballots, options, rounds)
    assert compared > 1000 and tied > 300  # both kinds were exercised


@pytest.fixture
async def ranked_poll(bot: Harness) -> Harness:
    await bot.run('/poll create "Priority for 2027" Lighting "Youth center" Housing Transit --kind ranked')
    voters = [("a", [0, 1]), ("b", [0, 1]), ("c", [1, 0]), ("d", [1, 0]), ("e", [2, 0]), ("f", [2, 0])]
    voters += [("g", [3]), ("h", [3]), ("i", [3])]
    for name, ranking in voters:
        assert not (await bot.run(f"/poll vote 1 {' '.join(str(o + 1) for o in ranking)}", as_=name)).error
    await bot.run("/poll close 1")
    return bot


async def test_the_results_say_which_rule_decided(ranked_poll: Harness) -> None:
    result = shown(await ranked_poll.run("/poll results 1"))
    assert "Round 1: Lighting 2, Youth center 2, Housing 2, Transit 3." in result
    assert "Lighting, Youth center and Housing tied for last and no earlier round separated them;" in result
    assert "was drawn" in result
    assert "Result: Lighting." in result or "Result: Youth center." in result
