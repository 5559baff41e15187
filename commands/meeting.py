"""`/meeting`: schedule (with recurrence), list, show, RSVP, cancel, and calendar export."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import N_, _, language, ngettext
from bot.markup import format_time, timestamp, user_text
from bot.permissions import Permission, Role
from bot.recurrence import describe as describe_rule
from bot.replies import Actions, Attachment, Block, Button, Reply, Section, action_id, error
from bot.services.coalitions import TargetProblem
from bot.services.feeds import FEED_PATH
from bot.services.governance import RateLimit
from bot.services.meetings import ANSWERS, MeetingProblem, RsvpAnswer, lead_times
from bot.times import spoken_duration
from bot.views import MeetingView, MemberView, OccurrenceView
from commands.context import ActionContext, CommandContext
from commands.errors import CommandError
from commands.languages_content import second_given, second_language_options, second_parts
from commands.numbered import id_option, suggestions
from commands.spec import ActionSpec, CommandSpec, OptionSpec, OptionType, Scope


async def _find(ctx: CommandContext, *, started: bool = False) -> tuple[OccurrenceView, MeetingView]:
    """The meeting the command names: `ID`, and `--on DATE` for one date of a series."""
    try:
        return await ctx.services.meetings.occurrence_of(
            ctx.coalition.id or 0, ctx.args["id"], on=ctx.args.get("on"), zone=ctx.zone, started=started
        )
    except MeetingProblem as exc:
        raise CommandError(str(exc)) from None


def _which(meeting: MeetingView, occurrence: OccurrenceView) -> str:
    """ "#2" for a one-off, "#2 on Tue 15 Dec" for one date of a series."""
    if meeting.rrule is None:
        return f"#{meeting.id}"
    return _("#{id} on {day}").format(id=meeting.id, day=timestamp(occurrence.start, "D"))


async def schedule(ctx: CommandContext) -> Reply:
    duration: timedelta = ctx.args["duration"] if ctx.args["duration"] is not None else timedelta(hours=1)
    if duration <= timedelta(0) or duration > timedelta(hours=24):
        return error(_("A meeting lasts more than 0 minutes and at most 24 hours."), ctx.usage)
    assert ctx.channel is not None
    try:
        channels = await ctx.services.coalitions.targets(ctx.coalition, ctx.channel, ctx.args["also"] or [])
        given = second_given(ctx)
    except TargetProblem as exc:
        return error(str(exc), ctx.usage)
    except CommandError as exc:
        return error(exc.message, ctx.usage)
    second = second_parts(given)
    try:
        meeting, occurrence = await ctx.services.meetings.schedule(
            ctx.coalition.id or 0,
            ctx.me,
            ctx.args["title"],
            ctx.args["when"],
            ctx.zone,
            duration,
            ctx.args["where"],
            ctx.args["agenda"],
            ctx.args["every"],
            channels,
            private=bool(ctx.args["private"]),
            second=second,
        )
    except MeetingProblem as exc:
        return error(str(exc), ctx.usage)
    local = _spelled_out(occurrence.start, ctx.zone)
    said = _("Scheduled **{title}** (#{id}) for {when}").format(
        title=user_text(meeting.title), id=meeting.id, when=local
    )
    if meeting.rrule:
        said += _(", repeating {rule}").format(rule=user_text(describe_rule(meeting.rrule)))
    lead = describe_minutes(ctx.coalition.reminder_minutes)
    said += "; " + ngettext("announced in {count} channel.", "announced in {count} channels.", len(channels)).format(
        count=len(channels)
    )
    said += " " + (
        _("Reminders: {lead} before.").format(lead=lead) if lead else _("Reminders: none (coalition setting).")
    )
    return Reply(
        said,
        private=True,
    )


def _spelled_out(when: datetime, zone: ZoneInfo) -> str:
    """A meeting's time written out in the reader's language and zone, with the zone's name: the
    time a coordinator just typed, said back so that a misreading shows."""
    if language() == "en":
        return when.astimezone(zone).strftime("%A %d %B %Y at %H:%M") + f" {zone.key}"
    return format_time(when, zone, "F") + f" ({zone.key})"


async def list_meetings(ctx: CommandContext) -> Reply:
    upcoming = await ctx.services.meetings.upcoming(ctx.coalition.id or 0, ctx.now, 15)
    if not upcoming:
        return Reply(
            _('No upcoming meetings. Schedule one with `/meeting schedule "Title" "next tuesday 7pm"`.'), private=True
        )
    lines = [_("**Upcoming meetings**")]
    all_counts = await ctx.services.meetings.answer_counts([o.id or 0 for o, _ in upcoming])
    for occurrence, meeting in upcoming:
        mine = all_counts.get(occurrence.id or 0, {})
        counts = " · ".join(f"{_(label)} {mine.get(a, 0)}" for a, label in ANSWERS.items())  # as on the card
        moved = (
            _(", moved from {when}").format(when=timestamp(occurrence.original_start, "f"))
            if occurrence.start != occurrence.original_start
            else ""
        )
        lines.append(
            f"• #{meeting.id} {timestamp(occurrence.start, 'f')}: {user_text(meeting.title)} ({counts}{moved})"
        )
    lines.append(
        _("A series keeps one number; name one of its dates with `--on`, e.g. `/meeting cancel 2 --on dec 15`.")
    )
    return Reply("\n".join(lines), private=True)


async def show(ctx: CommandContext) -> Reply:
    occurrence, meeting = await _find(ctx)
    card = await ctx.services.meetings.card(meeting, occurrence)
    return Reply(card.text, blocks=card.blocks, private=True)


async def rsvp(ctx: CommandContext) -> Reply:
    occurrence, meeting = await _find(ctx)
    return await _answer(ctx, meeting, occurrence, ctx.args["answer"])


async def rsvp_button(ctx: ActionContext) -> Reply:  # buttons carry the date's own id
    found = await ctx.services.meetings.find(ctx.coalition.id or 0, int(ctx.params["occurrence"]))
    if found is None or ctx.params["answer"] not in ANSWERS:
        return error(_("That meeting no longer exists."))
    return await _answer(ctx, found[1], found[0], ctx.params["answer"])


async def card_view(ctx: ActionContext) -> Reply:
    """The meeting's card as it stands now, for a member who cannot see it change (an email)."""
    found = await ctx.services.meetings.find(ctx.coalition.id or 0, int(ctx.params["occurrence"]))
    if found is None:
        return error(_("That meeting no longer exists."))
    return await ctx.services.meetings.card(found[1], found[0])


