"""The report a coordinator sends a funder or a city council (`/coalition report --format html`,
`coalition-bot report`): one self-contained HTML file, charts embedded, print-friendly, readable
without the bot. Goals with their charts and status, partnership-health averages and their change,
engagement by sector, meetings and attendance, decisions made, broadcasts sent and acknowledged.
It names no member; sector figures are those the anonymity thresholds already allow.
"""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.i18n import _, language, speaking
from bot.markup import format_day
from bot.sectors import sector_name
from bot.services.goals import GoalProgress, GoalService, chart_alt, goal_line, number
from bot.services.reports import LABELS, METRICS, Report, ReportService
from bot.services.reports import chart_alt as report_alt
from bot.services.surveys import QuestionResult, survey_results_from_json
from bot.views import CoalitionView
from storage import Repositories
from storage.models import Coalition

PERIODS = {"month": timedelta(days=30), "quarter": timedelta(days=91), "year": timedelta(days=365)}


@dataclass(frozen=True)
class ChartedGoal:
    view: GoalProgress
    line: str
    chart: str  # a data: URI
    alt: str


@dataclass(frozen=True)
class HealthRound:
    title: str
    closed_at: datetime
    respondents: int
    questions: list[QuestionResult]


class FunderReportService:
    def __init__(self, repos: Repositories, clock: Clock, reports: ReportService, goals: GoalService) -> None:
        self.repos = repos
        self.clock = clock
        self.reports = reports
        self.goals = goals

    async def html(self, coalition: CoalitionView, length: timedelta) -> bytes:
        """The report over the `length` ending now, in the language in force."""
        assert coalition.id is not None
        end = self.clock.now()
        start = end - length
        report = await self.reports.build(coalition.id, end, length)
        goals = []
        for goal in await self.goals.listed(coalition.id):
            view = await self.goals.view(goal)
            png = await self.goals.chart(view)
            goals.append(ChartedGoal(view, goal_line(view), _data_uri(png), chart_alt(view)))
        engagement_png = await self.reports.chart(report, coalition.name)
        decided = Counter(p.status for p in await self.repos.decisions.closed_between(coalition.id, start, end))
        sent = await self.repos.reports.broadcasts_sent(coalition.id, start, end)
        html = _render(
            coalition=coalition,
            start=start,
            end=end,
            goals=goals,
            health=await self._health(coalition.id, start, end),
            report=report,
            engagement_chart=_data_uri(engagement_png),
            engagement_alt=report_alt(coalition.name, report),
            decided=decided,
            broadcasts=sent,
        )
        return html.encode()

    async def _health(self, coalition_id: int, start: datetime, end: datetime) -> list[HealthRound]:
        """Each survey's latest round closed in the period, with its averages and their change from
        the round before (figures the survey's thresholds hold back stay held back)."""
        latest: dict[str, HealthRound] = {}
        for poll in await self.repos.reports.surveys_closed(coalition_id, start, end):
            if poll.final_tally is None or poll.closed_at is None:
                continue
            results = survey_results_from_json(poll.final_tally)
            latest[poll.question.lower()] = HealthRound(
                poll.question, poll.closed_at, results.respondents, results.questions
            )
        return list(latest.values())


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _percent(value: float | None) -> str:
    return _("no data") if value is None else f"{value * 100:.0f}%"


def _render(**values: Any) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(
        loader=PackageLoader("bot", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    report: Report = values["report"]
    return environment.get_template("report/funder.html").render(
        _=_,
        lang=language(),
        day=format_day,
        number=number,
        percent=_percent,
        metrics=[(m, _(LABELS[m])) for m in METRICS],
        sector_name=sector_name,
        sectors=sorted(report.sectors.items()),
        **values,
    )


async def funder_html(service: FunderReportService, coalition: Coalition, length: timedelta, code: str) -> bytes:
    with speaking(code):
        return await service.html(coalition, length)
