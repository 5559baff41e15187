"""An in-memory adapter over the real dispatcher: run commands, press buttons, read replies.

It plays the console platform without a terminal, so command-layer tests read like a member's
session: `await bot.run("/coalition link", as_="admin")`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC
from zoneinfo import ZoneInfo

from adapters import build_dispatcher
from bot import markup
from bot.app import App
from bot.clock import Clock
from bot.config import Settings
from bot.messenger import Messenger
from bot.refs import Actor, ConversationRef, UserRef
from bot.replies import Reply
from commands.dispatcher import Dispatcher
from storage import Database


class Harness:
    def __init__(self, dispatcher: Dispatcher, platform: str = "console", workspace: str = "local") -> None:
        self.dispatcher = dispatcher
        self.platform = platform
        self.workspace = workspace

    def actor(self, name: str, *, admin: bool = False, tz: str | None = None) -> Actor:
        return Actor(UserRef(self.platform, self.workspace, name.lower()), name, admin, tz)

    def where(self, channel: str) -> ConversationRef:
        return ConversationRef(self.platform, self.workspace, channel, name=channel)

    async def start(self, name: str = "Our coalition", founder: str = "admin", channel: str = "general") -> None:
        await self.dispatcher.ensure_coalition(name, self.where(channel), self.actor(founder))

    async def run(self, text: str, *, as_: str = "admin", channel: str = "general", admin: bool = False) -> Reply:
        return await self.dispatcher.run_text(text, self.actor(as_, admin=admin), self.where(channel))

    def show(self, reply: Reply, zone: ZoneInfo | None = None) -> str:
        """The reply as a member reads it at the bot's (possibly simulated) time."""
        return markup.plain(reply.text, zone or ZoneInfo("UTC"), self.dispatcher.app.clock.now())

    async def click(
        self, action_id: str, *, as_: str = "admin", channel: str = "general", value: str | None = None
    ) -> Reply:
        return await self.dispatcher.run_action(action_id, self.actor(as_), self.where(channel), value=value)


def shown(reply: Reply, zone: ZoneInfo | None = None) -> str:
    """The reply's text as a member reads it; relative times are shown as absolute ones (use
    `Harness.show` to read them against the bot's clock)."""
    return markup.plain(reply.text, zone or ZoneInfo("UTC"))


async def two_processes_catch_up(url: str, clock: Clock, messenger: Messenger) -> None:
    """Two bot processes start on the same database at once and each run what is due, twice: what
    fell due while the bot was down must go out once."""
    apps = []
    for _ in range(2):
        database = Database(url)
        app = App(Settings(database_url=url), database, clock)
        app.add_messenger(messenger)
        build_dispatcher(app)
        apps.append((app, database))
    try:
        for _ in range(2):
            await asyncio.gather(*(app.scheduler.run_due() for app, _ in apps))
    finally:
        for _, database in apps:
            await database.dispose()


__all__ = ["UTC", "Harness", "shown", "two_processes_catch_up"]