async def _answer(
    ctx: CommandContext | ActionContext, meeting: MeetingView, occurrence: OccurrenceView, answer: str
) -> Reply:
    await ctx.services.meetings.rsvp(meeting, occurrence, ctx.me, answer)
    said = _("Recorded: **{answer}** for {title} on {when}.").format(
        answer=_(ANSWERS[answer]), title=user_text(meeting.title), when=timestamp(occurrence.start)
    )
    if RsvpAnswer(answer).coming:
        said += " " + _("You'll get a reminder before it starts.")
    return Reply(said, private=True)


async def cancel(ctx: CommandContext) -> Reply:
    occurrence, meeting = await _find(ctx)
    ctx.require_creator(meeting.created_by, _("cancel meeting #{id}").format(id=meeting.id))
    if occurrence.cancelled:
        return error(_("Meeting {meeting} is already cancelled.").format(meeting=_which(meeting, occurrence)))
    series = bool(ctx.args["series"])
    if series and not meeting.rrule:
        series = False
    count = await ctx.services.meetings.cancel(meeting, occurrence, series)
    ctx.audit_note = (_("meeting {meeting} and the rest of its series") if series else _("meeting {meeting}")).format(
        meeting=_which(meeting, occurrence)
    )
    what = (
        _("the rest of the series")
        if series
        else _("#{id} on {when}").format(id=meeting.id, when=timestamp(occurrence.start))
    )
    return Reply(
        _("Cancelled {title}: {what} ({count}). Those who said they'd come are told.").format(
            title=user_text(meeting.title), what=what, count=ngettext("{n} date", "{n} dates", count).format(n=count)
        )
    )


