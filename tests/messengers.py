"""An in-memory platform behind the Messenger port, with the failures real platforms have.

It plays a chat service: it keeps every message it accepted (and the delivery key it came with,
as Discord's nonce or Slack's metadata would), and can be told to answer 500, 429 or to accept a
message and then lose the connection before answering.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count

from bot.messenger import DeliveryError
from bot.refs import ConversationRef, MessageRef, UserRef
from bot.replies import Reply


@dataclass
class Posted:
    message_id: str
    target: str
    reply: Reply
    key: str
    edits: list[Reply] = field(default_factory=list)


class PlatformDown(BaseException):
    """Stands for the process being killed mid-send, after the platform took the message: like a
    SIGKILL, no `except Exception` in our code sees it."""


class MemoryPlatform:
    def __init__(self, platform: str = "console") -> None:
        self.platform = platform
        self.posted: list[Posted] = []
        self.calls = 0
        self.script: list[str] = []  # per call: "ok", "500", "429", "gone", "accept-then-crash"
        self.retry_after = 5.0
        self.latency = 0.0  # seconds each call takes
        self._ids = count(1)

    def fail_next(self, *outcomes: str) -> None:
        self.script.extend(outcomes)

    async def _outcome(self) -> str:
        self.calls += 1
        await asyncio.sleep(self.latency)
        return self.script.pop(0) if self.script else "ok"

    async def _post(self, target: str, reply: Reply, key: str) -> MessageRef:
        outcome = await self._outcome()
        if outcome == "500":
            raise DeliveryError("HTTP 500 from the platform")
        if outcome == "429":
            raise DeliveryError("rate limited", retry_after=self.retry_after)
        if outcome == "gone":
            raise DeliveryError("channel_not_found", permanent=True)
        posted = Posted(f"{self.platform}-{next(self._ids)}", target, reply, key)
        self.posted.append(posted)
        if outcome == "accept-then-crash":
            raise PlatformDown(key)
        if outcome == "accept-then-timeout":
            raise DeliveryError("read timeout", unknown=True)
        return MessageRef(ConversationRef(self.platform, "w", target), posted.message_id)

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str) -> MessageRef:
        return await self._post(conversation.channel_id, reply, key)

    async def send_private(self, user: UserRef, reply: Reply, *, key: str) -> MessageRef:
        return await self._post(f"dm:{user.user_id}", reply, key)

    async def update(self, message: MessageRef, reply: Reply) -> None:
        outcome = await self._outcome()
        if outcome != "ok":
            raise DeliveryError(f"edit failed: {outcome}")
        next(p for p in self.posted if p.message_id == message.message_id).edits.append(reply)

    async def find_sent(
        self, conversation: ConversationRef | UserRef, key: str, *, reply: Reply, since: datetime
    ) -> MessageRef | None:
        for p in self.posted:
            if p.key == key:
                return MessageRef(ConversationRef(self.platform, "w", p.target), p.message_id)
        return None

    def to(self, target: str) -> list[Posted]:
        return [p for p in self.posted if p.target == target]

    def keys(self) -> list[str]:
        return [p.key for p in self.posted]
