"""Rate-limit windows kept in the database, so several processes pace one platform together.

Each admission locks its window's row (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's single
writer does the same), so two processes can never both take the last place in a window. Times come
from the database's own clock, the one clock every process shares.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import upsert
from storage.models import PacingStamp, PacingWindow

_UNIX_EPOCH_JULIAN_DAY = 2440587.5
# A send unanswered this long was lost with its process (HTTP clients give up well before): its
# stamp then ages out like an answered one.
IN_FLIGHT_LIMIT = 60.0
IN_FLIGHT_CHECK = 0.02  # seconds before a window held full by unanswered sends is looked at again


def _now_expression(session: AsyncSession) -> Any:
    """Seconds since the epoch, on the database's clock (the real time, not the transaction's start)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return func.extract("epoch", func.clock_timestamp())
    return (func.julianday("now") - _UNIX_EPOCH_JULIAN_DAY) * 86400.0


class PacingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _window(self, key: str) -> None:
        insert = upsert(self.session, PacingWindow).values(key=key, paused_until=0.0).on_conflict_do_nothing()
        await self.session.exec(insert)

    async def now(self) -> float:
        return float((await self.session.exec(select(_now_expression(self.session)))).one())  # type: ignore[call-overload]

    async def admit(self, requests: list[dict[str, tuple[int, float]]]) -> tuple[list[list[int] | None], float, float]:
        """Admit sends, in order, each into all of its windows (key -> at most `count` sends in any
        `seconds`) or none of them, so a send never holds a channel's place while it waits for the
        platform's. Returns each request's stamp ids (None: refused for now), the seconds until
        the first refused one could go, and the database's time the windows were read at. One
        transaction for many sends: the caller commits at once, and the windows stay locked until
        then, in one order in every process (no deadlock)."""
        limits: dict[str, tuple[int, float]] = {}
        for windows in requests:
            limits.update(windows)
        keys = sorted(limits)
        found = await self._lock(keys)
        if len(found) < len(keys):
            insert = upsert(self.session, PacingWindow).values([{"key": k, "paused_until": 0.0} for k in keys])
            await self.session.exec(insert.on_conflict_do_nothing())  # type: ignore[call-overload]
            found = await self._lock(keys)
        now = next(iter(found.values()))[1]
        horizon = now - max(seconds for _, seconds in limits.values())
        in_flight_since = now - IN_FLIGHT_LIMIT
        rows = (
            await self.session.exec(
                select(PacingStamp.key, PacingStamp.at, PacingStamp.answered).where(
                    col(PacingStamp.key).in_(keys),
                    or_(
                        col(PacingStamp.at) > horizon,
                        and_(col(PacingStamp.answered).is_(False), col(PacingStamp.at) > in_flight_since),
                    ),
                )
            )
        ).all()
        # Each window's sends as (counts from, answered); one still on its way counts from now.
        recent: dict[str, list[tuple[float, bool]]] = {key: [] for key in keys}
        for key, at, answered in rows:
            if not answered:
                recent[key].append((now, False))
            elif at > now - limits[key][1]:
                recent[key].append((at, True))
        for stamps in recent.values():
            stamps.sort()
        admitted: list[list[int] | None] = []
        taken: list[list[PacingStamp]] = []
        wait = float("inf")
        for windows in requests:
            waits = [found[key][0] - now for key in windows]
            for key, (count, seconds) in windows.items():
                if len(recent[key]) >= count:
                    at, answered = recent[key][-count]
                    waits.append(at + seconds - now if answered else IN_FLIGHT_CHECK)
            if waits and max(waits) > 0:
                wait = min(wait, max(waits))
                taken.append([])
                continue
            stamps = [PacingStamp(key=key, at=now) for key in windows]
            for key in windows:
                recent[key].append((now, False))
            taken.append(stamps)
        await self.session.exec(
            delete(PacingStamp).where(  # type: ignore[call-overload]
                col(PacingStamp.key).in_(keys),
                col(PacingStamp.at) <= horizon,
                or_(col(PacingStamp.answered).is_(True), col(PacingStamp.at) <= in_flight_since),
            )
        )
        self.session.add_all([stamp for stamps in taken for stamp in stamps])
        await self.session.flush()
        for stamps in taken:
            admitted.append([stamp.id for stamp in stamps if stamp.id is not None] if stamps else None)
        return admitted, (max(wait, 0.001) if wait != float("inf") else 0.0), now

    async def _lock(self, keys: list[str]) -> dict[str, tuple[float, float]]:
        """The windows' rows, locked, with the database's time: key -> (paused until, now)."""
        rows = await self.session.exec(
            select(PacingWindow.key, PacingWindow.paused_until, _now_expression(self.session))  # type: ignore[call-overload]
            .where(col(PacingWindow.key).in_(keys))
            .order_by(col(PacingWindow.key))
            .with_for_update()
        )
        return {key: (float(paused), float(now)) for key, paused, now in rows.all()}

    async def answered(self, stamp_ids: list[int], at: float) -> None:
        """Move the stamps to `at`, the answer's time on the database's clock: the platform counted
        the send somewhere between admission and its answer, so counting from the answer can never
        put one too many in its window."""
        await self.session.exec(
            update(PacingStamp).where(col(PacingStamp.id).in_(stamp_ids)).values(at=at, answered=True)  # type: ignore[call-overload]
        )

    async def pause(self, key: str, seconds: float) -> None:
        """No sends in the window `key` for `seconds` (a platform's Retry-After), in every process."""
        until = await self.now() + seconds
        await self.session.exec(
            upsert(self.session, PacingWindow).values(key=key, paused_until=0.0).on_conflict_do_nothing()
        )  # type: ignore[call-overload]
        await self.session.exec(
            update(PacingWindow)  # type: ignore[call-overload]
            .where(col(PacingWindow.key) == key, col(PacingWindow.paused_until) < until)
            .values(paused_until=until)
        )