async def edit(ctx: CommandContext) -> Reply:
    occurrence, meeting = await _find(ctx)
    ctx.require_creator(meeting.created_by, _("change meeting #{id}").format(id=meeting.id))
    when, title, where, agenda = ctx.args["when"], ctx.args["title"], ctx.args["where"], ctx.args["agenda"]
    if when is None and title is None and where is None and agenda is None:
        return error(_("Say what to change: --when, --title, --where or --agenda."), ctx.usage)
    series = bool(ctx.args["series"]) and meeting.rrule is not None
    changes = []
    if title is not None or where is not None or agenda is not None:
        await ctx.services.meetings.update_details(meeting, occurrence, title, where, agenda)
        changes += [name for name, v in (("title", title), ("place", where), ("agenda", agenda)) if v is not None]
    if when is not None:
        await ctx.services.meetings.move(meeting, occurrence, when, series)
        changes.append(
            _("time, now {time}").format(time=_spelled_out(when, ctx.zone))
            + (_(" for this and later meetings") if series else "")
        )
    ctx.audit_note = _("meeting {meeting}: {changes}").format(
        meeting=_which(meeting, occurrence), changes=", ".join(c.split(",")[0] for c in changes)
    )
    return Reply(
        _("Changed {title} ({meeting}): {changes}. Reminders follow the new time.").format(
            title=user_text(meeting.title), meeting=_which(meeting, occurrence), changes=", ".join(changes)
        )
    )


async def agenda(ctx: CommandContext) -> Reply:
    occurrence, meeting = await _find(ctx)
    if ctx.args["action"] == "add":
        if ctx.args["item"] is None:
            return error(_("Give the item to add, in quotes."), ctx.usage)
        count = await ctx.services.meetings.add_agenda_item(meeting, occurrence, ctx.args["item"])
        return Reply(
            _("Added to the agenda of {title}; it has {count}.").format(
                title=user_text(meeting.title), count=ngettext("{n} item", "{n} items", count).format(n=count)
            ),
            private=True,
        )
    text = (
        user_text(meeting.agenda)
        if meeting.agenda
        else _('No agenda yet: add items with `/meeting agenda ID add "item"`.')
    )
    head = _("**Agenda: {title}** (#{id})").format(title=user_text(meeting.title), id=meeting.id)
    return Reply(f"{head}\n{text}", private=True)


async def minutes(ctx: CommandContext) -> Reply:
    occurrence, meeting = await _find(ctx, started=True)
    ctx.require_creator(meeting.created_by, _("record the minutes of meeting #{id}").format(id=meeting.id))
    await ctx.services.meetings.set_minutes(occurrence, ctx.args["text"])
    show = f"/meeting show {meeting.id}" + (
        f" --on {occurrence.start.astimezone(ctx.zone):%Y-%m-%d}" if meeting.rrule else ""
    )
    return Reply(
        _("Minutes saved for {title} ({meeting}); `{show}` shows them.").format(
            title=user_text(meeting.title), meeting=_which(meeting, occurrence), show=show
        )
    )


