"""`/coalition`: help, set-up, linking channels, and a member's own settings."""

from __future__ import annotations

from bot.i18n import LANGUAGES, N_, _, from_locale, language_name, ngettext, parse_language, pgettext, speaking
from bot.markup import timestamp, user_text
from bot.permissions import Permission, role_name
from bot.replies import Reply, error
from bot.services.coalitions import JoinProblem
from commands.context import CommandContext
from commands.email import EMAIL
from commands.feedback import FEEDBACK
from commands.governance import AUDIT, FORGET_ME, MY_DATA, ROLE
from commands.help import help_command
from commands.page import PAGE
from commands.spec import CommandSpec, OptionSpec, OptionType, Scope
from commands.stakeholders import STAKEHOLDER_COMMANDS


async def setup(ctx: CommandContext) -> Reply:
    if ctx.place.coalition is not None:
        return error(
            _("This space already belongs to {name}. Type `/coalition whoami` to see your role.").format(
                name=user_text(ctx.place.coalition.name)
            )
        )
    name = ctx.args["name"]
    await ctx.services.coalitions.create(name, ctx.where, ctx.actor)
    return Reply(
        _(
            "**{name}** is set up, with this channel linked and you as its coordinator. Link "
            "more channels with `/coalition link`; see everything with `/coalition "
            "help`.{warning}"
        ).format(name=user_text(name), warning=access_warning(ctx))
    )


async def whoami(ctx: CommandContext) -> Reply:
    if ctx.place.coalition is None or ctx.member is None:
        return Reply(
            _('You\'re not in a coalition here yet. An admin can start one with `/coalition setup "Coalition name"`.'),
            private=True,
        )
    member = ctx.member
    zone_note = _zone_source(ctx)
    if not member.timezone:
        zone_note += _("; set yours with `/coalition timezone`")
    here = (
        _("This channel is linked (tags: {tags}).").format(tags=user_text(", ".join(ctx.channel.tags) or _("none")))
        if ctx.channel
        else _("This channel is not linked to the coalition.")
    )
    return Reply(
        _("You are **{member}**, a {role} of **{name}**.\nTime zone: {zone} ({zone_note}).\n{here}").format(
            member=user_text(member.display_name or member.user_id),
            role=role_name(member.role),
            name=user_text(ctx.coalition.name),
            zone=ctx.zone.key,
            zone_note=zone_note,
            here=here,
        ),
        private=True,
    )


def _zone_source(ctx: CommandContext) -> str:
    if ctx.member is not None and ctx.member.timezone:
        return _("yours")
    if ctx.actor.timezone_hint:
        return _("from your profile")
    return pgettext("time zone", "the coalition's default")


async def timezone(ctx: CommandContext) -> Reply:
    zone = ctx.args["zone"]
    if zone is None:
        source = _zone_source(ctx)
        return Reply(
            _("Your time zone is {key} ({source}). Change it with `/coalition timezone Europe/Berlin`.").format(
                key=ctx.zone.key, source=source
            ),
            private=True,
        )
    await ctx.services.coalitions.set_timezone(ctx.me, zone)
    return Reply(_("Your time zone is now {zone}. Times you type are read in it.").format(zone=zone), private=True)


def _languages() -> str:
    return ", ".join(f"`{code}` ({name})" for code, name in LANGUAGES.items())


def _unknown_language(typed: str, usage: str) -> Reply:
    return error(
        _("'{typed}' is not a language I speak. I speak: {languages}.").format(
            typed=user_text(typed), languages=_languages()
        ),
        usage,
    )


def _language_source(ctx: CommandContext) -> str:
    if ctx.member is not None and ctx.member.language:
        return _("your choice")
    if from_locale(ctx.actor.locale):
        return _("from your app's settings")
    return pgettext("language", "the coalition's default")


async def language(ctx: CommandContext) -> Reply:
    typed: str | None = ctx.args["language"]
    default: str | None = ctx.args["default"]
    if default is not None:
        code = parse_language(default)
        if code is None:
            return _unknown_language(default, ctx.usage)
        await ctx.services.coalitions.set_default_language(ctx.coalition, code)
        return Reply(
            _(
                "The coalition's default language is now {name}: for members who chose none, and for "
                "channels linked without a language."
            ).format(name=language_name(code)),
            private=True,
        )
    if typed is None:
        current = ctx.services.coalitions.language_for(ctx.member, ctx.place.coalition, ctx.actor.locale)
        return Reply(
            _(
                "I write to you in {name} ({source}). Change it with `/coalition language es` (or `en`); "
                "`/coalition language auto` follows your app's settings again. I speak: {languages}."
            ).format(name=language_name(current), source=_language_source(ctx), languages=_languages()),
            private=True,
        )
    code = None if typed.strip().lower() == "auto" else parse_language(typed)
    if code is None and typed.strip().lower() != "auto":
        return _unknown_language(typed, ctx.usage)
    await ctx.services.coalitions.set_language(ctx.me, code)
    chosen = ctx.services.coalitions.language_for(ctx.me, ctx.place.coalition, ctx.actor.locale)
    with speaking(chosen):
        return Reply(
            _("Done: I will write to you in {name}. Times you type are read in it too.").format(
                name=language_name(chosen)
            ),
            private=True,
        )


