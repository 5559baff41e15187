"""How a command is declared: once, platform-neutrally.

The Slack manifest, the Discord command tree, the console help and the text parser are all
generated from these declarations, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.i18n import N_, _
from bot.permissions import Permission
from bot.services.governance import RateLimit

if TYPE_CHECKING:
    from bot.replies import Block, Reply
    from commands.context import ActionContext, CommandContext


class Scope(StrEnum):
    """Where a command may run."""

    ANYWHERE = "anywhere"  # help, set-up: even in a space that has no coalition yet
    COALITION = "coalition"  # anywhere in a space that belongs to a coalition (incl. DMs)
    CHANNEL = "channel"  # only in a channel linked to the coalition


class OptionType(StrEnum):
    STRING = "string"  # one line of user text
    TEXT = "text"  # longer user text, may span lines
    INT = "int"
    BOOL = "bool"  # a flag: --anonymous
    CHOICE = "choice"
    USER = "user"  # a member mention
    CHANNEL = "channel"  # a channel mention
    DURATION = "duration"  # 90m, 2h, 1h30m
    DATETIME = "datetime"  # a future moment, in the member's time zone
    DATE = "date"  # a day, in the member's time zone: 2026-12-15, dec 15, tuesday
    TIMEZONE = "timezone"  # an IANA zone name
    TAGS = "tags"  # comma-separated words: residents,youth


DEFAULT_MAX_LENGTH = {OptionType.STRING: 200, OptionType.TEXT: 2000}


# What stands for each option's value in a usage line (`/meeting schedule "TITLE" WHEN`), by the
# option's name: written out here so that the catalogs hold them ("TÍTULO", "CUÁNDO"). One word each.
METAVARS: dict[str, str] = {
    "action": N_("ACTION"),
    "address": N_("ADDRESS"),
    "agenda": N_("AGENDA"),
    "also": N_("ALSO"),
    "answer": N_("ANSWER"),
    "answers": N_("ANSWERS"),
    "at": N_("AT"),
    "baseline": N_("BASELINE"),
    "baseline-date": N_("DATE"),
    "by": N_("DATE"),
    "choices": N_("CHOICES"),
    "closes": N_("CLOSES"),
    "coalition": N_("COALITION"),
    "code": N_("CODE"),
    "day": N_("DAY"),
    "decision": N_("DECISION"),
    "default": N_("DEFAULT"),
    "due": N_("DUE"),
    "duration": N_("DURATION"),
    "en": N_("ENGLISH"),
    "es": N_("SPANISH"),
    "every": N_("EVERY"),
    "for": N_("DATE"),
    "from-report": N_("FIGURE"),
    "from-survey": N_("SURVEY"),
    "hour": N_("HOUR"),
    "id": N_("ID"),
    "item": N_("ITEM"),
    "kind": N_("KIND"),
    "language": N_("LANGUAGE"),
    "max": N_("MAX"),
    "measure": N_("MEASURE"),
    "member": N_("MEMBER"),
    "members": N_("MEMBERS"),
    "mine": N_("MINE"),
    "name": N_("NAME"),
    "nudge": N_("NUDGE"),
    "on": N_("ON"),
    "option": N_("OPTION"),
    "options": N_("OPTIONS"),
    "organisation": N_("ORGANISATION"),
    "outcome": N_("OUTCOME"),
    "owner": N_("OWNER"),
    "position": N_("POSITION"),
    "question": N_("QUESTION"),
    "questions": N_("QUESTIONS"),
    "reason": N_("REASON"),
    "review": N_("REVIEW"),
    "role": N_("ROLE"),
    "rule": N_("RULE"),
    "sector": N_("SECTOR"),
    "set": N_("SET"),
    "since": N_("SINCE"),
    "slots": N_("SLOTS"),
    "source": N_("SOURCE"),
    "state": N_("STATE"),
    "statement": N_("STATEMENT"),
    "tags": N_("TAGS"),
    "target": N_("TARGET"),
    "task": N_("TASK"),
    "template": N_("TEMPLATE"),
    "text": N_("TEXT"),
    "title": N_("TITLE"),
    "to": N_("TO"),
    "topic": N_("TOPIC"),
    "unit": N_("UNIT"),
    "value": N_("VALUE"),
    "wanted": N_("WANTED"),
    "when": N_("WHEN"),
    "where": N_("WHERE"),
    "which": N_("WHICH"),
    "who": N_("WHO"),
    "zone": N_("ZONE"),
}


@dataclass(frozen=True)
class OptionSpec:
    name: str
    type: OptionType
    help: str
    required: bool = False
    positional: bool = False
    multiple: bool = False  # only on the last positional: takes the rest (at least one when required)
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    min_value: int | None = None
    max_value: int | None = None
    min_count: int = 0
    max_count: int | None = None
    default: Any = None
    complete: str | None = None  # the name of a completer that suggests values (ids of meetings, ...)
    # Only coordinators may give this option (any value but the default), or these values of it. The
    # dispatcher refuses others, and help says so: one declaration for both.
    # Words members type for a choice, and the choice to suggest for them ("yes" -> "going").
    synonyms: tuple[tuple[str, str], ...] = ()
    # Words taken as a choice outright, in the languages members write ("voy" -> "going").
    aliases: tuple[tuple[str, str], ...] = ()
    formerly: str | None = None  # the option's old name, so a member typing it is pointed to the new one
    coordinators_only: bool = False
    coordinator_values: tuple[str, ...] = ()

    @property
    def metavar(self) -> str:
        """In the reader's language: a usage line reads `/meeting schedule "TÍTULO" CUÁNDO` in Spanish."""
        known = METAVARS.get(self.name)
        return _(known) if known is not None else self.name.upper().replace("-", "_")

    @classmethod
    def switch(cls) -> OptionSpec:
        """`on`, `off` or `show` (the default): a setting coordinators turn and anyone may look at."""
        return cls(
            "state",
            OptionType.CHOICE,
            N_("on, off or show"),
            positional=True,
            choices=("on", "off", "show"),
            default="show",
            coordinator_values=("on", "off"),
        )

    @property
    def length_limit(self) -> int:
        return self.max_length or DEFAULT_MAX_LENGTH.get(self.type, 200)

    @property
    def form_length(self) -> int:
        """How much a form's field for this option must hold: for several values, one per line,
        each may be as long as one value may be (25 poll options of 75 characters, not 75 in all)."""
        if not self.multiple:
            return self.length_limit
        count = self.max_count or 25
        return self.length_limit * count + count - 1


