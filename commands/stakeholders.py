"""`/coalition profile|sectors|map|report|digest`: who is in the coalition, how it takes part, and
the weekly digest."""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import N_, _
from bot.markup import timestamp, user_text
from bot.permissions import Permission
from bot.recurrence import WEEKDAYS as DAY_NAMES
from bot.replies import Attachment, Reply, error
from bot.sectors import sector_name
from bot.services.digests import DigestProblem, parse_weekday
from bot.services.funder import PERIODS
from bot.services.goals import goal_line
from bot.services.reports import LABELS, METRICS, Figures, Report, chart_alt
from bot.services.stakeholders import StakeholderProblem
from bot.times import format_duration
from bot.views import MemberView
from commands.context import CommandContext
from commands.spec import CommandSpec, OptionSpec, OptionType, Scope

MAX_PERIOD = timedelta(days=730)


async def profile(ctx: CommandContext) -> Reply:
    member = ctx.me
    mention = ctx.args["member"]
    if mention is not None:
        found = await ctx.services.coalitions.member_by_mention(ctx.coalition, ctx.actor, mention.user_id)
        if found is None:
            return error(
                _("{name} has not used the bot yet, so is not a member.").format(name=user_text(mention.label))
            )
        member = found
    organisation, sector = ctx.args["organisation"], ctx.args["sector"]
    if organisation is None and sector is None:
        sectors = ", ".join(sector_name(s) for s in ctx.services.stakeholders.sectors(ctx.coalition))
        how = _('Set it with `/coalition profile --organisation "Name" --sector SECTOR` (sectors: {sectors}).')
        return Reply(_profile(ctx, member) + "\n" + how.format(sectors=sectors), private=True)
    try:
        await ctx.services.stakeholders.set_profile(
            ctx.coalition, member, organisation, sector, by_self=member.id == ctx.me.id
        )
    except StakeholderProblem as exc:
        return error(str(exc), ctx.usage)
    if member.id != ctx.me.id:
        ctx.audit_note, ctx.audit_subject = _("profile of {subject}"), member
    return Reply(_profile(ctx, member) + " " + _("`/coalition map` shows the whole coalition."), private=True)


def _profile(ctx: CommandContext, member: MemberView) -> str:
    organisation = user_text(member.organisation or _("not given"))
    sector = user_text(sector_name(member.sector) if member.sector else _("not given"))
    if member.id == ctx.me.id:
        said = _("Your profile: organisation {organisation}, sector {sector}.").format(
            organisation=organisation, sector=sector
        )
        if member.sector and not member.sector_chosen:
            said += " " + _(
                "A coordinator set your sector; anonymous survey figures count it once you confirm it with "
                "`/coalition profile --sector {sector}`."
            ).format(sector=sector_name(member.sector))
        return said
    return _("Profile of {name}: organisation {organisation}, sector {sector}.").format(
        name=user_text(member.display_name or member.user_id), organisation=organisation, sector=sector
    )


async def sectors(ctx: CommandContext) -> Reply:
    change, wanted = ctx.args["set"], ctx.args["wanted"]
    if change is not None or wanted is not None:
        try:
            await ctx.services.stakeholders.set_sectors(ctx.coalition, change, wanted)
        except StakeholderProblem as exc:
            return error(str(exc), ctx.usage)
        ctx.audit_note = _("sectors changed")
    listed = ", ".join(sector_name(s) for s in ctx.coalition.sectors)
    looked_for = ", ".join(sector_name(s) for s in ctx.coalition.wanted_sectors) or _("none")
    return Reply(
        _("Sectors members choose from: {listed}.\nSectors the map looks for: {looked_for}.").format(
            listed=listed, looked_for=looked_for
        ),
        private=True,
    )


async def stakeholder_map(ctx: CommandContext) -> Reply:
    found = await ctx.services.stakeholders.map(ctx.coalition)
    platforms = ", ".join(
        _("{count} on {platform}").format(count=n, platform=p) for p, n in sorted(found.platforms.items())
    )
    lines = [
        _("**Who is in {name}**: {total} members ({platforms})").format(
            name=user_text(ctx.coalition.name), total=found.total, platforms=platforms
        )
    ]
    for row in found.rows:
        orgs = ", ".join(
            f"{user_text(o)} ({n})" if n > 1 else user_text(o) for o, n in row.organisations.most_common(8)
        )
        more = len(row.organisations) - 8
        where = ", ".join(f"{n} {p}" for p, n in sorted(row.platforms.items()))
        line = f"• **{user_text(sector_name(row.sector))}**: {row.members} ({where})"
        if orgs:
            line += f": {orgs}" + (_(" and {count} more").format(count=more) if more > 0 else "")
        lines.append(line)
    if found.unsectored:
        lines.append(
            _("• no sector given: {unsectored} (members set theirs with `/coalition profile`)").format(
                unsectored=found.unsectored
            )
        )
    if found.missing:
        lines.append(
            _("⚠️ **Missing**: {join}: nobody from these sectors yet.").format(
                join=", ".join(user_text(sector_name(s)) for s in found.missing)
            )
        )
    if found.thin:
        thin = ", ".join(user_text(sector_name(s)) for s in found.thin)
        lines.append(_("Thin: {join}: only one member each.").format(join=thin))
    if not found.missing and not found.thin:
        lines.append(_("Every sector the coalition looks for has at least two members."))
    return Reply("\n".join(lines), private=True)


