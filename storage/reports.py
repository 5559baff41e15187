"""Aggregate queries for engagement reports and digests: counts per sector, computed in the database,
so a report over thousands of members and hundreds of meetings stays a handful of queries."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, union
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.kinds import PollKind
from storage.models import (
    Acknowledgement,
    ActionItem,
    Attendance,
    Ballot,
    Broadcast,
    Channel,
    Meeting,
    Member,
    Occurrence,
    Poll,
    Position,
    Proposal,
    Rsvp,
)

NO_SECTOR = ""


def _by_sector(rows: list[tuple[str | None, int]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for sector, count in rows:
        counts[sector or NO_SECTOR] = counts.get(sector or NO_SECTOR, 0) + int(count)
    return counts


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def member_groups(self, coalition_id: int) -> list[tuple[str | None, str, str | None, int]]:
        """(sector, platform, organisation, members) for every group of members alike in all three:
        the stakeholder map's counts, without loading a row per member."""
        result = await self.session.exec(
            select(Member.sector, Member.platform, Member.organisation, func.count())  # type: ignore[call-overload]
            .where(Member.coalition_id == coalition_id)
            .group_by(col(Member.sector), col(Member.platform), col(Member.organisation))
        )
        return [(sector, platform, organisation, int(n)) for sector, platform, organisation, n in result.all()]

    async def members_by_sector(self, coalition_id: int, by: datetime) -> dict[str, int]:
        """Members who had joined by `by` (observers read along and are not counted)."""
        result = await self.session.exec(
            select(Member.sector, func.count())
            .where(Member.coalition_id == coalition_id, col(Member.joined_at) <= by, Member.role != "observer")
            .group_by(col(Member.sector))  # type: ignore[arg-type]
        )
        return _by_sector(list(result.all()))

    def _held(self, coalition_id: int, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
        """Occurrences held in the period, found through the index on their start (the meeting is
        checked per occurrence): a day's report reads a day's meetings, whatever the planner knows."""
        ours = select(Meeting.id).where(col(Meeting.id) == Occurrence.meeting_id, Meeting.coalition_id == coalition_id)
        return select(Occurrence.id).where(
            col(Occurrence.start) >= start,
            col(Occurrence.start) < end,
            col(Occurrence.cancelled).is_(False),
            ours.exists(),
        )

    async def meetings_held(self, coalition_id: int, start: datetime, end: datetime) -> int:
        held = self._held(coalition_id, start, end).subquery()
        return int((await self.session.exec(select(func.count()).select_from(held))).one())

    async def attendance_by_sector(self, coalition_id: int, start: datetime, end: datetime) -> dict[str, int]:
        held = self._held(coalition_id, start, end)
        result = await self.session.exec(
            select(Member.sector, func.count())
            .select_from(Attendance)
            .join(Member, col(Member.id) == Attendance.member_id)
            .where(col(Attendance.occurrence_id).in_(held))
            .group_by(col(Member.sector))  # type: ignore[arg-type]
        )
        return _by_sector(list(result.all()))

    async def rsvps_by_sector(self, coalition_id: int, start: datetime, end: datetime) -> dict[str, int]:
        held = self._held(coalition_id, start, end)
        result = await self.session.exec(
            select(Member.sector, func.count())
            .select_from(Rsvp)
            .join(Member, col(Member.id) == Rsvp.member_id)
            .where(col(Rsvp.occurrence_id).in_(held))
            .group_by(col(Member.sector))  # type: ignore[arg-type]
        )
        return _by_sector(list(result.all()))

    def _polls(self, coalition_id: int, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
        return select(Poll.id).where(
            Poll.coalition_id == coalition_id,
            Poll.kind != PollKind.SURVEY,
            col(Poll.created_at) >= start,
            col(Poll.created_at) < end,
        )

    async def polls_asked(self, coalition_id: int, start: datetime, end: datetime) -> tuple[int, int]:
        """(polls asked, of which anonymous) in the period."""
        polls = self._polls(coalition_id, start, end).subquery()
        total = (await self.session.exec(select(func.count()).select_from(polls))).one()
        anonymous = (
            await self.session.exec(
                select(func.count())
                .select_from(Poll)
                .where(col(Poll.id).in_(self._polls(coalition_id, start, end)), col(Poll.anonymous).is_(True))
            )
        ).one()
        return int(total), int(anonymous)

    async def ballots(self, coalition_id: int, start: datetime, end: datetime) -> int:
        """Ballots cast in the period's polls, as members may see them: every ballot of a poll that
        is not anonymous; an anonymous poll's final count once it has closed (its ballots are gone
        then), nothing of it while it is open (a report asked after each vote would count them)."""
        polls = self._polls(coalition_id, start, end)
        named = select(Poll.id).where(col(Poll.id).in_(polls), col(Poll.anonymous).is_(False))
        result = await self.session.exec(select(func.count()).select_from(Ballot).where(col(Ballot.poll_id).in_(named)))
        finals = await self.session.exec(
            select(Poll.final_tally).where(
                col(Poll.id).in_(polls), col(Poll.anonymous).is_(True), col(Poll.final_tally).is_not(None)
            )
        )
        closed = sum(int(json.loads(tally).get("voters", 0)) for tally in finals.all() if tally)
        return int(result.one()) + closed

    async def named_ballots_by_sector(self, coalition_id: int, start: datetime, end: datetime) -> dict[str, int]:
        polls = self._polls(coalition_id, start, end)
        result = await self.session.exec(
            select(Member.sector, func.count())
            .select_from(Ballot)
            .join(Member, col(Member.id) == Ballot.member_id)
            .where(col(Ballot.poll_id).in_(polls))
            .group_by(col(Member.sector))  # type: ignore[arg-type]
        )
        return _by_sector(list(result.all()))

    async def decisions(self, coalition_id: int, start: datetime, end: datetime) -> tuple[int, int, int]:
        """(decisions closed in the period, of which with a known number of participants, the
        positions taken on those): an anonymous proposal's only where its result shows them."""
        result = await self.session.exec(
            select(Proposal.result).where(
                Proposal.coalition_id == coalition_id,
                col(Proposal.closed_at) >= start,
                col(Proposal.closed_at) < end,
            )
        )
        known = [json.loads(r).get("participants") for r in result.all() if r]
        counted = [int(n) for n in known if isinstance(n, int)]
        return len(known), len(counted), sum(counted)

    async def named_positions_by_sector(self, coalition_id: int, start: datetime, end: datetime) -> tuple[int, dict]:
        """(named proposals closed in the period, positions taken on them per sector)."""
        closed = select(Proposal.id).where(
            Proposal.coalition_id == coalition_id,
            col(Proposal.anonymous).is_(False),
            col(Proposal.closed_at) >= start,
            col(Proposal.closed_at) < end,
        )
        count = (await self.session.exec(select(func.count()).select_from(closed.subquery()))).one()
        result = await self.session.exec(
            select(Member.sector, func.count())
            .select_from(Position)
            .join(Member, col(Member.id) == Position.member_id)
            .join(Proposal, col(Proposal.id) == Position.proposal_id)
            .where(col(Position.proposal_id).in_(closed), Position.version == Proposal.version)
            .group_by(col(Member.sector))  # type: ignore[arg-type]
        )
        return int(count), _by_sector(list(result.all()))

    def _broadcasts(self, coalition_id: int, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
        return select(Broadcast.id).where(
            Broadcast.coalition_id == coalition_id,
            col(Broadcast.ack_enabled).is_(True),
            Broadcast.status != "cancelled",
            col(Broadcast.send_at) >= start,
            col(Broadcast.send_at) < end,
        )

    async def broadcasts_sent(self, coalition_id: int, start: datetime, end: datetime) -> int:
        sent = self._broadcasts(coalition_id, start, end).subquery()
        return int((await self.session.exec(select(func.count()).select_from(sent))).one())

    async def acks_by_sector(self, coalition_id: int, start: datetime, end: datetime) -> dict[str, int]:
        result = await self.session.exec(
            select(Member.sector, func.count())
            .select_from(Acknowledgement)
            .join(Member, col(Member.id) == Acknowledgement.member_id)
            .where(col(Acknowledgement.broadcast_id).in_(self._broadcasts(coalition_id, start, end)))
            .group_by(col(Member.sector))  # type: ignore[arg-type]
        )
        return _by_sector(list(result.all()))

    async def active_members(self, coalition_id: int, start: datetime, end: datetime) -> dict[str, set[int]]:
        """Members who answered, attended, voted by name or acknowledged during the period, by sector."""
        held = self._held(coalition_id, start, end)
        acted = union(
            select(Rsvp.member_id).where(col(Rsvp.at) >= start, col(Rsvp.at) < end),
            select(Attendance.member_id).where(col(Attendance.occurrence_id).in_(held)),
            select(Acknowledgement.member_id).where(
                col(Acknowledgement.acked_at) >= start, col(Acknowledgement.acked_at) < end
            ),
            select(Ballot.member_id).where(col(Ballot.cast_at) >= start, col(Ballot.cast_at) < end),
        )
        result = await self.session.exec(
            select(Member.id, Member.sector).where(  # type: ignore[call-overload]
                Member.coalition_id == coalition_id, col(Member.id).in_(acted)
            )
        )
        found: dict[str, set[int]] = {}
        for member_id, sector in result.all():
            found.setdefault(sector or NO_SECTOR, set()).add(member_id)
        return found

    # For the weekly digest -----------------------------------------------------------------

    async def surveys_closed(self, coalition_id: int, start: datetime, end: datetime) -> list[Poll]:
        """Surveys closed in [start, end), oldest first (their final results are written then)."""
        result = await self.session.exec(
            select(Poll)
            .where(
                Poll.coalition_id == coalition_id,
                Poll.kind == PollKind.SURVEY,
                Poll.status == "closed",
                col(Poll.closed_at) >= start,
                col(Poll.closed_at) < end,
            )
            .order_by(col(Poll.closed_at))
        )
        return list(result.all())

    async def open_polls_closing(self, coalition_id: int, start: datetime, end: datetime) -> list[Poll]:
        result = await self.session.exec(
            select(Poll)
            .where(
                Poll.coalition_id == coalition_id,
                Poll.status == "open",
                col(Poll.closes_at) >= start,
                col(Poll.closes_at) < end,
            )
            .order_by(col(Poll.closes_at))
        )
        return list(result.all())

    async def actions_due(
        self, coalition_id: int, start: datetime, end: datetime
    ) -> list[tuple[ActionItem, Member | None]]:
        result = await self.session.exec(
            select(ActionItem, Member)
            .join(Member, col(Member.id) == ActionItem.owner_id, isouter=True)
            .where(
                ActionItem.coalition_id == coalition_id,
                col(ActionItem.done_at).is_(None),
                col(ActionItem.due_at) < end,
            )
            .order_by(col(ActionItem.due_at))
        )
        return list(result.all())

    async def ack_counts(self, broadcast_ids: list[int]) -> dict[int, int]:
        if not broadcast_ids:
            return {}
        result = await self.session.exec(
            select(Acknowledgement.broadcast_id, func.count())
            .where(col(Acknowledgement.broadcast_id).in_(broadcast_ids))
            .group_by(col(Acknowledgement.broadcast_id))  # type: ignore[arg-type]
        )
        return {b: int(n) for b, n in result.all()}

    async def due_digests(self, now: datetime) -> list[int]:
        result = await self.session.exec(
            select(Channel.id).where(col(Channel.digest_weekday).is_not(None), col(Channel.digest_next_at) <= now)
        )
        return [i for i in result.all() if i is not None]

    async def next_digest(self) -> datetime | None:
        return (await self.session.exec(select(func.min(Channel.digest_next_at)))).one()
