"""What the platforms were told the bot received, and has not finished yet.

Slack counts a click as received at our HTTP 200 (or Socket Mode ack), Discord at our deferral:
from then on the member believes their vote is in. A stop must therefore not cut that work off.
Every adapter takes a `Hold` before it acknowledges anything and keeps it until the answer is
sent; once the bot is stopping, `admit` refuses new work (the adapter says "restarting" or the
HTTP server answers 503) and `drain` waits for the holds already given, within the stop's grace
period. What is still open when the grace period runs out is named in the log, one line each.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field
from types import TracebackType

from bot.i18n import _, from_locale, speaking
from bot.replies import Reply, error

log = logging.getLogger(__name__)


@dataclass
class Drained:
    """The outcome of a stop: how much acknowledged work finished, and what was cut off."""

    drained: int
    dropped: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Hold:
    """One acknowledged piece of work; a context manager, released on exit whatever happens."""

    def __init__(self, owner: InFlight, key: int, what: str) -> None:
        self._owner = owner
        self._key = key
        self.what = what

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    def release(self) -> None:
        self._owner._release(self._key)


class InFlight:
    def __init__(self) -> None:
        self._open: dict[int, str] = {}
        self._keys = itertools.count()
        self._stopping = False
        self._finished_while_stopping = 0
        self._changed: asyncio.Event | None = None
        self._cut_short: asyncio.Event | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def open(self) -> int:
        return len(self._open)

    def admit(self, what: str) -> Hold | None:
        """A hold for new work, or None once the bot is stopping (then refuse it: not acknowledged)."""
        if self._stopping:
            return None
        return self.hold(what)

    def hold(self, what: str) -> Hold:
        """A hold for work that is part of something already admitted (taken even while stopping)."""
        key = next(self._keys)
        self._open[key] = what
        return Hold(self, key, what)

    def _release(self, key: int) -> None:
        if self._open.pop(key, None) is None:
            return
        if self._stopping:
            self._finished_while_stopping += 1
        if self._changed is not None:
            self._changed.set()

    def stop_accepting(self) -> None:
        self._stopping = True

    def cut_short(self) -> None:
        """A second signal: stop waiting now (what is open is dropped, and logged)."""
        if self._cut_short is not None:
            self._cut_short.set()

    async def drain(self, grace: float) -> Drained:
        """Refuse new work, then wait up to `grace` seconds for every hold to be released."""
        self.stop_accepting()
        started = time.monotonic()
        self._cut_short = asyncio.Event()
        deadline = started + grace
        while self._open and not self._cut_short.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._changed = asyncio.Event()
            waiters = {asyncio.ensure_future(self._changed.wait()), asyncio.ensure_future(self._cut_short.wait())}
            _done, pending = await asyncio.wait(waiters, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                waiter.cancel()
        outcome = Drained(self._finished_while_stopping, sorted(self._open.values()), time.monotonic() - started)
        return outcome


def restarting(locale: str | None = None) -> Reply:
    """What a member is told when they act while the bot is stopping: nothing was taken."""
    with speaking(from_locale(locale)):
        return error(_("The bot is restarting, so nothing was changed. Please try again in a minute."))