def _percent(value: float | None) -> str:
    return _("n/a") if value is None else f"{value * 100:.0f}%"


def _change(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return ""
    points = round((now - before) * 100)
    if points == 0:
        return _(" (no change)")
    return _(" ({change} pts)").format(change=f"{points:+d}")  # "+3": said as a number, not a shape


def _figures_line(now: Figures, before: Figures) -> str:
    parts = [f"{_(LABELS[m])} {_percent(now.rates[m])}{_change(now.rates[m], before.rates[m])}" for m in METRICS]
    return " · ".join(parts)


def report_text(report: Report, name: str, length: timedelta) -> str:
    o, p = report.overall, report.previous
    held_change = o.meetings - p.meetings
    lines = [
        _("📈 **Engagement report for {name}**: {start} to {end} ({length}), against the {length} before").format(
            name=user_text(name),
            start=timestamp(report.start, "D"),
            end=timestamp(report.end, "D"),
            length=format_duration(length),
        ),
        _("Members: {members} · meetings held: {meetings}").format(members=o.members, meetings=o.meetings)
        + (f" ({held_change:+d})" if held_change else "")
        + _(" · active members: {active} of {members}").format(active=o.active, members=o.members)
        + _(" · decisions made: {decided}").format(decided=o.decided)
        + (f" ({o.decided - p.decided:+d})" if o.decided != p.decided else ""),
        _figures_line(o, p),
    ]
    if report.sectors:
        lines.append(_("**By sector**"))
        for sector, (now, before) in report.sectors.items():
            lines.append(f"• **{user_text(sector_name(sector))}** ({now.members}): {_figures_line(now, before)}")
        lines.append(
            _(
                "Poll and decision participation by sector count polls and proposals that are not anonymous; "
                "anonymous ballots and positions carry no sector."
            )
        )
    return "\n".join(lines)


async def report(ctx: CommandContext) -> Reply:
    length: timedelta = ctx.args["since"] or PERIODS.get(ctx.args["period"] or "", timedelta(days=90))
    if length < timedelta(days=1) or length > MAX_PERIOD:
        return error(_("The period is at least 1 day and at most 730 days (e.g. --since 90d)."), ctx.usage)
    if ctx.args["format"] == "html":
        page = await ctx.services.funder.html(ctx.coalition, length)
        ctx.audit_note = _("report for {length}").format(length=format_duration(length))
        return Reply(
            _(
                "The report for the last {length} as one HTML file: goals with their charts, partnership health, "
                "engagement by sector, meetings, decisions and broadcasts. It names no member; open it in a "
                "browser, print it or send it as it is."
            ).format(length=format_duration(length)),
            private=True,
            attachments=(Attachment(f"coalition-report-{ctx.now:%Y-%m-%d}.html", page, "text/html"),),
        )
    built = await ctx.services.reports.build(ctx.coalition.id or 0, ctx.now, length)
    goals = [_("**Goals**")]
    for goal in await ctx.services.goals.listed(ctx.coalition.id or 0, open_only=True):
        view = await ctx.services.goals.view(goal)
        goals.append(f"• {user_text(goal.title)}: {user_text(goal_line(view))}")
    if built.empty:
        nothing = _(
            "Nothing to report for the last {length}: no meetings were held, no polls asked "
            "and no broadcasts sent in that time. Try a longer period, e.g. `/coalition "
            "report --since 180d`."
        ).format(length=format_duration(length))
        return Reply("\n".join([nothing, *goals]) if len(goals) > 1 else nothing, private=True)
    chart = await ctx.services.reports.chart(built, ctx.coalition.name)
    described = chart_alt(ctx.coalition.name, built)
    files = [Attachment(f"engagement-{ctx.now:%Y-%m-%d}.png", chart, "image/png", description=described)]
    if ctx.args["csv"]:
        files.append(Attachment(f"engagement-{ctx.now:%Y-%m-%d}.csv", ctx.services.reports.csv(built), "text/csv"))
    text = report_text(built, ctx.coalition.name, length)
    if len(goals) > 1:
        text += "\n" + "\n".join(goals)
    return Reply(text, private=True, attachments=tuple(files))


def _day(weekday: int) -> str:
    """Monday, in the language in force (`bot.recurrence` names the days)."""
    return _(list(DAY_NAMES.values())[weekday])


async def digest(ctx: CommandContext) -> Reply:
    assert ctx.channel is not None
    state = ctx.args["state"]
    channel = ctx.channel
    if state == "show":
        if channel.digest_weekday is None:
            return Reply(_("This channel gets no weekly digest. Turn it on with `/coalition digest on`."), private=True)
        return Reply(
            _("This channel gets the weekly digest every {day} at {hour:02d}:00 ({zone}); the next on {next}.").format(
                day=_day(channel.digest_weekday),
                hour=channel.digest_hour,
                zone=user_text(ctx.coalition.timezone),
                next=timestamp(channel.digest_next_at or ctx.now),
            ),
            private=True,
        )
    if state == "off":
        await ctx.services.digests.configure(ctx.coalition, channel, None, channel.digest_hour)
        ctx.audit_note = _("#{channel}: digest off").format(channel=channel.name)
        return Reply(_("The weekly digest is off for this channel."), private=True)
    try:
        weekday = parse_weekday(ctx.args["day"] or "monday")
    except DigestProblem as exc:
        return error(str(exc), ctx.usage)
    hour = ctx.args["hour"] if ctx.args["hour"] is not None else 9
    await ctx.services.digests.configure(ctx.coalition, channel, weekday, hour)
    ctx.audit_note = _("#{channel}: digest on {day} at {hour}:00").format(
        channel=channel.name, day=_(list(DAY_NAMES.values())[weekday]), hour=f"{hour:02d}"
    )
    return Reply(
        _(
            "This channel gets the weekly digest every {day} at {hour:02d}:00 "
            "({zone}): the week's meetings, polls closing soon, broadcasts not yet "
            "acknowledged and action items due. The first: {next}."
        ).format(
            day=_day(weekday),
            hour=hour,
            zone=user_text(ctx.coalition.timezone),
            next=timestamp(channel.digest_next_at or ctx.now),
        )
    )


PROFILE = CommandSpec(
    name="profile",
    description=N_("Your organisation and sector (coordinators: anyone's), for the stakeholder map"),
    options=(
        OptionSpec("organisation", OptionType.STRING, N_("your organisation"), max_length=100),
        OptionSpec("sector", OptionType.STRING, N_("your sector (see /coalition sectors)"), max_length=40),
        OptionSpec("member", OptionType.USER, N_("coordinators: whose profile"), coordinators_only=True),
    ),
    permission=Permission.MEMBER,
    scope=Scope.COALITION,
    handler=profile,
    modal=True,
    submit_label=N_("Save"),
    examples=(N_('/coalition profile --organisation "Eastside Tenants Union" --sector resident'),),
)

SECTORS = CommandSpec(
    name="sectors",
    description=N_("The sectors members choose from, and those the map looks for"),
    options=(
        OptionSpec("set", OptionType.TAGS, N_("coordinators: the full list of sectors"), coordinators_only=True),
        OptionSpec(
            "wanted",
            OptionType.TAGS,
            N_("coordinators: the sectors the coalition wants represented"),
            coordinators_only=True,
        ),
    ),
    permission=Permission.MEMBER,
    scope=Scope.COALITION,
    handler=sectors,
    examples=(N_("/coalition sectors --wanted resident,youth,school,law-enforcement"),),
)

MAP = CommandSpec(
    name="map",
    description=N_("Who is in the coalition by sector and organisation, and which sectors are missing"),
    permission=Permission.MEMBER,
    scope=Scope.COALITION,
    handler=stakeholder_map,
)

REPORT = CommandSpec(
    name="report",
    description=N_("Engagement over a period, overall and by sector, with a chart (and CSV)"),
    options=(
        OptionSpec("since", OptionType.DURATION, N_("how far back (default 90d)")),
        OptionSpec("csv", OptionType.BOOL, N_("add the figures as a CSV file"), default=False),
        OptionSpec(
            "period", OptionType.CHOICE, N_("month, quarter or year (instead of --since)"), choices=tuple(PERIODS)
        ),
        OptionSpec(
            "format",
            OptionType.CHOICE,
            N_("html: one file for a funder or a city council, charts included"),
            choices=("text", "html"),
        ),
    ),
    permission=Permission.MEMBER,
    scope=Scope.COALITION,
    handler=report,
    examples=(
        N_("/coalition report"),
        N_("/coalition report --since 30d --csv"),
        N_("/coalition report --period quarter --format html"),
    ),
)

DIGEST = CommandSpec(
    name="digest",
    description=N_("A weekly digest in this channel: the week's meetings, polls, broadcasts, action items"),
    options=(
        OptionSpec.switch(),
        OptionSpec("day", OptionType.STRING, N_("the day (default monday)"), max_length=20),
        OptionSpec("hour", OptionType.INT, N_("the hour, 0-23, coalition time (default 9)"), min_value=0, max_value=23),
    ),
    permission=Permission.MEMBER,
    scope=Scope.CHANNEL,
    handler=digest,
    examples=(N_("/coalition digest on --day friday --hour 16"), N_("/coalition digest off")),
)

STAKEHOLDER_COMMANDS = (PROFILE, SECTORS, MAP, REPORT, DIGEST)
