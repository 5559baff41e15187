"""An in-memory adapter over the real dispatcher: run commands, press buttons, read replies.

It plays the console platform without a terminal, so command-layer tests read like a member's
session: `await bot.run("/coalition link", as_="admin")`.
"""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

from bot import markup
from bot.refs import Actor, ConversationRef, UserRef
from bot.replies import Reply
from commands.dispatcher import Dispatcher


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
    """The reply's text as a member reads it."""
    return markup.plain(reply.text, zone or ZoneInfo("UTC"))


__all__ = ["UTC", "Harness", "shown"]
