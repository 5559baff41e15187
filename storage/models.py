"""The coalition's tables.

A coalition spans spaces (a Slack workspace, a Discord server, the local console); channels in
those spaces are linked to it with tags; members are platform identities with a role in it.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.kinds import DecisionKind, PollKind, PositionChoice, RsvpAnswer
from storage.types import EnumText, JSONList, UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


DEFAULT_WANTED = (
    "law-enforcement",
    "local-government",
    "nonprofit",
    "business",
    "school",
    "faith",
    "resident",
    "youth",
)
DEFAULT_SECTORS = (*DEFAULT_WANTED, "other")
DEFAULT_LEAD_MINUTES = (1440, 60)


def _list_column(default: tuple[object, ...]) -> Column:  # type: ignore[type-arg]
    """A JSON list column that rows inserted without it (bulk inserts) also get `default` in."""
    return Column(JSONList, nullable=False, default=lambda: list(default))


class _Kinds:
    """Rows with a kind column (storage.kinds) hold the enum from the moment it is assigned
    (a command's "survey"), not only once read back, so code may ask the kind before any flush."""

    def __setattr__(self, name: str, value: Any) -> None:
        enum = _KIND_COLUMNS.get((type(self).__name__, name))
        if enum is not None and value is not None and not isinstance(value, enum):
            value = enum(value)
        super().__setattr__(name, value)


_KIND_COLUMNS: dict[tuple[str, str], type[StrEnum]] = {
    ("Poll", "kind"): PollKind,
    ("Rsvp", "answer"): RsvpAnswer,
    ("Proposal", "kind"): DecisionKind,
    ("Position", "position"): PositionChoice,
}


class Coalition(SQLModel, table=True):
    __tablename__ = "coalitions"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    timezone: str = Field(default="UTC", max_length=64)
    # Random, and in no way derived from the anonymity secret: it makes the coalition's calendar
    # UIDs its own. (A hash of the secret here was a check for anyone guessing a weak secret.)
    calendar_id: str = Field(default_factory=lambda: secrets.token_hex(8), max_length=16)
    # Meeting reminders, minutes before, longest first; [] for none.
    reminder_minutes: list[int] = Field(
        default_factory=lambda: list(DEFAULT_LEAD_MINUTES), sa_column=_list_column(DEFAULT_LEAD_MINUTES)
    )
    nudge_minutes: int | None = None  # ask members who have not answered, this long before (off: None)
    # The public calendar feed's address: None never published; below 0 taken down (see FeedService).
    public_feed_generation: int | None = None
    # The sectors members choose from, and those the stakeholder map checks for.
    sectors: list[str] = Field(default_factory=lambda: list(DEFAULT_SECTORS), sa_column=_list_column(DEFAULT_SECTORS))
    wanted_sectors: list[str] = Field(
        default_factory=lambda: list(DEFAULT_WANTED), sa_column=_list_column(DEFAULT_WANTED)
    )
    # The language of members who chose none (and whose platform names none), and of channels.
    language: str = Field(default="en", max_length=8, sa_column_kwargs={"server_default": "en"})
    # The public page (`/coalition page on`): its address `/c/<slug>/`, kept when turned off so a
    # link printed on a flyer works again when the page comes back.
    page_slug: str | None = Field(default=None, max_length=60, unique=True)
    page_on: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class Space(SQLModel, table=True):
    """A Slack workspace, a Discord server or the console, joined to exactly one coalition."""

    __tablename__ = "spaces"
    __table_args__ = (UniqueConstraint("platform", "workspace_id", name="uq_space_platform_workspace"),)

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    platform: str = Field(max_length=16)
    workspace_id: str = Field(max_length=64)
    name: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class Channel(SQLModel, table=True):
    """A channel linked to the coalition; tags let broadcasts reach a part of it."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("platform", "workspace_id", "channel_id", name="uq_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    space_id: int = Field(foreign_key="spaces.id", index=True)
    platform: str = Field(max_length=16)
    workspace_id: str = Field(max_length=64)
    channel_id: str = Field(max_length=64)
    name: str = Field(default="", max_length=100)
    tags: list[str] = Field(default_factory=list, sa_column=_list_column(()))
    linked_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    digest_weekday: int | None = None  # weekly digest: 0 Monday .. 6 Sunday; None: off
    language: str | None = Field(default=None, max_length=8)  # its messages' language; None: the coalition's
    digest_hour: int = 9  # in the coalition's time zone
    # Gets every meeting and poll announcement, not only those sent to its tags (a member's email).
    every_announcement: bool = Field(default=False, sa_column_kwargs={"server_default": text("0")})
    digest_next_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True, index=True))


class Member(SQLModel, table=True):
    """One platform identity in one coalition (a person on Slack and on Discord is two members)."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("coalition_id", "platform", "workspace_id", "user_id", name="uq_member_identity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    platform: str = Field(max_length=16)
    workspace_id: str = Field(max_length=64)
    user_id: str = Field(max_length=64)
    display_name: str = Field(default="", max_length=80)
    role: str = Field(default="member", max_length=16)
    timezone: str | None = Field(default=None, max_length=64)
    organisation: str | None = Field(default=None, max_length=100)
    sector: str | None = Field(default=None, max_length=40)
    # Whether the member chose their sector themselves. One a coordinator set counts in survey
    # figures only once the member confirms it: else a coordinator could move a member into a
    # sector of puppet accounts and read their answer off its average.
    sector_chosen: bool = Field(default=True, sa_column_kwargs={"server_default": text("1")})
    # Own meeting reminders, minutes before: None for the coalition's, [] for none.
    reminder_minutes: list[int] | None = Field(default=None, sa_column=Column(JSONList, nullable=True))
    # Random per member; anonymous ballots are keyed by it, and it goes with the member at forget-me.
    # None for members who joined before it existed: their keys use the member id, as they did.
    ballot_salt: str | None = Field(default=None, max_length=32)
    # The member's calendar feed address is derived from this; raising it revokes the old one.
    feed_generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The language the member chose (`/coalition language`); None: their platform's, else the coalition's.
    language: str | None = Field(default=None, max_length=8)
    # The language the member's app is set to (Discord's locale, Slack's profile), when the bot speaks
    # it: what they read when they chose none, in replies and in what the bot sends them later.
    app_language: str | None = Field(default=None, max_length=8)
    joined_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class OutboxMessage(SQLModel, table=True):
    """One message the bot sends on its own, written in the transaction that caused it.

    `kind` is `post` (a channel), `dm` (a member) or `edit` (replace the message that row
    `edit_of_id` delivered). `dedupe_key` is unique, so the same delivery can never be queued
    twice, and it travels with the message so a platform can be asked whether it already arrived.
    `maybe_sent` is set while an attempt is in flight: a row claimed again with it set may have
    reached the platform before a crash, and is checked before it is sent again.
    """

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    kind: str = Field(max_length=8)
    platform: str = Field(max_length=16)
    workspace_id: str = Field(max_length=64)
    channel_id: str | None = Field(default=None, max_length=64)
    user_id: str | None = Field(default=None, max_length=64)
    edit_of_id: int | None = Field(default=None, foreign_key="outbox.id", index=True)  # pruning checks it
    payload: str = Field(sa_column=Column(Text, nullable=False))
    dedupe_key: str = Field(max_length=200, unique=True)
    source: str = Field(default="", max_length=40)
    source_id: int | None = Field(default=None, index=True)
    status: str = Field(default="pending", max_length=12)
    not_before: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    attempts: int = 0
    version: int = 1
    maybe_sent: bool = False
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    message_id: str | None = Field(default=None, max_length=100)
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True))


