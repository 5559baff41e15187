"""Queueing messages the bot sends on its own, inside the caller's transaction."""

from __future__ import annotations

import json
from datetime import datetime

from bot.clock import Clock
from bot.replies import Reply, reply_to_dict
from storage import Repositories
from storage.models import Channel, Member, OutboxMessage


class Outbox:
    def __init__(self, repos: Repositories, clock: Clock) -> None:
        self.repos = repos
        self.clock = clock

    async def to_channel(
        self,
        coalition_id: int,
        channel: Channel,
        reply: Reply,
        *,
        key: str,
        not_before: datetime | None = None,
        source: str = "",
        source_id: int | None = None,
    ) -> OutboxMessage:
        return await self.repos.outbox.add(
            OutboxMessage(
                coalition_id=coalition_id,
                kind="post",
                platform=channel.platform,
                workspace_id=channel.workspace_id,
                channel_id=channel.channel_id,
                payload=json.dumps(reply_to_dict(reply)),
                dedupe_key=key,
                source=source,
                source_id=source_id,
                not_before=not_before or self.clock.now(),
            )
        )

    async def to_member(
        self,
        member: Member,
        reply: Reply,
        *,
        key: str,
        not_before: datetime | None = None,
        source: str = "",
        source_id: int | None = None,
    ) -> OutboxMessage:
        return await self.repos.outbox.add(
            OutboxMessage(
                coalition_id=member.coalition_id,
                kind="dm",
                platform=member.platform,
                workspace_id=member.workspace_id,
                user_id=member.user_id,
                payload=json.dumps(reply_to_dict(reply)),
                dedupe_key=key,
                source=source,
                source_id=source_id,
                not_before=not_before or self.clock.now(),
            )
        )

    async def edit(self, original: OutboxMessage, reply: Reply, *, key: str, not_before: datetime) -> None:
        """Replace what `original` delivered; repeated calls coalesce into one pending edit row."""
        payload = json.dumps(reply_to_dict(reply))
        existing = await self.repos.outbox.by_key(key)
        if existing is None:
            if original.payload == payload:
                return
            await self.repos.outbox.add(
                OutboxMessage(
                    coalition_id=original.coalition_id,
                    kind="edit",
                    platform=original.platform,
                    workspace_id=original.workspace_id,
                    channel_id=original.channel_id,
                    user_id=original.user_id,
                    edit_of_id=original.id,
                    payload=payload,
                    dedupe_key=key,
                    source=original.source,
                    source_id=original.source_id,
                    not_before=not_before,
                )
            )
        elif existing.payload != payload:
            await self.repos.outbox.rearm(existing, payload, max(not_before, self.clock.now()))
