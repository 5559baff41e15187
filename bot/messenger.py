"""The port through which the bot posts on its own: one implementation per platform.

Commands answer with a Reply that the adapter posts; everything the bot sends unprompted
(reminders, broadcasts, results) is queued in the outbox and goes out through a Messenger.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.refs import ConversationRef, MessageRef, UserRef
from bot.replies import Reply


class DeliveryError(Exception):
    """A platform did not take a message.

    `retry_after`: the platform asked us to wait (429), in seconds. `permanent`: retrying cannot
    help (channel deleted, bot removed). `unknown`: the request may have arrived (timeout after
    sending), so the next attempt first asks the platform whether it did.
    """

    def __init__(
        self, reason: str, *, retry_after: float | None = None, permanent: bool = False, unknown: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent
        self.unknown = unknown


@runtime_checkable
class Messenger(Protocol):
    platform: str
    # A messenger whose messages cannot be changed once sent says `edits = False` (email): the
    # outbox then queues it no edits.

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str) -> MessageRef:
        """Post in a channel; `key` identifies this delivery so `find_sent` can recognise it."""
        ...

    async def send_private(self, user: UserRef, reply: Reply, *, key: str) -> MessageRef:
        """A direct message to one member."""
        ...

    async def update(self, message: MessageRef, reply: Reply) -> None:
        """Replace an earlier message's content (live tallies, delivery reports)."""
        ...

    async def find_sent(
        self, conversation: ConversationRef | UserRef, key: str, *, reply: Reply, since: datetime
    ) -> MessageRef | None:
        """The message delivered earlier under `key`, if the platform has it (crash recovery): `reply`
        is what was being sent, first tried no earlier than `since`."""
        ...