async def attended(ctx: CommandContext) -> Reply:
    occurrence, meeting = await _find(ctx, started=True)
    if occurrence.start > ctx.now:
        return error(_("Meeting {meeting} has not happened yet.").format(meeting=_which(meeting, occurrence)))
    mentions = ctx.args["members"] or []
    members: Sequence[MemberView] = []
    if mentions:
        listed: list[MemberView] = []
        for mention in mentions:
            member = await ctx.services.coalitions.member_by_mention(ctx.coalition, ctx.actor, mention.user_id)
            if member is None:
                return error(
                    _("{label} has not used the bot yet, so is not a member.").format(label=user_text(mention.label))
                )
            listed.append(member)
        members, source = listed, _("as you listed")
    else:
        members = await ctx.services.meetings.going(occurrence)
        source = _("from the Going answers")
    count = await ctx.services.meetings.record_attendance(occurrence, members)
    ctx.audit_note = _("meeting {meeting}: {count} attended").format(meeting=_which(meeting, occurrence), count=count)
    names = ", ".join(user_text(m.display_name or m.user_id) for m in members) or _("nobody")
    return Reply(
        _("Attendance of {title} ({meeting}) recorded {source}: {names}.").format(
            title=user_text(meeting.title), meeting=_which(meeting, occurrence), source=source, names=names
        ),
        private=True,
    )


async def action(ctx: CommandContext) -> Reply:
    occurrence, meeting = await _find(ctx, started=True)
    mention = ctx.args["owner"]
    owner = await ctx.services.coalitions.member_by_mention(ctx.coalition, ctx.actor, mention.user_id)
    if owner is None:
        return error(
            _("{label} has not used the bot yet, so cannot own an action item.").format(label=user_text(mention.label))
        )
    decision = ctx.args.get("decision")
    if decision is not None and await ctx.services.decisions.find(ctx.coalition.id or 0, decision) is None:
        return error(_("There is no proposal #{id}. `/decision list` shows them.").format(id=decision), ctx.usage)
    item = await ctx.services.meetings.add_action(
        meeting, occurrence, ctx.args["task"], owner, ctx.args["due"], ctx.me, decision_id=decision
    )
    return Reply(
        _("Action #{id} for {owner}, due {due}: {text}. They'll be reminded 24 hours and 1 hour before.").format(
            id=item.id,
            owner=user_text(owner.display_name or owner.user_id),
            due=timestamp(item.due_at),
            text=user_text(item.text),
        )
    )


async def actions(ctx: CommandContext) -> Reply:
    which = ctx.args["which"]
    owner = ctx.me.id if which == "mine" else None
    rows = await ctx.services.meetings.open_action_items(ctx.coalition.id or 0, owner)
    if which == "overdue":
        rows = [(i, m) for i, m in rows if i.due_at < ctx.now]
    if not rows:
        return Reply(
            {
                "mine": _("No open action items for you."),
                "overdue": _("No overdue action items."),
            }.get(which, _("No open action items.")),
            private=True,
        )
    heading = {"mine": _("**Action items (mine)**"), "overdue": _("**Action items (overdue)**")}
    lines = [heading.get(which, _("**Action items (open)**"))]
    for item, member in rows:
        late = _(" ⚠️ overdue") if item.due_at < ctx.now else ""
        who = user_text(member.display_name or member.user_id) if member else _("a former member")
        due = _("due {when}").format(when=timestamp(item.due_at, "f"))
        lines.append(f"• #{item.id} {user_text(item.text)}: {who}, {due}{late}")
    return Reply("\n".join(lines), private=True)


async def done(ctx: CommandContext) -> Reply:
    item = await ctx.services.meetings.action_item(ctx.coalition.id or 0, ctx.args["action"])
    if item is None:
        return error(
            _("There is no action item #{item}. `/meeting actions open` lists them.").format(item=ctx.args["action"])
        )
    if item.done_at is not None:
        return error(_("Action #{id} is already done.").format(id=item.id))
    if item.owner_id != ctx.me.id and ctx.me.role != Role.COORDINATOR:
        return error(_("Only the action's owner or a coordinator can mark it done."))
    await ctx.services.meetings.complete_action(item)
    return Reply(
        _("Action #{id} is done: {text}. Its reminders are withdrawn.").format(id=item.id, text=user_text(item.text)),
        private=True,
    )


def describe_minutes(minutes: Sequence[int] | None) -> str:
    """Lead times as a member reads them, in their language ("1 día, 1 hora")."""
    return ", ".join(spoken_duration(d) for d in lead_times(minutes))


