"""Instant-runoff counting for ranked polls, on its own so that it can be checked against worked
examples and an independent implementation without a database.

The rules, as the README states them for members:
1. Each ballot counts for its highest-ranked option still in the count. An option with more than
   half of those ballots wins.
2. Otherwise the option with the fewest votes is eliminated, and the count starts again.
3. Several options go out together only when that cannot change the result: when together they
   hold fewer votes than the next option up, none of them could ever overtake it.
4. A tie for fewest is broken by the earlier rounds: of the tied options, the one with fewer votes
   in the latest round where they differed goes.
5. Still tied, one is drawn by lot. The draw is seeded by the poll and the round, so a recount
   gives the same result, and the results say that it happened.
6. The result is a tie only when the last two options are tied and the earlier rounds do not
   separate them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

TOGETHER, EARLIER, LOT = "together", "earlier rounds", "lot"


@dataclass(frozen=True)
class Round:
    """One counting round of an instant-runoff poll."""

    counts: dict[int, int]  # continuing option -> ballots whose highest continuing choice it is
    exhausted: int  # ballots with no continuing choice left
    eliminated: tuple[int, ...] = ()
    tied: tuple[int, ...] = ()  # the options tied for fewest, when a tie had to be broken
    decided_by: str = ""  # how the eliminated were chosen beyond "fewest": TOGETHER, EARLIER or LOT


@dataclass(frozen=True)
class Results:
    """A poll's count, as cards and exports show it."""

    voters: int
    counts: list[int]  # per option: votes (first preferences for ranked polls)
    winners: list[int]  # one winner, several on a tie, none without votes
    rounds: list[Round] = field(default_factory=list)


def instant_runoff(ballots: list[list[int]], option_count: int, seed: object = 0) -> tuple[list[Round], list[int]]:
    """Count ranked ballots by the rules above; `seed` (the poll's id) makes a draw reproducible.
    The winners: one, two on a final tie, none without votes."""
    continuing = set(range(option_count))
    rounds: list[Round] = []
    while True:
        counts = dict.fromkeys(sorted(continuing), 0)
        exhausted = 0
        for ballot in ballots:
            top = next((c for c in ballot if c in continuing), None)
            if top is None:
                exhausted += 1
            else:
                counts[top] += 1
        valid = sum(counts.values())
        if valid == 0:
            rounds.append(Round(counts, exhausted))
            return rounds, []
        leader = max(counts.values())
        if leader * 2 > valid or len(continuing) == 1:
            rounds.append(Round(counts, exhausted))
            return rounds, [o for o, n in counts.items() if n == leader]
        going, tied, decided_by = _to_eliminate(counts, rounds, seed)
        if not going:  # the last two, tied in every round: a tie
            rounds.append(Round(counts, exhausted, tied=tied, decided_by=decided_by))
            return rounds, list(tied)
        rounds.append(Round(counts, exhausted, going, tied, decided_by))
        continuing -= set(going)


def _to_eliminate(
    counts: dict[int, int], earlier: list[Round], seed: object
) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """Who goes this round: (eliminated, tied for fewest, how decided)."""
    ranked = sorted(counts, key=lambda o: (counts[o], o))
    # Rule 3: the largest group at the bottom whose votes together are fewer than the next one's.
    below, group = 0, 0
    for size in range(1, len(ranked)):
        below += counts[ranked[size - 1]]
        if below < counts[ranked[size]]:
            group = size
    if group >= 2:
        return tuple(sorted(ranked[:group])), (), TOGETHER
    fewest = counts[ranked[0]]
    last = [o for o in ranked if counts[o] == fewest]
    if len(last) == 1:
        return (last[0],), (), ""
    tied = tuple(sorted(last))
    # Rule 4: the latest earlier round in which the tied options differed.
    for previous in reversed(earlier):
        low = min(previous.counts.get(o, 0) for o in last)
        fewer = [o for o in last if previous.counts.get(o, 0) == low]
        if len(fewer) < len(last):
            last = fewer
            if len(last) == 1:
                return (last[0],), tied, EARLIER
    # Rule 6: the last two, still tied: neither can be put out by anything but chance.
    if len(last) == len(counts) == 2:
        return (), tied, ""
    # Rule 5: by lot, the same on every recount.
    drawn = random.Random(f"{seed}:{len(earlier) + 1}:{sorted(last)}").choice(sorted(last))
    return (drawn,), tied, LOT
