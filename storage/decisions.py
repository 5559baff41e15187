"""Proposals, their earlier versions and members' positions (`bot.services.decisions`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ActionItem, Member, Position, Proposal, ProposalKey, ProposalVersion, SealedPosition


class DecisionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.sealed = False  # an anonymous proposal was closed in this transaction (see Repositories.commit)

    async def add(self, proposal: Proposal) -> Proposal:
        self.session.add(proposal)
        await self.session.flush()
        return proposal

    async def save(self, proposal: Proposal) -> Proposal:
        self.session.add(proposal)
        await self.session.flush()
        return proposal

    async def get(self, coalition_id: int, proposal_id: int) -> Proposal | None:
        found = await self.session.get(Proposal, proposal_id)
        return found if found is not None and found.coalition_id == coalition_id else None

    async def listed(self, coalition_id: int, statuses: tuple[str, ...] | None, limit: int = 500) -> list[Proposal]:
        query = select(Proposal).where(Proposal.coalition_id == coalition_id)
        if statuses:
            query = query.where(col(Proposal.status).in_(statuses))
        result = await self.session.exec(query.order_by(col(Proposal.id).desc()).limit(limit))
        return list(result.all())

    async def review_due(self, coalition_id: int, by: datetime) -> list[Proposal]:
        result = await self.session.exec(
            select(Proposal).where(
                Proposal.coalition_id == coalition_id,
                col(Proposal.review_at).is_not(None),
                col(Proposal.review_at) <= by,
            )
        )
        return list(result.all())

    async def closed_between(self, coalition_id: int, start: datetime, end: datetime) -> list[Proposal]:
        result = await self.session.exec(
            select(Proposal)
            .where(
                Proposal.coalition_id == coalition_id, col(Proposal.closed_at) >= start, col(Proposal.closed_at) <= end
            )
            .order_by(col(Proposal.closed_at))
        )
        return list(result.all())

    async def reviews_to_tell(self, by: datetime) -> list[Proposal]:
        """Decisions whose review date is within reach and whose owner has not been told yet."""
        result = await self.session.exec(
            select(Proposal).where(
                col(Proposal.review_at).is_not(None),
                col(Proposal.review_at) <= by,
                col(Proposal.review_told_at).is_(None),
            )
        )
        return list(result.all())

    async def next_review_to_tell(self) -> datetime | None:
        result = await self.session.exec(
            select(Proposal.review_at)
            .where(col(Proposal.review_at).is_not(None), col(Proposal.review_told_at).is_(None))
            .order_by(col(Proposal.review_at))
            .limit(1)
        )
        return result.first()

    async def due_to_close(self, now: datetime) -> list[Proposal]:
        result = await self.session.exec(
            select(Proposal).where(Proposal.status == "open", col(Proposal.closes_at) <= now)
        )
        return list(result.all())

    async def next_close(self) -> datetime | None:
        result = await self.session.exec(
            select(Proposal.closes_at)
            .where(Proposal.status == "open", col(Proposal.closes_at).is_not(None))
            .order_by(col(Proposal.closes_at))
            .limit(1)
        )
        return result.first()

    async def positions(self, proposal_id: int) -> list[tuple[Position, Member | None]]:
        result = await self.session.exec(
            select(Position, Member)
            .join(Member, col(Member.id) == Position.member_id, isouter=True)
            .where(Position.proposal_id == proposal_id)
            .order_by(col(Position.taken_at), col(Position.id))
        )
        return list(result.all())

    async def position_of(self, proposal_id: int, member_id: int) -> Position | None:
        result = await self.session.exec(
            select(Position).where(Position.proposal_id == proposal_id, Position.member_id == member_id)
        )
        return result.first()

    async def take(self, position: Position) -> Position:
        self.session.add(position)
        await self.session.flush()
        return position

    async def withdraw(self, position: Position) -> None:
        await self.session.delete(position)
        await self.session.flush()

    async def reset(self, proposal_id: int) -> list[int]:
        """Clear every position (an amendment); the members who had taken one."""
        result = await self.session.exec(select(Position.member_id).where(Position.proposal_id == proposal_id))
        members = list(result.all())
        await self.session.exec(delete(Position).where(col(Position.proposal_id) == proposal_id))  # type: ignore[call-overload]
        return members

    async def add_version(self, version: ProposalVersion) -> None:
        self.session.add(version)
        await self.session.flush()

    async def versions(self, proposal_id: int) -> list[ProposalVersion]:
        result = await self.session.exec(
            select(ProposalVersion)
            .where(ProposalVersion.proposal_id == proposal_id)
            .order_by(col(ProposalVersion.version))
        )
        return list(result.all())

    async def actions(self, proposal_id: int) -> list[tuple[ActionItem, Member | None]]:
        result = await self.session.exec(
            select(ActionItem, Member)
            .join(Member, col(Member.id) == ActionItem.owner_id, isouter=True)
            .where(ActionItem.decision_id == proposal_id)
            .order_by(col(ActionItem.due_at))
        )
        return list(result.all())

    async def forget_member(self, member_id: int) -> None:
        """Forget-me: the member's positions and reasons go; a decision already made keeps its counts."""
        await self.session.exec(delete(Position).where(col(Position.member_id) == member_id))  # type: ignore[call-overload]

    # Anonymous proposals: sealed positions and their keys ------------------------------------

    async def add_keys(self, proposal_id: int, wrapped: str) -> None:
        self.session.add(ProposalKey(proposal_id=proposal_id, wrapped=wrapped))
        await self.session.flush()

    async def keys(self, proposal_id: int) -> str | None:
        found = await self.session.get(ProposalKey, proposal_id)
        return found.wrapped if found is not None else None

    async def sealed_positions(self, proposal_id: int) -> list[tuple[str, str]]:
        """(voter key, sealed position) of everyone who took one, in the order of their keys."""
        result = await self.session.exec(
            select(SealedPosition.voter_key, SealedPosition.sealed)  # type: ignore[call-overload]
            .where(SealedPosition.proposal_id == proposal_id)
            .order_by(col(SealedPosition.voter_key))
        )
        return [(str(k), str(v)) for k, v in result.all()]

    async def sealed_of(self, proposal_id: int, voter_key: str) -> str | None:
        found = await self.session.get(SealedPosition, (proposal_id, voter_key))
        return found.sealed if found is not None else None

    async def put_sealed(self, proposal_id: int, voter_key: str, sealed: str) -> None:
        found = await self.session.get(SealedPosition, (proposal_id, voter_key))
        if found is None:
            found = SealedPosition(proposal_id=proposal_id, voter_key=voter_key, sealed=sealed)
        found.sealed = sealed
        self.session.add(found)
        await self.session.flush()

    async def drop_sealed(self, proposal_id: int, voter_key: str) -> bool:
        found = await self.session.get(SealedPosition, (proposal_id, voter_key))
        if found is None:
            return False
        await self.session.delete(found)
        await self.session.flush()
        return True

    async def reset_sealed(self, proposal_id: int) -> None:
        """An amendment: every sealed position goes (nobody can tell whose they were)."""
        await self.session.exec(delete(SealedPosition).where(col(SealedPosition.proposal_id) == proposal_id))  # type: ignore[call-overload]

    async def seal_final(self, proposal_id: int) -> None:
        """At close, once the result is written: the sealed positions and the keys that could open
        or link them are deleted in the same transaction, and the file scrubbed after the commit."""
        await self.reset_sealed(proposal_id)
        await self.session.exec(delete(ProposalKey).where(col(ProposalKey.proposal_id) == proposal_id))  # type: ignore[call-overload]
        await self.session.flush()
        self.sealed = True
