"""`/poll`: polls and open forums (single, multiple, ranked and scheduling polls), and the ballot
buttons and menus on a poll's card."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot import poll_cards as cards
from bot.i18n import N_, _, language, ngettext
from bot.markup import timestamp, user_text
from bot.permissions import Permission
from bot.poll_cards import MAX_OPTION, STEP
from bot.replies import Attachment, Block, Reply, Section, error
from bot.services.coalitions import TargetProblem
from bot.services.governance import RateLimit
from bot.services.polls import MAX_OPTIONS, MAX_QUESTION, MIN_OPTIONS, PollKind, PollProblem, fold
from bot.templates_surveys import TEMPLATES, template
from bot.text import small_number
from bot.views import PollView
from commands.context import ActionContext, CommandContext
from commands.errors import CommandError
from commands.languages_content import second_given, second_language_options, second_parts
from commands.numbered import id_option, suggestions
from commands.spec import ActionSpec, CommandSpec, OptionSpec, OptionType, Scope

ANONYMITY_NOTE = N_("Your vote is anonymous: nobody, coordinators included, can see who voted what.")


async def _find(ctx: CommandContext | ActionContext, poll_id: int) -> PollView:
    poll = await ctx.services.polls.find(ctx.coalition.id or 0, poll_id)
    if poll is None:
        raise CommandError(
            _("There is no poll #{poll_id}. `/poll list` shows the open and recent ones.").format(poll_id=poll_id)
        )
    return poll


async def _post(
    ctx: CommandContext, kind: str, question: str, options: list[str], second: tuple[str, list[str]] | None = None
) -> Reply:
    """Post it; `second`, a version in the other language made by the bot (a template's)."""
    assert ctx.channel is not None
    try:
        given = second_given(ctx)
    except CommandError as exc:
        return error(exc.message, ctx.usage)
    second = second or second_parts(given)
    try:
        channels = await ctx.services.coalitions.targets(ctx.coalition, ctx.channel, ctx.args["also"] or [])
        poll = await ctx.services.polls.create(
            ctx.coalition.id or 0,
            ctx.me,
            kind,
            question,
            options,
            channels=channels,
            zone=ctx.zone,
            max_choices=ctx.args.get("max"),
            anonymous=bool(ctx.args.get("anonymous")),
            hidden=bool(ctx.args.get("hidden")),
            live=bool(ctx.args.get("live")),
            allow_change=bool(ctx.args.get("change", True)),
            eligible=ctx.args["who"] or [],
            closes_at=ctx.args["closes"],
            public=bool(ctx.args.get("public")),
            second=second,
            open_options=bool(ctx.args.get("open")),
            every=ctx.args.get("every"),
        )
    except (PollProblem, TargetProblem) as exc:
        return error(str(exc), ctx.usage)
    spread = ngettext("{count} channel", "{count} channels", len(channels)).format(count=len(channels))
    ctx.audit_note = (_("survey #{id} in {channels}") if poll.kind.is_survey else _("poll #{id} in {channels}")).format(
        id=poll.id, channels=spread
    )
    closes = (
        _("; it closes {closes_at}").format(closes_at=timestamp(poll.closes_at))
        if poll.closes_at
        else _("; close it with `/poll close`")
    )
    where = _("this channel") if len(channels) == 1 else _("{n} channels").format(n=len(channels))
    if poll.kind.is_survey:
        posted = _("Survey #{id} is being posted in {where}{closes}. `/poll results {id}` shows the count.")
    else:
        posted = _("Poll #{id} is being posted in {where}{closes}. `/poll results {id}` shows the count.")
    return Reply(
        posted.format(id=poll.id, where=where, closes=closes),
        private=True,
    )


async def create(ctx: CommandContext) -> Reply:
    return await _post(ctx, ctx.args["kind"], ctx.args["question"], ctx.args["options"])


async def when(ctx: CommandContext) -> Reply:
    slots: list[datetime] = ctx.args["slots"]
    if len(set(slots)) != len(slots):
        return error(_("Two of the times are the same; each time must be different."), ctx.usage)
    return await _post(ctx, PollKind.WHEN, ctx.args["title"], [s.isoformat() for s in sorted(slots)])


def _parse_choices(poll_labels: Sequence[str], typed: list[str], kind: PollKind) -> list[int]:
    chosen = []
    folded = [fold(label) for label in poll_labels]
    for word in typed:
        number = small_number(word)
        if number is not None and 1 <= number <= len(poll_labels):
            chosen.append(number - 1)
        elif not kind.dates and fold(word) in folded:
            chosen.append(folded.index(fold(word)))
        else:
            raise CommandError(
                _("'{word}' is not one of the options: give numbers from 1 to {poll_labels}.").format(
                    word=word, poll_labels=len(poll_labels)
                )
            )
    return chosen


async def vote(ctx: CommandContext) -> Reply:
    poll = await _find(ctx, ctx.args["id"])
    if poll.kind.is_survey:
        return error(
            _("#{id} is a survey: answer it with `/poll respond {id}` and a number from 1 to 5 per question.").format(
                id=poll.id
            )
        )
    labels = poll.option_list
    choices = _parse_choices(labels, ctx.args["choices"], poll.kind)
    return await _record(ctx, poll, choices)


async def _record(ctx: CommandContext | ActionContext, poll: PollView, choices: list[int]) -> Reply:
    polls = ctx.services.polls
    recorded = await polls.vote(poll, ctx.me, choices)
    return _recorded(ctx, poll, recorded)


def _recorded(ctx: CommandContext | ActionContext, poll: PollView, recorded: list[int]) -> Reply:
    if poll.kind.ranked:
        shown = ", ".join(f"{n}. {cards.label(poll, c)}" for n, c in enumerate(recorded, 1))
        what = _("your ranking is {ranking}").format(ranking=shown)
    else:
        what = _(" and ").join(f"**{cards.label(poll, c)}**" for c in recorded)
    lines = [_("✅ Recorded in poll #{id}: {what}.").format(id=poll.id, what=what)]
    if poll.anonymous:
        lines.append(_(ANONYMITY_NOTE))
    if poll.allow_change:
        lines.append(_("You can change it until the poll closes."))
    if poll.hidden:
        lines.append(_("Results are shown when the poll closes."))
    return Reply(" ".join(lines), private=True)


async def show(ctx: CommandContext) -> Reply:
    poll = await _find(ctx, ctx.args["id"])
    card = await ctx.services.polls.card(poll)
    if poll.kind.is_survey:
        polls = ctx.services.polls
        mine = await polls.surveys.answers_of(poll, await polls.voter_key(poll, ctx.me), await polls.keys_of(poll))
        shown = ",".join(str(a) if a else "-" for a in mine) if mine else ""
        note = _("Your answers: {shown}.").format(shown=shown) if mine else _("You have not answered yet.")
        return Reply(f"{card.text}\n{note}", blocks=(*card.blocks, Section(note)), private=True)
    mine = await ctx.services.polls.ballot_of(poll, ctx.me)
    labels = ", ".join(cards.label(poll, c) for c in mine) if mine else _("you have not voted")
    note = _("Your vote: {labels}.").format(labels=labels)
    return Reply(f"{card.text}\n{note}", blocks=(*card.blocks, Section(note)), private=True)


async def results(ctx: CommandContext) -> Reply:
    poll = await _find(ctx, ctx.args["id"])
    polls = ctx.services.polls
    if not cards.shows_results(poll):
        closes = f" ({timestamp(poll.closes_at)})" if poll.closes_at else ""
        if poll.kind.is_survey:
            hidden = _("Survey #{id} keeps its results hidden until it closes{closes}, for everyone alike.")
        else:
            hidden = _("Poll #{id} keeps its results hidden until it closes{closes}, for everyone alike.")
        return error(hidden.format(id=poll.id, closes=closes))
    if poll.kind.is_survey:
        survey = await polls.surveys.results(poll, await polls.keys_of(poll))
        status = _("open") if poll.status == "open" else _("closed")
        head = _("**Survey: {title}** (#{id}, {status})").format(
            title=user_text(poll.question), id=poll.id, status=status
        )
        lines = [head, *cards.survey_lines(survey)]
        return Reply("\n".join(lines), private=True)
    counted = await polls.shown_results(poll)
    status = _("open") if poll.status == "open" else _("closed")
    head = _("**{question}** (poll #{id}, {status})").format(
        question=user_text(poll.question), id=poll.id, status=status
    )
    if counted is None:
        return Reply(f"{head}\n{cards.too_few(poll)}", private=True)
    voters = ngettext("{count} voter", "{count} voters", counted.voters).format(count=counted.voters)
    if poll.anonymous and poll.status == "open":
        voters += " " + _("at the last update (every {step} new voters)").format(step=STEP)
    lines = [head, voters + "."]
    lines += cards.result_lines(poll, counted)
    if poll.kind.ranked and counted.voters:
        lines += cards.rounds_lines(poll, counted)
    if counted.winners:
        names = [f"**{cards.label(poll, w)}**" for w in counted.winners]
        who = (
            names[0]
            if len(names) == 1
            else _("a tie between {options} and {last}").format(options=", ".join(names[:-1]), last=names[-1])
        )
    else:
        who = _("no votes were cast")
    lead = _("Result: {who}.") if poll.status == "closed" else _("Leading so far: {who}.")
    lines.append(lead.format(who=who))
    return Reply("\n".join(lines), private=True)


async def list_polls(ctx: CommandContext) -> Reply:
    recent = await ctx.services.polls.recent(ctx.coalition.id or 0)
    if not recent:
        return Reply(_('No polls yet. Start one with `/poll create "Question?" "Option A" "Option B"`.'), private=True)
    counts = await ctx.services.polls.shown_voters(recent)
    lines = [_("**Polls**")]
    for poll in recent:
        state = (
            _("closes {when}").format(when=timestamp(poll.closes_at, "R"))
            if poll.status == "open" and poll.closes_at
            else (_("open") if poll.status == "open" else _("closed"))
        )
        flags = " 🔒" if poll.anonymous else ""
        question = poll.question if len(poll.question) <= 80 else poll.question[:77] + "..."
        voters = counts.get(poll.id or 0)
        if voters is not None:
            said = ngettext("{count} voter", "{count} voters", voters).format(count=voters)
        elif poll.status == "open" and poll.hidden:
            said = _("counted at close")
        else:
            said = _("fewer than {step} voters").format(step=STEP)
        lines.append(f"• #{poll.id}{flags} {user_text(question)} ({state}; {said})")
    return Reply("\n".join(lines), private=True)


async def close(ctx: CommandContext) -> Reply:
    poll = await _find(ctx, ctx.args["id"])
    ctx.require_creator(poll.created_by, _("close poll #{id}").format(id=poll.id))
    stopped = bool(ctx.args["series"]) and await ctx.services.polls.stop_series(poll)
    if ctx.args["series"] and not stopped and poll.every is None:
        return error(_("Poll #{id} does not repeat; close it without --series.").format(id=poll.id), ctx.usage)
    closed = await ctx.services.polls.close(poll)
    if not closed and not stopped:
        return error(_("Poll #{id} is already closed.").format(id=poll.id))
    ctx.audit_note = _("poll #{id}").format(id=poll.id) + (_(", no more rounds") if stopped else "")
    said = _("Poll #{id} is closed; the results are being posted where it was asked.") if closed else ""
    if stopped:
        said += (" " if said else "") + _("No more rounds will open.")
    return Reply(said.format(id=poll.id), private=True)


async def add_option(ctx: CommandContext) -> Reply:
    poll = await _find(ctx, ctx.args["id"])
    try:
        number = await ctx.services.polls.add_option(poll, ctx.me, ctx.args["option"])
    except PollProblem as exc:
        return error(str(exc), ctx.usage)
    ctx.audit_note = _("poll #{id}: option {number} added").format(id=poll.id, number=number + 1)
    return Reply(
        _("Option {number} ('{option}') is added to poll #{id}; its card shows it now.").format(
            number=number + 1, option=user_text(poll.option_list[number]), id=poll.id
        ),
        private=True,
    )


async def remove_option(ctx: CommandContext) -> Reply:
    poll = await _find(ctx, ctx.args["id"])
    labels = poll.option_list
    number = ctx.args["option"]
    if not poll.kind.options_can_change:
        return error(_("Options can be removed from polls with options, not from #{id}.").format(id=poll.id))
    try:
        changed, voters = await ctx.services.polls.remove_option(poll, number - 1)
    except PollProblem as exc:
        return error(str(exc), ctx.usage)
    removed = labels[number - 1]
    told = await ctx.services.polls.tell_removed(poll, removed, voters)
    ctx.audit_note = _("poll #{id}: option '{option}' removed").format(id=poll.id, option=removed)
    return Reply(
        ngettext(
            "'{option}' is removed from poll #{id}; {count} vote for it was returned ({told} told privately).",
            "'{option}' is removed from poll #{id}; {count} votes for it were returned ({told} told privately).",
            changed,
        ).format(option=user_text(removed), id=poll.id, count=changed, told=told)
        if not poll.anonymous
        else _("'{option}' is removed from poll #{id}; every member who may vote is told privately ({told}).").format(
            option=user_text(removed), id=poll.id, told=told
        ),
        private=True,
    )


async def public(ctx: CommandContext) -> Reply:
    poll = await _find(ctx, ctx.args["id"])
    if poll.kind.is_survey:
        return error(_("Survey #{id} stays off the public page: surveys are for members only.").format(id=poll.id))
    shown = ctx.args["state"] == "on"
    await ctx.services.polls.set_public(poll, shown)
    ctx.audit_note = (_("poll #{id} on the public page") if shown else _("poll #{id} off the public page")).format(
        id=poll.id
    )
    if shown:
        said = _("Poll #{id} is on the public page (`/coalition page`), its results once it closes.")
    else:
        said = _("Poll #{id} is off the public page.")
    return Reply(said.format(id=poll.id), private=True)


async def remind(ctx: CommandContext) -> Reply:
    poll = await _find(ctx, ctx.args["id"])
    ctx.require_creator(poll.created_by, _("remind members about poll #{id}").format(id=poll.id))
    await ctx.services.polls.remind(poll, ctx.me)
    ctx.audit_note = _("poll #{id}: reminder asked").format(id=poll.id)
    return Reply(
        _(
            "Reminding those who have not voted in poll #{id}, privately; you will be told how many. "
            "Nobody is told who has voted."
        ).format(id=poll.id),
        private=True,
    )


async def export(ctx: CommandContext) -> Reply:
    poll = await _find(ctx, ctx.args["id"])
    ctx.require_creator(poll.created_by, _("export poll #{id}").format(id=poll.id))
    if not cards.shows_results(poll):
        return error(
            _("Poll #{id} keeps its results hidden until it closes, so it can be exported after that.").format(
                id=poll.id
            )
        )
    files = await ctx.services.polls.export_csv(poll)
    ctx.audit_note = _("poll #{id}").format(id=poll.id)
    rows = _("options and counts") + ("" if poll.anonymous else _(", and one row per voter"))
    return Reply(
        _("Poll #{id} as CSV ({files}, one table each): {rows}.").format(
            id=poll.id, files=ngettext("{n} file", "{n} files", len(files)).format(n=len(files)), rows=rows
        ),
        private=True,
        attachments=tuple(Attachment(name, content, "text/csv") for name, content in files),
    )


async def survey(ctx: CommandContext) -> Reply:
    name = ctx.args["template"]
    if name is None:
        if not ctx.args["title"] or not ctx.args["questions"]:
            return error(_("Give the survey's title and its statements, or --template partnership."), ctx.usage)
        return await _post(ctx, PollKind.SURVEY, ctx.args["title"], ctx.args["questions"])
    if ctx.args["questions"]:
        return error(_("A template brings its own statements; give a title at most."), ctx.usage)
    (title, statements), (other, (other_title, other_statements)) = template(name, language())
    if ctx.args["title"]:
        title = other_title = ctx.args["title"]
    return await _post(ctx, PollKind.SURVEY, title, statements, (other, [other_title, *other_statements]))


async def respond(ctx: CommandContext) -> Reply:
    poll = await _find(ctx, ctx.args["id"])
    if not poll.kind.is_survey:
        return error(_("#{id} is a poll, not a survey: vote with `/poll vote {id}`.").format(id=poll.id))
    values = ctx.args["answers"]
    numbers = [small_number(v) for v in values]
    if not all(n is not None and 1 <= n <= 5 for n in numbers):
        return error(_("Give one number from 1 (strongly disagree) to 5 (strongly agree) per question."), ctx.usage)
    return await _answer_survey(ctx, poll, {q: n for q, n in enumerate(numbers) if n is not None})


async def _answer_survey(ctx: CommandContext | ActionContext, poll: PollView, answers: dict[int, int]) -> Reply:
    current = await ctx.services.polls.answer_survey(poll, ctx.me, answers)
    done = sum(1 for a in current if a)
    return Reply(
        _(
            "✅ Recorded: {done} of {questions} of survey #{id} answered. Your answers are "
            "anonymous: nobody, coordinators included, can see who answered what. Results "
            "are shown when it closes."
        ).format(
            done=done,
            questions=ngettext("{n} question", "{n} questions", len(current)).format(n=len(current)),
            id=poll.id,
        ),
        private=True,
    )


async def survey_answer(ctx: ActionContext) -> Reply:
    poll = await _poll_for(ctx)
    if poll is None or not poll.kind.is_survey:
        return error(_("That survey no longer exists."))
    answer = small_number(ctx.value or "")
    if answer is None:
        return error(_("Choose an answer from the menu."))
    return await _answer_survey(ctx, poll, {int(ctx.params["question"]): answer})


# Ballot buttons and menus --------------------------------------------------------------------


async def _poll_for(ctx: ActionContext) -> PollView | None:
    return await ctx.services.polls.find(ctx.coalition.id or 0, int(ctx.params["poll"]))


_GONE = N_("That poll no longer exists.")


async def card_view(ctx: ActionContext) -> Reply:
    """The poll's card as it stands now, for a member who cannot see it change (an email)."""
    poll = await _poll_for(ctx)
    if poll is None:
        return error(_(_GONE))
    return await ctx.services.polls.card(poll)


async def vote_button(ctx: ActionContext) -> Reply:
    poll = await _poll_for(ctx)
    if poll is None:
        return error(_(_GONE))
    return await _record(ctx, poll, [int(ctx.params["option"])])


async def pick(ctx: ActionContext) -> Reply:
    poll = await _poll_for(ctx)
    if poll is None:
        return error(_(_GONE))
    values = [small_number(v) for v in (ctx.value or "").split(",") if v]
    if not values or None in values:
        return error(_("Choose at least one option from the menu."))
    return await _record(ctx, poll, [v for v in values if v is not None])


async def rank(ctx: ActionContext) -> Reply:
    poll = await _poll_for(ctx)
    if poll is None:
        return error(_(_GONE))
    choice = small_number(ctx.value or "")
    if choice is None:
        return error(_("Choose an option from the menu."))
    recorded = await ctx.services.polls.rank(poll, ctx.me, int(ctx.params["rank"]), choice)
    return _recorded(ctx, poll, recorded)


async def meet(ctx: ActionContext) -> Reply:
    """A scheduling poll's winning time becomes a meeting, announced where the poll was asked."""
    poll = await _poll_for(ctx)
    if poll is None or not poll.kind.dates:
        return error(_(_GONE))
    if poll.meeting_id is not None:
        return error(_("Poll #{id} has already been turned into a meeting.").format(id=poll.id))
    if poll.status != "closed":
        return error(_("Poll #{id} is still open; close it first with `/poll close {id}`.").format(id=poll.id))
    option = int(ctx.params["option"])
    if option >= len(poll.option_list):
        return error(_(_GONE))
    polls = ctx.services.polls
    start = datetime.fromisoformat(poll.option_list[option])
    meeting, occurrence = await ctx.services.meetings.schedule(
        poll.coalition_id,
        ctx.me,
        poll.question,
        start,
        ctx.zone,
        timedelta(hours=1),
        None,
        None,
        None,
        await polls.channels_of(poll),
    )
    await polls.became_meeting(poll, meeting.id or 0)
    await ctx.services.governance.record(
        poll.coalition_id,
        ctx.me,
        "/poll meet",
        f"poll #{poll.id} -> meeting #{occurrence.meeting_id}",
        ctx.where.platform,
    )
    return Reply(
        _(
            "Scheduled **{question}** (meeting #{id}) for {start}; it is being announced "
            "where the poll was asked, with RSVP buttons."
        ).format(question=user_text(poll.question), id=meeting.id, start=timestamp(start)),
        private=True,
    )


# Home and autocomplete -----------------------------------------------------------------------


async def open_for_me(ctx: CommandContext) -> list[Block]:
    """Home section: open polls this member can still vote in, each with its ballot."""
    polls = ctx.services.polls
    waiting = []
    for poll in await ctx.services.polls.recent(ctx.coalition.id or 0, limit=20, open_only=True):
        if not polls.is_eligible(poll, ctx.me):
            continue
        if not await polls.has_answered(poll, ctx.me):
            waiting.append(poll)
    if not waiting:
        return [Section(_("**Polls**\nNo open polls waiting for your vote."))]
    blocks: list[Block] = [Section(_("**Open polls waiting for your vote** ({waiting})").format(waiting=len(waiting)))]
    for poll in waiting[:3]:
        card = await polls.card(poll)
        blocks.extend(card.blocks)
    return blocks


async def complete_poll(ctx: CommandContext, typed: str) -> list[tuple[str, str]]:
    recent = await ctx.services.polls.recent(ctx.coalition.id or 0, limit=50)
    return suggestions(typed, ((p.id, p.question, f"{p.question[:70]} ({p.status})") for p in recent))


_ID = id_option(N_("the poll's number (from /poll list)"), complete="poll")
_COMMON = (
    OptionSpec("anonymous", OptionType.BOOL, N_("anonymous: nobody can see who voted what"), default=False),
    OptionSpec("closes", OptionType.DATETIME, N_("close automatically at this time")),
    OptionSpec(
        "hidden",
        OptionType.BOOL,
        N_("hide results until the poll closes (anonymous polls always do, unless --live)"),
        default=False,
    ),
    OptionSpec("who", OptionType.TAGS, N_("only these roles or sectors may vote (e.g. resident,youth)")),
    OptionSpec("change", OptionType.BOOL, N_("voters may change their vote (on unless turned off)"), default=True),
    OptionSpec("also", OptionType.TAGS, N_("post here and also in channels with these tags (or: all)"), formerly="to"),
    OptionSpec(
        "public",
        OptionType.BOOL,
        N_("show it on the coalition's public page (results once it closes)"),
        default=False,
        coordinators_only=True,
    ),
    OptionSpec(
        "live",
        OptionType.BOOL,
        N_("anonymous polls: show the count while open, in steps of 3 (several accounts can tell votes apart)"),
        default=False,
    ),
    *second_language_options(parts=True),
)
_EVERY = OptionSpec(
    "every",
    OptionType.STRING,
    N_("repeat as a check-in: weekly, 2weeks, monthly, or an RRULE (each round closes before the next)"),
    max_length=200,
)
_LIMIT = RateLimit(10, timedelta(hours=1))

POLL = CommandSpec(
    name="poll",
    description=N_("Ask the coalition: polls (anonymous if you like), ranked choice and scheduling polls"),
    subcommands=(
        CommandSpec(
            name="create",
            description=N_("Post a poll here (and in tagged channels) with 2 to 25 options"),
            options=(
                OptionSpec(
                    "question",
                    OptionType.STRING,
                    N_("the question"),
                    required=True,
                    positional=True,
                    max_length=MAX_QUESTION,
                ),
                OptionSpec(
                    "options",
                    OptionType.STRING,
                    N_("the options"),
                    required=True,
                    positional=True,
                    multiple=True,
                    min_count=MIN_OPTIONS,
                    max_count=MAX_OPTIONS,
                    max_length=MAX_OPTION,
                ),
                OptionSpec(
                    "kind",
                    OptionType.CHOICE,
                    N_("single (default), multiple or ranked choice"),
                    choices=("single", "multiple", "ranked"),
                    default="single",
                ),
                _COMMON[0],
                _COMMON[1],
                OptionSpec("max", OptionType.INT, N_("multiple choice: at most this many"), min_value=1, max_value=25),
                OptionSpec(
                    "open", OptionType.BOOL, N_("an open forum: any member can add an option (up to 25)"), default=False
                ),
                _EVERY,
                *_COMMON[2:],
            ),
            permission=Permission.PARTICIPANT,
            scope=Scope.CHANNEL,
            handler=create,
            rate_limit=_LIMIT,
            audited=False,
            modal=True,
            submit_label=N_("Post poll"),
            examples=(
                N_('/poll create "Where should the next forum be?" Library "Community centre" Online'),
                N_('/poll create "Do you feel safe downtown?" Yes Mostly No --anonymous --closes "friday 5pm"'),
                N_('/poll create "Priorities for 2027" Lighting Youth Housing Transit --kind ranked --hidden'),
            ),
        ),
        CommandSpec(
            name="when",
            description=N_("Find a time: members choose every slot that works, each shown in their own time zone"),
            options=(
                OptionSpec(
                    "title", OptionType.STRING, N_("what to schedule"), required=True, positional=True, max_length=200
                ),
                OptionSpec(
                    "slots",
                    OptionType.DATETIME,
                    N_("the possible times"),
                    required=True,
                    positional=True,
                    multiple=True,
                    min_count=MIN_OPTIONS,
                    max_count=MAX_OPTIONS,
                ),
                *_COMMON,
            ),
            permission=Permission.PARTICIPANT,
            scope=Scope.CHANNEL,
            handler=when,
            rate_limit=_LIMIT,
            audited=False,
            examples=(N_('/poll when "Budget working group" "tue 7pm" "wed 6pm" "thu 12:30" --closes "friday 9am"'),),
        ),
        CommandSpec(
            name="survey",
            description=N_("An anonymous survey of 1 to 10 statements answered 1-5; repeat it to compare rounds"),
            options=(
                OptionSpec("title", OptionType.STRING, N_("the survey's name"), positional=True, max_length=200),
                OptionSpec(
                    "questions",
                    OptionType.STRING,
                    N_("the statements"),
                    positional=True,
                    multiple=True,
                    max_length=MAX_OPTION * 2,
                ),
                OptionSpec(
                    "template",
                    OptionType.CHOICE,
                    N_("a ready set of statements: partnership (trust, communication, shared goals...)"),
                    choices=tuple(TEMPLATES),
                ),
                _COMMON[1],
                _COMMON[3],
                _COMMON[5],
                _EVERY,
                *second_language_options(parts=True),
            ),
            permission=Permission.COORDINATOR,
            scope=Scope.CHANNEL,
            handler=survey,
            rate_limit=_LIMIT,
            examples=(
                N_(
                    '/poll survey "Quarterly check-in" "I trust the coalition" "Meetings are a good use of my time" '
                    '--closes "in 2 weeks" --also all'
                ),
                N_("/poll survey --template partnership --every quarterly --also all"),
            ),
        ),
        CommandSpec(
            name="respond",
            description=N_("Answer a survey by typing: 1 (strongly disagree) to 5 (strongly agree) per question"),
            options=(
                _ID,
                OptionSpec(
                    "answers",
                    OptionType.STRING,
                    N_("your answers"),
                    required=True,
                    positional=True,
                    multiple=True,
                    max_count=10,
                ),
            ),
            permission=Permission.PARTICIPANT,
            scope=Scope.COALITION,
            anonymous=True,
            handler=respond,
            examples=(N_("/poll respond 7 4 5 3"),),
        ),
        CommandSpec(
            name="vote",
            description=N_("Vote by typing: option numbers (or names), in order of preference for ranked polls"),
            options=(
                _ID,
                OptionSpec(
                    "choices",
                    OptionType.STRING,
                    N_("your choices"),
                    required=True,
                    positional=True,
                    multiple=True,
                    max_count=25,
                ),
            ),
            permission=Permission.PARTICIPANT,
            scope=Scope.COALITION,
            anonymous=True,
            handler=vote,
            examples=(N_("/poll vote 3 2"), N_("/poll vote 4 3 1 2")),
        ),
        CommandSpec(
            name="show",
            description=N_("A poll's card, with your own vote"),
            options=(_ID,),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=show,
        ),
        CommandSpec(
            name="results",
            description=N_("The count so far (or the final result), with each round of a ranked poll"),
            options=(_ID,),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=results,
        ),
        CommandSpec(
            name="list",
            description=N_("Open and recent polls"),
            permission=Permission.MEMBER,
            scope=Scope.COALITION,
            handler=list_polls,
        ),
        CommandSpec(
            name="close",
            description=N_("Close a poll now and post the results (its creator or a coordinator)"),
            options=(
                _ID,
                OptionSpec("series", OptionType.BOOL, N_("a repeating poll: open no more rounds"), default=False),
            ),
            permission=Permission.CREATOR,
            scope=Scope.COALITION,
            handler=close,
            audited=True,
        ),
        CommandSpec(
            name="add",
            description=N_("Add an option to an open forum's poll (made with --open)"),
            options=(
                _ID,
                OptionSpec(
                    "option",
                    OptionType.STRING,
                    N_("the new option"),
                    required=True,
                    positional=True,
                    max_length=MAX_OPTION,
                ),
            ),
            permission=Permission.PARTICIPANT,
            scope=Scope.COALITION,
            handler=add_option,
            audited=True,
            rate_limit=_LIMIT,
            modal=True,
            examples=(N_('/poll add 4 "A youth night at the library"'),),
        ),
        CommandSpec(
            name="remove",
            description=N_("Remove an option from a poll; the votes for it are returned to their voters"),
            options=(
                _ID,
                OptionSpec(
                    "option",
                    OptionType.INT,
                    N_("the option's number on the card"),
                    required=True,
                    positional=True,
                    min_value=1,
                    max_value=25,
                ),
            ),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=remove_option,
        ),
        CommandSpec(
            name="public",
            description=N_("Show a poll on the coalition's public page, or take it off"),
            options=(
                _ID,
                OptionSpec(
                    "state", OptionType.CHOICE, N_("on or off"), positional=True, choices=("on", "off"), default="on"
                ),
            ),
            permission=Permission.COORDINATOR,
            scope=Scope.COALITION,
            handler=public,
            examples=(N_("/poll public 3"), N_("/poll public 3 off")),
        ),
        CommandSpec(
            name="remind",
            description=N_("Privately remind those who have not voted (nobody sees who they are)"),
            options=(_ID,),
            permission=Permission.CREATOR,
            scope=Scope.COALITION,
            handler=remind,
            audited=True,
        ),
        CommandSpec(
            name="export",
            description=N_("The results as CSV (per-voter rows only for polls that are not anonymous)"),
            options=(_ID,),
            permission=Permission.CREATOR,
            scope=Scope.COALITION,
            handler=export,
            audited=True,
        ),
    ),
)

ACTIONS = (
    ActionSpec(cards.VOTE.prefix, vote_button, Permission.PARTICIPANT, params=cards.VOTE.params, batched=True),
    ActionSpec(cards.PICK.prefix, pick, Permission.PARTICIPANT, params=cards.PICK.params, batched=True),
    ActionSpec(cards.RANK.prefix, rank, Permission.PARTICIPANT, params=cards.RANK.params, batched=True),
    ActionSpec(cards.MEET.prefix, meet, Permission.COORDINATOR, params=cards.MEET.params),
    ActionSpec(cards.ANSWER.prefix, survey_answer, Permission.PARTICIPANT, params=cards.ANSWER.params, batched=True),
    ActionSpec("poll:card", card_view, Permission.MEMBER, params=("poll",), read_only=True),
)
