"""Engagement kept per UTC day (storage.models.EngagementDay): read, kept, and marked stale.

Marking is cheap and safe from any transaction: `touch` bumps the version of the days an instant
falls in (creating their rows if need be), `touch_all` every day of a coalition. Keeping reads the
versions first and writes a day only if its version has not moved since, so a day changed while
it was being kept is never taken for current.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import upsert
from storage.models import Coalition, EngagementDay, Member, Poll

DAY = timedelta(days=1)


def day_of(at: datetime) -> datetime:
    """Midnight UTC of the day `at` falls in."""
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, at.day, tzinfo=UTC)


def pack_ids_in_order(ids: Iterable[int]) -> bytes:
    """Member ids as 4-byte little-endian integers, in the order given."""
    packed = array("I", ids)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack_ids(data: bytes) -> array[int]:
    packed = array("I")
    packed.frombytes(data)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed


def pack_by_sector(ids: dict[str, Iterable[int]]) -> tuple[bytes, str]:
    """Member ids by sector as the `active` and `active_sectors` columns hold them."""
    sectors = sorted(ids)
    lists = {sector: sorted(set(ids[sector])) for sector in sectors}
    return pack_ids_in_order([i for sector in sectors for i in lists[sector]]), json.dumps(
        {sector: len(lists[sector]) for sector in sectors}
    )


def unpack_by_sector(data: bytes, sectors: str) -> dict[str, array[int]]:
    ids, at, found = unpack_ids(data), 0, {}
    for sector, count in json.loads(sectors).items():
        found[sector] = ids[at : at + count]
        at += count
    return found


@dataclass(frozen=True)
class KeptDay:
    day: datetime
    meetings: int
    attendance: dict[str, int]  # sector -> count
    rsvps: dict[str, int]
    active: dict[str, array[int]]  # sector -> the ids of members who took part


def _current(coalition_id: int, first: datetime, end: datetime) -> tuple[Any, ...]:
    """The coalition's days in [first, end) that are kept and unchanged since."""
    return (
        EngagementDay.coalition_id == coalition_id,
        col(EngagementDay.day) >= first,
        col(EngagementDay.day) < end,
        col(EngagementDay.kept_version) == col(EngagementDay.version),
    )


class EngagementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def kept(self, coalition_id: int, first: datetime, end: datetime) -> list[KeptDay]:
        """The days in [first, end) kept and still current."""
        result = await self.session.exec(
            select(  # type: ignore[call-overload]
                EngagementDay.day,
                EngagementDay.meetings,
                EngagementDay.attendance,
                EngagementDay.rsvps,
                EngagementDay.active,
                EngagementDay.active_sectors,
            )
            .where(*_current(coalition_id, first, end))
            .order_by(col(EngagementDay.day))
        )
        return [
            KeptDay(day, meetings, json.loads(attendance), json.loads(rsvps), unpack_by_sector(bytes(active), sectors))
            for day, meetings, attendance, rsvps, active, sectors in result.all()
        ]

    async def current_days(self, coalition_id: int, first: datetime, end: datetime) -> set[datetime]:
        result = await self.session.exec(select(EngagementDay.day).where(*_current(coalition_id, first, end)))
        return set(result.all())

    async def begin_keeping(self, coalition_id: int, days: list[datetime]) -> dict[datetime, int]:
        """Rows for these days (made if missing) and their versions, read before the days are: a
        change after this read bumps a version and `keep` then leaves that day alone. Holds a share
        lock on the coalition (PostgreSQL) so that `touch_all` waits for this keeping to commit."""
        await self.session.exec(select(Coalition.id).where(Coalition.id == coalition_id).with_for_update(read=True))
        statement = upsert(self.session, EngagementDay).on_conflict_do_nothing()
        await self.session.exec(  # type: ignore[call-overload]
            statement, params=[{"coalition_id": coalition_id, "day": day} for day in days]
        )
        result = await self.session.exec(
            select(EngagementDay.day, EngagementDay.version).where(
                EngagementDay.coalition_id == coalition_id, col(EngagementDay.day).in_(days)
            )
        )
        return dict(result.all())

    async def keep(
        self,
        coalition_id: int,
        day: datetime,
        version: int,
        meetings: int,
        attendance: dict[str, int],
        rsvps: dict[str, int],
        active: dict[str, set[int]],
    ) -> None:
        packed, sectors = pack_by_sector(active)
        await self.session.exec(  # type: ignore[call-overload]
            update(EngagementDay)
            .where(
                col(EngagementDay.coalition_id) == coalition_id,
                col(EngagementDay.day) == day,
                col(EngagementDay.version) == version,
            )
            .values(
                kept_version=version,
                meetings=meetings,
                attendance=json.dumps(attendance, sort_keys=True),
                rsvps=json.dumps(rsvps, sort_keys=True),
                active=packed,
                active_sectors=sectors,
            )
        )

    async def touch(self, coalition_id: int, instants: Iterable[datetime]) -> None:
        """What happened at these instants changed: their days are kept again before being trusted."""
        days = sorted({day_of(at) for at in instants})
        if not days:
            return
        statement = upsert(self.session, EngagementDay)
        statement = statement.on_conflict_do_update(
            index_elements=["coalition_id", "day"], set_={"version": EngagementDay.version + 1}
        )
        await self.session.exec(  # type: ignore[call-overload]
            statement, params=[{"coalition_id": coalition_id, "day": day, "version": 1} for day in days]
        )

    async def touch_for_poll(self, poll_id: int, instants: Iterable[datetime]) -> None:
        """As `touch`, for the coalition whose poll this is (named ballots changed or withdrawn)."""
        instants = list(instants)
        if instants:
            coalition_id = (await self.session.exec(select(Poll.coalition_id).where(Poll.id == poll_id))).first()
            if coalition_id is not None:
                await self.touch(coalition_id, instants)

    async def touch_all(self, coalition_id: int) -> None:
        """Every day of the coalition changed (a member's sector, a member forgotten). Waits for a
        keeping in progress (its share lock on the coalition), so none of its days escapes."""
        await self.session.exec(select(Coalition.id).where(Coalition.id == coalition_id).with_for_update())
        await self.session.exec(  # type: ignore[call-overload]
            update(EngagementDay)
            .where(col(EngagementDay.coalition_id) == coalition_id)
            .values(version=EngagementDay.version + 1, active=b"", active_sectors="{}")  # no forgotten id stays
        )

    async def first_day(self, coalition_id: int) -> datetime | None:
        """The first day anything can have happened: when the coalition began or its first member joined."""
        created = (await self.session.exec(select(Coalition.created_at).where(Coalition.id == coalition_id))).first()
        joined = (
            await self.session.exec(select(func.min(Member.joined_at)).where(Member.coalition_id == coalition_id))
        ).one()
        found = [at for at in (created, joined) if at is not None]
        return day_of(min(found)) if found else None

    async def coalitions(self) -> list[int]:
        result = await self.session.exec(select(Coalition.id))
        return [c for c in result.all() if c is not None]
