"""Engagement reports: how the coalition takes part, overall and per sector, against the period
before, as text, a PNG chart and CSV.

Rates are shares of what was possible: attendance is attendance records over (meetings held x
members), the RSVP rate likewise with answers, poll participation is ballots over (polls asked x
members), the acknowledgement rate is acknowledgements over (broadcasts asking for one x members),
decision participation is positions taken over (proposals closed x members), and active members
are those who answered, attended, voted by name or acknowledged. Members are those who had joined
by the end of the period, observers left out. Anonymous ballots and positions carry no sector, so
per-sector poll and decision participation count named ones only; an anonymous proposal with too
few positions to show counts in neither.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.i18n import N_, _, language
from bot.spreadsheets import cell, table
from storage import Repositories
from storage.engagement import DAY, day_of
from storage.reports import NO_SECTOR

if TYPE_CHECKING:
    from matplotlib.figure import Figure

METRICS = ("attendance", "rsvp", "polls", "decisions", "acks", "active")
KEPT_FOR = timedelta(days=2 * 730)  # the longest report (730 days) against the period before it
LABELS = {
    "attendance": N_("Attendance rate"),
    "rsvp": N_("RSVP rate"),
    "polls": N_("Poll participation"),
    "decisions": N_("Decision participation"),
    "acks": N_("Acknowledgement rate"),
    "active": N_("Active members"),
}


@dataclass(frozen=True)
class Figures:
    """One period's counts and rates, for the whole coalition or one sector."""

    members: int
    meetings: int
    rates: dict[str, float | None]  # None: nothing to measure (no meetings, polls or broadcasts)
    active: int
    decided: int = 0  # proposals closed in the period (passed, failed or decided by the proposer)


@dataclass(frozen=True)
class Report:
    start: datetime
    end: datetime
    overall: Figures
    previous: Figures
    sectors: dict[str, tuple[Figures, Figures]]  # sector -> (this period, the one before)

    @property
    def empty(self) -> bool:
        o = self.overall
        return o.meetings == 0 and o.rates["polls"] is None and o.rates["acks"] is None and not o.decided


def _rate(numerator: int, opportunities: int) -> float | None:
    return min(1.0, numerator / opportunities) if opportunities else None


@dataclass
class Activity:
    """Meetings held, attendance and RSVPs per sector, and who took part, over some span of time."""

    meetings: int = 0
    attendance: Counter[str] = field(default_factory=Counter)
    rsvps: Counter[str] = field(default_factory=Counter)
    active: dict[str, set[int]] = field(default_factory=dict)  # sector -> member ids

    def add(
        self, meetings: int, attendance: dict[str, int], rsvps: dict[str, int], active: Mapping[str, Iterable[int]]
    ) -> None:
        self.meetings += meetings
        self.attendance.update(attendance)
        self.rsvps.update(rsvps)
        for sector, ids in active.items():
            self.active.setdefault(sector, set()).update(ids)


