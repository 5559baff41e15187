"""How polls and surveys look: their cards, ballots, result lines, and the ids their buttons carry.

Everything here is pure: it draws from a poll row and a count already made, so a card can be tested
without a database and the services decide only what to count and where to post. The action ids
are declared here once (`VOTE`, `PICK`, ...): the cards build them and `commands/poll.py` routes
them with the same names, so the two can never disagree about a button's shape.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.bilingual import shown_language, the_other, version
from bot.i18n import LANGUAGES, _, language, ngettext
from bot.markup import timestamp, user_text
from bot.recurrence import describe as describe_rule
from bot.replies import (
    CARDS,
    MENU_OPTIONS_MAX,
    Actions,
    Block,
    Button,
    Context,
    Reply,
    Section,
    Select,
    SelectOption,
    action_id,
    form_button,
)
from bot.sectors import sector_name
from bot.services.runoff import EARLIER, LOT, TOGETHER, Results, Round
from bot.services.surveys import MAX_MENUS, MIN_GROUP, SCALE, SurveyResults
from bot.suppression import STEP
from bot.views import PollView
from storage.kinds import PollKind

MAX_OPTIONS = MENU_OPTIONS_MAX  # a poll's options fit one menu
MAX_OPTION = CARDS.label  # an option is a button's or a menu option's label
MAX_BUTTONS = 5  # more options than this are offered in a menu
MAX_RANKS = CARDS.menus  # ranked polls offer this many "n-th choice" menus
BAR = 10


@dataclass(frozen=True)
class ActionName:
    """A kind of button: its prefix and the names of the ids after it (`poll:vote:POLL:OPTION`)."""

    prefix: str
    params: tuple[str, ...]

    def id(self, *values: int) -> str:
        assert len(values) == len(self.params), (self.prefix, values)
        return action_id(*self.prefix.split(":"), *values)


VOTE = ActionName("poll:vote", ("poll", "option"))  # a button per option
PICK = ActionName("poll:pick", ("poll",))  # a menu of options (several for multiple-choice polls)
RANK = ActionName("poll:rank", ("poll", "rank"))  # the n-th choice of a ranked poll
MEET = ActionName("poll:meet", ("poll", "option"))  # turn a scheduling poll's winning time into a meeting
ANSWER = ActionName("survey:answer", ("poll", "question"))  # a survey question's 1-5 menu


def question_of(poll: PollView) -> str:
    """The question (a survey's title) in the reader's language, if it was written in it too."""
    return version(poll, "question", poll.question)


def label(poll: PollView, index: int, *, plain: bool = False) -> str:
    """An option as shown: scheduling polls show the time in each viewer's zone, or, where only
    plain text fits (menu labels), in the poll's zone with the zone named."""
    if not poll.kind.dates:
        value = version(poll, "options", poll.option_list)[index]  # in the reader's language, if written in it
        return value if plain else user_text(value)
    value = poll.option_list[index]
    moment = datetime.fromisoformat(value)
    if plain:
        local = moment.astimezone(ZoneInfo(poll.timezone))
        if language() != "en":
            from babel.dates import format_skeleton

            # Day and time as two skeletons every locale has (a joined one is missing in Spanish).
            day = format_skeleton("MMMEd", local, locale=language())
            return f"{day}, {format_skeleton('Hm', local, locale=language())} {local.tzname()}"
        return f"{local:%a %d %b %H:%M} {local.tzname()}"
    return timestamp(moment, "F")


def _voters(n: int) -> str:
    return ngettext("{count} voter", "{count} voters", n).format(count=n)


def _respondents(n: int) -> str:
    return ngettext("{count} respondent", "{count} respondents", n).format(count=n)


def _decimal(value: float) -> str:
    """3.4, or 3,4 where a comma marks decimals."""
    if language() == "en":
        return f"{value:.1f}"
    from babel.numbers import format_decimal

    return format_decimal(round(value, 1), format="0.0", locale=language())


def describe_eligible(poll: PollView) -> str:
    return ", ".join(poll.eligible) or _("every member")


def shows_results(poll: PollView) -> bool:
    return poll.status == "closed" or not poll.hidden


def describe_winner(poll: PollView, results: Results) -> str:
    if not results.winners:
        return _("No votes were cast.")
    names = [f"**{label(poll, w)}**" for w in results.winners]
    if len(names) == 1:
        return _("Winner: {option}.").format(option=names[0])
    return _("Tie between {options} and {last}.").format(options=", ".join(names[:-1]), last=names[-1])


def settings_line(poll: PollView) -> str:
    kind = {
        PollKind.SINGLE: _("One choice"),
        PollKind.MULTIPLE: (
            _("Choose up to {count}").format(count=poll.max_choices) if poll.max_choices else _("Choose any number")
        ),
        PollKind.RANKED: _("Ranked choice (instant runoff)"),
        PollKind.WHEN: _("Scheduling poll: choose every time that works for you"),
    }[poll.kind]
    parts = [kind]
    if poll.anonymous:
        parts.append(_("🔒 anonymous: nobody, coordinators included, can see who voted what"))
    if poll.hidden and poll.status == "open":
        parts.append(_("results shown when it closes"))
    elif poll.anonymous and poll.status == "open":
        parts.append(
            _(
                "live count, in steps of {step}: someone who controls several accounts can still tell votes apart"
            ).format(step=STEP)
        )
    if not poll.allow_change:
        parts.append(_("votes are final"))
    if poll.eligible:
        parts.append(_("for {who}").format(who=user_text(describe_eligible(poll))))
    if poll.every:
        parts.append(_("round {round}, repeats {rule}").format(round=poll.round, rule=describe_rule(poll.every)))
    if poll.open_options and poll.status == "open":
        parts.append(_("open: any member can add an option"))
    return " · ".join(parts)


def too_few(poll: PollView) -> str:
    if poll.status == "closed":
        return _("Fewer than {step} voted, so no count is shown: with so few, it would show how each voted.").format(
            step=STEP
        )
    return _("The count is shown once {step} have voted, then after every {step} new voters.").format(step=STEP)


def result_lines(poll: PollView, results: Results) -> list[str]:
    total = sum(results.counts) or 1
    lines = []
    for i, n in enumerate(results.counts):
        filled = round(BAR * n / total)
        share = round(100 * n / total) if sum(results.counts) else 0
        # The count in words first (what a screen reader says); the bar after it only shows it.
        said = ngettext("{number}. {option}: {count} vote, {share}%", "{number}. {option}: {count} votes, {share}%", n)
        said = said.format(number=i + 1, option=label(poll, i), count=n, share=share)
        lines.append(f"{said} `{'█' * filled}{'░' * (BAR - filled)}`")
    return lines


def rounds_lines(poll: PollView, results: Results) -> list[str]:
    lines = []
    for n, rnd in enumerate(results.rounds, 1):
        counts = ", ".join(f"{label(poll, o)} {c}" for o, c in rnd.counts.items())
        line = _("Round {n}: {counts}").format(n=n, counts=counts)
        if rnd.exhausted:
            line += ngettext(
                "; {count} ballot with no choice left", "; {count} ballots with no choice left", rnd.exhausted
            ).format(count=rnd.exhausted)
        if rnd.eliminated:
            line += _(". Eliminated: {options}").format(options=", ".join(label(poll, o) for o in rnd.eliminated))
        if how := _decided(poll, rnd):
            line += f" ({how})"
        lines.append(line)
    return lines


def _decided(poll: PollView, rnd: Round) -> str:
    """Why this round's eliminated went, when fewest votes alone did not say."""
    names = [label(poll, o) for o in rnd.tied]
    tied = _("{items} and {last}").format(items=", ".join(names[:-1]), last=names[-1]) if len(names) > 1 else ""
    if rnd.decided_by == TOGETHER:
        return _("together: with all their votes they still had fewer than the next option")
    if rnd.decided_by == EARLIER:
        return _("{tied} tied for last; the one with fewer votes in an earlier round went").format(tied=tied)
    if rnd.decided_by == LOT:
        return _("{tied} tied for last and no earlier round separated them; {option} was drawn").format(
            tied=tied, option=label(poll, rnd.eliminated[0])
        )
    if rnd.tied and not rnd.eliminated:
        return _("{tied} tied, and no earlier round separated them").format(tied=tied)
    return ""


def _with_other_language(poll: PollView, blocks: list[Block]) -> list[Block]:
    """A row with the other language's button, for a poll written in two (and room for a row:
    Discord shows at most five)."""
    other = the_other(poll)
    if other is None or sum(isinstance(b, Actions) for b in blocks) >= 5:
        return blocks
    button = Button(LANGUAGES[other], action_id("content", "other", "poll", poll.id or 0))
    return [*blocks, Actions((button,))]


def poll_card(poll: PollView, results: Results | None, now: datetime) -> Reply:
    """The poll as posted in channels: question, settings, tallies (unless hidden) and the ballot.
    `results`: the count members may see, None when too few have voted to show one."""
    assert poll.id is not None
    head = _("📊 **{question}** (poll #{id})").format(question=user_text(question_of(poll)), id=poll.id)
    blocks: list[Block] = [Section(head), Context(settings_line(poll))]
    voters = _voters(results.voters) if results else _("fewer than {step} voters").format(step=STEP)
    if poll.anonymous and poll.hidden and poll.status == "open":
        voters = ""  # not even how many: the count is all shown at close, when it names nobody
    elif results is not None and poll.anonymous and poll.status == "open":
        voters += _(" at the last update (every {step} new voters)").format(step=STEP)
    listed = "\n".join(f"{i + 1}. {label(poll, i)}" for i in range(len(poll.option_list)))
    if shows_results(poll) and results is not None:
        heading = _("First choices") if poll.kind.ranked else _("Votes")
        blocks.append(Section(f"{heading}:\n" + "\n".join(result_lines(poll, results))))
    elif shows_results(poll):
        blocks.append(Section(f"{listed}\n{too_few(poll)}"))
    else:
        blocks.append(Section(listed))
    if poll.status == "closed":
        blocks.append(
            Context(_("{voters} · closed {when}").format(voters=voters, when=timestamp(poll.closed_at or now, "f")))
        )
        if results is not None:
            blocks.append(Section(describe_winner(poll, results)))
    else:
        closes = _(" · closes {when}").format(when=timestamp(poll.closes_at, "R")) if poll.closes_at else ""
        line = f"{voters}{closes}".removeprefix(" · ")
        if line:
            blocks.append(Context(line))
        blocks.append(ballot(poll))
        if poll.open_options and len(poll.option_list) < MAX_OPTIONS:
            adding = _('Add an option: `/poll add {id} "OPTION"` (up to {most}).')
            blocks.append(Context(adding.format(id=poll.id, most=MAX_OPTIONS)))
            if sum(isinstance(b, Actions) for b in blocks) < 5:  # Discord shows at most five rows
                blocks.append(Actions((form_button(_("➕ Add an option"), ("poll", "add"), poll.id),)))
    return replace(_reply(_with_other_language(poll, blocks)), written_in=shown_language(poll))


def survey_card(poll: PollView, respondents: int, rounds: int, now: datetime) -> Reply:
    """`respondents` shows only once the survey closes: a count that moved with every answer let
    anyone who saw who answered when tell one answer from the next."""
    assert poll.id is not None
    questions = version(poll, "options", poll.option_list)
    head = _("📋 **Survey: {title}** (#{id}, round {round})").format(
        title=user_text(question_of(poll)), id=poll.id, round=rounds
    )
    listed = "\n".join(f"{n}. {user_text(q)}" for n, q in enumerate(questions, 1))
    blocks: list[Block] = [Section(f"{head}\n{listed}")]
    if poll.status == "closed":
        blocks.append(
            Context(
                _("{respondents} · closed {when}").format(
                    respondents=_respondents(respondents), when=timestamp(poll.closed_at or now, "f")
                )
            )
        )
    else:
        how = _("Answer each question from 1 (strongly disagree) to 5 (strongly agree)")
        if len(questions) > MAX_MENUS:
            how += _("; questions {first} to {last} with `/poll respond {id} 4 5 3 ...`").format(
                first=MAX_MENUS + 1, last=len(questions), id=poll.id
            )
        closes = _(" · closes {when}").format(when=timestamp(poll.closes_at, "R")) if poll.closes_at else ""
        blocks.append(
            Context(
                _("{how}. 🔒 Anonymous: nobody sees anyone's answers, only totals once it closes{closes}.").format(
                    how=how, closes=closes
                )
            )
        )
        blocks.append(survey_menus(poll))
    return _reply(blocks)


def ballot_card(poll: PollView) -> Reply:
    """The question and the ballot, and no count: what a reminder carries. A stored reminder
    holding the tally of its moment would let a reader of two reminders an hour apart see what
    the members who voted in between chose."""
    assert poll.id is not None
    if poll.kind.is_survey:
        head = _("📋 **Survey: {title}** (#{id})").format(title=user_text(question_of(poll)), id=poll.id)
        listed = "\n".join(f"{n}. {user_text(q)}" for n, q in enumerate(poll.option_list, 1))
        return _reply([Section(f"{head}\n{listed}"), survey_menus(poll)])
    head = _("📊 **{question}** (poll #{id})").format(question=user_text(question_of(poll)), id=poll.id)
    options = "\n".join(f"{i + 1}. {label(poll, i)}" for i in range(len(poll.option_list)))
    return _reply([Section(head), Context(settings_line(poll)), Section(options), ballot(poll)])


@dataclass(frozen=True)
class Change:
    """A repeating poll's round before: its number, and each option's count then (by this round's
    option number; None for an option it did not have)."""

    round: int
    before: dict[int, int | None]


def change_line(poll: PollView, results: Results, change: Change) -> str:
    parts = []
    for n, count in enumerate(results.counts):
        was = change.before.get(n)
        if was is None:
            parts.append(_("{option}: new").format(option=label(poll, n)))
        else:
            parts.append(f"{label(poll, n)} {count - was:+d}")
    return _("Change from round {round}: {changes}").format(round=change.round, changes=", ".join(parts))


def final_poll_results(poll: PollView, results: Results | None, change: Change | None = None) -> Reply:
    """What is posted when a poll closes; a scheduling poll's offers its winning times as meetings."""
    head = _("🏁 **Poll #{id} has closed:** {question}").format(id=poll.id, question=user_text(question_of(poll)))
    if results is None:
        lines = [head, too_few(poll)]
    else:
        lines = [head, _voters(results.voters) + "."]
        lines += result_lines(poll, results)
        if change is not None:
            lines.append(change_line(poll, results, change))
        if poll.kind.ranked and results.voters:
            lines += rounds_lines(poll, results)
        lines.append(describe_winner(poll, results))
    blocks: list[Block] = [Section("\n".join(lines))]
    if poll.kind.dates and results and results.winners and poll.meeting_id is None:
        assert poll.id is not None
        blocks.append(Context(_("A coordinator can turn the winning time into a meeting:")))
        buttons = tuple(
            Button(
                _("Schedule {time}").format(time=label(poll, w, plain=True))[:MAX_OPTION],
                MEET.id(poll.id, w),
                "primary",
            )
            for w in results.winners[:MAX_BUTTONS]
        )
        blocks.append(Actions(buttons))
    return Reply(text="\n".join(lines), blocks=tuple(blocks))


def final_survey_results(poll: PollView, results: SurveyResults) -> Reply:
    head = _("🏁 **Survey #{id} has closed:** {question}").format(id=poll.id, question=user_text(question_of(poll)))
    lines = [head, *survey_lines(results)]
    return Reply(text="\n".join(lines), blocks=(Section("\n".join(lines)),))


def survey_lines(results: SurveyResults) -> list[str]:
    if results.respondents < MIN_GROUP:
        return [
            _(
                "Fewer than {min} respondents; round {round} of this survey. Results are "
                "shown only from {min} respondents on, so that nobody's answers can be "
                "read off them."
            ).format(min=MIN_GROUP, round=results.round)
        ]
    lines = [
        _("{respondents}; round {round} of this survey.").format(
            respondents=_respondents(results.respondents), round=results.round
        )
    ]
    for n, q in enumerate(results.questions, 1):
        if q.answered == 0:
            lines.append(_("{n}. {question}: no answers").format(n=n, question=user_text(q.question)))
            continue
        if q.answered < MIN_GROUP or q.mean is None:
            lines.append(
                _("{n}. {question}: fewer than {min} answers, not shown").format(
                    n=n, question=user_text(q.question), min=MIN_GROUP
                )
            )
            continue
        spread = " ".join(f"{v}:{c}" for v, c in enumerate(q.counts, 1))
        line = _("{n}. {question}: average **{mean}** of 5 ({answered} answers; {spread})").format(
            n=n, question=user_text(q.question), mean=_decimal(q.mean), answered=q.answered, spread=spread
        )
        if q.previous_mean is not None:
            change = q.mean - q.previous_mean
            # A sign a screen reader says ("plus 0.4"), not an arrow it skips or names as a shape.
            sign = "+" if change > 0 else "-" if change < 0 else "±"
            line += _(", {change} on the last round").format(change=f"{sign}{_decimal(abs(change))}")
        if q.by_sector:
            shown = ", ".join(f"{user_text(sector_name(s))} {_decimal(m)}" for s, m in q.by_sector.items())
            line += _("; by sector: ") + shown
        lines.append(line)
    if results.sectors_hidden:
        lines.append(
            _(
                "{sectors} not shown separately: a sector is shown only with at least "
                "{min} respondents, and only while those in no shown sector number none or "
                "at least {min} too, so nobody can be singled out."
            ).format(
                sectors=ngettext("{count} sector", "{count} sectors", results.sectors_hidden).format(
                    count=results.sectors_hidden
                ),
                min=MIN_GROUP,
            )
        )
    return lines


def ballot(poll: PollView) -> Actions:
    """Buttons for a few options, a menu for many, a menu per rank for ranked polls."""
    assert poll.id is not None
    count = len(poll.option_list)
    choices = tuple(SelectOption(f"{i + 1}. {label(poll, i, plain=True)}"[:MAX_OPTION], str(i)) for i in range(count))
    if poll.kind.ranked:
        ordinal = (_("1st choice"), _("2nd choice"), _("3rd choice"), _("4th choice"), _("5th choice"))
        return Actions(tuple(Select(ordinal[r], RANK.id(poll.id, r), choices) for r in range(min(count, MAX_RANKS))))
    if poll.kind.several_choices:
        limit = poll.max_choices or count
        return Actions((Select(_("Choose up to {limit}").format(limit=limit), PICK.id(poll.id), choices, limit),))
    if count <= MAX_BUTTONS:
        return Actions(
            tuple(Button(label(poll, i, plain=True)[:MAX_OPTION], VOTE.id(poll.id, i)) for i in range(count))
        )
    return Actions((Select(_("Choose one"), PICK.id(poll.id), choices),))


def survey_menus(poll: PollView) -> Actions:
    assert poll.id is not None
    questions = poll.option_list
    scale = tuple(SelectOption(f"{n} {_(name)}", str(n)) for n, name in enumerate(SCALE, 1))
    return Actions(
        tuple(
            Select(f"{q + 1}. {questions[q]}"[:150], ANSWER.id(poll.id, q), scale)
            for q in range(min(len(questions), MAX_MENUS))
        )
    )


def _reply(blocks: list[Block]) -> Reply:
    text = "\n".join(b.text for b in blocks if isinstance(b, (Section, Context)))
    return Reply(text=text, blocks=tuple(blocks))
