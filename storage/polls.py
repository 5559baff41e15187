"""Queries for polls, their ballots, and the anonymous feedback box's rate counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AnonymousUse, Ballot, Member, Poll


class PollRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, poll: Poll) -> Poll:
        self.session.add(poll)
        await self.session.flush()
        return poll

    async def get(self, coalition_id: int, poll_id: int) -> Poll | None:
        found = await self.session.get(Poll, poll_id)
        return found if found is not None and found.coalition_id == coalition_id else None

    async def by_id(self, poll_id: int) -> Poll | None:
        return await self.session.get(Poll, poll_id)

    async def recent(self, coalition_id: int, limit: int = 15, open_only: bool = False) -> list[Poll]:
        query = select(Poll).where(Poll.coalition_id == coalition_id)
        if open_only:
            query = query.where(Poll.status == "open")
        result = await self.session.exec(query.order_by(col(Poll.id).desc()).limit(limit))
        return list(result.all())

    async def save(self, poll: Poll) -> Poll:
        self.session.add(poll)
        await self.session.flush()
        return poll

    async def close(self, poll: Poll, now: datetime) -> bool:
        """Close the poll if it is still open; False when another process or click closed it first."""
        result = await self.session.exec(  # type: ignore[call-overload]
            update(Poll)
            .where(col(Poll.id) == poll.id, col(Poll.status) == "open")
            .values(status="closed", closed_at=now)
        )
        if result.rowcount != 1:
            return False
        poll.status, poll.closed_at = "closed", now
        return True

    async def next_deadline(self) -> datetime | None:
        result = await self.session.exec(select(func.min(Poll.closes_at)).where(Poll.status == "open"))
        return result.one()

    async def due(self, now: datetime) -> list[Poll]:
        result = await self.session.exec(
            select(Poll).where(Poll.status == "open", col(Poll.closes_at) <= now).order_by(col(Poll.closes_at))
        )
        return list(result.all())

    # Ballots -------------------------------------------------------------------------------

    async def ballot(self, poll_id: int, voter_key: str) -> Ballot | None:
        return await self.session.get(Ballot, (poll_id, voter_key))

    async def put_ballot(self, ballot: Ballot) -> Ballot:
        """Insert or replace this voter's ballot. Two racing clicks by one voter end in one row: the
        loser of the insert race updates the winner's row instead."""
        existing = await self.ballot(ballot.poll_id, ballot.voter_key)
        if existing is None:
            try:
                async with self.session.begin_nested():
                    self.session.add(ballot)
                    await self.session.flush()
                return ballot
            except IntegrityError:
                existing = await self.ballot(ballot.poll_id, ballot.voter_key)
                if existing is None:
                    raise
        existing.choices, existing.cast_at = ballot.choices, ballot.cast_at
        self.session.add(existing)
        await self.session.flush()
        return existing

    async def delete_ballot(self, poll_id: int, voter_key: str) -> bool:
        result = await self.session.exec(  # type: ignore[call-overload]
            delete(Ballot).where(col(Ballot.poll_id) == poll_id, col(Ballot.voter_key) == voter_key)
        )
        return bool(result.rowcount)

    async def choices(self, poll_id: int) -> list[str]:
        """Every ballot's choices: what tallies are counted from, so they always equal the database."""
        result = await self.session.exec(select(Ballot.choices).where(Ballot.poll_id == poll_id))
        return list(result.all())

    async def voter_keys(self, poll_id: int) -> set[str]:
        result = await self.session.exec(select(Ballot.voter_key).where(Ballot.poll_id == poll_id))
        return set(result.all())

    async def named_ballots(self, poll_id: int) -> list[tuple[Ballot, Member | None]]:
        """Ballots with their voters, for polls that are not anonymous (exports)."""
        result = await self.session.exec(
            select(Ballot, Member)
            .join(Member, col(Member.id) == Ballot.member_id, isouter=True)
            .where(Ballot.poll_id == poll_id)
            .order_by(col(Ballot.cast_at))
        )
        return list(result.all())

    async def voter_counts(self, poll_ids: list[int]) -> dict[int, int]:
        if not poll_ids:
            return {}
        result = await self.session.exec(
            select(Ballot.poll_id, func.count()).where(col(Ballot.poll_id).in_(poll_ids)).group_by(col(Ballot.poll_id))  # type: ignore[arg-type]
        )
        return {poll_id: int(count) for poll_id, count in result.all()}

    # The anonymous feedback box's rate limit -----------------------------------------------

    async def anonymous_uses(self, key_hash: str, kind: str, since: datetime) -> list[datetime]:
        result = await self.session.exec(
            select(AnonymousUse.at)
            .where(AnonymousUse.key_hash == key_hash, AnonymousUse.kind == kind, col(AnonymousUse.at) >= since)
            .order_by(col(AnonymousUse.at))
        )
        return list(result.all())

    async def add_anonymous_use(self, use: AnonymousUse) -> None:
        self.session.add(use)
        await self.session.flush()
