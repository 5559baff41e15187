"""What is wrong with the bot's set-up, one line each with its fix.

The same checks answer `coalition-bot doctor` (whoever runs the machine, every coalition) and
`/coalition doctor` (a coordinator, their own coalition), so both read one report. Platform checks
(tokens, scopes, permissions per channel) are registered by the platforms that run; this module
knows no platform. No line holds a secret: tokens and passwords never appear, only what to change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.i18n import _, ngettext
from bot.sealing import unopened, wrong_secret
from storage import Repositories

# (workspace id, channel id, channel name) of each linked channel a platform is asked about.
LinkedChannel = tuple[str, str, str]
PlatformCheck = Callable[[list[LinkedChannel]], Awaitable[list[str]]]

# Reminders and deadlines are timed by this machine's clock and stored next to the database's;
# beyond this, a reminder can visibly come early or late.
CLOCK_TOLERANCE = timedelta(seconds=30)
SECRET_SAMPLE = 5  # polls whose keys are tried against ANONYMITY_SECRET
PLATFORM_TIMEOUT = 20.0  # seconds for one platform's checks; a slow platform is itself a finding


class DoctorService:
    def __init__(
        self, repos: Repositories, clock: Clock, platforms: Mapping[str, PlatformCheck], secret: str | None = None
    ) -> None:
        self.repos = repos
        self.clock = clock
        self.platforms = platforms
        self.secret = secret

    async def secret_problem(self, secret: str) -> str | None:
        """Why `secret` is not this database's ANONYMITY_SECRET (it opens none of a sample of the
        anonymous polls' keys: a database moved or restored without its secret), or None."""
        return wrong_secret(unopened(await self.repos.polls.some_keys(SECRET_SAMPLE), secret))

    async def problems(self, coalition_id: int | None = None) -> list[str]:
        """Everything found, for one coalition or (None) for every coalition on this database."""
        problems = await self.clock_problems()
        if self.secret is not None and coalition_id is None:
            wrong = await self.secret_problem(self.secret)
            if wrong:
                problems.append(wrong)
        waiting = self.repos.erase_pending() if coalition_id is None else None
        if waiting is not None:
            problems.append(
                _(
                    "Erasure: since {since}, another connection (a second process, an online backup, a sqlite3 "
                    "shell) has kept the database's write-ahead log from being emptied, so it still holds what "
                    "closed polls and forget-me erased; close that connection: the bot tries again every minute."
                ).format(since=waiting)
            )
        since = self.clock.now() - timedelta(days=1)
        for platform, reason, rows in await self.repos.outbox.failed_since(since, coalition_id):
            problems.append(
                ngettext(
                    "Deliveries: {rows} message to {platform} failed in the last day "
                    "({reason}); `/broadcast status ID` shows which; fix the cause, then send again.",
                    "Deliveries: {rows} messages to {platform} failed in the last day "
                    "({reason}); `/broadcast status ID` shows which; fix the cause, then send again.",
                    rows,
                ).format(rows=rows, platform=platform, reason=reason)
            )
        if coalition_id is None:
            channels = await self.repos.coalitions.all_channels()
        else:
            channels = await self.repos.coalitions.channels(coalition_id)
        paused = await self.repos.email.paused(coalition_id)
        if paused:
            problems.append(
                ngettext(
                    "Email: {count} address is paused after the mail server refused it three times in a row; "
                    "`/coalition email list` shows the server's reason; fix it, then add the address again.",
                    "Email: {count} addresses are paused after the mail server refused them three times in a row; "
                    "`/coalition email list` shows the servers' reasons; fix them, then add the addresses again.",
                    paused,
                ).format(count=paused)
            )
        for name, check in sorted(self.platforms.items()):
            linked = [(c.workspace_id, c.channel_id, c.name) for c in channels if c.platform == name]
            try:
                problems += await asyncio.wait_for(check(linked), PLATFORM_TIMEOUT)
            except Exception as exc:  # a check that cannot finish has found a problem
                problems.append(
                    _("{name}: the check could not finish ({error}); try again in a minute.").format(
                        name=name, error=type(exc).__name__
                    )
                )
        return problems

    async def clock_problems(self) -> list[str]:
        before = self.clock.now()
        server = await self.repos.server_now()
        if server is None:
            return []
        here = before + (self.clock.now() - before) / 2  # the middle of the round trip
        return clock_problems(here, server)


def clock_problems(here: datetime, server: datetime) -> list[str]:
    """A line when this machine's clock and the database server's differ by more than the tolerance."""
    apart = abs(here - server)
    if apart <= CLOCK_TOLERANCE:
        return []
    seconds = int(apart.total_seconds())
    if here > server:
        said = _(
            "Clock: this machine's clock is {seconds} seconds ahead of the database server's: "
            "turn on time synchronisation (NTP, e.g. `timedatectl set-ntp true`) on both."
        )
    else:
        said = _(
            "Clock: this machine's clock is {seconds} seconds behind the database server's: "
            "turn on time synchronisation (NTP, e.g. `timedatectl set-ntp true`) on both."
        )
    return [said.format(seconds=seconds)]
