"""The coalition's public page: what coordinators chose to publish, and nothing else.

Public are: meetings not marked private (their times, place, agenda and minutes; action items only
as counts), polls created or marked `--public` (results only once closed, and for anonymous polls
only as the cards show them: nothing below STEP voters), broadcasts sent with `--public`, the
stakeholder map as counts by sector, and the engagement report's figures. Never a member's name or
id: the page has no query that returns one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from bot.clock import Clock
from bot.services.decisions import DecisionService
from bot.services.goals import GoalProgress, GoalService
from bot.services.polls import PollService
from bot.services.reports import Report, ReportService
from bot.services.runoff import Results
from bot.services.stakeholders import StakeholderService
from bot.views import CoalitionView
from storage import Repositories
from storage.models import Broadcast, Coalition, Meeting, Occurrence, Poll, Proposal

REPORT_PERIOD = timedelta(days=90)
SLUG_MAX = 50


@dataclass(frozen=True)
class PublicMeeting:
    meeting: Meeting
    occurrence: Occurrence
    actions: Counter[str] = field(default_factory=Counter)  # open, done, overdue


@dataclass(frozen=True)
class PublicPoll:
    poll: Poll
    results: Results | None  # None: open, or too few voters to show a count


@dataclass(frozen=True)
class PublicDecision:
    """A decision made public (`/decision propose --public`), once closed: its final counts overall
    and per sector, never who took which position."""

    proposal: Proposal
    counts: dict[str, int]
    by_sector: dict[str, dict[str, int]]
    actions: Counter[str]  # done, open


@dataclass(frozen=True)
class PageView:
    coalition: Coalition
    upcoming: list[PublicMeeting]
    minutes: list[PublicMeeting]
    polls: list[PublicPoll]
    decisions: list[PublicDecision]
    broadcasts: list[Broadcast]
    sectors: list[tuple[str, int]]  # sector, members (no names)
    unsectored: int
    report: Report | None  # None: nothing happened in the period (or not asked for)
    goals: list[GoalProgress] = field(default_factory=list)  # those made public (`/goal add --public`)


def slugify(name: str) -> str:
    """ "Eastside Safety Coalition" -> "eastside-safety-coalition"; accents folded, so the address can
    be typed from a flyer."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:SLUG_MAX].strip("-") or "coalition"


class PageService:
    def __init__(
        self,
        repos: Repositories,
        clock: Clock,
        polls: PollService,
        stakeholders: StakeholderService,
        reports: ReportService,
        decisions: DecisionService,
        goals: GoalService,
    ) -> None:
        self.repos = repos
        self.clock = clock
        self.polls = polls
        self.stakeholders = stakeholders
        self.reports = reports
        self.decisions = decisions
        self.goals = goals

    async def turn_on(self, coalition: CoalitionView) -> str:
        """Publish the page; its slug, made once from the coalition's name (unique)."""
        assert isinstance(coalition, Coalition)  # a view this service handed out: its row
        if coalition.page_slug is None:
            base = slugify(coalition.name)
            slug, n = base, 2
            while await self.repos.pages.by_slug(slug) is not None:
                slug, n = f"{base[: SLUG_MAX - 4]}-{n}", n + 1
            coalition.page_slug = slug
        coalition.page_on = True
        await self.repos.coalitions.save(coalition)
        return coalition.page_slug

    async def turn_off(self, coalition: CoalitionView) -> None:
        assert isinstance(coalition, Coalition)  # a view this service handed out: its row
        coalition.page_on = False
        await self.repos.coalitions.save(coalition)

    async def published(self, slug: str) -> Coalition | None:
        """The coalition whose page is at `slug`, if it is on (off and unknown look alike)."""
        coalition = await self.repos.pages.by_slug(slug)
        return coalition if coalition is not None and coalition.page_on else None

    async def report(self, coalition: Coalition) -> Report | None:
        """The engagement report of the last 90 days; None when nothing happened in them. It reads
        the whole period's history, so the web side keeps it a few minutes (`PublicPage`)."""
        assert coalition.id is not None
        report = await self.reports.build(coalition.id, self.clock.now(), REPORT_PERIOD)
        return None if report.empty else report

    async def view(self, coalition: Coalition, report: Report | None = None) -> PageView:
        assert coalition.id is not None
        now = self.clock.now()
        pages = self.repos.pages
        upcoming = await pages.meetings_to_come(coalition.id, now - timedelta(hours=2), 20)
        minutes = await pages.minutes(coalition.id, now, 10)
        actions = await pages.action_counts([o.id or 0 for o, _ in minutes], now)
        polls = [
            PublicPoll(poll, await self._results(poll))
            for poll in await pages.polls(coalition.id, 10)
            if not poll.kind.is_survey
        ]
        found = await self.stakeholders.map(coalition)
        return PageView(
            coalition=coalition,
            upcoming=[PublicMeeting(m, o) for o, m in upcoming],
            minutes=[PublicMeeting(m, o, actions.get(o.id or 0, Counter())) for o, m in minutes],
            polls=polls,
            decisions=await self._decisions(coalition.id),
            broadcasts=await pages.broadcasts(coalition.id, now, 10),
            sectors=[(row.sector, row.members) for row in found.rows],
            unsectored=found.unsectored,
            report=report,
            goals=[await self.goals.view(g) for g in await self.goals.listed(coalition.id) if g.public],
        )

    async def _decisions(self, coalition_id: int) -> list[PublicDecision]:
        shown = []
        for proposal in await self.decisions.public(coalition_id):
            result = json.loads(proposal.result or "{}")
            actions = Counter(
                "done" if item.done_at else "open" for item, _owner in await self.decisions.actions(proposal)
            )
            shown.append(PublicDecision(proposal, result.get("counts", {}), result.get("by_sector", {}), actions))
        return shown

    async def meeting(self, coalition: Coalition, meeting_id: int) -> tuple[Meeting, list[PublicMeeting]] | None:
        """A public meeting and its dates (with minutes and action counts), or None."""
        assert coalition.id is not None
        meeting = await self.repos.pages.meeting(coalition.id, meeting_id)
        if meeting is None or meeting.status == "cancelled":
            return None
        occurrences = [o for o in await self.repos.meetings.occurrences(meeting_id) if not o.cancelled]
        actions = await self.repos.pages.action_counts([o.id or 0 for o in occurrences], self.clock.now())
        return meeting, [PublicMeeting(meeting, o, actions.get(o.id or 0, Counter())) for o in occurrences[-20:]]

    async def poll(self, coalition: Coalition, poll_id: int) -> PublicPoll | None:
        assert coalition.id is not None
        poll = await self.repos.pages.poll(coalition.id, poll_id)
        if poll is None or poll.kind.is_survey:
            return None
        return PublicPoll(poll, await self._results(poll))

    async def _results(self, poll: Poll) -> Results | None:
        """Only a closed poll's count, and only as members were shown it (the anonymity thresholds)."""
        if poll.status != "closed":
            return None
        return await self.polls.shown_results(poll)
