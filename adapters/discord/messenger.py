"""Sending on the bot's own initiative through Discord's REST API (discord.py's HTTP client).

Each delivery carries a nonce derived from its outbox key, sent with `enforce_nonce`: when a send is
repeated after a crash, Discord itself returns the first message instead of creating a second, for
as long as it remembers the nonce (a few minutes). `find_sent` also scans the channel's recent
messages for that nonce, which helps wherever the API reports nonces back.
"""

from __future__ import annotations

import hashlib

import aiohttp
import discord

from adapters.discord import render
from adapters.discord.components import build_view
from bot.messenger import DeliveryError
from bot.refs import ConversationRef, MessageRef, UserRef
from bot.replies import Reply


def nonce_for(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:25]


class DiscordMessenger:
    platform = "discord"

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
                content=rendered.content,
                embeds=rendered.embeds,
                view=build_view(rendered.rows),
                allowed_mentions=rendered.allowed_mentions,
            )
        )

    async def find_sent(self, conversation: ConversationRef | UserRef, key: str) -> MessageRef | None:
        """Our message carrying this delivery's nonce among the channel's recent ones, if any."""
        if isinstance(conversation, UserRef):
            channel_id = await self._dm_channel(conversation.user_id)
            where = ConversationRef(self.platform, conversation.workspace_id, str(channel_id))
        else:
            channel_id, where = int(conversation.channel_id), conversation
        nonce = nonce_for(key)
        channel = self.client.get_partial_messageable(channel_id)
        me = self.client.user.id if self.client.user else None

        async def scan() -> MessageRef | None:
            async for message in channel.history(limit=50):
                if message.author.id == me and str(message.nonce or "") == nonce:
                    return MessageRef(where, str(message.id))
            return None

        return await self._call(scan())

    async def _post(self, channel_id: int, reply: Reply, key: str) -> discord.Message:
        rendered = render.message(reply)
        channel = self.client.get_partial_messageable(channel_id)
        return await self._call(
            channel.send(
                content=rendered.content,
                embeds=rendered.embeds,
                view=build_view(rendered.rows),
                allowed_mentions=rendered.allowed_mentions,
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
    async def _call(request):  # type: ignore[no-untyped-def]
        """Turn Discord's answers into the outbox's three kinds of failure."""
        try:
            return await request
        except discord.RateLimited as exc:
            raise DeliveryError("rate limited by Discord", retry_after=exc.retry_after) from exc
        except (discord.Forbidden, discord.NotFound) as exc:
            raise DeliveryError(f"Discord refused: {exc.status} {exc.text or ''}".strip(), permanent=True) from exc
        except discord.HTTPException as exc:
            if exc.status == 429:
                retry = float(getattr(exc, "retry_after", 0) or 1)
                raise DeliveryError("rate limited by Discord", retry_after=retry) from exc
            if 400 <= exc.status < 500:
                raise DeliveryError(f"Discord refused: {exc.status} {exc.text or ''}".strip(), permanent=True) from exc
            raise DeliveryError(f"Discord error: {exc.status}") from exc
        except (TimeoutError, aiohttp.ServerDisconnectedError) as exc:
            raise DeliveryError(f"no answer from Discord ({type(exc).__name__})", unknown=True) from exc
        except aiohttp.ClientConnectorError as exc:
            raise DeliveryError(f"cannot reach Discord ({exc})") from exc
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"connection to Discord failed ({type(exc).__name__})", unknown=True) from exc
