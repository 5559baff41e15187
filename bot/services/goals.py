"""Goals (`/goal`): what the coalition set out to change, measured over time against a baseline
and a target, and whether the trend gets there (`bot.goals`). Values are typed or imported
(`goal_values`), or read from what the bot already measures: a survey statement's average per
round (under the survey's thresholds), or an engagement rate per calendar month.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.goals import STATUS, Point, Standing, standing
from bot.i18n import N_, _, language
from bot.markup import format_day
from bot.problems import Problem
from bot.services.reports import LABELS as REPORT_LABELS
from bot.services.reports import METRICS, ReportService
from bot.services.surveys import survey_results_from_json
from bot.views import GoalView, MemberView
from storage import Repositories
from storage.models import Goal, GoalValue

MAX_VALUE = 1e12
# What a goal can read from the engagement report, per month: its rates, and the share of the
# sectors the coalition wants represented that have at least one member.
FIGURES = (*METRICS, "sectors")
FIGURE_LABELS = {**REPORT_LABELS, "sectors": N_("Share of wanted sectors present")}
TYPED = N_("recorded by hand or imported")


class GoalProblem(Problem):
    """The goal or value cannot be taken as given; the message says why."""


@dataclass(frozen=True)
class GoalProgress:
    goal: Goal
    points: list[Point]
    standing: Standing


def month_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(moment: datetime) -> datetime:
    return (moment.replace(day=28) + timedelta(days=4)).replace(day=1)


class GoalService:
    def __init__(self, repos: Repositories, clock: Clock, reports: ReportService) -> None:
        self.repos = repos
        self.clock = clock
        self.reports = reports

    async def add(
        self,
        coalition_id: int,
        author: MemberView,
        title: str,
        *,
        measure: str,
        baseline: float,
        target: float,
        target_at: datetime,
        baseline_at: datetime | None = None,
        lower_is_better: bool = False,
        unit: str | None = None,
        sector: str | None = None,
        public: bool = False,
        owner: MemberView | None = None,
        survey: tuple[str, int] | None = None,
        metric: str | None = None,
    ) -> GoalView:
        now = self.clock.now()
        baseline_at = baseline_at or now
        self._check_numbers(baseline, target)
        if target_at <= baseline_at:
            raise GoalProblem(_("The target date must come after the baseline's; give a later --by."))
        if baseline == target:
            raise GoalProblem(_("The target is the baseline; give the value the coalition wants to reach."))
        if lower_is_better and target > baseline:
            raise GoalProblem(_("With --lower-is-better the target must be below the baseline."))
        if not lower_is_better and target < baseline:
            raise GoalProblem(
                _("The target is below the baseline: add --lower-is-better if the measure should go down.")
            )
        if survey is not None and metric is not None:
            raise GoalProblem(_("A goal reads a survey or a report figure, not both."))
        coalition = await self.repos.coalitions.get(coalition_id)
        if sector is not None and coalition is not None and sector not in coalition.sectors:
            raise GoalProblem(
                _("'{sector}' is not one of this coalition's sectors ({sectors}).").format(
                    sector=sector, sectors=", ".join(coalition.sectors)
                )
            )
        source, ref = "typed", None
        if survey is not None:
            source, ref = "survey", f"{survey[0]}\x1f{survey[1]}"
        elif metric is not None:
            if metric not in FIGURES:
                raise GoalProblem(
                    _("'{metric}' is not a report figure: use {metrics}.").format(
                        metric=metric, metrics=", ".join(FIGURES)
                    )
                )
            source, ref = "report", metric
        goal = Goal(
            coalition_id=coalition_id,
            title=title,
            measure=measure,
            unit=unit,
            baseline=baseline,
            baseline_at=baseline_at,
            target=target,
            target_at=target_at,
            lower_is_better=lower_is_better,
            sector=sector,
            public=public,
            source=source,
            source_ref=ref,
            owner_id=owner.id if owner is not None else None,
            created_by=author.id,
            created_at=now,
        )
        return await self.repos.goals.save(goal)

    @staticmethod
    def _check_numbers(*values: float) -> None:
        if any(not -MAX_VALUE < v < MAX_VALUE for v in values):
            raise GoalProblem(_("That number is too large for a goal."))

    async def by_id(self, goal_id: int) -> Goal | None:
        """A goal by its number alone (the command line, which stands in no coalition)."""
        return await self.repos.goals.by_id(goal_id)

    async def find(self, coalition_id: int, goal_id: int) -> GoalView | None:
        return await self.repos.goals.get(coalition_id, goal_id)

    async def listed(self, coalition_id: int, open_only: bool = False) -> Sequence[GoalView]:
        return await self.repos.goals.listed(coalition_id, open_only)

    async def save(self, goal: Goal) -> None:
        await self.repos.goals.save(goal)

    async def edit(
        self,
        goal: GoalView,
        *,
        title: str | None = None,
        measure: str | None = None,
        target: float | None = None,
        target_at: datetime | None = None,
        unit: str | None = None,
        public: bool | None = None,
    ) -> None:
        """Change what was given; the baseline stays (a new baseline is a new goal)."""
        assert isinstance(goal, Goal)  # a view this service handed out: its row
        new_target = goal.target if target is None else target
        new_by = target_at or goal.target_at
        self._check_numbers(new_target)
        if new_by <= goal.baseline_at:
            raise GoalProblem(_("The target date must come after the baseline's; give a later --by."))
        if new_target == goal.baseline or (new_target > goal.baseline) == goal.lower_is_better:
            raise GoalProblem(
                _("The target must be on the better side of the baseline ({baseline}).").format(
                    baseline=number(goal.baseline)
                )
            )
        goal.title = title or goal.title
        goal.measure = measure or goal.measure
        goal.target, goal.target_at = new_target, new_by
        if unit is not None:
            goal.unit = unit or None
        if public is not None:
            goal.public = public
        await self.repos.goals.save(goal)

    async def close(self, goal: GoalView, outcome: str) -> None:
        assert isinstance(goal, Goal)  # a view this service handed out: its row
        if goal.status == "closed":
            raise GoalProblem(_("Goal #{id} is already closed.").format(id=goal.id))
        goal.status, goal.outcome, goal.closed_at = "closed", outcome, self.clock.now()
        await self.repos.goals.save(goal)

    async def record(
        self, goal: GoalView, value: float, period_at: datetime, source: str | None, member: MemberView | None
    ) -> GoalValue | None:
        """Record the value for a date; a correction replaces the one recorded for that date and
        returns the old value (for the audit)."""
        if goal.source != "typed":
            raise GoalProblem(
                _("Goal #{id} reads its values from {source}; nothing is recorded by hand.").format(
                    id=goal.id, source=self.source_words(goal)
                )
            )
        if goal.status == "closed":
            raise GoalProblem(_("Goal #{id} is closed.").format(id=goal.id))
        self._check_numbers(value)
        if period_at > self.clock.now():
            raise GoalProblem(_("That date is still to come; record a value once it is measured."))
        assert goal.id is not None
        found = await self.repos.goals.value_at(goal.id, period_at)
        old = None
        if found is not None:
            old = GoalValue(**found.model_dump())
            found.value, found.source = value, source
            found.recorded_by, found.recorded_at = (member.id if member else None), self.clock.now()
            await self.repos.goals.put_value(found)
        else:
            await self.repos.goals.put_value(
                GoalValue(
                    goal_id=goal.id,
                    period_at=period_at,
                    value=value,
                    source=source,
                    recorded_by=member.id if member else None,
                    recorded_at=self.clock.now(),
                )
            )
        return old

    async def import_values(self, goal: Goal, values: list[tuple[datetime, float]], source: str) -> tuple[int, int]:
        """(added, replaced): every value of a file that read whole."""
        added = replaced = 0
        for period_at, value in values:
            old = await self.record(goal, value, period_at, source, None)
            added += old is None
            replaced += old is not None
        return added, replaced

    def source_words(self, goal: GoalView) -> str:
        if goal.source == "survey" and goal.source_ref:
            title, number = goal.source_ref.split("\x1f")
            return _("statement {number} of the survey '{title}'").format(number=number, title=title)
        if goal.source == "report" and goal.source_ref:
            return _("the engagement report's {metric}, per month").format(
                metric=_(FIGURE_LABELS[goal.source_ref]).lower()
            )
        return _(TYPED)

    # Values and standing -------------------------------------------------------------------

    async def points(self, goal: Goal) -> list[Point]:
        """The measure's values over time, wherever they come from."""
        if goal.source == "survey" and goal.source_ref:
            return await self._survey_points(goal)
        if goal.source == "report" and goal.source_ref:
            return await self._report_points(goal)
        return [Point(v.period_at, v.value) for v in await self.repos.goals.values(goal.id or 0)]

    async def _survey_points(self, goal: Goal) -> list[Point]:
        """Each closed round of the survey: the statement's average (or the sector's), where the
        survey's thresholds let it be shown."""
        title, number = (goal.source_ref or "").split("\x1f")
        index = int(number) - 1
        found = []
        for poll in await self.repos.polls.survey_rounds(goal.coalition_id, title):
            if poll.final_tally is None or poll.closed_at is None:
                continue
            results = survey_results_from_json(poll.final_tally)
            if not 0 <= index < len(results.questions):
                continue
            question = results.questions[index]
            mean = question.by_sector.get(goal.sector) if goal.sector else question.mean
            if mean is not None:
                found.append(Point(poll.closed_at, round(mean, 2)))
        return found

    async def _report_points(self, goal: Goal) -> list[Point]:
        """The engagement rate (in %) of each whole calendar month from the baseline's to the last."""
        metric = goal.source_ref or ""
        found = []
        start = month_start(goal.baseline_at)
        end_of_data = month_start(min(self.clock.now(), goal.closed_at or self.clock.now()))
        coalition = await self.repos.coalitions.get(goal.coalition_id)
        wanted = (coalition.wanted_sectors or coalition.sectors) if coalition is not None else []
        while start < end_of_data:
            end = next_month(start)
            if metric == "sectors":
                present = await self.repos.reports.members_by_sector(goal.coalition_id, end)
                if wanted:
                    share = sum(1 for s in wanted if present.get(s, 0)) / len(wanted)
                    found.append(Point(start, round(share * 100, 1)))
                start = end
                continue
            month = await self.reports.period(goal.coalition_id, start, end)  # no period before it: not compared
            figures = month.get(goal.sector or "*")
            rate = figures.rates.get(metric) if figures is not None else None
            if rate is not None:
                found.append(Point(start, round(rate * 100, 1)))
            start = end
        return found

    async def view(self, goal: GoalView) -> GoalProgress:
        assert isinstance(goal, Goal)  # a view this service handed out: its row
        points = await self.points(goal)
        said = standing(points, goal.baseline, goal.baseline_at, goal.target, goal.target_at, goal.lower_is_better)
        return GoalProgress(goal, points, said)

    async def moved(self, coalition_id: int, start: datetime, end: datetime) -> Sequence[GoalView]:
        """Goals with a value recorded in the week (the digest's line per goal that moved)."""
        ids = set(await self.repos.goals.recorded_between(coalition_id, start, end))
        return [g for g in await self.listed(coalition_id, open_only=True) if g.id in ids]

    # The chart -----------------------------------------------------------------------------

    async def chart(self, view: GoalProgress) -> bytes:
        return await asyncio.to_thread(_draw, view)


