"""Is the bot alive, and can it do its work? The answers behind `/livez`, `/readyz` (and its old
name `/healthz`) and `coalition_database_up`.

Every probe answers within `PROBE_BUDGET` whatever is wrong: an orchestrator that waits longer
than its own timeout counts a slow answer as a failure anyway, and a locked SQLite file once held
a probe for 24 s. The database is asked by one probe at a time in the background; a probe that
finds it still busy answers "does not answer" at once instead of queueing another question
behind the lock. No probe calls Slack or Discord: platforms report the state of the connection
they already hold.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.inflight import InFlight
    from bot.scheduler import Scheduler
    from storage import Database

PROBE_BUDGET = 1.5  # seconds for all the checks together (orchestrators allow 2 or more)
SCHEDULER_QUIET = 60.0  # seconds without a finished wake-up before the scheduler counts as stuck

Check = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True)
class FileIdentity:
    device: int
    inode: int


def identity(path: Path) -> FileIdentity | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return FileIdentity(found.st_dev, found.st_ino)


class Health:
    def __init__(
        self,
        db: Database,
        scheduler: Scheduler,
        inflight: InFlight,
        database_file: Path | None,
        platform_checks: dict[str, Check],
    ) -> None:
        self.db = db
        self.scheduler = scheduler
        self.inflight = inflight
        self.platform_checks = platform_checks
        self._file = database_file
        # The file the bot opened: writes go to it even after it is moved or deleted, so a file at
        # that path that is not this one (or none at all) means the coalition's data is elsewhere.
        self._opened = identity(database_file) if database_file is not None else None
        self._probe: asyncio.Task[str | None] | None = None
        self.database_up = True

    async def ready(self) -> dict[str, str]:
        """Each check and what it found: "ok", or what is wrong; within PROBE_BUDGET."""
        checks: dict[str, str] = {}
        if self.inflight.stopping:
            checks["stopping"] = "the bot is stopping: finishing what it acknowledged, taking nothing new"
        checks["database"] = await self.database() or "ok"
        checks["scheduler"] = self.scheduler_state() or "ok"
        names = sorted(self.platform_checks)
        tasks = [asyncio.ensure_future(self.platform_checks[name]()) for name in names]
        if tasks:
            await asyncio.wait(tasks, timeout=PROBE_BUDGET)
        for name, task in zip(names, tasks, strict=True):
            if not task.done():
                task.cancel()
                checks[name] = "its check did not answer in time"
            elif task.exception() is not None:
                checks[name] = f"check failed ({type(task.exception()).__name__})"
            else:
                checks[name] = task.result() or "ok"
        return checks

    async def database(self) -> str | None:
        """What is wrong with the database, or None: the file is still where it was opened, and a
        write transaction can begin (SQLite's write lock, PostgreSQL not read-only). Nothing is written."""
        if self._file is not None and self._opened is not None:
            now = await asyncio.to_thread(identity, self._file)
            if now != self._opened:
                self.database_up = False
                return f"the database file {self._file} was moved or deleted since the bot opened it; restart the bot"
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(self._ask_database())
        done, _ = await asyncio.wait({self._probe}, timeout=PROBE_BUDGET)
        if not done:
            self.database_up = False
            return f"does not answer within {PROBE_BUDGET:g} s (locked or overloaded)"
        problem = self._probe.result()
        self.database_up = problem is None
        return problem

    async def _ask_database(self) -> str | None:
        try:
            return await self.db.write_problem()
        except Exception as exc:  # whatever the driver raises, the database cannot be used
            return f"does not answer ({type(exc).__name__})"

    def scheduler_state(self) -> str | None:
        if not self.scheduler.running:
            return "not running"
        quiet = self.scheduler.seconds_since_progress(time.monotonic())
        if quiet is not None and quiet > SCHEDULER_QUIET:
            return f"no wake-up has finished for {quiet:.0f} s"
        return None


def alive() -> dict[str, object]:
    """The process answers: the event loop turns. Nothing else is asked."""
    return {"alive": True, "pid": os.getpid()}