async def reminders(ctx: CommandContext) -> Reply:
    mine, everyone, nudge = ctx.args["mine"], ctx.args["coalition"], ctx.args["nudge"]
    coalition = ctx.coalition
    try:
        await ctx.services.meetings.set_reminders(coalition, ctx.me, mine=mine, everyone=everyone, nudge=nudge)
    except MeetingProblem as exc:
        return error(str(exc), ctx.usage)
    if everyone is not None or nudge is not None:
        lead = describe_minutes(coalition.reminder_minutes) or _("off")
        nudging = describe_minutes([coalition.nudge_minutes]) if coalition.nudge_minutes else _("off")
        ctx.audit_note = _("reminders {lead}, asking those who have not answered {nudge}").format(
            lead=lead, nudge=nudging
        )
    own = ctx.me.reminder_minutes
    yours = _("the coalition's") if own is None else describe_minutes(own) or _("off")
    nudging = (
        _("{duration} before").format(duration=spoken_duration(timedelta(minutes=coalition.nudge_minutes)))
        if coalition.nudge_minutes
        else _("off")
    )
    return Reply(
        _(
            "Meeting reminders for the coalition: {lead} before (in the channels, and "
            "privately to those going or maybe).\nYours: {yours}.\nAsking those who have not "
            "answered: {nudging}. Settings apply to meetings scheduled or moved from now on."
        ).format(lead=describe_minutes(coalition.reminder_minutes) or _("off"), yours=yours, nudging=nudging),
        private=True,
    )


async def ics(ctx: CommandContext) -> Reply:
    if ctx.args["id"] is not None:
        meetings = [(await _find(ctx))[1]]
    else:
        upcoming = await ctx.services.meetings.upcoming(ctx.coalition.id or 0, ctx.now, 200)
        meetings = list({m.id: m for _, m in upcoming}.values())
        if not meetings:
            return error(_("There are no upcoming meetings to export."))
    data = await ctx.services.meetings.ics(meetings)
    return Reply(
        _("Calendar file with {meetings}: open it, or import it into Google Calendar or Outlook.").format(
            meetings=ngettext("{n} meeting", "{n} meetings", len(meetings)).format(n=len(meetings))
        ),
        private=True,
        attachments=(Attachment("coalition-meetings.ics", data, "text/calendar"),),
    )


SUBSCRIBE = N_(
    "Subscribe in Google Calendar: Other calendars, +, From URL, and paste the https "
    "address. Outlook: Add calendar, Subscribe from web. Apple Calendar: open the "
    "webcal address. Google and Outlook fetch subscribed calendars every few hours "
    "(Google can take up to a day), so a change shows there late; `/meeting ics` "
    "gives a file at once."
)


async def feed(ctx: CommandContext) -> Reply:
    """A member's own feed (their answers included), or with --public the coalition's."""
    action, public = ctx.args["action"], bool(ctx.args["public"])
    feeds = ctx.services.feeds
    if ctx.services.public_base is None:
        return error(
            _(
                "Calendar feeds need the bot's web server, which is not running: whoever runs "
                "the bot sets HTTP_PORT, and PUBLIC_BASE_URL to the address members reach it at "
                '(README, "Calendar feeds").'
            )
        )
    if public:
        ctx.audit_note = {
            "off": _("public calendar feed taken down"),
            "reset": _("public calendar feed at a new address"),
        }.get(action, _("public calendar feed shown"))
        if action == "off":
            await feeds.unpublish(ctx.coalition)
            return Reply(_("The public calendar feed is taken down: its address no longer opens."))
        await feeds.publish(ctx.coalition, new_address=action == "reset")
        token = feeds.public_token(ctx.coalition)
        whose = _("The coalition's public calendar feed (its meetings, without anyone's answers), for anyone")
    else:
        if action in ("reset", "off"):
            await feeds.reset(ctx.me)
        if action == "off":
            return Reply(
                _(
                    "Your calendar feed is turned off: its address no longer opens. `/meeting feed` "
                    "gives you a new one."
                ),
                private=True,
            )
        token = feeds.member_token(ctx.me)
        whose = _(
            "Your own calendar feed, with your answers: keep the address to yourself "
            "(`/meeting feed reset` replaces it if it got out)"
        )
    assert token is not None
    https = ctx.services.public_url(FEED_PATH.format(token=token)) or ""
    webcal = "webcal://" + https.split("://", 1)[1]
    return Reply(f"{whose}:\n{https}\n{webcal}\n{_(SUBSCRIBE)}", private=True)