class ReportService:
    """Reports read the days kept in `engagement_days` (a row a day, kept in the background by
    the daily housekeeping) and ask the database directly only for the rest: the period's partial
    first and last days, today, and any day not kept or changed since. `use_kept=False` asks for
    every day directly, as a reference for tests."""

    def __init__(self, repos: Repositories, clock: Clock, use_kept: bool = True) -> None:
        self.repos = repos
        self.clock = clock
        self.use_kept = use_kept

    async def build(self, coalition_id: int, end: datetime, length: timedelta) -> Report:
        start = end - length
        this = await self.period(coalition_id, start, end)
        before = await self.period(coalition_id, start - length, start)
        sectors = sorted(set(this) - {"*"} | set(before) - {"*"})
        return Report(
            start=start,
            end=end,
            overall=this["*"],
            previous=before["*"],
            sectors={s: (this.get(s, _nothing()), before.get(s, _nothing())) for s in sectors},
        )

    async def period(self, coalition_id: int, start: datetime, end: datetime) -> dict[str, Figures]:
        """One period's figures, "*" for everyone and one entry per sector with members."""
        data = self.repos.reports
        members = await data.members_by_sector(coalition_id, end)
        activity = await self._activity(coalition_id, start, end)
        held, attendance, rsvps = activity.meetings, activity.attendance, activity.rsvps
        active = Counter({sector: len(ids) for sector, ids in activity.active.items()})
        polls, anonymous_polls = await data.polls_asked(coalition_id, start, end)
        ballots = await data.ballots(coalition_id, start, end)
        named = await data.named_ballots_by_sector(coalition_id, start, end)
        broadcasts = await data.broadcasts_sent(coalition_id, start, end)
        acks = await data.acks_by_sector(coalition_id, start, end)
        decided, known, positions = await data.decisions(coalition_id, start, end)
        named_proposals, named_positions = await data.named_positions_by_sector(coalition_id, start, end)
        total = sum(members.values())
        figures = {
            "*": Figures(
                total,
                held,
                {
                    "attendance": _rate(sum(attendance.values()), held * total),
                    "rsvp": _rate(sum(rsvps.values()), held * total),
                    "polls": _rate(ballots, polls * total),
                    "decisions": _rate(positions, known * total),
                    "acks": _rate(sum(acks.values()), broadcasts * total),
                    "active": _rate(sum(active.values()), total),
                },
                sum(active.values()),
                decided,
            )
        }
        for sector, count in members.items():
            if sector == NO_SECTOR:
                continue
            figures[sector] = Figures(
                count,
                held,
                {
                    "attendance": _rate(attendance.get(sector, 0), held * count),
                    "rsvp": _rate(rsvps.get(sector, 0), held * count),
                    "polls": _rate(named.get(sector, 0), (polls - anonymous_polls) * count),
                    "decisions": _rate(named_positions.get(sector, 0), named_proposals * count),
                    "acks": _rate(acks.get(sector, 0), broadcasts * count),
                    "active": _rate(active.get(sector, 0), count),
                },
                active.get(sector, 0),
            )
        return figures

    async def _activity(self, coalition_id: int, start: datetime, end: datetime) -> Activity:
        """Kept days where there are, the database for the rest of [start, end)."""
        total = Activity()
        spans: list[tuple[datetime, datetime]] = []
        first = day_of(start) if day_of(start) == start else day_of(start) + DAY
        last = min(day_of(end), day_of(self.clock.now()))  # today is never kept: it is not over
        kept = await self.repos.engagement.kept(coalition_id, first, last) if self.use_kept and first < last else []
        at = start
        for day in kept:  # in order of day
            if at < day.day:
                spans.append((at, day.day))
            total.add(day.meetings, day.attendance, day.rsvps, day.active)
            at = day.day + DAY
        if at < end:
            spans.append((at, end))
        for span_start, span_end in spans:
            found = await self._asked(coalition_id, span_start, span_end)
            total.add(found.meetings, found.attendance, found.rsvps, found.active)
        return total

    async def _asked(self, coalition_id: int, start: datetime, end: datetime) -> Activity:
        data = self.repos.reports
        return Activity(
            await data.meetings_held(coalition_id, start, end),
            Counter(await data.attendance_by_sector(coalition_id, start, end)),
            Counter(await data.rsvps_by_sector(coalition_id, start, end)),
            await data.active_members(coalition_id, start, end),
        )

    # Keeping days ------------------------------------------------------------------------------

    async def coalitions_to_keep(self) -> list[int]:
        """The coalitions whose days of engagement are kept for reports."""
        return await self.repos.engagement.coalitions()

    async def days_to_keep(self, coalition_id: int, horizon: timedelta = KEPT_FOR) -> list[datetime]:
        """Whole days before today, back to the coalition's first (at most `horizon`), not kept or
        changed since they were."""
        today = day_of(self.clock.now())
        first = await self.repos.engagement.first_day(coalition_id)
        if first is None:
            return []
        first = max(first, today - horizon)
        current = await self.repos.engagement.current_days(coalition_id, first, today)
        days = []
        day = first
        while day < today:
            if day not in current:
                days.append(day)
            day += DAY
        return days

    async def keep_days(self, coalition_id: int, days: list[datetime]) -> int:
        """Keep these days (each read as `_asked` reads it); a day changed meanwhile stays stale."""
        versions = await self.repos.engagement.begin_keeping(coalition_id, days)
        for day in days:
            found = await self._asked(coalition_id, day, day + DAY)
            await self.repos.engagement.keep(
                coalition_id,
                day,
                versions[day],
                found.meetings,
                dict(found.attendance),
                dict(found.rsvps),
                found.active,
            )
        return len(days)

    def csv(self, report: Report) -> bytes:
        """One row per scope and metric; every column holds one kind of value (dates, counts, or
        percentages), so the file sorts and charts in a spreadsheet as it is."""
        header = [
            "period start (UTC)",
            "period end (UTC)",
            "scope",
            "members",
            "meetings held",
            "meetings held before",
            "metric",
            "this period (%)",
            "previous period (%)",
            "change (points)",
        ]
        scopes = [("all members", report.overall, report.previous)]  # untranslated: CSV values stay put
        scopes += [(sector, now, before) for sector, (now, before) in report.sectors.items()]
        period = [report.start.isoformat(), report.end.isoformat()]
        rows = []
        for scope, now, before in scopes:
            for metric in METRICS:
                a, b = now.rates[metric], before.rates[metric]
                change = "" if a is None or b is None else round((a - b) * 100, 1)
                counts = [cell(scope), now.members, now.meetings, before.meetings, LABELS[metric]]
                rows.append([*period, *counts, _pct(a), _pct(b), change])
        return table(header, rows)

    async def chart(self, report: Report, title: str) -> bytes:
        """The rates against the previous period, as a PNG. Drawn in a worker thread: matplotlib is
        synchronous and would otherwise hold up every other member's command. A chart is drawn
        once per set of figures (and language): most reports asked for repeat ones whose figures
        have not moved, and drawing is most of a report's time."""
        key = _ChartKey(
            title,
            language(),
            report.start.date(),
            report.end.date(),
            tuple(report.overall.rates[m] for m in METRICS),
            tuple(report.previous.rates[m] for m in METRICS),
        )
        drawn = _CHARTS.get(key)
        if drawn is None:
            drawn = await asyncio.to_thread(_draw, report, title)
            _CHARTS[key] = drawn
            while len(_CHARTS) > CHARTS_KEPT:
                _CHARTS.pop(next(iter(_CHARTS)))
        return drawn


