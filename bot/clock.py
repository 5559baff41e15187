"""Time as a port, so tests and the console's simulated clock can move it without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """Stands still until told to move; `set` never goes backwards (reminders must not re-fire)."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime.now(UTC).replace(microsecond=0)
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs an aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        when = when.astimezone(UTC)
        if when < self._now:
            raise ValueError("the simulated clock cannot go backwards")
        self._now = when
