"""Members on email: their addresses and the state of each (storage.models.EmailAddress)."""

from __future__ import annotations

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Channel, EmailAddress, Member, OutboxMessage

WAITING, ACTIVE, PAUSED, LEFT = "waiting", "active", "paused", "left"


class EmailRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: EmailAddress) -> EmailAddress:
        self.session.add(row)
        await self.session.flush()
        return row

    async def by_address(self, coalition_id: int, address: str) -> EmailAddress | None:
        result = await self.session.exec(
            select(EmailAddress).where(EmailAddress.coalition_id == coalition_id, EmailAddress.address == address)
        )
        return result.first()

    async def of_member(self, member_id: int) -> EmailAddress | None:
        result = await self.session.exec(select(EmailAddress).where(EmailAddress.member_id == member_id))
        return result.first()

    async def recipient(self, platform: str, workspace_id: str, user_id: str) -> tuple[EmailAddress, Member] | None:
        """The address and member behind an email user id (what the outbox names)."""
        result = await self.session.exec(
            select(EmailAddress, Member)
            .join(Member, col(Member.id) == EmailAddress.member_id)
            .where(Member.platform == platform, Member.workspace_id == workspace_id, Member.user_id == user_id)
        )
        found = result.first()
        return (found[0], found[1]) if found is not None else None

    async def in_space(self, platform: str, workspace_id: str) -> list[tuple[EmailAddress, Member]]:
        result = await self.session.exec(
            select(EmailAddress, Member)
            .join(Member, col(Member.id) == EmailAddress.member_id)
            .where(Member.platform == platform, Member.workspace_id == workspace_id)
        )
        return [(a, m) for a, m in result.all()]

    async def paused(self, coalition_id: int | None) -> int:
        """How many addresses are paused, in one coalition or (None) in all."""
        query = select(func.count()).select_from(EmailAddress).where(EmailAddress.state == PAUSED)
        if coalition_id is not None:
            query = query.where(EmailAddress.coalition_id == coalition_id)
        return int((await self.session.exec(query)).one())  # type: ignore[call-overload]

    async def listed(self, coalition_id: int) -> list[tuple[EmailAddress, Member]]:
        result = await self.session.exec(
            select(EmailAddress, Member)
            .join(Member, col(Member.id) == EmailAddress.member_id)
            .where(EmailAddress.coalition_id == coalition_id)
            .order_by(col(EmailAddress.address))
        )
        return [(a, m) for a, m in result.all()]

    async def save(self, row: EmailAddress) -> EmailAddress:
        self.session.add(row)
        await self.session.flush()
        return row

    async def forget(self, member: Member) -> None:
        """Erase a member's address, and the channel their mail went to (named by their user id)."""
        if await self.of_member(member.id or 0) is None:
            return
        await self.session.exec(delete(EmailAddress).where(col(EmailAddress.member_id) == member.id))  # type: ignore[call-overload]
        await self.session.exec(  # type: ignore[call-overload]
            delete(Channel).where(
                Channel.platform == member.platform,
                Channel.workspace_id == member.workspace_id,
                Channel.channel_id == member.user_id,
            )
        )
        await self.session.exec(  # type: ignore[call-overload]
            delete(OutboxMessage).where(
                OutboxMessage.platform == member.platform,
                OutboxMessage.workspace_id == member.workspace_id,
                OutboxMessage.channel_id == member.user_id,
            )
        )