Index("ix_outbox_due", OutboxMessage.platform, OutboxMessage.status, OutboxMessage.not_before)
# What a delivery worker looks for: only rows still to send, however much history the table holds.
CLAIMABLE = "status IN ('pending', 'sending')"
Index(
    "ix_outbox_claimable",
    OutboxMessage.platform,
    OutboxMessage.not_before,
    sqlite_where=text(CLAIMABLE),
    postgresql_where=text(CLAIMABLE),
)


class Broadcast(SQLModel, table=True):
    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="members.id")  # None once the author is forgotten
    text: str = Field(sa_column=Column(Text, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=_list_column(()))
    ack_enabled: bool = True
    public: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})  # on the public page
    send_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    status: str = Field(default="scheduled", max_length=12)  # scheduled, cancelled
    target_count: int = 0
    last_nudge_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    # The language its text was written in, and a second-language version (bot.bilingual).
    language: str | None = Field(default=None, max_length=8)
    second: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Acknowledgement(SQLModel, table=True):
    __tablename__ = "acknowledgements"
    __table_args__ = (UniqueConstraint("broadcast_id", "member_id", name="uq_ack_once"),)

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(foreign_key="broadcasts.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="members.id", index=True)  # None: forgotten member
    channel_id: int | None = Field(default=None, foreign_key="channels.id")
    acked_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))  # reports read by period


