"""Queries for broadcasts, their acknowledgements, and join codes."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Acknowledgement, Broadcast, JoinCode, Member


class MemberAddress(NamedTuple):
    id: int
    coalition_id: int
    platform: str
    workspace_id: str
    user_id: str
    role: str
    sector: str | None
    ballot_salt: str | None
    language: str | None
    app_language: str | None


class BroadcastRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, broadcast: Broadcast) -> Broadcast:
        self.session.add(broadcast)
        await self.session.flush()
        return broadcast

    async def get(self, coalition_id: int, broadcast_id: int) -> Broadcast | None:
        found = await self.session.get(Broadcast, broadcast_id)
        return found if found is not None and found.coalition_id == coalition_id else None

    async def by_id(self, broadcast_id: int) -> Broadcast | None:
        return await self.session.get(Broadcast, broadcast_id)

    async def recent(self, coalition_id: int, limit: int = 10) -> list[Broadcast]:
        result = await self.session.exec(
            select(Broadcast)
            .where(Broadcast.coalition_id == coalition_id)
            .order_by(col(Broadcast.id).desc())
            .limit(limit)
        )
        return list(result.all())

    async def save(self, broadcast: Broadcast) -> Broadcast:
        self.session.add(broadcast)
        await self.session.flush()
        return broadcast

    async def acknowledge(self, ack: Acknowledgement) -> Acknowledgement | None:
        """Record an acknowledgement; None when this member had already acknowledged."""
        try:
            async with self.session.begin_nested():
                self.session.add(ack)
                await self.session.flush()
        except IntegrityError:
            return None
        return ack

    async def acknowledgement(self, broadcast_id: int, member_id: int) -> Acknowledgement | None:
        result = await self.session.exec(
            select(Acknowledgement).where(
                Acknowledgement.broadcast_id == broadcast_id, Acknowledgement.member_id == member_id
            )
        )
        return result.first()

    async def acknowledged_by(self, broadcast_id: int) -> set[int]:
        """The ids of the members who acknowledged this broadcast."""
        result = await self.session.exec(
            select(Acknowledgement.member_id).where(Acknowledgement.broadcast_id == broadcast_id)
        )
        return {member_id for member_id in result.all() if member_id is not None}

    async def acknowledged_among(self, broadcast_id: int, member_ids: list[int]) -> set[int]:
        """Which of these members acknowledged this broadcast (a slice of a nudge asks about its own)."""
        result = await self.session.exec(
            select(Acknowledgement.member_id).where(
                Acknowledgement.broadcast_id == broadcast_id, col(Acknowledgement.member_id).in_(member_ids)
            )
        )
        return {member_id for member_id in result.all() if member_id is not None}

    async def acknowledged(self, broadcast_ids: list[int], member_id: int) -> set[int]:
        """Which of these broadcasts the member acknowledged, in one query."""
        result = await self.session.exec(
            select(Acknowledgement.broadcast_id).where(
                col(Acknowledgement.broadcast_id).in_(broadcast_ids), Acknowledgement.member_id == member_id
            )
        )
        return set(result.all())

    async def acknowledgements(self, broadcast_id: int) -> list[tuple[Acknowledgement, Member | None]]:
        """Every acknowledgement, with its member; None for members who have since been erased."""
        result = await self.session.exec(
            select(Acknowledgement, Member)
            .join(Member, col(Member.id) == Acknowledgement.member_id, isouter=True)
            .where(Acknowledgement.broadcast_id == broadcast_id)
            .order_by(col(Acknowledgement.acked_at))
        )
        return list(result.all())

    async def addresses(self, coalition_id: int, after: int = 0, limit: int | None = None) -> list[MemberAddress]:
        """What reaching every member takes (who, where, their role and sector), without loading
        a whole row each; in id order, those after member `after`, at most `limit` (a slice of a
        reminder to 20,000 members)."""
        result = await self.session.exec(
            select(  # type: ignore[call-overload]
                Member.id,
                Member.coalition_id,
                Member.platform,
                Member.workspace_id,
                Member.user_id,
                Member.role,
                Member.sector,
                Member.ballot_salt,
                Member.language,
                Member.app_language,
            )
            .where(Member.coalition_id == coalition_id, col(Member.id) > after)
            .order_by(col(Member.id))
            .limit(limit)
        )
        return [MemberAddress(*row) for row in result.all()]

    async def members(self, coalition_id: int) -> list[Member]:
        result = await self.session.exec(
            select(Member).where(Member.coalition_id == coalition_id).order_by(col(Member.id))
        )
        return list(result.all())

    # Join codes ----------------------------------------------------------------------------

    async def add_join_code(self, code: JoinCode) -> JoinCode:
        self.session.add(code)
        await self.session.flush()
        return code

    async def join_code(self, code_hash: str) -> JoinCode | None:
        result = await self.session.exec(select(JoinCode).where(JoinCode.code_hash == code_hash))
        return result.first()

    async def use_join_code(self, code: JoinCode, space_id: int, now: datetime) -> None:
        code.used_at = now
        code.used_by_space_id = space_id
        self.session.add(code)
        await self.session.flush()
