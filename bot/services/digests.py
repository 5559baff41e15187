"""The weekly digest: per linked channel that opted in, on its day and hour in the coalition's time
zone, the week ahead (meetings, polls closing, action items due) and the broadcasts still waiting
for acknowledgements. Each digest is an outbox row keyed by channel and date, so it goes once."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.i18n import _, speaking
from bot.markup import timestamp, user_text
from bot.problems import Problem
from bot.replies import Reply, Section
from bot.services.decisions import STATES as DECISION_STATES
from bot.services.decisions import DecisionService
from bot.services.goals import GoalService, goal_line
from bot.services.outbox import Outbox
from bot.spanish_words import meaning as spanish_meaning
from bot.views import ChannelView, CoalitionView
from storage import Repositories
from storage.models import Channel, Coalition

WEEK = timedelta(days=7)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SOURCE = "digest"


class DigestProblem(Problem):
    """The digest settings are not usable; the message says why."""


def parse_weekday(value: str) -> int:
    word = spanish_meaning(value, WEEKDAYS) or value.strip().lower()  # "miércoles" too
    for n, day in enumerate(WEEKDAYS):
        if len(word) >= 2 and day.startswith(word):
            return n
    raise DigestProblem(
        _("'{value}' is not a day of the week: say monday, tuesday ... or mon, tue ...").format(value=value)
    )


def next_digest(after: datetime, weekday: int, hour: int, zone: ZoneInfo) -> datetime:
    """The first moment strictly after `after` that is `weekday` at `hour`:00 in `zone`."""
    local = after.astimezone(zone)
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(
        days=(weekday - local.weekday()) % 7
    )
    while candidate <= local:
        candidate += WEEK
    # Rebuild from the wall-clock date so a DST change in between keeps the hour.
    naive = candidate.replace(tzinfo=None)
    return naive.replace(tzinfo=zone).astimezone(after.tzinfo)


class DigestService:
    def __init__(
        self, repos: Repositories, outbox: Outbox, clock: Clock, decisions: DecisionService, goals: GoalService
    ) -> None:
        self.repos = repos
        self.outbox = outbox
        self.clock = clock
        self.decisions = decisions
        self.goals = goals

    async def configure(self, coalition: CoalitionView, channel: ChannelView, weekday: int | None, hour: int) -> None:
        assert isinstance(channel, Channel)  # a view this service handed out: its row
        channel.digest_weekday = weekday
        channel.digest_hour = hour
        channel.digest_next_at = (
            None if weekday is None else next_digest(self.clock.now(), weekday, hour, ZoneInfo(coalition.timezone))
        )
        await self.repos.coalitions.save_channel(channel)

    async def next_due(self) -> datetime | None:
        """When the next coalition's weekly digest is due."""
        return await self.repos.reports.next_digest()

    async def send_due(self, now: datetime) -> int:
        sent = 0
        for channel_id in await self.repos.reports.due_digests(now):
            channel = await self.repos.coalitions.channel_by_id(channel_id)
            if channel is None or channel.digest_weekday is None or channel.digest_next_at is None:
                continue
            coalition = await self.repos.coalitions.get(channel.coalition_id)
            assert coalition is not None
            due = channel.digest_next_at
            following = next_digest(
                max(now, due), channel.digest_weekday, channel.digest_hour, ZoneInfo(coalition.timezone)
            )
            if not await self.repos.coalitions.claim_digest(channel_id, due, following):
                continue  # another process sent this one
            with speaking(await self.outbox.channel_language(channel)):
                digest = await self.compose(coalition, now)
            await self.outbox.to(
                channel,
                digest,
                key=f"{SOURCE}:{channel_id}:{due.date().isoformat()}",
                source=SOURCE,
                source_id=channel_id,
            )
            sent += 1
        return sent

    async def compose(self, coalition: Coalition, now: datetime) -> Reply:
        assert coalition.id is not None
        week = now + WEEK
        lines = [_("🗞️ **The week ahead for {name}**").format(name=user_text(coalition.name))]
        meetings = [(o, m) for o, m in await self.repos.meetings.upcoming(coalition.id, now, 25) if o.start < week]
        lines.append(_("**Meetings**"))
        lines += [f"• {timestamp(o.start, 'f')}: {user_text(m.title)} (#{m.id})" for o, m in meetings] or [
            _("• None scheduled.")
        ]
        polls = await self.repos.reports.open_polls_closing(coalition.id, now, week)
        lines.append(_("**Polls closing soon**"))
        lines += [
            _("• #{id} {question}: closes {when}").format(
                id=p.id, question=user_text(p.question[:100]), when=timestamp(p.closes_at, "R")
            )
            for p in polls
            if p.closes_at
        ] or [_("• None.")]
        recent = [
            b
            for b in await self.repos.broadcasts.recent(coalition.id, limit=20)
            if b.ack_enabled and b.status != "cancelled" and now - WEEK * 2 <= b.send_at <= now
        ]
        members = await self.repos.members.count(coalition.id)
        acks = await self.repos.reports.ack_counts([b.id or 0 for b in recent])
        waiting = [(b, acks.get(b.id or 0, 0)) for b in recent if acks.get(b.id or 0, 0) < members]
        lines.append(_("**Broadcasts not yet acknowledged by everyone**"))
        lines += [
            _("• #{id} {text}: {count} of {members} acknowledged").format(
                id=b.id, text=user_text(b.text[:80]), count=n, members=members
            )
            for b, n in waiting
        ] or [_("• None.")]
        items = await self.repos.reports.actions_due(coalition.id, now, week)
        lines.append(_("**Action items due**"))
        lines += [
            (
                _("• {text}, {owner}: overdue since {when}") if i.due_at < now else _("• {text}, {owner}: due {when}")
            ).format(
                text=user_text(i.text),
                owner=user_text(o.display_name or o.user_id) if o else _("unassigned"),
                when=timestamp(i.due_at, "f"),
            )
            for i, o in items
        ] or [_("• None.")]
        decided, reviews = await self.decisions.week(coalition.id, now, week)
        if decided or reviews:  # said only when there is something: most weeks decide nothing
            lines.append(_("**Decisions**"))
            lines += [
                _("• #{id} {text}: {state}").format(
                    id=p.id, text=user_text((p.outcome or p.text)[:100]), state=_(DECISION_STATES[p.status])
                )
                for p in decided
            ]
            lines += [
                _("• #{id} {text}: review {when}").format(
                    id=p.id, text=user_text((p.outcome or p.text)[:100]), when=timestamp(p.review_at, "f")
                )
                for p in reviews
                if p.review_at
            ]
        moved = await self.goals.moved(coalition.id, now - (week - now), now)
        if moved:  # one line per goal with a new value this week
            lines.append(_("**Goals**"))
            for goal in moved:
                view = await self.goals.view(goal)
                lines.append(f"• {user_text(goal.title)}: {user_text(goal_line(view))}")
        text = "\n".join(lines)
        return Reply(text=text, blocks=(Section(text),))