CommandHandler = Callable[["CommandContext"], Awaitable["Reply"]]
HomeSection = Callable[["CommandContext"], Awaitable[list["Block"]]]
Completer = Callable[["CommandContext", str], Awaitable[list[tuple[str, str]]]]
ActionHandler = Callable[["ActionContext"], Awaitable["Reply"]]


@dataclass(frozen=True)
class CommandSpec:
    """A command or a group of subcommands (`/coalition help`, `/poll create`)."""

    name: str
    description: str
    options: tuple[OptionSpec, ...] = ()
    permission: Permission = Permission.MEMBER
    handler: CommandHandler | None = None
    subcommands: tuple[CommandSpec, ...] = ()
    default_subcommand: str | None = None
    examples: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what a member may want to know, shown in help rather than in every reply
    scope: Scope = Scope.CHANNEL
    rate_limit: RateLimit | None = None  # per member, for commands that create content
    audited: bool | None = None  # None: audited when only coordinators may run it
    modal: bool = False  # typed with no arguments, platforms with forms open one built from the options
    # The adapter checks that the bot can post in the channel (it is linked there): a command that
    # links a channel warns at once when nothing the coalition sends could arrive.
    checks_access: bool = False
    # Votes, survey answers, feedback: the logs never say who used it (see Dispatcher._who).
    anonymous: bool = False
    submit_label: str = N_("Submit")  # shown through _(), in the member's language

    @property
    def is_audited(self) -> bool:
        return self.permission == Permission.COORDINATOR if self.audited is None else self.audited

    def subcommand(self, name: str) -> CommandSpec | None:
        return next((s for s in self.subcommands if s.name == name), None)

    @property
    def is_group(self) -> bool:
        return bool(self.subcommands)


@dataclass(frozen=True)
class ActionSpec:
    """A button or select, routed by the first parts of its action id (`poll:vote`)."""

    prefix: str
    handler: ActionHandler
    permission: Permission = Permission.PARTICIPANT
    scope: Scope = Scope.COALITION
    params: tuple[str, ...] = field(default=())  # names of the id parts after the prefix
    words: tuple[str, ...] = field(default=())  # those of `params` that are words; the others are ids
    # Clicks that come in bursts (votes): written together with others that arrive meanwhile, on
    # one transaction (see commands/batching.py). Such a handler must refuse before it writes.
    batched: bool = False
    # Shows and never writes (an email's "as it stands now" page, opened by mail scanners too): its
    # transaction is rolled back whatever the handler did, so opening such a page changes nothing.
    read_only: bool = False
    # May be an anonymous act (a position on an anonymous proposal): logged without who, not
    # counted in the metrics, and a newcomer joins in a commit of its own (see Dispatcher).
    anonymous: bool = False
