"""Goals and the values of their measures (`bot.services.goals`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Goal, GoalValue


class GoalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, goal: Goal) -> Goal:
        self.session.add(goal)
        await self.session.flush()
        return goal

    async def by_id(self, goal_id: int) -> Goal | None:
        return await self.session.get(Goal, goal_id)

    async def get(self, coalition_id: int, goal_id: int) -> Goal | None:
        found = await self.session.get(Goal, goal_id)
        return found if found is not None and found.coalition_id == coalition_id else None

    async def listed(self, coalition_id: int, open_only: bool = False) -> list[Goal]:
        query = select(Goal).where(Goal.coalition_id == coalition_id)
        if open_only:
            query = query.where(Goal.status == "open")
        return list((await self.session.exec(query.order_by(col(Goal.id)))).all())

    async def values(self, goal_id: int) -> list[GoalValue]:
        result = await self.session.exec(
            select(GoalValue).where(GoalValue.goal_id == goal_id).order_by(col(GoalValue.period_at))
        )
        return list(result.all())

    async def value_at(self, goal_id: int, period_at: datetime) -> GoalValue | None:
        result = await self.session.exec(
            select(GoalValue).where(GoalValue.goal_id == goal_id, GoalValue.period_at == period_at)
        )
        return result.first()

    async def put_value(self, value: GoalValue) -> None:
        self.session.add(value)
        await self.session.flush()

    async def recorded_between(self, coalition_id: int, start: datetime, end: datetime) -> list[int]:
        """The goals with a value recorded in [start, end): those that moved (the digest)."""
        result = await self.session.exec(
            select(GoalValue.goal_id)
            .join(Goal, col(Goal.id) == GoalValue.goal_id)
            .where(
                Goal.coalition_id == coalition_id, col(GoalValue.recorded_at) >= start, col(GoalValue.recorded_at) < end
            )
            .distinct()
        )
        return list(result.all())