async def upcoming_for_me(ctx: CommandContext) -> list[Block]:
    """Home section: the next meetings, with this member's answer and buttons to change it."""
    upcoming = await ctx.services.meetings.upcoming(ctx.coalition.id or 0, ctx.now, 5)
    if not upcoming:
        return [Section(_("**Meetings**\nNo upcoming meetings."))]
    blocks: list[Block] = [Section(_("**Your upcoming meetings**"))]
    for occurrence, meeting in upcoming:
        mine = await ctx.services.meetings.answer_of(occurrence, ctx.me)
        answer = _("you said {answer}").format(answer=_(ANSWERS[mine])) if mine else _("you have not answered")
        blocks.append(Section(f"#{meeting.id} {timestamp(occurrence.start)}: {user_text(meeting.title)} ({answer})"))
        blocks.append(
            Actions(
                tuple(
                    Button(label, action_id("meeting", "rsvp", occurrence.id or 0, a)) for a, label in ANSWERS.items()
                )
            )
        )
    return blocks


async def complete_meeting(ctx: CommandContext, typed: str) -> list[tuple[str, str]]:
    upcoming = await ctx.services.meetings.upcoming(ctx.coalition.id or 0, ctx.now, 50)

    def label(occurrence: OccurrenceView, meeting: MeetingView) -> str:
        when = format_time(occurrence.start, ctx.zone, "f")
        when = _("next {when}").format(when=when) if meeting.rrule else when
        return f"{meeting.title} ({when})"

    return suggestions(typed, ((m.id, m.title, label(o, m)) for o, m in upcoming))


_ID = id_option(N_("the meeting's number (from /meeting list); a series has one"), complete="meeting")
_ON = OptionSpec("on", OptionType.DATE, N_("which date of a series (default: the next one)"))

