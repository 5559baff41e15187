"""Surveys: Likert-scale questions (1 strongly disagree .. 5 strongly agree), always anonymous, results
only once closed, compared with the previous round of the same survey and shown per sector where a
sector has at least MIN_GROUP respondents, so that nobody can be singled out.

A survey is a poll of kind `survey` whose options are its questions; rounds are surveys with the
same title, in the order they were asked.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass

from bot.clock import Clock
from bot.i18n import N_, _
from bot.problems import Problem
from bot.replies import CARDS, Reply
from bot.sealing import SURVEY_PAD, PollKeys
from bot.spreadsheets import cell, table
from bot.suppression import shown_groups
from bot.views import PollView
from storage import Repositories
from storage.models import Member, Poll, SurveyResponse

SCALE = (N_("Strongly disagree"), N_("Disagree"), N_("Neither"), N_("Agree"), N_("Strongly agree"))
MAX_QUESTIONS = 10
MAX_MENUS = CARDS.menus  # a card's menus, one per statement; `/poll respond` answers every question
MIN_GROUP = 5


class SurveyProblem(Problem):
    """The answer cannot be taken; the message says why."""


@dataclass(frozen=True)
class QuestionResult:
    question: str
    answered: int
    mean: float | None
    counts: list[int]  # how many chose 1..5
    previous_mean: float | None
    by_sector: dict[str, float]  # only sectors with at least MIN_GROUP answers


@dataclass(frozen=True)
class SurveyResults:
    respondents: int
    round: int
    questions: list[QuestionResult]
    sectors_hidden: int  # sectors left out for having fewer than MIN_GROUP respondents


def _open(keys: PollKeys | None, stored: str | None) -> str:
    if stored is None:
        return ""
    return keys.open(stored) if keys is not None else stored


def survey_results_to_json(results: SurveyResults) -> str:
    return json.dumps(asdict(results))


def survey_results_from_json(stored: str) -> SurveyResults:
    data = json.loads(stored)
    data["questions"] = [QuestionResult(**q) for q in data["questions"]]
    return SurveyResults(**data)


def shown_sectors(sectors: Counter[str], respondents: int) -> set[str]:
    """The sectors whose averages may be shown (`bot.suppression`): the overall figure minus the
    shown sectors must not give away the few left over."""
    return shown_groups(sectors, respondents, MIN_GROUP)


def _answers(stored: str, count: int) -> list[int]:
    values = [int(a) for a in stored.split(",") if a]
    return (values + [0] * count)[:count]


def _mean(values: list[int]) -> float | None:
    answered = [v for v in values if v]
    return sum(answered) / len(answered) if answered else None


class SurveyService:
    """What is particular to surveys; the lifecycle they share with polls (posting, sealing,
    closing, reminding) is `PollService`'s, over the same poll row and keys."""

    def __init__(self, repos: Repositories, clock: Clock) -> None:
        self.repos = repos
        self.clock = clock

    @staticmethod
    def check_questions(questions: list[str]) -> None:
        if not 1 <= len(questions) <= MAX_QUESTIONS:
            raise SurveyProblem(
                _("A survey has 1 to {MAX_QUESTIONS} questions; {questions} were given.").format(
                    MAX_QUESTIONS=MAX_QUESTIONS, questions=len(questions)
                )
            )

    async def has_answered(self, poll: Poll, voter_key: str) -> bool:
        return await self.repos.polls.survey_response(poll.id or 0, voter_key) is not None

    async def card(self, poll: Poll) -> Reply:
        """The survey as posted: its questions, how many have answered, its menus while open."""
        assert poll.id is not None
        # Only the final count is shown (at close): an open survey's card says nothing of how many.
        respondents = survey_results_from_json(poll.final_tally).respondents if poll.final_tally is not None else 0
        rounds = len(await self.repos.polls.earlier_rounds(poll)) + 1
        from bot import poll_cards  # the cards read this module's scale and thresholds

        return poll_cards.survey_card(poll, respondents, rounds, self.clock.now())

    async def export_csv(self, poll: Poll, keys: PollKeys | None) -> list[tuple[str, bytes]]:
        return [(f"survey-{poll.id}.csv", _csv(poll, await self.results(poll, keys)))]

    async def answer(
        self, poll: Poll, member: Member, voter_key: str, answers: dict[int, int], keys: PollKeys | None = None
    ) -> list[int]:
        """Record answers (question index -> 1..5), keeping this respondent's other answers. With
        `keys` (a sealed survey) the answers and the sector are stored encrypted."""
        assert poll.id is not None
        count = len(poll.option_list)
        for question, value in answers.items():
            if not 0 <= question < count:
                raise SurveyProblem(_("Survey #{id} has questions 1 to {count}.").format(id=poll.id, count=count))
            if not 1 <= value <= 5:
                raise SurveyProblem(_("Answer each question from 1 (strongly disagree) to 5 (strongly agree)."))
        row = await self.repos.polls.survey_response(poll.id, voter_key)
        current = _answers(_open(keys, row.answers), count) if row else [0] * count
        for question, value in answers.items():
            current[question] = value
        # The sector as it was at the first answer: moving a member into another sector afterwards
        # (to read their answer off that sector's average) changes nothing.
        # Only a sector the member chose counts (one a coordinator set counts once they confirm it).
        sector = _open(keys, row.sector) if row else (member.sector if member.sector_chosen else None)
        stored = ",".join(map(str, current))
        if keys is not None:
            sector = keys.seal(sector, SURVEY_PAD) if sector else None
            stored = keys.seal(stored, SURVEY_PAD)
        await self.repos.polls.save_survey_response(
            SurveyResponse(poll_id=poll.id, voter_key=voter_key, sector=sector, answers=stored)
        )
        return current

    async def answers_of(self, poll: PollView, voter_key: str, keys: PollKeys | None) -> list[int] | None:
        row = await self.repos.polls.survey_response(poll.id or 0, voter_key)
        return _answers(_open(keys, row.answers), len(poll.option_list)) if row else None

    async def results(self, poll: PollView, keys: PollKeys | None = None) -> SurveyResults:
        """The survey's figures, each one already held back where it could single someone out:
        every figure that is shown anywhere (card, results, export, report) is read from here."""
        assert isinstance(poll, Poll)  # a view this service handed out: its row
        assert poll.id is not None
        if poll.final_tally is not None:
            return survey_results_from_json(poll.final_tally)
        questions = poll.option_list
        rows = [
            (_open(keys, s), _answers(_open(keys, a), len(questions)))
            for s, a in await self.repos.polls.survey_responses(poll.id)
        ]
        earlier = await self.repos.polls.earlier_rounds(poll)
        # Only a closed round is compared with, through its own final (already held back) figures:
        # an open round's answers are sealed, and are nobody's to see before it closes.
        previous: dict[str, QuestionResult] = {}
        if earlier and earlier[-1].final_tally is not None:
            previous = {q.question: q for q in survey_results_from_json(earlier[-1].final_tally).questions}
        sectors = Counter(sector for sector, _ in rows if sector)
        shown = shown_sectors(sectors, len(rows))
        results = [
            _question_result(
                question, [a[q] for _, a in rows], [(s, a[q]) for s, a in rows], shown, previous.get(question)
            )
            for q, question in enumerate(questions)
        ]
        return SurveyResults(len(rows), len(earlier) + 1, results, len(set(sectors) - shown))


