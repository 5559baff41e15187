"""Accountability and members' rights: the audit log, per-member rate limits, data export, erasure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.i18n import _, ngettext
from bot.markup import timestamp, user_text
from bot.permissions import Role, role_name
from bot.problems import Problem
from bot.services.meetings import MeetingService
from bot.spreadsheets import cell, table
from bot.views import CoalitionView, MemberView
from storage import Repositories
from storage.models import AuditEntry, Member, RateEvent


@dataclass(frozen=True)
class RateLimit:
    count: int
    period: timedelta


class GovernanceProblem(Problem):
    """A change to who does what that the coalition's rules refuse; the message says why."""


class GovernanceService:
    def __init__(self, repos: Repositories, clock: Clock, meetings: MeetingService) -> None:
        self.repos = repos
        self.clock = clock
        self.meetings = meetings

    async def record(
        self,
        coalition_id: int,
        actor: MemberView | None,
        action: str,
        target: str,
        platform: str,
        subject: MemberView | None = None,
    ) -> None:
        """`target` may say "{subject}" for the member acted upon: their name is looked up when the
        log is read, so erasing them leaves "a former member" and no name behind."""
        await self.repos.governance.audit(
            AuditEntry(
                coalition_id=coalition_id,
                at=self.clock.now(),
                actor_id=actor.id if actor else None,
                action=action[:60],
                target=target[:300],
                platform=platform,
                subject_id=subject.id if subject else None,
            )
        )

    async def entries(self, coalition: CoalitionView, since: datetime, limit: int | None = None) -> list[AuditLine]:
        """Entries newest first, as read: names are filled in on copies, never written back, so an
        erased member's name cannot be left behind in the log by someone reading it."""
        assert coalition.id is not None
        rows = await self.repos.governance.audit_entries(coalition.id, since, limit)
        return [
            AuditLine(
                at=entry.at,
                actor=_name(actor),
                platform=entry.platform,
                action=entry.action,
                target=entry.target.replace("{subject}", _name(subject)),
            )
            for entry, actor, subject in rows
        ]

    def audit_csv(self, entries: list[AuditLine]) -> bytes:
        return table(
            ["time (UTC)", "actor", "platform", "action", "target"],
            (
                [line.at.isoformat(), cell(line.actor), line.platform, line.action, cell(line.target)]
                for line in entries
            ),
        )

    async def check_rate(self, member: MemberView, kind: str, limit: RateLimit) -> str | None:
        """None when the member may go ahead; otherwise a friendly message saying when they can."""
        assert member.id is not None
        now = self.clock.now()
        recent = await self.repos.governance.rate_events(member.id, kind, now - limit.period)
        if len(recent) < limit.count:
            return None
        free_at = recent[len(recent) - limit.count] + limit.period
        return _(
            "You've used {kind} {recent} times recently (the limit is {count} per {period}, "
            "to keep channels calm). You can use it again {free_at}."
        ).format(
            kind=kind,
            recent=len(recent),
            count=limit.count,
            period=_period(limit.period),
            free_at=timestamp(free_at, "R"),
        )

    async def count_use(self, member: MemberView, kind: str) -> None:
        assert member.id is not None
        await self.repos.governance.add_rate_event(RateEvent(member_id=member.id, kind=kind, at=self.clock.now()))

    async def export(self, member: MemberView, coalition: CoalitionView) -> bytes:
        assert isinstance(member, Member)  # a view this service handed out: its row
        data = {
            "coalition": coalition.name,
            "you": {
                "platform": member.platform,
                "workspace": member.workspace_id,
                "user_id": member.user_id,
                "display_name": member.display_name,
                "role": member.role,
                "time_zone": member.timezone,
                "language": member.language,
                "app_language": member.app_language,
                "organisation": member.organisation,
                "sector": member.sector,
                "joined_at": member.joined_at.isoformat(),
            },
            **await self.repos.governance.member_data(member),
            **await self._email_data(member),
            "not_included": _("Anonymous ballots and anonymous feedback: they are stored without your identity."),
        }
        return json.dumps(data, indent=2, ensure_ascii=False).encode()

    async def _email_data(self, member: Member) -> dict[str, object]:
        row = await self.repos.email.of_member(member.id or 0)
        if row is None:
            return {}
        confirmed = row.confirmed_at.isoformat() if row.confirmed_at else None
        return {"mail": {"address": row.address, "state": row.state, "confirmed_at": confirmed}}

    async def forget(self, member: MemberView) -> None:
        assert isinstance(member, Member)  # a view this service handed out: its row
        assert member.id is not None
        name = json.dumps(user_text(member.display_name or member.user_id))[1:-1]
        former = json.dumps(user_text(_("a former member")))[1:-1]
        await self.repos.governance.scrub_payloads(await self.repos.governance.authored(member.id), name, former)
        named_on = await self.repos.meetings.answered_by(member.id)
        await self.repos.governance.forget(member)
        # Cards already posted list who is going: redraw them without the name.
        for occurrence, meeting in named_on:
            await self.meetings.refresh_cards(meeting, occurrence)

    async def set_role(self, member: MemberView, role: Role) -> None:
        """Give a member a role; the coalition always keeps at least one coordinator."""
        assert isinstance(member, Member)  # a view this service handed out: its row
        name = user_text(member.display_name or member.user_id)
        if member.role == role:
            raise GovernanceProblem(_("{name} is already a {role}.").format(name=name, role=role_name(role)))
        if await self.is_last_coordinator(member):
            raise GovernanceProblem(
                _("{name} is the only coordinator; make someone else a coordinator first.").format(name=name)
            )
        member.role = role
        await self.repos.members.save(member)

    async def is_last_coordinator(self, member: MemberView) -> bool:
        return (
            member.role == Role.COORDINATOR and await self.repos.governance.count_coordinators(member.coalition_id) <= 1
        )


@dataclass(frozen=True)
class AuditLine:
    """One audit entry as a coordinator reads it, with names filled in."""

    at: datetime
    actor: str
    platform: str
    action: str
    target: str


def _name(member: Member | None) -> str:
    return (member.display_name or member.user_id) if member else _("a former member")


def _period(period: timedelta) -> str:
    minutes = int(period.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("hour", "{n} hours", hours).format(n=hours)
    return ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)