async def link(ctx: CommandContext) -> Reply:
    tags: list[str] = ctx.args["tags"] or []
    typed: str | None = ctx.args["language"]
    code = parse_language(typed) if typed else None
    if typed and code is None:
        return _unknown_language(typed, ctx.usage)
    said = []
    if ctx.channel is not None:
        if not tags and code is None:
            return error(
                _(
                    "This channel is already linked. Add tags with `/coalition link --tags residents,youth`, "
                    "or set its language with `/coalition link --language es`."
                )
            )
        if tags:
            await ctx.services.coalitions.retag(ctx.channel, tags)
            said.append(_("This channel's tags are now: {tags}.").format(tags=user_text(", ".join(tags))))
        if code is not None:
            await ctx.services.coalitions.set_channel_language(ctx.channel, code)
            said.append(_("The coalition writes here in {name}.").format(name=language_name(code)))
        return Reply(" ".join(said))
    assert ctx.place.space is not None
    channel = await ctx.services.coalitions.link(ctx.place.space, ctx.where, tags)
    if code is not None:
        await ctx.services.coalitions.set_channel_language(channel, code)
    said = [_("This channel is now linked to **{name}**.").format(name=user_text(ctx.coalition.name))]
    if tags:
        said.append(_("Its tags: {tags}.").format(tags=user_text(", ".join(tags))))
    if code is not None:
        said.append(_("The coalition writes here in {name}.").format(name=language_name(code)))
    return Reply(" ".join(said) + access_warning(ctx))


def access_warning(ctx: CommandContext) -> str:
    """Said when a channel is linked where the bot cannot post: nothing sent to it would arrive."""
    if not ctx.where.access_problem:
        return ""
    return _("\n⚠️ But {problem}: until then, nothing the coalition sends can arrive here.").format(
        problem=ctx.where.access_problem
    )


async def unlink(ctx: CommandContext) -> Reply:
    assert ctx.channel is not None
    withdrawn = await ctx.services.coalitions.unlink(ctx.channel)
    note = (
        ngettext(
            " {count} queued message for it was withdrawn.",
            " {count} queued messages for it were withdrawn.",
            withdrawn,
        ).format(count=withdrawn)
        if withdrawn
        else ""
    )
    return Reply(
        _("This channel is no longer linked to **{name}**.{note} Re-link it any time with `/coalition link`.").format(
            name=user_text(ctx.coalition.name), note=note
        )
    )


async def invite(ctx: CommandContext) -> Reply:
    code, expires = await ctx.services.coalitions.invite(ctx.coalition, ctx.me)
    return Reply(
        _(
            "Join code for **{name}**: `{code}`\nIt works once, until {expires}. In the other "
            "Slack workspace or Discord server, an admin types `/coalition join {code}` in "
            "the channel to link."
        ).format(name=user_text(ctx.coalition.name), code=code, expires=timestamp(expires)),
        private=True,
    )


async def join(ctx: CommandContext) -> Reply:
    if ctx.place.coalition is not None:
        return error(_("This space already belongs to {name}.").format(name=user_text(ctx.place.coalition.name)))
    try:
        place = await ctx.services.coalitions.join(ctx.args["code"], ctx.where, ctx.actor)
    except JoinProblem as exc:
        return error(str(exc), ctx.usage)
    assert place.coalition is not None
    return Reply(
        _(
            "This space has joined **{name}**, with this channel linked and you as a "
            "coordinator. Broadcasts, meetings and polls now reach it too.{warning}"
        ).format(name=user_text(place.coalition.name), warning=access_warning(ctx))
    )


async def channels(ctx: CommandContext) -> Reply:
    linked = await ctx.services.coalitions.channels(ctx.coalition)
    if not linked:
        return Reply(
            _("No channels are linked yet. A coordinator can link one with `/coalition link`."),
            private=True,
        )
    lines = [
        _("**Channels linked to {name}** ({count}):").format(name=user_text(ctx.coalition.name), count=len(linked))
    ]
    for ch in linked:
        tags = _(" (tags: {tags})").format(tags=user_text(", ".join(ch.tags))) if ch.tags else ""
        lines.append(
            _("• {channel} on {platform}{tags}").format(
                channel=user_text("#" + (ch.name or ch.channel_id)), platform=ch.platform, tags=tags
            )
        )
    return Reply("\n".join(lines), private=True)