MEETING = CommandSpec(
    name="meeting",
    description=N_("Schedule meetings, answer RSVPs, get reminders and calendar files"),
    subcommands=(
        CommandSpec(
            name="schedule",
            description=N_("Schedule a meeting (or a series) and announce it here"),
            options=(
                OptionSpec("title", OptionType.STRING, N_("what the meeting is"), required=True, positional=True),
                OptionSpec("when", OptionType.DATETIME, N_("when it starts"), required=True, positional=True),
                OptionSpec("duration", OptionType.DURATION, N_("how long (default 1h)")),
                OptionSpec("where", OptionType.STRING, N_("a place or a video link"), max_length=300),
                OptionSpec("agenda", OptionType.TEXT, N_("the agenda"), max_length=1500),
                OptionSpec(
                    "every", OptionType.STRING, N_("repeat: weekly, 2weeks, monthly, or an RRULE"), max_length=200
                ),
                OptionSpec(
                    "also",
                    OptionType.TAGS,
                    N_("announce here and also in channels with these tags (or: all)"),
                    formerly="to",
                ),
                OptionSpec("private", OptionType.BOOL, N_("keep it off the coalition's public page"), default=False),
                *second_language_options(parts=True),
            ),
            permission=Permission.PARTICIPANT,
            scope=Scope.CHANNEL,
            handler=schedule,
            rate_limit=RateLimit(10, timedelta(hours=1)),
            modal=True,
            submit_label=N_("Schedule"),
            examples=(
                N_('/meeting schedule "Community safety walk" "next tuesday 7pm" --where "Library steps"'),
                N_('/meeting schedule "Coalition meeting" "2026-12-01 18:30" --every monthly --also all'),
            ),
            notes=(
                N_(
                    "Reminders go out before each meeting (`/meeting reminders`). A reminder more than {hours} "
                    "hours late, because the bot was down, is skipped rather than sent late."
                ),
            ),
        ),
        CommandSpec(
            name="list",
            description=N_("Upcoming meetings with RSVP counts"),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=list_meetings,
        ),
        CommandSpec(
            name="show",
            description=N_("One meeting in full"),
            options=(_ID, _ON),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=show,
        ),
        CommandSpec(
            name="rsvp",
            description=N_("Answer going, maybe or no"),
            options=(
                _ID,
                _ON,
                OptionSpec(
                    "answer",
                    OptionType.CHOICE,
                    N_("your answer"),
                    required=True,
                    positional=True,
                    choices=tuple(ANSWERS),
                    synonyms=(("yes", "going"), ("y", "going"), ("attending", "going"), ("perhaps", "maybe")),
                    aliases=(
                        ("voy", "going"),
                        ("sí", "going"),
                        ("si", "going"),
                        ("quizás", "maybe"),
                        ("quizas", "maybe"),
                    ),
                ),
            ),
            permission=Permission.PARTICIPANT,
            scope=Scope.COALITION,
            handler=rsvp,
            examples=(N_("/meeting rsvp 12 going"),),
        ),
        CommandSpec(
            name="cancel",
            description=N_("Cancel one meeting, or with --series the rest of its series"),
            options=(
                _ID,
                _ON,
                OptionSpec("series", OptionType.BOOL, N_("cancel this and every later one"), default=False),
            ),
            permission=Permission.CREATOR,
            scope=Scope.COALITION,
            handler=cancel,
        ),
        CommandSpec(
            name="edit",
            description=N_("Move a meeting, or change its title, place or agenda"),
            options=(
                _ID,
                _ON,
                OptionSpec("when", OptionType.DATETIME, N_("the new time")),
                OptionSpec("title", OptionType.STRING, N_("a new title")),
                OptionSpec("where", OptionType.STRING, N_("a new place or video link"), max_length=300),
                OptionSpec("agenda", OptionType.TEXT, N_("a new agenda"), max_length=1500),
                OptionSpec("series", OptionType.BOOL, N_("move this and every later one"), default=False),
            ),
            permission=Permission.CREATOR,
            scope=Scope.COALITION,
            handler=edit,
            audited=True,
            examples=(
                N_('/meeting edit 12 --when "wednesday 6pm"'),
                N_('/meeting edit 12 --when "thursday 7pm" --series'),
            ),
        ),
        CommandSpec(
            name="agenda",
            description=N_("Show a meeting's agenda, or add an item to it"),
            options=(
                _ID,
                OptionSpec(
                    "action", OptionType.CHOICE, N_("add"), positional=True, choices=("add", "show"), default="show"
                ),
                OptionSpec("item", OptionType.STRING, N_("the item to add"), positional=True, max_length=200),
            ),
            permission=Permission.PARTICIPANT,
            scope=Scope.COALITION,
            handler=agenda,
            examples=(N_('/meeting agenda 12 add "Budget for the youth program"'), N_("/meeting agenda 12")),
        ),
        CommandSpec(
            name="minutes",
            description=N_("Record a meeting's minutes (text or a link)"),
            options=(
                _ID,
                OptionSpec("text", OptionType.TEXT, N_("the minutes or a link"), required=True, positional=True),
                _ON,
            ),
            permission=Permission.CREATOR,
            scope=Scope.COALITION,
            handler=minutes,
        ),
        CommandSpec(
            name="attended",
            description=N_("Record who attended (default: those who answered Going)"),
            options=(
                _ID,
                _ON,
                OptionSpec(
                    "members", OptionType.USER, N_("who was there"), positional=True, multiple=True, max_count=100
                ),
            ),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=attended,
            examples=(N_("/meeting attended 12"), N_("/meeting attended 12 @maria @jamal")),
        ),
        CommandSpec(
            name="action",
            description=N_("Record an action item from a meeting, with an owner and a due date"),
            options=(
                _ID,
                _ON,
                OptionSpec(
                    "task", OptionType.STRING, N_("what is to be done"), required=True, positional=True, max_length=300
                ),
                OptionSpec("owner", OptionType.USER, N_("who will do it"), required=True, positional=True),
                OptionSpec("due", OptionType.DATETIME, N_("when it is due"), required=True),
                OptionSpec("decision", OptionType.INT, N_("the decision it carries out (its number)"), min_value=1),
            ),
            permission=Permission.PARTICIPANT,
            scope=Scope.COALITION,
            handler=action,
            examples=(N_('/meeting action 12 "Ask the city about lighting" @maria --due "next friday 5pm"'),),
        ),
        CommandSpec(
            name="actions",
            description=N_("Action items: mine, open or overdue"),
            options=(
                OptionSpec(
                    "which",
                    OptionType.CHOICE,
                    N_("mine, open or overdue"),
                    positional=True,
                    choices=("mine", "open", "overdue"),
                    default="mine",
                ),
            ),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=actions,
        ),
        CommandSpec(
            name="done",
            description=N_("Mark an action item done"),
            options=(
                OptionSpec(
                    "action", OptionType.INT, N_("the action's number"), required=True, positional=True, min_value=1
                ),
            ),
            permission=Permission.PARTICIPANT,
            scope=Scope.COALITION,
            handler=done,
        ),
        CommandSpec(
            name="reminders",
            description=N_("Reminder lead times: yours (or off), the coalition's, and the nudge"),
            options=(
                OptionSpec(
                    "mine", OptionType.STRING, N_("your lead times: e.g. 2h,15m, or off, or default"), max_length=40
                ),
                OptionSpec(
                    "coalition",
                    OptionType.STRING,
                    N_("coordinators: the coalition's, e.g. 24h,1h"),
                    max_length=40,
                    coordinators_only=True,
                ),
                OptionSpec(
                    "nudge",
                    OptionType.STRING,
                    N_("coordinators: ask non-responders this long before, or off"),
                    max_length=20,
                    coordinators_only=True,
                ),
            ),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=reminders,
            audited=False,
            examples=(N_("/meeting reminders --mine 2h"), N_("/meeting reminders --coalition 48h,1h --nudge 72h")),
        ),
        CommandSpec(
            name="ics",
            description=N_("A calendar file (.ics) of one meeting's series, or all upcoming"),
            options=(OptionSpec("id", OptionType.INT, N_("a meeting's number"), positional=True, min_value=1),),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=ics,
        ),
        CommandSpec(
            name="feed",
            description=N_("Your calendar feed address, to subscribe to in Google Calendar, Outlook or Apple Calendar"),
            options=(
                OptionSpec(
                    "action",
                    OptionType.CHOICE,
                    N_("show the address, reset it (the old one stops working), or turn it off"),
                    positional=True,
                    choices=("show", "reset", "off"),
                    default="show",
                ),
                OptionSpec(
                    "public",
                    OptionType.BOOL,
                    N_("the coalition's public feed (meetings without anyone's answers)"),
                    default=False,
                    coordinators_only=True,
                ),
            ),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=feed,
            notes=(
                N_(
                    "Google Calendar and Outlook fetch a subscribed calendar every few hours (Google can take up to "
                    "a day); `/meeting ics` gives a file at once."
                ),
            ),
        ),
    ),
)

CARD = ActionSpec("meeting:card", card_view, Permission.MEMBER, params=("occurrence",), read_only=True)
RSVP = ActionSpec(
    "meeting:rsvp",
    rsvp_button,
    Permission.PARTICIPANT,
    scope=Scope.COALITION,
    params=("occurrence", "answer"),
    words=("answer",),
    batched=True,
)
