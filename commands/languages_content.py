"""`--es "..."` / `--en "..."`: the second-language version of what a member writes (a broadcast,
a poll, a meeting), and the button that shows a reader the version they were not shown."""

from __future__ import annotations

from collections.abc import Callable

from bot.bilingual import Bilingual, the_other, version
from bot.i18n import N_, _, language, language_name, speaking
from bot.markup import user_text
from bot.permissions import Permission
from bot.replies import Reply, error
from bot.views import MeetingView, PollView
from commands.context import ActionContext, CommandContext
from commands.errors import CommandError
from commands.spec import ActionSpec, OptionSpec, OptionType

SECOND_HELP = {
    "es": N_("the same in Spanish: members who read Spanish see this version"),
    "en": N_("the same in English: members who read English see this version"),
}
PARTS_HELP = {
    "es": N_('the same in Spanish, its parts apart with "|": members who read Spanish see this version'),
    "en": N_('the same in English, its parts apart with "|": members who read English see this version'),
}
SEPARATOR = "|"


def second_language_options(parts: bool = False, max_length: int = 2000) -> tuple[OptionSpec, ...]:
    """`--es` and `--en`; `parts`: several texts in one, apart with "|" (a poll's question and its
    options, a meeting's title, place and agenda): one option reads the same typed in Slack, in a
    Discord field or in the console."""
    helps = PARTS_HELP if parts else SECOND_HELP
    return tuple(OptionSpec(code, OptionType.TEXT, helps[code], max_length=max_length) for code in helps)


def second_parts(given: tuple[str, object] | None) -> tuple[str, list[str]] | None:
    """`--es "¿Almuerzo? | Pizza | Tacos"` as ("es", ["¿Almuerzo?", "Pizza", "Tacos"])."""
    if given is None:
        return None
    return given[0], [part.strip() for part in str(given[1]).split(SEPARATOR)]


def second_given(ctx: CommandContext) -> tuple[str, object] | None:
    """(language, what was given) for the one of `--es`/`--en` given; a clear refusal for both,
    or for the language the member is writing in already."""
    given = [(code, ctx.args.get(code)) for code in SECOND_HELP if ctx.args.get(code)]
    if not given:
        return None
    if len(given) > 1:
        raise CommandError(_("Give one second language: --es or --en, not both."))
    code, value = given[0]
    if code == language():
        raise CommandError(
            _("You write in {language} already; --{code} is for the other language's version.").format(
                language=language_name(code), code=code
            )
        )
    return code, value


def other_version_reply(lines: list[str], other: str) -> Reply:
    """The other version, privately, in the words of its own language."""
    with speaking(other):
        head = _("In {language}:").format(language=language_name(other))
    return Reply("\n".join([head, *lines]), private=True, language=other)


async def show_other(ctx: ActionContext) -> Reply:
    """The button's action: the version the reader was not shown. Read-only: nothing is written."""
    kind, content_id, coalition_id = ctx.params["kind"], int(ctx.params["content"]), ctx.coalition.id or 0
    lines: Callable[[], list[str]] | None = None
    found: Bilingual | None = None
    if kind in ("broadcast", "decision"):
        text = await (
            ctx.services.broadcasts.find(coalition_id, content_id)
            if kind == "broadcast"
            else ctx.services.decisions.find(coalition_id, content_id)
        )
        if text is not None:
            found, lines = text, lambda: [user_text(version(text, "text", text.text))]
    elif kind == "poll":
        poll = await ctx.services.polls.find(coalition_id, content_id)
        if poll is not None:
            found, lines = poll, lambda: _poll_lines(poll)
    elif kind == "meeting":
        meeting = await ctx.services.meetings.series(content_id)
        if meeting is not None and meeting.coalition_id == coalition_id:
            found, lines = meeting, lambda: _meeting_lines(meeting)
    other = the_other(found) if found is not None else None
    if lines is None or other is None:
        return error(_("That message no longer exists."))
    with speaking(other):
        return other_version_reply(lines(), other)


def _poll_lines(poll: PollView) -> list[str]:
    options = version(poll, "options", poll.option_list)
    lines = [user_text(version(poll, "question", poll.question))]
    return lines + [f"{n}. {user_text(o)}" for n, o in enumerate(options, 1)]


def _meeting_lines(meeting: MeetingView) -> list[str]:
    lines = [user_text(version(meeting, "title", meeting.title))]
    place, agenda = version(meeting, "location", meeting.location), version(meeting, "agenda", meeting.agenda)
    lines += [_("Where: {place}").format(place=user_text(place))] if place else []
    lines += [_("Agenda: {agenda}").format(agenda=user_text(agenda))] if agenda else []
    return lines


ACTIONS = (
    ActionSpec(
        "content:other",
        show_other,
        Permission.MEMBER,
        params=("kind", "content"),
        words=("kind",),
        read_only=True,
    ),
)