class JoinCode(SQLModel, table=True):
    """A one-time code that lets another workspace or server join a coalition. Only a hash is kept."""

    __tablename__ = "join_codes"

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_by: int | None = Field(default=None, foreign_key="members.id")  # None once the creator is forgotten
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    used_by_space_id: int | None = Field(default=None, foreign_key="spaces.id")


class AuditEntry(SQLModel, table=True):
    """A coordinator's action: who, when, what, on what. Never the text of ballots or feedback."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    actor_id: int | None = Field(default=None, foreign_key="members.id", index=True)  # None: forgotten
    action: str = Field(max_length=60)
    target: str = Field(default="", max_length=300)  # "{subject}" stands for the subject member's name
    subject_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    platform: str = Field(default="", max_length=16)


class RateEvent(SQLModel, table=True):
    """One use of a command that creates content, counted for per-member rate limits."""

    __tablename__ = "rate_events"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    kind: str = Field(max_length=60)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))


class Meeting(SQLModel, table=True):
    """A meeting or a series. Recurrence is kept as local time + zone + RRULE, so "every Tuesday at
    19:00" stays 19:00 local across daylight-saving changes."""

    __tablename__ = "meetings"

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    title: str = Field(max_length=200)
    location: str | None = Field(default=None, max_length=300)
    private: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})  # kept off the public page
    agenda: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    timezone: str = Field(max_length=64)
    local_start: str = Field(max_length=19)  # ISO "2026-12-01T19:00:00", in `timezone`
    rrule: str | None = Field(default=None, max_length=300)
    duration_minutes: int = 60
    channel_ids: list[int] = Field(default_factory=list, sa_column=_list_column(()))  # announced in
    created_by: int | None = Field(default=None, foreign_key="members.id")
    status: str = Field(default="active", max_length=12)
    next_materialize_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    # Calendars keep the copy of an event with the higher SEQUENCE: both move with every change.
    sequence: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # The language its text was written in, and a second-language version (bot.bilingual).
    language: str | None = Field(default=None, max_length=8)
    second: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Occurrence(SQLModel, table=True):
    __tablename__ = "occurrences"
    __table_args__ = (UniqueConstraint("meeting_id", "original_start", name="uq_occurrence"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    original_start: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    start: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    cancelled: bool = False
    minutes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Rsvp(_Kinds, SQLModel, table=True):
    __tablename__ = "rsvps"
    __table_args__ = (UniqueConstraint("occurrence_id", "member_id", name="uq_rsvp_once"),)

    id: int | None = Field(default=None, primary_key=True)
    occurrence_id: int = Field(foreign_key="occurrences.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    answer: RsvpAnswer = Field(sa_column=Column(EnumText(RsvpAnswer, 8), nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))  # reports read by period
    # When the answer before this one was given: a changed answer tells the days kept for reports
    # (storage.engagement) which day it no longer counts on.
    previous_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class Reminder(SQLModel, table=True):
    __tablename__ = "reminders"

    id: int | None = Field(default=None, primary_key=True)
    occurrence_id: int = Field(foreign_key="occurrences.id", index=True)
    due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    offset_minutes: int
    status: str = Field(default="pending", max_length=12, index=True)  # pending, sent, missed, cancelled
    member_id: int | None = Field(default=None, foreign_key="members.id")  # set: only this member's own reminder
    kind: str = Field(default="remind", max_length=8)  # remind, nudge


class Attendance(SQLModel, table=True):
    """Who was there, as a coordinator recorded it: kept for engagement reports."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("occurrence_id", "member_id", name="uq_attended_once"),)

    id: int | None = Field(default=None, primary_key=True)
    occurrence_id: int = Field(foreign_key="occurrences.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="members.id", index=True)


class ActionItem(SQLModel, table=True):
    """A task agreed at a meeting, with an owner and a due date; its owner is reminded."""

    __tablename__ = "action_items"

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    occurrence_id: int = Field(foreign_key="occurrences.id", index=True)
    text: str = Field(max_length=300)
    owner_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_by: int | None = Field(default=None, foreign_key="members.id")
    decision_id: int | None = Field(default=None, foreign_key="proposals.id", index=True)  # what it carries out


class Poll(_Kinds, SQLModel, table=True):
    """A question put to the coalition: single or multiple choice, ranked, or a scheduling poll.

    `options` is a JSON list of labels; a scheduling poll's labels are ISO times in UTC. `eligible`
    lists the roles and sectors that may vote (empty: every member who is not an observer).
    """

    __tablename__ = "polls"
    __table_args__ = (UniqueConstraint("series_id", "round", name="uq_polls_series_round"),)

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    kind: PollKind = Field(default=PollKind.SINGLE, sa_column=Column(EnumText(PollKind, 12), nullable=False))
    question: str = Field(max_length=300)
    options: str = Field(sa_column=Column(Text, nullable=False))
    max_choices: int | None = None  # multiple choice: at most this many (None: any number)
    anonymous: bool = False
    public: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})  # results on the public page
    hidden: bool = False  # results only once the poll is closed
    allow_change: bool = True
    eligible: list[str] = Field(default_factory=list, sa_column=_list_column(()))
    timezone: str = Field(default="UTC", max_length=64)  # the creator's, for labels that cannot localise
    channel_ids: list[int] = Field(default_factory=list, sa_column=_list_column(()))  # posted in
    status: str = Field(default="open", max_length=8)  # open, closed
    closes_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True, index=True))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_by: int | None = Field(default=None, foreign_key="members.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    last_remind_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    meeting_id: int | None = Field(default=None, foreign_key="meetings.id")  # the meeting a scheduling poll became
    # An open anonymous poll's count as members are shown it, taken after every STEP new voters
    # (JSON: voters, counts, winners); None until STEP have voted.
    shown_tally: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A sealed poll's final count, written once at close, when its ballots and keys are deleted.
    final_tally: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The language its text was written in, and a second-language version (bot.bilingual).
    language: str | None = Field(default=None, max_length=8)
    second: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # An open forum's poll (`--open`): any member may add an option (`/poll add`), up to 25.
    open_options: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # A check-in that repeats (`--every`): the rule, the series' first poll, this one's round, and
    # when the next round opens (set on the newest round only; cleared once the next is made).
    every: str | None = Field(default=None, max_length=200)
    series_id: int | None = Field(default=None, foreign_key="polls.id", index=True)
    round: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    next_round_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True, index=True))

    @property
    def option_list(self) -> list[str]:
        """The options (a survey's statements), in order."""
        return list(json.loads(self.options))


class PollKey(SQLModel, table=True):
    """An anonymous poll's key material, wrapped under ANONYMITY_SECRET (bot.sealing); deleted at
    close, so that after it nobody, holding the secret or not, can tie a voter to a choice."""

    __tablename__ = "poll_keys"

    poll_id: int = Field(foreign_key="polls.id", primary_key=True)
    wrapped: str = Field(sa_column=Column(Text, nullable=False))


class PollTally(SQLModel, table=True):
    """How many ballots of a poll that is not anonymous hold each set (or ranking) of choices,
    kept in the vote's own transaction, so a count reads a few rows instead of every ballot.
    Anonymous polls have none: a stored row that moves by exactly one vote would date a choice."""

    __tablename__ = "poll_tallies"

    poll_id: int = Field(foreign_key="polls.id", primary_key=True)
    choices: str = Field(max_length=200, primary_key=True)
    ballots: int = 0


class Ballot(SQLModel, table=True):
    """One voter's current choices in one poll.

    The key is (poll, voter_key). For an anonymous poll `voter_key` is a keyed hash (HMAC with the
    configured secret) of the poll and the member, and nothing else about the voter is kept: no
    member id, no time. SQLite stores the table without a rowid, ordered by that hash, so not even
    the order in which ballots were cast can be read from the file.
    """

    __tablename__ = "ballots"
    __table_args__ = {"sqlite_with_rowid": False}

    poll_id: int = Field(foreign_key="polls.id", primary_key=True)
    voter_key: str = Field(max_length=64, primary_key=True)
    member_id: int | None = Field(default=None, foreign_key="members.id", index=True)  # None when anonymous
    # Option numbers from 0, comma-separated, in rank order; sealed (encrypted) in anonymous polls.
    choices: str = Field(default="", max_length=200)
    cast_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True, index=True))


class SurveyResponse(SQLModel, table=True):
    """One respondent's Likert answers (1-5, 0 for a question not answered) to a survey (a poll of
    kind `survey`, whose options are its questions). Always anonymous: a keyed hash stands for the
    respondent, and only their sector is kept, for per-sector results shown where a sector has at
    least five respondents."""

    __tablename__ = "survey_responses"
    __table_args__ = {"sqlite_with_rowid": False}

    poll_id: int = Field(foreign_key="polls.id", primary_key=True)
    voter_key: str = Field(max_length=64, primary_key=True)
    # Both sealed (bot.sealing) in surveys made since sealing; deleted at close, when the results
    # are written once as the poll's final_tally.
    sector: str | None = Field(default=None, max_length=120)
    answers: str = Field(default="", max_length=120)


class Fanout(SQLModel, table=True):
    """A private message to many members still being queued (a poll's reminder, a broadcast's
    nudge). Asking for it is this one small row; the members are then queued a slice at a time,
    each slice in its own short transaction that also moves `after_member_id`, so no command waits
    long behind 20,000 reminders and a restart carries on after the last slice queued. The row is
    deleted when the last slice is queued."""

    __tablename__ = "fanouts"

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id")
    source: str = Field(max_length=20)  # "poll" (a reminder to vote) or "broadcast" (a nudge)
    source_id: int
    stamp: int  # when it was asked for (seconds), in the reminders' keys: each slice queues once
    requested_by: int | None = None  # the member told how many were reminded, once all are queued
    after_member_id: int = 0  # members are taken in id order; those up to this one are queued
    reached: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class EngagementDay(SQLModel, table=True):
    """One UTC day of a coalition's engagement, kept so that a report over months reads a row a day
    instead of every RSVP, attendance, acknowledgement and ballot: meetings held, attendance and
    RSVPs per sector (by the members' sectors when it was kept), and who took part (member ids).

    A change that alters a day already kept (attendance recorded late, an answer or a named vote
    changed, a meeting moved or cancelled, a sector changed, a member forgotten) bumps `version`;
    the day is trusted only while `kept_version` equals it, and kept again in the background. The
    keeper reads `version` before it reads the day, so a change that lands meanwhile is never
    hidden (the day stays stale until kept again)."""

    __tablename__ = "engagement_days"

    coalition_id: int = Field(foreign_key="coalitions.id", primary_key=True)
    day: datetime = Field(sa_column=Column(UTCDateTime, primary_key=True))  # midnight UTC
    version: int = 1
    kept_version: int | None = None
    meetings: int = 0
    attendance: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))  # sector -> count
    rsvps: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))  # sector -> count
    # Who took part: member ids (storage.engagement.pack_by_sector), sector after sector in the order of
    # `active_sectors` (sector -> how many ids), so a report counts them by sector as it reads them.
    active: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False, default=b""))
    active_sectors: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))


