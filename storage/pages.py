"""Queries for the public page: only what coordinators chose to publish, never who did what.

Every query here filters on what is public (a meeting not marked private, a poll or broadcast marked
public) itself, so a page can never show an item by forgetting a check elsewhere.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ActionItem, Broadcast, Coalition, Meeting, Occurrence, Poll


class PageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_slug(self, slug: str) -> Coalition | None:
        result = await self.session.exec(select(Coalition).where(Coalition.page_slug == slug))
        return result.first()

    async def meetings_to_come(
        self, coalition_id: int, after: datetime, limit: int
    ) -> list[tuple[Occurrence, Meeting]]:
        result = await self.session.exec(
            select(Occurrence, Meeting)
            .join(Meeting, col(Meeting.id) == Occurrence.meeting_id)
            .where(
                Meeting.coalition_id + 0 == coalition_id,  # the start index, as `MeetingRepository.upcoming`
                col(Meeting.private).is_(False),
                Meeting.status == "active",
                Occurrence.start >= after,
                col(Occurrence.cancelled).is_(False),
            )
            .order_by(col(Occurrence.start))
            .limit(limit)
        )
        return list(result.all())

    async def minutes(self, coalition_id: int, before: datetime, limit: int) -> list[tuple[Occurrence, Meeting]]:
        """Past public meetings with minutes, newest first."""
        result = await self.session.exec(
            select(Occurrence, Meeting)
            .join(Meeting, col(Meeting.id) == Occurrence.meeting_id)
            .where(
                Meeting.coalition_id == coalition_id,
                col(Meeting.private).is_(False),
                Occurrence.start < before,
                col(Occurrence.minutes).is_not(None),
                col(Occurrence.cancelled).is_(False),
            )
            .order_by(col(Occurrence.start).desc())
            .limit(limit)
        )
        return list(result.all())

    async def meeting(self, coalition_id: int, meeting_id: int) -> Meeting | None:
        result = await self.session.exec(
            select(Meeting).where(
                Meeting.id == meeting_id, Meeting.coalition_id == coalition_id, col(Meeting.private).is_(False)
            )
        )
        return result.first()

    async def action_counts(self, occurrence_ids: list[int], now: datetime) -> dict[int, Counter[str]]:
        """Per occurrence: how many action items are open, done and overdue (counts, never owners)."""
        if not occurrence_ids:
            return {}
        result = await self.session.exec(
            select(ActionItem.occurrence_id, ActionItem.done_at, ActionItem.due_at).where(
                col(ActionItem.occurrence_id).in_(occurrence_ids)
            )
        )
        counts: dict[int, Counter[str]] = {}
        for occurrence_id, done_at, due_at in result.all():
            state = "done" if done_at is not None else "overdue" if due_at < now else "open"
            counts.setdefault(occurrence_id, Counter())[state] += 1
        return counts

    async def polls(self, coalition_id: int, limit: int) -> list[Poll]:
        result = await self.session.exec(
            select(Poll)
            .where(Poll.coalition_id == coalition_id, col(Poll.public).is_(True))
            .order_by(col(Poll.id).desc())
            .limit(limit)
        )
        return list(result.all())

    async def poll(self, coalition_id: int, poll_id: int) -> Poll | None:
        result = await self.session.exec(
            select(Poll).where(Poll.id == poll_id, Poll.coalition_id == coalition_id, col(Poll.public).is_(True))
        )
        return result.first()

    async def broadcasts(self, coalition_id: int, now: datetime, limit: int) -> list[Broadcast]:
        result = await self.session.exec(
            select(Broadcast)
            .where(
                Broadcast.coalition_id == coalition_id,
                col(Broadcast.public).is_(True),
                Broadcast.status != "cancelled",
                Broadcast.send_at <= now,
            )
            .order_by(col(Broadcast.send_at).desc())
            .limit(limit)
        )
        return list(result.all())
