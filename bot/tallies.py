"""Open anonymous polls' ballots, opened, in this process's memory.

A sealed ballot can only be counted by opening it, and an anonymous poll's shown count is retaken
every few voters: opening every ballot each time costs a poll of 100,000 voters half a second per
step. Keeping the count in the database instead would leave a row that moves by exactly one vote
(which dates a choice), so it is kept here, nowhere on disk: built once by opening every ballot,
then moved by each committed vote. The database stays the truth: a count whose number of voters
differs from the ballots stored (another process took votes, or this one restarted) is rebuilt,
and the final count at close always opens every ballot.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class SealedTally:
    """One poll: each voter key's choices (as stored before sealing, "0,2"), and how many hold each."""

    choices: dict[str, str] = field(default_factory=dict)
    groups: Counter[str] = field(default_factory=Counter)
    options: str = ""  # the poll's options when counted: numbers mean other options once one is removed

    @classmethod
    def of(cls, opened: dict[str, str], options: str = "") -> SealedTally:
        return cls(dict(opened), Counter(opened.values()), options)

    def put(self, key: str, choices: str) -> None:
        old = self.choices.get(key)
        if old == choices:
            return
        if old is not None:
            self.groups[old] -= 1
            if not self.groups[old]:
                del self.groups[old]
        self.choices[key] = choices
        self.groups[choices] += 1

    def with_changes(self, changes: dict[str, str]) -> tuple[int, Counter[str]]:
        """(voters, groups) as they would be with `changes` applied, leaving this tally as it is."""
        groups = Counter(self.groups)
        voters = len(self.choices)
        for key, choices in changes.items():
            old = self.choices.get(key)
            if old == choices:
                continue
            if old is None:
                voters += 1
            else:
                groups[old] -= 1
            groups[choices] += 1
        return voters, +groups


class SealedTallies:
    """Every open anonymous poll's tally in this process (the App keeps one, like its daily counts)."""

    def __init__(self) -> None:
        self._polls: dict[int, SealedTally] = {}

    def get(self, poll_id: int) -> SealedTally | None:
        return self._polls.get(poll_id)

    def install(self, poll_id: int, tally: SealedTally) -> None:
        self._polls[poll_id] = tally

    def forget(self, poll_id: int) -> None:
        self._polls.pop(poll_id, None)
