"""Sending on the bot's own initiative through Discord's REST API (discord.py's HTTP client).

Each delivery carries a nonce derived from its outbox key, sent with `enforce_nonce`: when a send is
repeated after a crash, Discord itself returns the first message instead of creating a second, for
as long as it remembers the nonce (a few minutes). Discord does not keep nonces (reading a
channel's messages never returns them), so beyond those minutes `find_sent` recognises the message
by what Discord does return: the bot's own message, posted since the delivery was first tried, with
exactly the content, embeds and button ids that the delivery would post. Buttons carry the ids of
what they act on (a poll, a broadcast), and text names its meeting or poll, so two deliveries that
render identically in one channel are the same message in practice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import TypeVar

import discord

from adapters.connections import connection_problems
from adapters.discord import render
from adapters.discord.components import message_parts
from adapters.discord.platform import DiscordPlatform
from bot.messenger import DeliveryError
from bot.refs import ConversationRef, MessageRef, UserRef
from bot.replies import Reply

T = TypeVar("T")


def nonce_for(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:25]


class DiscordMessenger:
    platform = DiscordPlatform.name

    def __init__(self, client: discord.Client) -> None:
        self.client = client
        self._dm_channels: dict[str, int] = {}

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str) -> MessageRef:
        message = await self._post(int(conversation.channel_id), reply, key)
        return MessageRef(conversation, str(message.id))

    async def send_private(self, user: UserRef, reply: Reply, *, key: str) -> MessageRef:
        channel_id = await self._dm_channel(user.user_id)
        message = await self._post(channel_id, reply, key)
        return MessageRef(ConversationRef(self.platform, user.workspace_id, str(channel_id)), str(message.id))

    async def update(self, message: MessageRef, reply: Reply) -> None:
        channel = message.conversation.channel_id
        channel_id = await self._dm_channel(channel[3:]) if channel.startswith("dm:") else int(channel)
        rendered = render.message(reply)
        partial = self.client.get_partial_messageable(channel_id).get_partial_message(int(message.message_id))
        await self._call(
            partial.edit(
                **message_parts(rendered),
            )
        )

    async def find_sent(
        self, conversation: ConversationRef | UserRef, key: str, *, reply: Reply, since: datetime
    ) -> MessageRef | None:
        """Our message that this delivery posted, among the channel's recent ones, if any."""
        if isinstance(conversation, UserRef):
            channel_id = await self._dm_channel(conversation.user_id)
            where = ConversationRef(self.platform, conversation.workspace_id, str(channel_id))
        else:
            channel_id, where = int(conversation.channel_id), conversation
        nonce = nonce_for(key)
        wanted = fingerprint(render.message(reply))
        channel = self.client.get_partial_messageable(channel_id)
        me = self.client.user.id if self.client.user else None
        earliest = since - timedelta(minutes=1)  # allow for clocks a little apart

        async def scan() -> MessageRef | None:
            async for message in channel.history(limit=50):
                if message.author.id != me or message.created_at < earliest:
                    continue
                if str(message.nonce or "") == nonce or posted_fingerprint(message) == wanted:
                    return MessageRef(where, str(message.id))
            return None

        return await self._call(scan())

    async def _post(self, channel_id: int, reply: Reply, key: str) -> discord.Message:
        rendered = render.message(reply)
        channel = self.client.get_partial_messageable(channel_id)
        return await self._call(
            channel.send(
                **message_parts(rendered),
                nonce=nonce_for(key),
                suppress_embeds=False,
            )
        )

    async def _dm_channel(self, user_id: str) -> int:
        if user_id not in self._dm_channels:
            data = await self._call(self.client.http.start_private_message(int(user_id)))
            self._dm_channels[user_id] = int(data["id"])
        return self._dm_channels[user_id]

    @staticmethod
    async def _call(request: Awaitable[T]) -> T:
        """Turn Discord's answers into the outbox's three kinds of failure."""
        try:
            with connection_problems("Discord"):
                return await request
        except discord.RateLimited as exc:
            raise DeliveryError("rate limited by Discord", retry_after=exc.retry_after) from exc
        except discord.Forbidden as exc:
            raise DeliveryError(
                "the bot may not post in this channel: in its settings (Permissions), give the bot's role View "
                f"Channel, Send Messages and Embed Links, then send again (Discord said: {exc.text or exc.status})",
                permanent=True,
            ) from exc
        except discord.NotFound as exc:
            raise DeliveryError(f"Discord refused: {exc.status} {exc.text or ''}".strip(), permanent=True) from exc
        except discord.HTTPException as exc:
            if exc.status == 429:
                retry = float(getattr(exc, "retry_after", 0) or 1)
                raise DeliveryError("rate limited by Discord", retry_after=retry) from exc
            if 400 <= exc.status < 500:
                raise DeliveryError(f"Discord refused: {exc.status} {exc.text or ''}".strip(), permanent=True) from exc
            raise DeliveryError(f"Discord error: {exc.status}") from exc


Fingerprint = tuple[str, tuple[str, ...], tuple[str, ...]]


def fingerprint(rendered: render.DiscordMessage) -> Fingerprint:
    """What identifies a message we would post: its content, embed texts and button ids."""
    return (
        (rendered.content or "").strip(),
        tuple((e.description or "").strip() for e in rendered.embeds),
        tuple(c.custom_id for row in rendered.rows for c in row),
    )


def posted_fingerprint(message: discord.Message) -> Fingerprint:
    """The same, read back from a message as Discord returns it."""
    ids = [
        getattr(child, "custom_id", None) or ""
        for row in message.components
        for child in getattr(row, "children", [row])
    ]
    return (
        (message.content or "").strip(),
        tuple((e.description or "").strip() for e in message.embeds),
        tuple(i for i in ids if i),
    )
