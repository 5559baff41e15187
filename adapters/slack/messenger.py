"""Sending on the bot's own initiative through Slack's Web API.

Each delivery carries its outbox key in Slack message metadata. With SLACK_READ_HISTORY on, after
a crash the worker asks `conversations.history` whether the message already arrived instead of
posting it twice. Off (the default), the bot cannot read its channels, so a crash in the very
middle of a send may repeat that one message: the trade-off is the README's.
Link unfurling is off: a link a member typed must not grow a preview the bot vouches for.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.connections import connection_problems
from adapters.slack import render
from adapters.slack.platform import SlackPlatform
from bot.messenger import DeliveryError
from bot.refs import ConversationRef, MessageRef, UserRef
from bot.replies import Reply

T = TypeVar("T")

METADATA_EVENT = "coalition_bot_delivery"
PERMANENT_ERRORS = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "account_inactive",
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "cannot_dm_bot",
    "user_not_found",
    "msg_too_long",
    "invalid_blocks",
    "restricted_action",
}


# What a coordinator reads in `/broadcast status` and delivery reports, with the fix.
FIXES = {
    "not_in_channel": "the bot is not in this channel: invite it there with /invite @{bot}, then send again",
    "channel_not_found": "Slack cannot find this channel (deleted, or private without the bot): invite the bot or "
    "unlink the channel with /coalition unlink",
    "is_archived": "this channel is archived: unarchive it or unlink it with /coalition unlink",
}


class SlackMessenger:
    platform = SlackPlatform.name

    def __init__(self, client: AsyncWebClient, *, read_history: bool = False) -> None:
        self.client = client
        self.read_history = read_history
        self.bot_name = "coalition-bot"  # as Slack shows the bot, for the fixes it suggests (set at start)
        self._dm_channels: dict[str, str] = {}

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str) -> MessageRef:
        ts = await self._post(conversation.channel_id, reply, key)
        return MessageRef(conversation, ts)

    async def send_private(self, user: UserRef, reply: Reply, *, key: str) -> MessageRef:
        channel = await self._dm_channel(user.user_id)
        ts = await self._post(channel, reply, key)
        return MessageRef(ConversationRef(self.platform, user.workspace_id, channel), ts)

    async def update(self, message: MessageRef, reply: Reply) -> None:
        channel = message.conversation.channel_id
        if channel.startswith("dm:"):
            channel = await self._dm_channel(channel[3:])
        await self._call(self.client.chat_update(channel=channel, ts=message.message_id, **render.message(reply)))

    async def find_sent(
        self, conversation: ConversationRef | UserRef, key: str, *, reply: Reply, since: datetime
    ) -> MessageRef | None:
        if not self.read_history:
            return None
        if isinstance(conversation, UserRef):
            channel = await self._dm_channel(conversation.user_id)
            where = ConversationRef(self.platform, conversation.workspace_id, channel)
        else:
            channel, where = conversation.channel_id, conversation
        response = await self._call(
            self.client.conversations_history(channel=channel, limit=100, include_all_metadata=True)
        )
        messages: list[dict[str, Any]] = response.get("messages") or []
        for msg in messages:
            payload = (msg.get("metadata") or {}).get("event_payload") or {}
            if payload.get("key") == key:
                return MessageRef(where, msg["ts"])
        return None

    async def _post(self, channel: str, reply: Reply, key: str) -> str:
        response = await self._call(
            self.client.chat_postMessage(
                channel=channel,
                unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
                **render.message(reply),
            )
        )
        return str(response["ts"])

    async def _dm_channel(self, user_id: str) -> str:
        if user_id not in self._dm_channels:
            response = await self._call(self.client.conversations_open(users=user_id))
            self._dm_channels[user_id] = response["channel"]["id"]
        return self._dm_channels[user_id]

    async def _call(self, request: Awaitable[T]) -> T:
        """Turn Slack's answers into the outbox's three kinds of failure."""
        try:
            with connection_problems("Slack"):
                return await request
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error", "")) if exc.response is not None else ""
            if status == 429 or error == "ratelimited":
                retry_after = float(exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", 1)))
                raise DeliveryError("rate limited by Slack", retry_after=retry_after) from exc
            if error in PERMANENT_ERRORS:
                raise DeliveryError(
                    FIXES.get(error, "Slack refused: {error}").format(bot=self.bot_name, error=error), permanent=True
                ) from exc
            raise DeliveryError(f"Slack error: {error or status}") from exc
