"""Queries for the audit log, per-member rate limits, and a member's own data (export, erasure)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.email import EmailRepository
from storage.engagement import EngagementRepository
from storage.models import (
    Acknowledgement,
    ActionItem,
    Attendance,
    AuditEntry,
    Ballot,
    Broadcast,
    Fanout,
    Goal,
    GoalValue,
    JoinCode,
    Meeting,
    Member,
    OutboxMessage,
    Poll,
    Position,
    Proposal,
    RateEvent,
    Reminder,
    Rsvp,
)


class GovernanceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.forgot = False  # a member was erased in this transaction (see Repositories.commit)

    async def audit(self, entry: AuditEntry) -> None:
        self.session.add(entry)
        await self.session.flush()

    async def audit_entries(
        self, coalition_id: int, since: datetime, limit: int | None = None
    ) -> list[tuple[AuditEntry, Member | None, Member | None]]:
        subject = aliased(Member)
        query = (
            select(AuditEntry, Member, subject)
            .join(Member, col(Member.id) == AuditEntry.actor_id, isouter=True)
            .join(subject, col(subject.id) == AuditEntry.subject_id, isouter=True)
            .where(AuditEntry.coalition_id == coalition_id, AuditEntry.at >= since)
            .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        )
        if limit is not None:
            query = query.limit(limit)
        return list((await self.session.exec(query)).all())

    async def rate_events(self, member_id: int, kind: str, since: datetime) -> list[datetime]:
        result = await self.session.exec(
            select(RateEvent.at)
            .where(RateEvent.member_id == member_id, RateEvent.kind == kind, RateEvent.at >= since)
            .order_by(col(RateEvent.at))
        )
        return list(result.all())

    async def add_rate_event(self, event: RateEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def count_coordinators(self, coalition_id: int) -> int:
        result = await self.session.exec(
            select(func.count())
            .select_from(Member)
            .where(Member.coalition_id == coalition_id, Member.role == "coordinator")
        )
        return int(result.one())

    # A member's own data ---------------------------------------------------------------------

    async def member_data(self, member: Member) -> dict[str, Any]:
        acks = (await self.session.exec(select(Acknowledgement).where(Acknowledgement.member_id == member.id))).all()
        authored = (await self.session.exec(select(Broadcast).where(Broadcast.author_id == member.id))).all()
        actions = (await self.session.exec(select(AuditEntry).where(AuditEntry.actor_id == member.id))).all()
        messages = (
            await self.session.exec(
                select(OutboxMessage).where(
                    OutboxMessage.kind == "dm",
                    OutboxMessage.platform == member.platform,
                    OutboxMessage.workspace_id == member.workspace_id,
                    OutboxMessage.user_id == member.user_id,
                )
            )
        ).all()
        rsvps = (await self.session.exec(select(Rsvp).where(Rsvp.member_id == member.id))).all()
        attended = (await self.session.exec(select(Attendance).where(Attendance.member_id == member.id))).all()
        ballots = (await self.session.exec(select(Ballot).where(Ballot.member_id == member.id))).all()
        polls = (await self.session.exec(select(Poll).where(Poll.created_by == member.id))).all()
        return {
            "poll_votes": [
                {"poll": b.poll_id, "options": [int(c) + 1 for c in b.choices.split(",") if c]} for b in ballots
            ],
            "polls_started": [{"id": p.id, "question": p.question} for p in polls],
            "meeting_answers": [
                {"meeting": r.occurrence_id, "answer": r.answer, "at": r.at.isoformat()} for r in rsvps
            ],
            "meetings_attended": [a.occurrence_id for a in attended],
            "acknowledgements": [{"broadcast": a.broadcast_id, "at": a.acked_at.isoformat()} for a in acks],
            "broadcasts_sent": [{"id": b.id, "text": b.text, "send_at": b.send_at.isoformat()} for b in authored],
            "coordinator_actions": [{"at": e.at.isoformat(), "action": e.action, "target": e.target} for e in actions],
            "direct_messages_to_you": [
                {"at": m.created_at.isoformat(), "status": m.status, "about": f"{m.source} {m.source_id}"}
                for m in messages
            ],
        }

    async def scrub_payloads(self, broadcast_ids: list[int], marked_name: str, replacement: str) -> None:
        """Replace a name, as it is marked inside stored message payloads, in these broadcasts' messages."""
        if not broadcast_ids:
            return
        rows = (
            await self.session.exec(
                select(OutboxMessage).where(
                    OutboxMessage.source == "broadcast", col(OutboxMessage.source_id).in_(broadcast_ids)
                )
            )
        ).all()
        for row in rows:
            if marked_name in row.payload:
                row.payload = row.payload.replace(marked_name, replacement)
                self.session.add(row)
        await self.session.flush()

    async def authored(self, member_id: int) -> list[int]:
        result = await self.session.exec(select(Broadcast.id).where(Broadcast.author_id == member_id))
        return [i for i in result.all() if i is not None]

    async def forget(self, member: Member) -> None:
        """Erase a member. Counts stay right (acknowledgements remain, unattributed); nothing that
        identifies them remains: their row, their direct messages and their rate events go, and
        what they did as a coordinator stays on record without their name."""
        assert member.id is not None
        await self.session.exec(  # type: ignore[call-overload]
            update(Acknowledgement).where(Acknowledgement.member_id == member.id).values(member_id=None)
        )
        await self.session.exec(  # type: ignore[call-overload]
            update(Broadcast).where(Broadcast.author_id == member.id).values(author_id=None)
        )
        await self.session.exec(  # type: ignore[call-overload]
            update(ActionItem).where(ActionItem.owner_id == member.id).values(owner_id=None)
        )
        await self.session.exec(  # type: ignore[call-overload]
            update(ActionItem).where(ActionItem.created_by == member.id).values(created_by=None)
        )
        for table in (Rsvp, Attendance):  # counts stay right; the name goes
            await self.session.exec(  # type: ignore[call-overload]
                update(table).where(table.member_id == member.id).values(member_id=None)
            )
        await self.session.exec(  # type: ignore[call-overload]
            update(Meeting).where(Meeting.created_by == member.id).values(created_by=None)
        )
        await self.session.exec(  # type: ignore[call-overload]
            update(Poll).where(Poll.created_by == member.id).values(created_by=None)
        )
        # Decisions keep their record; the member's positions and reasons go with them (a closed
        # proposal's result was written at close and keeps its counts).
        await self.session.exec(delete(Position).where(col(Position.member_id) == member.id))  # type: ignore[call-overload]
        for column in (Proposal.created_by, Proposal.owner_id):
            await self.session.exec(update(Proposal).where(column == member.id).values({column.key: None}))  # type: ignore[call-overload]
        for column in (Goal.created_by, Goal.owner_id):  # goals and their values stay, unattributed
            await self.session.exec(update(Goal).where(column == member.id).values({column.key: None}))  # type: ignore[call-overload]
        await self.session.exec(  # type: ignore[call-overload]
            update(GoalValue).where(col(GoalValue.recorded_by) == member.id).values(recorded_by=None)
        )
        # Named ballots still count, under a random key with no member and no time.
        for ballot in (await self.session.exec(select(Ballot).where(Ballot.member_id == member.id))).all():
            await self.session.exec(  # type: ignore[call-overload]
                update(Ballot)
                .where(col(Ballot.poll_id) == ballot.poll_id, col(Ballot.voter_key) == ballot.voter_key)
                .values(voter_key=f"forgotten:{secrets.token_hex(16)}", member_id=None, cast_at=None)
            )
        await self.session.exec(  # type: ignore[call-overload]
            update(AuditEntry).where(AuditEntry.actor_id == member.id).values(actor_id=None)
        )
        await self.session.exec(  # type: ignore[call-overload]
            update(AuditEntry).where(AuditEntry.subject_id == member.id).values(subject_id=None)
        )
        await self.session.exec(delete(RateEvent).where(RateEvent.member_id == member.id))  # type: ignore[call-overload]
        # Their own reminder lead times made reminders only for them: those go with them.
        await self.session.exec(delete(Reminder).where(Reminder.member_id == member.id))  # type: ignore[call-overload]
        await self.session.exec(  # type: ignore[call-overload]
            update(JoinCode).where(JoinCode.created_by == member.id).values(created_by=None)
        )
        # A reminder they asked for still goes out; nobody is told how many it reached.
        await self.session.exec(  # type: ignore[call-overload]
            update(Fanout).where(col(Fanout.requested_by) == member.id).values(requested_by=None)
        )
        dm_rows = select(OutboxMessage.id).where(
            OutboxMessage.kind == "dm",
            OutboxMessage.platform == member.platform,
            OutboxMessage.workspace_id == member.workspace_id,
            OutboxMessage.user_id == member.user_id,
        )
        ids = [row_id for row_id in (await self.session.exec(dm_rows)).all()]
        if ids:
            await self.session.exec(  # type: ignore[call-overload]
                delete(OutboxMessage).where(or_(col(OutboxMessage.id).in_(ids), col(OutboxMessage.edit_of_id).in_(ids)))
            )
        await EmailRepository(self.session).forget(member)  # their address, and the channel it fed
        self.forgot = True  # the commit then clears the write-ahead log of their rows
        await EngagementRepository(self.session).touch_all(member.coalition_id)  # kept days name them by id
        await self.session.delete(member)
        await self.session.flush()
