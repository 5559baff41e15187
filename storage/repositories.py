"""Queries the services need, bound to one session (one transaction per command).

Methods return table rows; sessions use expire_on_commit=False, so rows stay readable after the
transaction ends and no lazy load ever runs behind the caller's back.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.broadcasts import BroadcastRepository
from storage.database import erase_freed, erase_pending_since, upsert
from storage.decisions import DecisionRepository
from storage.email import EmailRepository
from storage.engagement import EngagementRepository
from storage.fanouts import FanoutRepository
from storage.goals import GoalRepository
from storage.governance import GovernanceRepository
from storage.meetings import MeetingRepository
from storage.models import Acknowledgement, Channel, Coalition, HandledRequest, Member, Space
from storage.outbox import OutboxRepository
from storage.pacing import PacingRepository
from storage.pages import PageRepository
from storage.polls import PollRepository
from storage.reports import ReportRepository

log = logging.getLogger(__name__)


class CoalitionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, coalition_id: int) -> Coalition | None:
        return await self.session.get(Coalition, coalition_id)

    async def create(self, name: str, timezone: str) -> Coalition:
        coalition = Coalition(name=name, timezone=timezone)
        self.session.add(coalition)
        await self.session.flush()
        return coalition

    async def space(self, platform: str, workspace_id: str) -> Space | None:
        result = await self.session.exec(
            select(Space).where(Space.platform == platform, Space.workspace_id == workspace_id)
        )
        return result.first()

    async def add_space(self, coalition_id: int, platform: str, workspace_id: str, name: str) -> Space:
        space = Space(coalition_id=coalition_id, platform=platform, workspace_id=workspace_id, name=name)
        self.session.add(space)
        await self.session.flush()
        return space

    async def channel(self, platform: str, workspace_id: str, channel_id: str) -> Channel | None:
        result = await self.session.exec(
            select(Channel).where(
                Channel.platform == platform,
                Channel.workspace_id == workspace_id,
                Channel.channel_id == channel_id,
            )
        )
        return result.first()

    async def all(self) -> list[Coalition]:
        """Every coalition in the database, by number (the command line picks one)."""
        return list((await self.session.exec(select(Coalition).order_by(col(Coalition.id)))).all())

    async def all_channels(self) -> list[Channel]:
        """Every linked channel of every coalition (what `coalition-bot doctor` checks)."""
        return list((await self.session.exec(select(Channel).order_by(col(Channel.id)))).all())

    async def channels(self, coalition_id: int) -> list[Channel]:
        result = await self.session.exec(
            select(Channel).where(Channel.coalition_id == coalition_id).order_by(col(Channel.id))
        )
        return list(result.all())

    async def link_channel(self, space: Space, channel_id: str, name: str, tags: list[str]) -> Channel:
        assert space.id is not None
        channel = Channel(
            coalition_id=space.coalition_id,
            space_id=space.id,
            platform=space.platform,
            workspace_id=space.workspace_id,
            channel_id=channel_id,
            name=name,
            tags=list(tags),
        )
        self.session.add(channel)
        await self.session.flush()
        return channel

    async def save(self, coalition: Coalition) -> Coalition:
        self.session.add(coalition)
        await self.session.flush()
        return coalition

    async def save_channel(self, channel: Channel) -> Channel:
        self.session.add(channel)
        await self.session.flush()
        return channel

    async def channel_by_id(self, channel_id: int) -> Channel | None:
        return await self.session.get(Channel, channel_id)

    async def claim_digest(self, channel_id: int, due: datetime, following: datetime) -> bool:
        """Move a channel's next digest on from `due`; False when another process already did."""
        claimed = await self.session.exec(  # type: ignore[call-overload]
            update(Channel)
            .where(col(Channel.id) == channel_id, col(Channel.digest_next_at) == due)
            .values(digest_next_at=following)
        )
        return claimed.rowcount == 1

    async def unlink_channel(self, channel: Channel) -> None:
        """Remove a linked channel; acknowledgements made there stay counted, without the channel."""
        await self.session.exec(  # type: ignore[call-overload]
            update(Acknowledgement).where(Acknowledgement.channel_id == channel.id).values(channel_id=None)
        )
        await self.session.delete(channel)
        await self.session.flush()


class MemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, coalition_id: int, platform: str, workspace_id: str, user_id: str) -> Member | None:
        result = await self.session.exec(
            select(Member).where(
                Member.coalition_id == coalition_id,
                Member.platform == platform,
                Member.workspace_id == workspace_id,
                Member.user_id == user_id,
            )
        )
        return result.first()

    async def find_many(self, coalition_id: int, platform: str, workspace_id: str, user_ids: list[str]) -> list[Member]:
        result = await self.session.exec(
            select(Member).where(
                Member.coalition_id == coalition_id,
                Member.platform == platform,
                Member.workspace_id == workspace_id,
                col(Member.user_id).in_(user_ids),
            )
        )
        return list(result.all())

    async def add_all(self, rows: list[dict[str, object]]) -> set[str]:
        """Insert members, given as column values, in one statement (ids are read back with
        `find_many`); the user ids this call inserted. One another process inserted meanwhile is
        skipped (ON CONFLICT DO NOTHING), not an error; rows go in user-id order, so two processes
        inserting overlapping sets take their locks in the same order and cannot deadlock."""
        ordered = sorted(rows, key=lambda r: str(r["user_id"]))
        # One statement for every row count (SQLAlchemy batches it into multi-row VALUES itself),
        # so it is compiled once and cached, not once per burst size.
        statement = upsert(self.session, Member).on_conflict_do_nothing().returning(Member.user_id)
        result = await self.session.exec(statement, params=ordered)  # type: ignore[call-overload]
        return {str(u) for (u,) in result.all()}

    async def by_display_name(self, coalition_id: int, platform: str, name: str) -> list[Member]:
        result = await self.session.exec(
            select(Member).where(
                Member.coalition_id == coalition_id,
                Member.platform == platform,
                Member.display_name == name,
            )
        )
        return list(result.all())

    async def remove(self, member: Member) -> None:
        await self.session.delete(member)
        await self.session.flush()

    async def add(self, member: Member) -> Member:
        """Insert a member; when a concurrent request inserted the same identity first, return that row."""
        try:
            async with self.session.begin_nested():
                self.session.add(member)
                await self.session.flush()
        except IntegrityError:
            existing = await self.find(member.coalition_id, member.platform, member.workspace_id, member.user_id)
            if existing is None:
                raise
            return existing
        return member

    async def coordinators(self, coalition_id: int) -> list[Member]:
        result = await self.session.exec(
            select(Member)
            .where(Member.coalition_id == coalition_id, Member.role == "coordinator")
            .order_by(col(Member.id))
        )
        return list(result.all())

    async def count(self, coalition_id: int) -> int:
        result = await self.session.exec(
            select(func.count()).select_from(Member).where(Member.coalition_id == coalition_id)
        )
        return int(result.one())

    async def by_id(self, member_id: int) -> Member | None:
        return await self.session.get(Member, member_id)

    async def save(self, member: Member) -> Member:
        self.session.add(member)
        await self.session.flush()
        return member


class RequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, key: str, now: datetime, keep: timedelta) -> bool:
        """True the first time a request is seen; False for a replay. Old keys are dropped as we go."""
        await self.session.exec(delete(HandledRequest).where(col(HandledRequest.at) < now - keep))  # type: ignore[call-overload]
        try:
            async with self.session.begin_nested():
                self.session.add(HandledRequest(key=key, at=now))
        except IntegrityError:
            return False
        return True


class Repositories:
    """Every repository on one session, so a command's changes commit or roll back together."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.coalitions = CoalitionRepository(session)
        self.members = MemberRepository(session)
        self.outbox = OutboxRepository(session)
        self.fanouts = FanoutRepository(session)
        self.engagement = EngagementRepository(session)
        self.broadcasts = BroadcastRepository(session)
        self.governance = GovernanceRepository(session)
        self.meetings = MeetingRepository(session)
        self.polls = PollRepository(session)
        self.decisions = DecisionRepository(session)
        self.goals = GoalRepository(session)
        self.reports = ReportRepository(session)
        self.requests = RequestRepository(session)
        self.pacing = PacingRepository(session)
        self.pages = PageRepository(session)
        self.email = EmailRepository(session)

    async def ping(self) -> None:
        """A round trip to the database (the health check)."""
        await self.session.exec(select(func.count()).select_from(Coalition))  # type: ignore[call-overload]

    async def server_now(self) -> datetime | None:
        """The database server's own clock; None for SQLite, which runs on this machine's."""
        if self.session.bind is None or self.session.bind.dialect.name != "postgresql":
            return None
        return (await self.session.exec(select(func.clock_timestamp()))).one()  # type: ignore[call-overload]

    def erase_pending(self) -> str | None:
        """Since when an erasure waits for the write-ahead log to be emptied (SQLite), or None."""
        return erase_pending_since(self.session.bind)  # type: ignore[arg-type]

    async def commit(self) -> None:
        await self.polls.write_staged()
        await self.meetings.write_staged()
        await self.session.commit()
        if self.polls.sealed or self.decisions.sealed or self.governance.forgot:
            # A poll or an anonymous proposal was closed and its ballots and keys deleted, or a
            # member forgotten: leave no copy of them in free pages or the write-ahead log either.
            self.polls.sealed = self.decisions.sealed = self.governance.forgot = False
            engine = self.session.bind
            if not await erase_freed(engine):  # type: ignore[arg-type]
                log.warning(
                    "an erasure is waiting: another connection holds the database's write-ahead log "
                    "(a second process, a backup, a sqlite3 shell); it is tried again every minute"
                )

    async def rollback(self) -> None:
        self.polls.discard_staged()
        self.meetings.discard_staged()
        await self.session.rollback()