@dataclass(frozen=True)
class _ChartKey:
    """Everything a chart shows: the same key draws the same picture."""

    title: str
    language: str
    start: date
    end: date
    now: tuple[float | None, ...]
    before: tuple[float | None, ...]


CHARTS_KEPT = 64  # charts this process keeps drawn, oldest dropped first
_CHARTS: dict[_ChartKey, bytes] = {}


def chart_alt(name: str, report: Report) -> str:
    """The chart in words, for those who cannot see it: every figure, this period and the last."""
    parts = []
    for metric in METRICS:
        now, before = report.overall.rates[metric], report.previous.rates[metric]
        shown = _("n/a") if now is None else f"{now * 100:.0f}%"
        was = _("n/a") if before is None else f"{before * 100:.0f}%"
        parts.append(_("{metric} {now} (before: {before})").format(metric=_(LABELS[metric]), now=shown, before=was))
    return _("Chart of the engagement report for {name}, this period against the one before: {figures}").format(
        name=name, figures=" · ".join(parts)
    )


def _nothing() -> Figures:
    return Figures(0, 0, dict.fromkeys(METRICS), 0)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def _draw(report: Report, title: str) -> bytes:
    figure = _figure(report, title)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _figure(report: Report, title: str) -> Figure:
    """This period against the one before. A rate with nothing to measure (no meetings, no polls)
    is labelled n/a, as in the text, never drawn as 0%; the legend sits below the bars."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 5.5), dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    labels = [_(LABELS[m]) for m in METRICS]
    now_rates = [report.overall.rates[m] for m in METRICS]
    now = [(r or 0) * 100 for r in now_rates]
    before = [(report.previous.rates[m] or 0) * 100 for m in METRICS]
    positions = range(len(METRICS))
    axes.barh([p + 0.2 for p in positions], before, height=0.4, color="#b8c4b8", label=_("previous period"))
    bars = axes.barh([p - 0.2 for p in positions], now, height=0.4, color="#2c5f2d", label=_("this period"))
    for bar, rate in zip(bars, now_rates, strict=True):
        shown = _("n/a") if rate is None else f"{rate * 100:.0f}%"
        axes.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, shown, va="center", fontsize=9)
    axes.set_yticks(list(positions), labels)
    axes.invert_yaxis()
    axes.set_xlim(0, 110)
    axes.set_xlabel(_("% of what was possible (n/a: nothing to measure in the period)"))
    period = _("{start} to {end}").format(start=f"{report.start:%Y-%m-%d}", end=f"{report.end:%Y-%m-%d}")
    axes.set_title(f"{title}\n{period}", fontsize=11)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    figure.tight_layout()
    return figure
