"""Fan-outs still being queued (storage.models.Fanout): found, taken one at a time, moved on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Fanout


class FanoutRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ask(
        self, coalition_id: int, source: str, source_id: int, requested_by: int | None, now: datetime
    ) -> None:
        """A fan-out of `source` #`source_id` to the coalition's members, asked for now."""
        self.session.add(
            Fanout(
                coalition_id=coalition_id,
                source=source,
                source_id=source_id,
                stamp=int(now.timestamp()),
                requested_by=requested_by,
                created_at=now,
            )
        )
        await self.session.flush()

    async def oldest(self) -> datetime | None:
        """When the oldest fan-out still being queued was asked for (it is due at once)."""
        return (await self.session.exec(select(func.min(Fanout.created_at)))).one()

    async def waiting(self) -> list[int]:
        result = await self.session.exec(select(Fanout.id).order_by(col(Fanout.id)))
        return [fanout_id for fanout_id in result.all() if fanout_id is not None]

    async def take(self, fanout_id: int) -> Fanout | None:
        """The fan-out, locked until this transaction ends (PostgreSQL: another process queuing
        the same fan-out waits, then reads where this one left off; SQLite has one writer anyway)."""
        result = await self.session.exec(
            select(Fanout).where(Fanout.id == fanout_id).with_for_update().execution_options(populate_existing=True)
        )
        return result.first()

    async def save(self, fanout: Fanout) -> None:
        self.session.add(fanout)
        await self.session.flush()

    async def finish(self, fanout: Fanout) -> None:
        await self.session.delete(fanout)
        await self.session.flush()