class HandledRequest(SQLModel, table=True):
    """A platform request already carried out (Slack's trigger_id, hashed): a signed request replayed
    within the platform's window is recognised and not carried out twice. Kept for an hour."""

    __tablename__ = "handled_requests"

    key: str = Field(primary_key=True, max_length=64)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))


class PacingWindow(SQLModel, table=True):
    """One sliding window of a platform's rate limit (the platform's own, or one channel's), shared
    by every process on this database: its row is locked while a send is admitted, and a 429's
    Retry-After pauses it for all. Times are seconds since the epoch on the database's clock."""

    __tablename__ = "pacing_windows"

    key: str = Field(max_length=200, primary_key=True)
    paused_until: float = 0.0


class PacingStamp(SQLModel, table=True):
    """One send admitted by a window, stamped when admitted and again when the platform answered;
    stamps older than the window are deleted as new ones are admitted. Until it is answered, a
    send counts as arriving now, however old its stamp."""

    __tablename__ = "pacing_stamps"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)
    at: float
    answered: bool = False


Index("ix_pacing_stamps_key_at", PacingStamp.key, PacingStamp.at)


class EmailAddress(SQLModel, table=True):
    """A member who takes part by email: their address, and whether mail goes to it.

    The member row (platform "email") holds who they are; this row holds the address, which is
    personal data: shown to nobody but the coordinators' `/coalition email list`, erased with the
    member. `state`: waiting (confirmation sent), active (confirmed by its owner), paused (three
    permanent failures in a row), left.
    """

    __tablename__ = "email_addresses"
    __table_args__ = (
        UniqueConstraint("coalition_id", "address", name="uq_email_address"),
        UniqueConstraint("member_id", name="uq_email_member"),
    )

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    member_id: int = Field(foreign_key="members.id")
    address: str = Field(max_length=254)
    state: str = Field(default="waiting", max_length=12)
    failures: int = 0  # permanent failures in a row; reset by a delivery that succeeds
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