def goal_line(view: GoalProgress) -> str:
    """The goal in one plain line, in the language in force: its latest value against the baseline
    and the target, and its status (the public page, the funder report, the digest)."""
    goal, said = view.goal, view.standing
    unit = f" {goal.unit}" if goal.unit else ""
    if said.latest is not None and said.change is not None:
        change = ("+" if said.change >= 0 else "-") + number(abs(said.change))
        latest = _("latest {value}{unit} ({change} since the baseline)").format(
            value=number(said.latest.value), unit=unit, change=change
        )
    else:
        latest = _("no value yet")
    return _("{latest}; baseline {baseline}, target {target} by {by}: {status}.").format(
        latest=latest,
        baseline=number(goal.baseline),
        target=number(goal.target),
        by=format_day(goal.target_at),
        status=status_words(view),
    )


def status_words(view: GoalProgress) -> str:
    return _(STATUS[view.standing.status])


def number(value: float) -> str:
    """1,250 or 3.5 in English, 1250 or 3,5 in Spanish: at most two decimals, as the reader writes them."""
    from babel.numbers import format_decimal

    return format_decimal(round(value, 2), format="#,##0.##", locale=language())


def chart_alt(view: GoalProgress) -> str:
    """The chart in words: every value, the baseline, the target and the projection."""
    goal = view.goal
    values = "; ".join(f"{p.at.date().isoformat()}: {number(p.value)}" for p in view.points) or _("none yet")
    said = _(
        "Chart of goal '{title}': baseline {baseline} on {baseline_at}; target {target} by {target_at}; "
        "values {values}."
    ).format(
        title=goal.title,
        baseline=number(goal.baseline),
        baseline_at=goal.baseline_at.date().isoformat(),
        target=number(goal.target),
        target_at=goal.target_at.date().isoformat(),
        values=values,
    )
    if view.standing.projected is not None:
        said += " " + _("The trend reaches {projected} by the target date ({status}).").format(
            projected=number(view.standing.projected), status=status_words(view)
        )
    return said


def _draw(view: GoalProgress) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    goal = view.goal
    figure = Figure(figsize=(8, 4.5), dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    if view.points:
        # matplotlib's date units take datetimes on the x axis; its stubs say numbers.
        dates: list[Any] = [p.at for p in view.points]
        axes.plot(dates, [p.value for p in view.points], marker="o", color="#2c5f2d", label=_("Values"))
    axes.axhline(goal.baseline, color="#777777", linestyle=":", label=_("Baseline"))
    axes.axhline(goal.target, color="#b3541e", linestyle="--", label=_("Target"))
    if view.standing.slope is not None and view.standing.projected is not None:
        start = goal.baseline_at
        first = view.standing.projected - view.standing.slope * (goal.target_at - start).total_seconds() / 86400
        ends: list[Any] = [start, goal.target_at]
        axes.plot(ends, [first, view.standing.projected], color="#2c5f2d", alpha=0.4, label=_("Trend"))
    axes.set_title(goal.title[:80])
    axes.set_ylabel(goal.unit or goal.measure[:40])
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, frameon=False)
    figure.autofmt_xdate()
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
