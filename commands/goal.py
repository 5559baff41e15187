"""`/goal`: what the coalition set out to change, measured against a baseline and a target, with
whether the trend gets there (`bot.goals`), a chart, and the values typed, imported or read from a
survey or the engagement report."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from bot.goal_import import parse_date, parse_number
from bot.i18n import N_, _
from bot.markup import timestamp, user_text
from bot.permissions import Permission, Role
from bot.replies import Attachment, Reply, error
from bot.services.goals import FIGURES, GoalProblem, GoalProgress, chart_alt, goal_line, number
from bot.times import TimeProblem, parse_day
from bot.views import GoalView
from commands.context import CommandContext
from commands.errors import CommandError
from commands.numbered import id_option
from commands.spec import CommandSpec, OptionSpec, OptionType, Scope

_ID = id_option(N_("the goal's number (from /goal list)"))
MAX_TITLE = 200


def _number(text: str, what: str) -> float:
    value = parse_number(text)
    if value is None:
        raise CommandError(
            _("'{text}' is not a number for {what}; write it like 42, 1,250 or 3.5.").format(text=text, what=what)
        )
    return value


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


async def _find(ctx: CommandContext, goal_id: int) -> GoalView:
    goal = await ctx.services.goals.find(ctx.coalition.id or 0, goal_id)
    if goal is None:
        raise CommandError(_("There is no goal #{id}. `/goal list` shows them.").format(id=goal_id))
    return goal


def line(view: GoalProgress) -> str:
    """One goal in a line for chat: its number and title, then `goal_line`."""
    return f"#{view.goal.id} {user_text(view.goal.title)}: {user_text(goal_line(view))}"


async def add(ctx: CommandContext) -> Reply:
    try:
        baseline = _number(ctx.args["baseline"], "--baseline")
        target = _number(ctx.args["target"], "--target")
        owner = None
        if ctx.args["owner"] is not None:
            owner = await ctx.services.coalitions.member_by_mention(ctx.coalition, ctx.actor, ctx.args["owner"].user_id)
            if owner is None:
                raise CommandError(
                    _("{name} has not used the bot yet, so is not a member.").format(
                        name=user_text(ctx.args["owner"].label)
                    )
                )
        survey = None
        if ctx.args["from-survey"]:
            statement = ctx.args["statement"] or 1
            survey = (ctx.args["from-survey"], statement)
        goal = await ctx.services.goals.add(
            ctx.coalition.id or 0,
            ctx.me,
            ctx.args["title"],
            measure=ctx.args["measure"],
            baseline=baseline,
            baseline_at=_day_start(ctx.args["baseline-date"]) if ctx.args["baseline-date"] else None,
            target=target,
            target_at=_day_start(ctx.args["by"]),
            lower_is_better=bool(ctx.args["lower-is-better"]),
            unit=ctx.args["unit"],
            sector=ctx.args["sector"],
            public=bool(ctx.args["public"]),
            owner=owner,
            survey=survey,
            metric=ctx.args["from-report"],
        )
    except CommandError as exc:
        return error(exc.message, ctx.usage)
    except GoalProblem as exc:
        return error(str(exc), ctx.usage)
    ctx.audit_note = _("goal #{id}").format(id=goal.id)
    how = (
        _("Record its values with `/goal record {id} VALUE --for 2027-01`.").format(id=goal.id)
        if goal.source == "typed"
        else _("Its values come from {source}.").format(source=ctx.services.goals.source_words(goal))
    )
    return Reply(
        _("Goal #{id} is set: {title}.").format(id=goal.id, title=user_text(goal.title)) + " " + how, private=True
    )


async def list_goals(ctx: CommandContext) -> Reply:
    goals = await ctx.services.goals.listed(ctx.coalition.id or 0)
    if not goals:
        return Reply(
            _(
                'No goals yet. A coordinator sets one with `/goal add "TITLE" --measure ... --baseline N '
                "--target N --by DATE`."
            ),
            private=True,
        )
    lines = [_("**Goals**")]
    for goal in goals:
        view = await ctx.services.goals.view(goal)
        closed = _(" (closed)") if goal.status == "closed" else ""
        lines.append("• " + line(view) + closed)
    return Reply("\n".join(lines), private=True)


async def show(ctx: CommandContext) -> Reply:
    goal = await _find(ctx, ctx.args["id"])
    view = await ctx.services.goals.view(goal)
    lines = [
        f"🎯 **{user_text(goal.title)}** (#{goal.id})",
        _("Measure: {measure}").format(measure=user_text(goal.measure)),
    ]
    lines.append(_("From: {source}").format(source=ctx.services.goals.source_words(goal)))
    if goal.sector:
        lines.append(_("Sector: {sector}").format(sector=user_text(goal.sector)))
    lines.append(line(view))
    if view.standing.projected is not None:
        lines.append(
            _("The trend of the values so far reaches {projected} by {by}.").format(
                projected=number(view.standing.projected), by=timestamp(goal.target_at, "D")
            )
        )
    elif view.standing.status == "not-enough-data":
        lines.append(_("A trend needs at least 3 values."))
    if view.points:
        lines.append(
            _("Values: {values}").format(
                values=", ".join(f"{p.at.date().isoformat()} {number(p.value)}" for p in view.points[-12:])
            )
        )
    if goal.outcome:
        lines.append(_("Outcome: {outcome}").format(outcome=user_text(goal.outcome)))
    chart = await ctx.services.goals.chart(view)
    files = (Attachment(f"goal-{goal.id}.png", chart, "image/png", description=chart_alt(view)),)
    return Reply("\n".join(lines), private=True, attachments=files)


def _may_record(ctx: CommandContext, goal: GoalView) -> None:
    if ctx.me.role != Role.COORDINATOR and (goal.owner_id is None or goal.owner_id != ctx.me.id):
        raise CommandError(_("Only coordinators and the goal's owner can record its values."))


async def record(ctx: CommandContext) -> Reply:
    goal = await _find(ctx, ctx.args["id"])
    try:
        _may_record(ctx, goal)
        value = _number(ctx.args["value"], _("the value"))
        when = ctx.now
        if ctx.args["for"]:
            typed = ctx.args["for"]
            found = parse_date(typed)
            if found is None:
                try:
                    found = _day_start(parse_day(typed, ctx.zone, ctx.now))
                except TimeProblem as exc:
                    raise CommandError(str(exc)) from exc
            when = found
        else:
            when = _day_start(ctx.now.astimezone(ctx.zone).date())
        old = await ctx.services.goals.record(goal, value, when, ctx.args["source"], ctx.me)
    except CommandError as exc:
        return error(exc.message, ctx.usage)
    except GoalProblem as exc:
        return error(str(exc), ctx.usage)
    day = when.date().isoformat()
    if old is not None:
        ctx.audit_note = _("goal #{id}: {day} corrected from {old} to {new}").format(
            id=goal.id, day=day, old=number(old.value), new=number(value)
        )
    else:
        ctx.audit_note = _("goal #{id}: {day} = {new}").format(id=goal.id, day=day, new=number(value))
    view = await ctx.services.goals.view(goal)
    said = (
        _("Corrected goal #{id} for {day}: {old} is now {new}.").format(
            id=goal.id, day=day, old=number(old.value), new=number(value)
        )
        if old is not None
        else _("Recorded for goal #{id}: {new} for {day}.").format(id=goal.id, new=number(value), day=day)
    )
    return Reply(said + " " + line(view), private=True)


async def edit(ctx: CommandContext) -> Reply:
    goal = await _find(ctx, ctx.args["id"])
    try:
        target = _number(ctx.args["target"], "--target") if ctx.args["target"] else None
        await ctx.services.goals.edit(
            goal,
            title=ctx.args["title"],
            measure=ctx.args["measure"],
            target=target,
            target_at=_day_start(ctx.args["by"]) if ctx.args["by"] else None,
            unit=ctx.args["unit"],
            public=ctx.args["public"],
        )
    except CommandError as exc:
        return error(exc.message, ctx.usage)
    except GoalProblem as exc:
        return error(str(exc), ctx.usage)
    ctx.audit_note = _("goal #{id}").format(id=goal.id)
    view = await ctx.services.goals.view(goal)
    return Reply(_("Goal #{id} is changed.").format(id=goal.id) + " " + line(view), private=True)


async def close(ctx: CommandContext) -> Reply:
    goal = await _find(ctx, ctx.args["id"])
    try:
        await ctx.services.goals.close(goal, ctx.args["outcome"])
    except GoalProblem as exc:
        return error(str(exc), ctx.usage)
    ctx.audit_note = _("goal #{id}").format(id=goal.id)
    return Reply(
        _("Goal #{id} is closed: {outcome}").format(id=goal.id, outcome=user_text(goal.outcome or "")), private=True
    )


GOAL = CommandSpec(
    name="goal",
    description=N_("What the coalition set out to change: goals with a baseline, a target and their trend"),
    subcommands=(
        CommandSpec(
            name="add",
            description=N_("Set a goal: what is counted, from what baseline, to what target, by when"),
            options=(
                OptionSpec(
                    "title", OptionType.STRING, N_("the goal"), required=True, positional=True, max_length=MAX_TITLE
                ),
                OptionSpec("measure", OptionType.STRING, N_("what is counted"), required=True, max_length=300),
                OptionSpec("baseline", OptionType.STRING, N_("the value at the start"), required=True, max_length=30),
                OptionSpec("target", OptionType.STRING, N_("the value to reach"), required=True, max_length=30),
                OptionSpec("by", OptionType.DATE, N_("the date to reach it by"), required=True),
                OptionSpec("baseline-date", OptionType.DATE, N_("the baseline's date (default: today)")),
                OptionSpec("lower-is-better", OptionType.BOOL, N_("the measure should go down"), default=False),
                OptionSpec("unit", OptionType.STRING, N_('the unit, e.g. "per month"'), max_length=40),
                OptionSpec("sector", OptionType.STRING, N_("the sector it is about"), max_length=40),
                OptionSpec("owner", OptionType.USER, N_("who records its values (with the coordinators)")),
                OptionSpec(
                    "from-survey", OptionType.STRING, N_("read it from a survey's rounds: its title"), max_length=200
                ),
                OptionSpec(
                    "statement",
                    OptionType.INT,
                    N_("with --from-survey: the statement's number"),
                    min_value=1,
                    max_value=10,
                ),
                OptionSpec(
                    "from-report",
                    OptionType.CHOICE,
                    N_("read it from the engagement report, per month"),
                    choices=FIGURES,
                ),
                OptionSpec("public", OptionType.BOOL, N_("show it on the coalition's public page"), default=False),
            ),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=add,
            examples=(
                N_(
                    '/goal add "Fewer youth arrests" --measure "youth arrests per month" --baseline 42 --target 30 '
                    '--by 2027-12-31 --lower-is-better --unit "per month"'
                ),
                N_(
                    '/goal add "Trust in the police" --measure "average answer, 1 to 5" --baseline 2.8 --target 3.5 '
                    '--by 2027-12-31 --from-survey "Partnership health" --statement 1'
                ),
            ),
        ),
        CommandSpec(
            name="list",
            description=N_("The coalition's goals, each with its latest value and whether it is on track"),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=list_goals,
        ),
        CommandSpec(
            name="show",
            description=N_("A goal with its values and trend, and a chart"),
            options=(_ID,),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=show,
        ),
        CommandSpec(
            name="record",
            description=N_("Record a goal's value for a date (coordinators and its owner); a second one corrects it"),
            options=(
                _ID,
                OptionSpec("value", OptionType.STRING, N_("the value"), required=True, positional=True, max_length=30),
                OptionSpec(
                    "for",
                    OptionType.STRING,
                    N_("the date or month it is for, e.g. 2027-01 (default: today)"),
                    max_length=30,
                ),
                OptionSpec(
                    "source", OptionType.STRING, N_("where the figure comes from (text or a link)"), max_length=300
                ),
            ),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=record,
            audited=True,
            examples=(N_('/goal record 1 38 --for 2027-01 --source "Police monthly report"'),),
        ),
        CommandSpec(
            name="edit",
            description=N_("Change a goal's title, measure, target, date, unit or public flag"),
            options=(
                _ID,
                OptionSpec("title", OptionType.STRING, N_("the goal"), max_length=MAX_TITLE),
                OptionSpec("measure", OptionType.STRING, N_("what is counted"), max_length=300),
                OptionSpec("target", OptionType.STRING, N_("the value to reach"), max_length=30),
                OptionSpec("by", OptionType.DATE, N_("the date to reach it by")),
                OptionSpec("unit", OptionType.STRING, N_('the unit, e.g. "per month"'), max_length=40),
                OptionSpec("public", OptionType.BOOL, N_("show it on the coalition's public page")),
            ),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=edit,
        ),
        CommandSpec(
            name="close",
            description=N_("Close a goal with what came of it"),
            options=(
                _ID,
                OptionSpec("outcome", OptionType.TEXT, N_("what came of it"), required=True, max_length=1000),
            ),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=close,
        ),
    ),
)
