"""The kinds a row can be of, as types: what differs between them is asked of the kind
(`poll.kind.is_survey`, `answer.coming`), not spelt out as strings wherever it matters.

Each is a StrEnum stored as its text (storage.types.EnumText), so the columns and every row
written before are unchanged, and a kind compares equal to its text.
"""

from __future__ import annotations

from enum import StrEnum


class PollKind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    RANKED = "ranked"
    WHEN = "when"  # the options are dates for a meeting
    SURVEY = "survey"  # the options are statements, each answered on a scale

    @property
    def is_survey(self) -> bool:
        """Ballots are answers to statements, counted as averages per statement, never as votes."""
        return self is PollKind.SURVEY

    @property
    def several_choices(self) -> bool:
        """A ballot may hold more than one option (a menu of several, not a button each)."""
        return self in (PollKind.MULTIPLE, PollKind.WHEN)

    @property
    def ranked(self) -> bool:
        """A ballot is an order of preference, counted by instant runoff."""
        return self is PollKind.RANKED

    @property
    def options_can_change(self) -> bool:
        """Its options are answers members could add to or a coordinator remove (`--open`,
        `/poll add`, `/poll remove`): not dates, not statements."""
        return self in (PollKind.SINGLE, PollKind.MULTIPLE, PollKind.RANKED)

    @property
    def dates(self) -> bool:
        """The options are times a meeting could be held; the winner can be scheduled."""
        return self is PollKind.WHEN


class RsvpAnswer(StrEnum):
    GOING = "going"
    MAYBE = "maybe"
    NO = "no"

    @property
    def coming(self) -> bool:
        """Told when the meeting moves or is cancelled, and reminded before it."""
        return self is not RsvpAnswer.NO


class PositionChoice(StrEnum):
    CONSENT = "consent"
    CONCERN = "concern"
    OBJECT = "object"
    AGREE = "agree"
    ABSTAIN = "abstain"
    DISAGREE = "disagree"
    BLOCK = "block"
    SUPPORT = "support"
    OPPOSE = "oppose"


class DecisionKind(StrEnum):
    CONSENT = "consent"
    CONSENSUS = "consensus"
    ADVICE = "advice"

    @property
    def positions(self) -> tuple[PositionChoice, ...]:
        """What a participant may answer, in the order the card offers them."""
        return _POSITIONS[self]

    @property
    def verdict(self) -> bool:
        """Closing it says passed or failed; advice informs whoever decides and says neither."""
        return self is not DecisionKind.ADVICE

    @property
    def split(self) -> PositionChoice:
        """What an organisation whose members are evenly split counts as (one-per-organisation)."""
        return PositionChoice.ABSTAIN if self is DecisionKind.CONSENSUS else PositionChoice.CONCERN

    @property
    def stopping(self) -> PositionChoice | None:
        """The position that stops the proposal on its own, and must give a reason."""
        return {DecisionKind.CONSENT: PositionChoice.OBJECT, DecisionKind.CONSENSUS: PositionChoice.BLOCK}.get(self)


_POSITIONS = {
    DecisionKind.CONSENT: (PositionChoice.CONSENT, PositionChoice.CONCERN, PositionChoice.OBJECT),
    DecisionKind.CONSENSUS: (
        PositionChoice.AGREE,
        PositionChoice.ABSTAIN,
        PositionChoice.DISAGREE,
        PositionChoice.BLOCK,
    ),
    DecisionKind.ADVICE: (PositionChoice.SUPPORT, PositionChoice.CONCERN, PositionChoice.OPPOSE),
}