async def doctor(ctx: CommandContext) -> Reply:
    problems = await ctx.services.doctor.problems(ctx.coalition.id)
    if not problems:
        return Reply(
            _(
                "✅ No problems found: the bot can post in every linked channel, and no delivery "
                "failed in the last day."
            ),
            private=True,
        )
    head = ngettext(
        "🩺 {count} problem found, with its fix:", "🩺 {count} problems found, each with its fix:", len(problems)
    ).format(count=len(problems))
    # The platforms' own words (channel names, error codes) pass through as text, never as markup.
    return Reply("\n".join([head, *(f"• {user_text(p[:400])}" for p in problems)]), private=True)


COALITION = CommandSpec(
    name="coalition",
    description=N_("Set up the coalition, link channels, get help"),
    default_subcommand="help",
    subcommands=(
        CommandSpec(
            name="help",
            description=N_("What the bot can do, or the details of one command"),
            options=(
                OptionSpec(
                    "topic",
                    OptionType.STRING,
                    N_("a command, e.g. poll create"),
                    positional=True,
                    multiple=True,
                    max_length=40,
                    max_count=3,
                ),
            ),
            permission=Permission.ANYONE,
            scope=Scope.ANYWHERE,
            handler=help_command,
            examples=(N_("/coalition help"), N_("/coalition help coalition link")),
        ),
        CommandSpec(
            name="setup",
            checks_access=True,
            description=N_("Start a coalition in this workspace or server (admins)"),
            options=(
                OptionSpec(
                    "name",
                    OptionType.STRING,
                    N_("the coalition's name"),
                    required=True,
                    positional=True,
                    max_length=80,
                ),
            ),
            permission=Permission.ADMIN,
            scope=Scope.ANYWHERE,
            handler=setup,
            audited=True,
            examples=(N_('/coalition setup "Eastside Safety Coalition"'),),
        ),
        CommandSpec(
            name="whoami",
            description=N_("Your role, your time zone and this channel's link"),
            permission=Permission.ANYONE,
            scope=Scope.ANYWHERE,
            handler=whoami,
        ),
        CommandSpec(
            name="timezone",
            description=N_("Show or set the time zone your times are read and shown in"),
            options=(OptionSpec("zone", OptionType.TIMEZONE, N_("your time zone"), positional=True),),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=timezone,
            examples=(N_("/coalition timezone"), N_("/coalition timezone America/Chicago")),
        ),
        CommandSpec(
            name="language",
            description=N_("Show or choose the language the bot writes to you in (and reads your times in)"),
            options=(
                OptionSpec(
                    "language", OptionType.STRING, N_("en, es, or auto (your app's)"), positional=True, max_length=20
                ),
                OptionSpec(
                    "default",
                    OptionType.STRING,
                    N_("coordinators: the coalition's default language"),
                    max_length=20,
                    coordinators_only=True,
                ),
            ),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=language,
            examples=(
                N_("/coalition language es"),
                N_("/coalition language auto"),
                N_("/coalition language --default es"),
            ),
        ),
        CommandSpec(
            name="link",
            checks_access=True,
            description=N_("Link this channel to the coalition, optionally with tags"),
            options=(
                OptionSpec("tags", OptionType.TAGS, N_("tags for this channel")),
                OptionSpec(
                    "language", OptionType.STRING, N_("the language of the coalition's messages here"), max_length=20
                ),
            ),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=link,
            examples=(
                N_("/coalition link"),
                N_("/coalition link --tags residents,youth"),
                N_("/coalition link --language es"),
            ),
        ),
        CommandSpec(
            name="unlink",
            description=N_("Stop the coalition's messages in this channel"),
            permission=Permission.COORDINATOR,
            scope=Scope.CHANNEL,
            handler=unlink,
        ),
        CommandSpec(
            name="invite",
            description=N_("A one-time code for another workspace or server to join"),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=invite,
        ),
        CommandSpec(
            name="join",
            checks_access=True,
            description=N_("Join this workspace or server to a coalition with a code (admins)"),
            options=(
                OptionSpec(
                    "code", OptionType.STRING, N_("the join code"), required=True, positional=True, max_length=20
                ),
            ),
            permission=Permission.ADMIN,
            scope=Scope.ANYWHERE,
            handler=join,
            audited=True,
            examples=(N_("/coalition join ABCD-EFGH-JKMN"),),
        ),
        CommandSpec(
            name="channels",
            description=N_("List the channels linked to the coalition, on every platform"),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=channels,
        ),
        CommandSpec(
            name="doctor",
            description=N_("What stops the bot from reaching this coalition's channels, and how to fix it"),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=doctor,
        ),
        FEEDBACK,
        EMAIL,
        *STAKEHOLDER_COMMANDS,
        PAGE,
        ROLE,
        AUDIT,
        MY_DATA,
        FORGET_ME,
    ),
)
