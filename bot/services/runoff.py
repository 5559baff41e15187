"""Instant-runoff counting for ranked polls, on its own so that it can be checked against worked
examples without a database."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Round:
    """One counting round of an instant-runoff poll."""

    counts: dict[int, int]  # continuing option -> ballots whose highest continuing choice it is
    exhausted: int  # ballots with no continuing choice left
    eliminated: tuple[int, ...] = ()


@dataclass(frozen=True)
class Results:
    """A poll's count, as cards and exports show it."""

    voters: int
    counts: list[int]  # per option: votes (first preferences for ranked polls)
    winners: list[int]  # one winner, several on a tie, none without votes
    rounds: list[Round] = field(default_factory=list)


def instant_runoff(ballots: list[list[int]], option_count: int) -> tuple[list[Round], list[int]]:
    """Count ranked ballots round by round; the option with more than half of the continuing ballots
    wins. The option with the fewest votes is eliminated each round; a tie for fewest is broken by
    the earlier rounds' counts (fewest there goes), and options still tied are eliminated together
    unless that would leave none, in which case they share the win."""
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
        leaders = [o for o, n in counts.items() if n == leader]
        if leader * 2 > valid or len(continuing) == 1:
            rounds.append(Round(counts, exhausted))
            return rounds, leaders
        fewest = min(counts.values())
        last = [o for o, n in counts.items() if n == fewest]
        for earlier in reversed(rounds):
            if len(last) == 1:
                break
            low = min(earlier.counts.get(o, 0) for o in last)
            last = [o for o in last if earlier.counts.get(o, 0) == low]
        if len(last) == len(continuing):
            rounds.append(Round(counts, exhausted))
            return rounds, sorted(last)
        rounds.append(Round(counts, exhausted, tuple(sorted(last))))
        continuing -= set(last)