_NO = text("0")  # a server default for flags added to tables that have rows


class Proposal(_Kinds, SQLModel, table=True):
    """A decision put to the coalition (`/decision propose`): consent, consensus or advice, its
    rules (`bot.decisions`), and once closed its outcome, owner and review date: the register."""

    __tablename__ = "proposals"

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    kind: DecisionKind = Field(sa_column=Column(EnumText(DecisionKind, 12), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    version: int = 1  # raised by each amendment; positions are of one version
    rules: str = Field(default="", max_length=200)  # as typed: "every-sector quorum 40%"
    status: str = Field(default="open", max_length=12, index=True)  # open, passed, failed, decided
    channel_ids: list[int] = Field(default_factory=list, sa_column=_list_column(()))
    created_by: int | None = Field(default=None, foreign_key="members.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    closes_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True, index=True))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    result: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON, written at close
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # the decision, in words
    owner_id: int | None = Field(default=None, foreign_key="members.id")
    review_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True, index=True))
    # When the owner and coordinators were told the review is near (once per review date).
    review_told_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    reviews_id: int | None = Field(default=None, foreign_key="proposals.id")  # the decision it reviews
    public: bool = False
    language: str | None = Field(default=None, max_length=8)
    second: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Anonymous: positions are sealed (SealedPosition) and the card shows the count taken at each
    # STEP new participants (`shown`), so that nobody who watches who clicks when reads a position.
    anonymous: bool = Field(default=False, sa_column_kwargs={"server_default": _NO})
    shown: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ProposalKey(SQLModel, table=True):
    """An anonymous proposal's key material, wrapped under ANONYMITY_SECRET (bot.sealing), as a
    poll's is; deleted at close with the sealed positions, once the result is written."""

    __tablename__ = "proposal_keys"

    proposal_id: int = Field(foreign_key="proposals.id", primary_key=True)
    wrapped: str = Field(sa_column=Column(Text, nullable=False))


class SealedPosition(SQLModel, table=True):
    """A position on an anonymous proposal: a keyed hash for the member, and the position with its
    sector, organisation and reason sealed together, padded to one size. No member id, no time, no
    rowid (SQLite keeps it ordered by the hash), so neither who nor in what order can be read."""

    __tablename__ = "sealed_positions"
    __table_args__ = {"sqlite_with_rowid": False}

    proposal_id: int = Field(foreign_key="proposals.id", primary_key=True)
    voter_key: str = Field(max_length=64, primary_key=True)
    sealed: str = Field(sa_column=Column(Text, nullable=False))


class ProposalVersion(SQLModel, table=True):
    """Each earlier text of an amended proposal, readable after it changed."""

    __tablename__ = "proposal_versions"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposals.id", index=True)
    version: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    replaced_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Position(_Kinds, SQLModel, table=True):
    """A member's position on a proposal's current version, and its reason (objections and blocks
    need one): one per member, changed until the close."""

    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("proposal_id", "member_id", name="uq_position_member"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposals.id", index=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    version: int
    position: PositionChoice = Field(sa_column=Column(EnumText(PositionChoice, 12), nullable=False))
    reason: str | None = Field(default=None, max_length=500)
    taken_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Goal(SQLModel, table=True):
    """What the coalition set out to change (`/goal add`): a measure with its baseline and target,
    and where its values come from: typed or imported (`goal_values`), a survey statement's
    average across rounds, or an engagement figure the report computes."""

    __tablename__ = "goals"

    id: int | None = Field(default=None, primary_key=True)
    coalition_id: int = Field(foreign_key="coalitions.id", index=True)
    title: str = Field(max_length=200)
    measure: str = Field(max_length=300)  # what is counted, in words
    unit: str | None = Field(default=None, max_length=40)
    baseline: float
    baseline_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    target: float
    target_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    lower_is_better: bool = False
    sector: str | None = Field(default=None, max_length=40)
    public: bool = False
    # Where values come from: "typed" (recorded or imported), "survey" (a survey statement's
    # average per round: `source_ref` is "TITLE\x1fN"), "report" (an engagement rate per month:
    # `source_ref` is the metric's name).
    source: str = Field(default="typed", max_length=12)
    source_ref: str | None = Field(default=None, max_length=300)
    owner_id: int | None = Field(default=None, foreign_key="members.id")
    status: str = Field(default="open", max_length=8)  # open, closed
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: int | None = Field(default=None, foreign_key="members.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class GoalValue(SQLModel, table=True):
    """One value of a goal's measure for a date (a month, a day): one per date, a correction
    replacing it (the audit keeps the old one)."""

    __tablename__ = "goal_values"
    __table_args__ = (UniqueConstraint("goal_id", "period_at", name="uq_goal_value_period"),)

    id: int | None = Field(default=None, primary_key=True)
    goal_id: int = Field(foreign_key="goals.id", index=True)
    period_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    value: float
    source: str | None = Field(default=None, max_length=300)
    recorded_by: int | None = Field(default=None, foreign_key="members.id")
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
