"""Queries for meetings, their occurrences, RSVPs and reminders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import upsert
from storage.engagement import EngagementRepository, day_of
from storage.models import ActionItem, Attendance, Meeting, Member, Occurrence, Reminder, Rsvp


class MeetingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._staged: dict[tuple[int, int], dict[str, Any]] = {}

    async def add(self, row: Meeting | Occurrence | Reminder | ActionItem) -> None:
        self.session.add(row)
        await self.session.flush()

    async def add_occurrence(self, occurrence: Occurrence) -> Occurrence | None:
        """None when that occurrence exists already (another process made it first)."""
        try:
            async with self.session.begin_nested():
                self.session.add(occurrence)
                await self.session.flush()
        except IntegrityError:
            return None
        return occurrence

    async def occurrence_by_id(self, occurrence_id: int) -> Occurrence | None:
        return await self.session.get(Occurrence, occurrence_id)

    async def meeting(self, meeting_id: int) -> Meeting | None:
        return await self.session.get(Meeting, meeting_id)

    async def occurrence(self, coalition_id: int, occurrence_id: int) -> tuple[Occurrence, Meeting] | None:
        result = await self.session.exec(
            select(Occurrence, Meeting)
            .join(Meeting, col(Meeting.id) == Occurrence.meeting_id)
            .where(Occurrence.id == occurrence_id, Meeting.coalition_id == coalition_id)
        )
        return result.first()

    async def upcoming(self, coalition_id: int, after: datetime, limit: int) -> list[tuple[Occurrence, Meeting]]:
        result = await self.session.exec(
            select(Occurrence, Meeting)
            .join(Meeting, col(Meeting.id) == Occurrence.meeting_id)
            .where(
                # `+ 0` keeps the planner off the coalition's index: walking every meeting the coalition
                # ever held (100k of them) to find the next few is what the index on start avoids.
                Meeting.coalition_id + 0 == coalition_id,
                Occurrence.start >= after,
                col(Occurrence.cancelled).is_(False),
            )
            .order_by(col(Occurrence.start))
            .limit(limit)
        )
        return list(result.all())

    async def occurrences(self, meeting_id: int) -> list[Occurrence]:
        result = await self.session.exec(
            select(Occurrence).where(Occurrence.meeting_id == meeting_id).order_by(col(Occurrence.start))
        )
        return list(result.all())

    async def to_materialize(self, now: datetime, limit: int = 200) -> list[Meeting]:
        result = await self.session.exec(
            select(Meeting)
            .where(Meeting.status == "active", col(Meeting.next_materialize_at) <= now)
            .order_by(col(Meeting.next_materialize_at))
            .limit(limit)
        )
        return list(result.all())

    async def next_materialize(self) -> datetime | None:
        result = await self.session.exec(
            select(func.min(Meeting.next_materialize_at)).where(Meeting.status == "active")
        )
        return result.one()

    def stage_rsvp(self, coalition_id: int, occurrence: Occurrence, member_id: int, answer: str, at: datetime) -> None:
        """Record a member's answer. Answers are staged and written together, in one upsert, before
        this repository reads any answer and at commit: a burst of RSVP clicks costs one statement,
        and a click delivered twice, or two racing clicks by one member, end in one row (the last
        one wins). Other repositories read answers in transactions of their own."""
        assert occurrence.id is not None
        self._staged[(occurrence.id, member_id)] = {
            "occurrence_id": occurrence.id,
            "member_id": member_id,
            "answer": answer,
            "at": at,
            "coalition_id": coalition_id,
            "start": occurrence.start,
        }

    def discard_staged(self) -> None:
        self._staged = {}

    async def write_staged(self) -> None:
        """Write the staged answers; the days reports keep change where an answer moved from an
        earlier day, or where the meeting itself began on one (a meeting running past midnight)."""
        if not self._staged:
            return
        staged, self._staged = self._staged, {}
        params = [{key: row[key] for key in ("occurrence_id", "member_id", "answer", "at")} for row in staged.values()]
        result = await self.session.exec(_rsvp_upsert(self.session), params=params)  # type: ignore[call-overload]
        earlier = {(occurrence_id, member_id): at for occurrence_id, member_id, at in result.all()}
        changed: dict[int, list[datetime]] = {}
        for key, row in staged.items():
            today = day_of(row["at"])
            for instant in (earlier.get(key), row["start"]):
                if instant is not None and instant < today:
                    changed.setdefault(row["coalition_id"], []).append(instant)
        engagement = EngagementRepository(self.session)
        for coalition_id, instants in changed.items():
            await engagement.touch(coalition_id, instants)

    async def rsvps(self, occurrence_id: int) -> list[tuple[Rsvp, Member | None]]:
        await self.write_staged()
        result = await self.session.exec(
            select(Rsvp, Member)
            .join(Member, col(Member.id) == Rsvp.member_id, isouter=True)
            .where(Rsvp.occurrence_id == occurrence_id)
            .order_by(col(Rsvp.at))
            .execution_options(populate_existing=True)  # answers are upserted in SQL: read them fresh
        )
        return list(result.all())

    async def first_to_answer(self, occurrence_id: int, answer: str, limit: int) -> list[str | None]:
        """The names of the first members to give this answer (None for one no longer a member):
        a card shows a few names beside each count, and is redrawn after every burst of RSVPs, so
        it reads those few rows, never every answer."""
        await self.write_staged()
        result = await self.session.exec(
            select(Member.display_name, Member.user_id)  # type: ignore[call-overload]
            .select_from(Rsvp)
            .join(Member, col(Member.id) == Rsvp.member_id, isouter=True)
            .where(Rsvp.occurrence_id == occurrence_id, Rsvp.answer == answer)
            .order_by(col(Rsvp.at), col(Rsvp.member_id))
            .limit(limit)
        )
        return [(name or user_id) if user_id is not None else None for name, user_id in result.all()]

    async def answered_by(self, member_id: int) -> list[tuple[Occurrence, Meeting]]:
        """The occurrences whose cards name this member among those answering."""
        await self.write_staged()
        result = await self.session.exec(
            select(Occurrence, Meeting)
            .join(Meeting, col(Meeting.id) == Occurrence.meeting_id)
            .join(Rsvp, col(Rsvp.occurrence_id) == Occurrence.id)
            .where(Rsvp.member_id == member_id)
        )
        return list(result.all())

    async def answer_counts(self, occurrence_ids: list[int]) -> dict[int, dict[str, int]]:
        """RSVP counts for many occurrences in one query (lists would otherwise ask once per meeting)."""
        await self.write_staged()
        if not occurrence_ids:
            return {}
        result = await self.session.exec(
            select(Rsvp.occurrence_id, Rsvp.answer, func.count())
            .where(col(Rsvp.occurrence_id).in_(occurrence_ids))
            .group_by(Rsvp.occurrence_id, Rsvp.answer)
        )
        counts: dict[int, dict[str, int]] = {}
        for occurrence_id, answer, n in result.all():
            counts.setdefault(occurrence_id, {})[answer] = int(n)
        return counts

    async def set_attendance(self, occurrence_id: int, member_ids: list[int]) -> int:
        """Replace the attendance list of an occurrence; returns how many attended."""
        await self.session.exec(delete(Attendance).where(Attendance.occurrence_id == occurrence_id))  # type: ignore[call-overload]
        unique = list(dict.fromkeys(member_ids))
        self.session.add_all(Attendance(occurrence_id=occurrence_id, member_id=m) for m in unique)
        await self.session.flush()
        return len(unique)

    async def attendance(self, occurrence_id: int) -> list[Member | None]:
        result = await self.session.exec(
            select(Attendance, Member)
            .join(Member, col(Member.id) == Attendance.member_id, isouter=True)
            .where(Attendance.occurrence_id == occurrence_id)
        )
        return [m for _, m in result.all()]

    async def action_items(
        self, coalition_id: int, owner_id: int | None, open_only: bool, limit: int = 30
    ) -> list[tuple[ActionItem, Member | None]]:
        query = (
            select(ActionItem, Member)
            .join(Member, col(Member.id) == ActionItem.owner_id, isouter=True)
            .where(ActionItem.coalition_id == coalition_id)
        )
        if owner_id is not None:
            query = query.where(ActionItem.owner_id == owner_id)
        if open_only:
            query = query.where(col(ActionItem.done_at).is_(None))
        return list((await self.session.exec(query.order_by(col(ActionItem.due_at)).limit(limit))).all())

    async def action_item(self, coalition_id: int, item_id: int) -> ActionItem | None:
        item = await self.session.get(ActionItem, item_id)
        return item if item is not None and item.coalition_id == coalition_id else None

    async def due_reminders(self, now: datetime, limit: int = 500) -> list[Reminder]:
        result = await self.session.exec(
            select(Reminder)
            .where(Reminder.status == "pending", Reminder.due_at <= now)
            .order_by(col(Reminder.due_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(result.all())

    async def next_reminder(self) -> datetime | None:
        result = await self.session.exec(select(func.min(Reminder.due_at)).where(Reminder.status == "pending"))
        return result.one()

    async def claim_reminder(self, reminder_id: int, status: str) -> bool:
        """Mark a pending reminder handled; False when another process did it first."""
        result = await self.session.exec(  # type: ignore[call-overload]
            update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "pending").values(status=status)
        )
        return bool(result.rowcount)

    async def cancel_member_reminders(self, occurrence_id: int, member_id: int) -> int:
        result = await self.session.exec(  # type: ignore[call-overload]
            update(Reminder)
            .where(
                Reminder.occurrence_id == occurrence_id, Reminder.member_id == member_id, Reminder.status == "pending"
            )
            .values(status="cancelled")
        )
        return int(result.rowcount or 0)

    async def reminder_counts(self) -> dict[str, int]:
        result = await self.session.exec(
            select(Reminder.status, func.count()).group_by(Reminder.status)  # type: ignore[call-overload]
        )
        return {status: int(n) for status, n in result.all()}

    async def drop_occurrences(self, occurrence_ids: list[int], keep_actions_on: int) -> None:
        """Remove dates not yet held (a series moved to a new rhythm), with their answers and
        reminders; action items noted against them move to `keep_actions_on`."""
        await self.write_staged()
        if not occurrence_ids:
            return
        await self.session.exec(  # type: ignore[call-overload]
            update(ActionItem)
            .where(col(ActionItem.occurrence_id).in_(occurrence_ids))
            .values(occurrence_id=keep_actions_on)
        )
        for table in (Reminder, Rsvp, Attendance):
            await self.session.exec(delete(table).where(col(table.occurrence_id).in_(occurrence_ids)))  # type: ignore[call-overload,attr-defined]
        await self.session.exec(delete(Occurrence).where(col(Occurrence.id).in_(occurrence_ids)))  # type: ignore[call-overload]

    async def cancel_reminders(self, occurrence_ids: list[int]) -> int:
        result = await self.session.exec(  # type: ignore[call-overload]
            update(Reminder)
            .where(col(Reminder.occurrence_id).in_(occurrence_ids), Reminder.status == "pending")
            .values(status="cancelled")
        )
        return int(result.rowcount or 0)


_RSVP_UPSERTS: dict[str, Any] = {}


def _rsvp_upsert(session: AsyncSession) -> Any:
    """The RSVP upsert, made once per database dialect: building it (its ON CONFLICT clause above
    all) costs more than running it, and a burst runs it once a click."""
    dialect = session.bind.dialect.name if session.bind is not None else ""
    if dialect not in _RSVP_UPSERTS:
        statement = upsert(session, Rsvp)
        _RSVP_UPSERTS[dialect] = statement.on_conflict_do_update(
            index_elements=[Rsvp.occurrence_id, Rsvp.member_id],
            set_={"answer": statement.excluded.answer, "at": statement.excluded.at, "previous_at": Rsvp.at},
        ).returning(Rsvp.occurrence_id, Rsvp.member_id, Rsvp.previous_at)
    return _RSVP_UPSERTS[dialect]
