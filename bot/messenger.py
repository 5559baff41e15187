"""The port through which the bot posts on its own: one implementation per platform.

Commands answer with a Reply that the adapter posts; everything the bot sends unprompted
(reminders, broadcasts, results) goes out through a Messenger.
"""

from __future__ import annotations

from typing import Protocol

from bot.refs import ConversationRef, MessageRef, UserRef
from bot.replies import Reply


class Messenger(Protocol):
    platform: str

    async def send(self, conversation: ConversationRef, reply: Reply) -> MessageRef:
        """Post in a channel; returns the platform's id for later edits."""
        ...

    async def update(self, message: MessageRef, reply: Reply) -> None:
        """Replace an earlier message's content (live tallies, delivery reports)."""
        ...

    async def send_private(self, user: UserRef, reply: Reply) -> MessageRef:
        """A direct message to one member."""
        ...
