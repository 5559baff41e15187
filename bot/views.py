"""What handlers and cards are given of the coalition's records: read-only views.

Services own the rows (storage.models) and change them; what they hand to the layers above is
typed as one of these protocols, whose every member is a read-only property (and every list a
Sequence). A row satisfies its view as it is, with no copy made: a handler that tried to set a
field, or to change a list in place, fails the type check (mypy, in CI) rather than changing a row
behind its service's back. When a view comes back to a service, the service narrows it to its row
(`assert isinstance(poll, Poll)`): the one place that may change it. `commands/` imports no
storage module (tests/test_layers.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.bilingual import Bilingual
from storage.kinds import DecisionKind, PollKind


class _Record(Protocol):
    """Anything stored: its number."""

    @property
    def id(self) -> int | None: ...


class _Kept(_Record, Protocol):
    """Kept by one coalition."""

    @property
    def coalition_id(self) -> int: ...


class _Put(_Kept, Bilingual, Protocol):
    """Put to the coalition: when, and where it stands; maybe in two languages."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def status(self) -> str: ...


class CoalitionView(_Record, Protocol):
    """A coalition, read-only (storage.models.Coalition)."""

    @property
    def name(self) -> str: ...

    @property
    def timezone(self) -> str: ...

    @property
    def calendar_id(self) -> str: ...

    @property
    def reminder_minutes(self) -> Sequence[int]: ...

    @property
    def nudge_minutes(self) -> int | None: ...

    @property
    def public_feed_generation(self) -> int | None: ...

    @property
    def sectors(self) -> Sequence[str]: ...

    @property
    def wanted_sectors(self) -> Sequence[str]: ...

    @property
    def language(self) -> str: ...

    @property
    def page_slug(self) -> str | None: ...

    @property
    def page_on(self) -> bool: ...

    @property
    def created_at(self) -> datetime: ...


class ChannelView(_Kept, Protocol):
    """A linked channel, read-only (storage.models.Channel)."""

    @property
    def space_id(self) -> int: ...

    @property
    def platform(self) -> str: ...

    @property
    def workspace_id(self) -> str: ...

    @property
    def channel_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def tags(self) -> Sequence[str]: ...

    @property
    def linked_at(self) -> datetime: ...

    @property
    def digest_weekday(self) -> int | None: ...

    @property
    def language(self) -> str | None: ...

    @property
    def digest_hour(self) -> int: ...

    @property
    def every_announcement(self) -> bool: ...

    @property
    def digest_next_at(self) -> datetime | None: ...