def _question_result(
    question: str,
    values: list[int],
    by_respondent: list[tuple[str | None, int]],
    sectors: set[str],
    previous: QuestionResult | None,
) -> QuestionResult:
    """One statement's figures under the thresholds, each applied to the figure itself: fewer than
    MIN_GROUP answers (of the round, of the statement, of a sector to the statement) show nothing,
    and a figure that would be the difference of two shown ones is held back too."""
    answered = sum(1 for v in values if v)
    if len(values) < MIN_GROUP or answered < MIN_GROUP:
        return QuestionResult(question, answered, None, [], None, {})
    counted = Counter(s for s, v in by_respondent if s in sectors and v)
    kept = shown_groups(counted, answered, MIN_GROUP)  # the rest: none, or enough to hide among
    by_sector = {}
    for sector in sorted(kept):
        mean = _mean([v for s, v in by_respondent if s == sector])
        if mean is not None:
            by_sector[sector] = mean
    previous_mean = None
    if previous is not None and previous.mean is not None:
        change = abs(answered - previous.answered)
        # Rounds that differ by a few answers could be differenced to give away those few.
        if change == 0 or change >= MIN_GROUP:
            previous_mean = previous.mean
    return QuestionResult(
        question,
        answered,
        _mean(values),
        [sum(1 for v in values if v == n) for n in range(1, 6)],
        previous_mean,
        by_sector,
    )


def _csv(poll: Poll, results: SurveyResults) -> bytes:
    header = ["survey", "title", "round", "respondents", "question", "answers", "average"]
    header += ["answered 1", "answered 2", "answered 3", "answered 4", "answered 5", "previous round average"]
    rows = []
    for q in results.questions:
        survey = [poll.id, cell(poll.question), results.round, results.respondents]
        if results.respondents < MIN_GROUP or q.answered < MIN_GROUP:  # too few to show without naming anyone
            rows.append([*survey, cell(q.question), "", "", "", "", "", "", "", ""])
            continue
        mean = "" if q.mean is None else f"{q.mean:.2f}"
        previous = "" if q.previous_mean is None else f"{q.previous_mean:.2f}"
        rows.append([*survey, cell(q.question), q.answered, mean, *q.counts, previous])
    return table(header, rows)