class MemberView(_Kept, Protocol):
    """A member, read-only (storage.models.Member)."""

    @property
    def platform(self) -> str: ...

    @property
    def workspace_id(self) -> str: ...

    @property
    def user_id(self) -> str: ...

    @property
    def display_name(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def timezone(self) -> str | None: ...

    @property
    def organisation(self) -> str | None: ...

    @property
    def sector(self) -> str | None: ...

    @property
    def sector_chosen(self) -> bool: ...

    @property
    def reminder_minutes(self) -> Sequence[int] | None: ...

    @property
    def ballot_salt(self) -> str | None: ...

    @property
    def feed_generation(self) -> int: ...

    @property
    def language(self) -> str | None: ...

    @property
    def app_language(self) -> str | None: ...

    @property
    def joined_at(self) -> datetime: ...


class PollView(_Put, Protocol):
    """A poll or survey, read-only (storage.models.Poll)."""

    @property
    def option_list(self) -> Sequence[str]: ...

    @property
    def kind(self) -> PollKind: ...

    @property
    def question(self) -> str: ...

    @property
    def options(self) -> str: ...

    @property
    def max_choices(self) -> int | None: ...

    @property
    def anonymous(self) -> bool: ...

    @property
    def public(self) -> bool: ...

    @property
    def hidden(self) -> bool: ...

    @property
    def allow_change(self) -> bool: ...

    @property
    def eligible(self) -> Sequence[str]: ...

    @property
    def timezone(self) -> str: ...

    @property
    def channel_ids(self) -> Sequence[int]: ...

    @property
    def closes_at(self) -> datetime | None: ...

    @property
    def closed_at(self) -> datetime | None: ...

    @property
    def created_by(self) -> int | None: ...

    @property
    def last_remind_at(self) -> datetime | None: ...

    @property
    def meeting_id(self) -> int | None: ...

    @property
    def shown_tally(self) -> str | None: ...

    @property
    def final_tally(self) -> str | None: ...

    @property
    def open_options(self) -> bool: ...

    @property
    def every(self) -> str | None: ...

    @property
    def series_id(self) -> int | None: ...

    @property
    def round(self) -> int: ...

    @property
    def next_round_at(self) -> datetime | None: ...


class MeetingView(_Put, Protocol):
    """A meeting or series, read-only (storage.models.Meeting)."""

    @property
    def title(self) -> str: ...

    @property
    def location(self) -> str | None: ...

    @property
    def private(self) -> bool: ...

    @property
    def agenda(self) -> str | None: ...

    @property
    def timezone(self) -> str: ...

    @property
    def local_start(self) -> str: ...

    @property
    def rrule(self) -> str | None: ...

    @property
    def duration_minutes(self) -> int: ...

    @property
    def channel_ids(self) -> Sequence[int]: ...

    @property
    def created_by(self) -> int | None: ...

    @property
    def next_materialize_at(self) -> datetime | None: ...

    @property
    def sequence(self) -> int: ...

    @property
    def updated_at(self) -> datetime | None: ...


class OccurrenceView(_Record, Protocol):
    """One date of a meeting, read-only (storage.models.Occurrence)."""

    @property
    def meeting_id(self) -> int: ...

    @property
    def original_start(self) -> datetime: ...

    @property
    def start(self) -> datetime: ...

    @property
    def cancelled(self) -> bool: ...

    @property
    def minutes(self) -> str | None: ...


class BroadcastView(_Put, Protocol):
    """A broadcast, read-only (storage.models.Broadcast)."""

    @property
    def author_id(self) -> int | None: ...

    @property
    def text(self) -> str: ...

    @property
    def tags(self) -> Sequence[str]: ...

    @property
    def ack_enabled(self) -> bool: ...

    @property
    def public(self) -> bool: ...

    @property
    def send_at(self) -> datetime: ...

    @property
    def target_count(self) -> int: ...

    @property
    def last_nudge_at(self) -> datetime | None: ...


class ProposalView(_Put, Protocol):
    """A proposal, and once closed the decision, read-only (storage.models.Proposal)."""

    @property
    def kind(self) -> DecisionKind: ...

    @property
    def text(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def rules(self) -> str: ...

    @property
    def channel_ids(self) -> Sequence[int]: ...

    @property
    def created_by(self) -> int | None: ...

    @property
    def closes_at(self) -> datetime | None: ...

    @property
    def closed_at(self) -> datetime | None: ...

    @property
    def result(self) -> str | None: ...

    @property
    def outcome(self) -> str | None: ...

    @property
    def owner_id(self) -> int | None: ...

    @property
    def review_at(self) -> datetime | None: ...

    @property
    def review_told_at(self) -> datetime | None: ...

    @property
    def reviews_id(self) -> int | None: ...

    @property
    def public(self) -> bool: ...

    @property
    def anonymous(self) -> bool: ...

    @property
    def shown(self) -> str | None: ...


class GoalView(_Kept, Protocol):
    """A goal, read-only (storage.models.Goal)."""

    @property
    def title(self) -> str: ...

    @property
    def measure(self) -> str: ...

    @property
    def unit(self) -> str | None: ...

    @property
    def baseline(self) -> float: ...

    @property
    def baseline_at(self) -> datetime: ...

    @property
    def target(self) -> float: ...

    @property
    def target_at(self) -> datetime: ...

    @property
    def lower_is_better(self) -> bool: ...

    @property
    def sector(self) -> str | None: ...

    @property
    def public(self) -> bool: ...

    @property
    def source(self) -> str: ...

    @property
    def source_ref(self) -> str | None: ...

    @property
    def owner_id(self) -> int | None: ...

    @property
    def status(self) -> str: ...

    @property
    def outcome(self) -> str | None: ...

    @property
    def created_by(self) -> int | None: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def closed_at(self) -> datetime | None: ...


class ActionItemView(_Kept, Protocol):
    """An action item of a meeting, read-only (storage.models.ActionItem)."""

    @property
    def occurrence_id(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def owner_id(self) -> int | None: ...

    @property
    def due_at(self) -> datetime: ...

    @property
    def done_at(self) -> datetime | None: ...

    @property
    def created_by(self) -> int | None: ...

    @property
    def decision_id(self) -> int | None: ...


class EmailAddressView(_Kept, Protocol):
    """A member's email address and its state, read-only (storage.models.EmailAddress)."""

    @property
    def member_id(self) -> int: ...

    @property
    def address(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def failures(self) -> int: ...

    @property
    def last_error(self) -> str | None: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def confirmed_at(self) -> datetime | None: ...
