"""Queueing messages the bot sends on its own, inside the caller's transaction.

Each message is written in its reader's language: a service hands over a `Say` (a function that
makes the reply), and the outbox calls it with the language of the channel (`/coalition link
--language`, else the coalition's) or of the member (`/coalition language`, else the coalition's)
in force, once per language however many readers share it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.i18n import DEFAULT as DEFAULT_LANGUAGE
from bot.i18n import speaking
from bot.replies import Reply, reply_to_dict
from bot.sealing import open_payload, seal_payload
from bot.views import ChannelView, MemberView
from storage import Repositories
from storage.broadcasts import MemberAddress
from storage.models import Channel, Member, OutboxMessage
from storage.outbox import SENDING

EDIT_EVERY = timedelta(seconds=1)  # at most about one edit a second per message

# A reply already made (the same words for everyone), or what makes it in the language in force.
Say = Reply | Callable[[], Reply]


class Outbox:
    def __init__(
        self, repos: Repositories, clock: Clock, unedited: frozenset[str] = frozenset(), secret: str = ""
    ) -> None:
        """`unedited`: platforms whose messages cannot be changed once sent (email): their cards
        are never queued an edit. `secret`: seals what is queued with `sealed=True` (feedback)."""
        self.repos = repos
        self.clock = clock
        self.unedited = unedited
        self.secret = secret
        self._before_commit: dict[str, Callable[[], Awaitable[None]]] = {}
        self._coalition_languages: dict[int, str] = {}

    async def coalition_language(self, coalition_id: int) -> str:
        if coalition_id not in self._coalition_languages:
            coalition = await self.repos.coalitions.get(coalition_id)
            self._coalition_languages[coalition_id] = (coalition.language if coalition else None) or DEFAULT_LANGUAGE
        return self._coalition_languages[coalition_id]

    async def member_language(self, member: MemberView | MemberAddress) -> str:
        """The language of a member's private messages: their choice, else their app's, else the coalition's."""
        return member.language or member.app_language or await self.coalition_language(member.coalition_id)

    async def channel_language(self, channel: ChannelView) -> str:
        """The language of what is posted in a channel: the channel's, else the coalition's."""
        return channel.language or await self.coalition_language(channel.coalition_id)

    async def for_channels(
        self, channels: Sequence[ChannelView], make: Callable[[], Awaitable[Reply]]
    ) -> list[tuple[ChannelView, Reply]]:
        """Each channel with `make()`'s reply in the channel's language, made once per language: a
        card that has to count first (a poll's tally) counts once for a single-language coalition."""
        made: dict[str, Reply] = {}
        pairs = []
        for channel in channels:
            language = await self.channel_language(channel)
            if language not in made:
                with speaking(language):
                    made[language] = self.render(await make(), language)
            pairs.append((channel, made[language]))
        return pairs

    @staticmethod
    def render(say: Say, language: str) -> Reply:
        """The reply in `language`, marked with it: the platform renders the times it writes out
        itself ("dentro de 1 hora", Slack's fallback dates) in the reader's language too."""
        if isinstance(say, Reply):
            return say if say.language else replace(say, language=language)
        with speaking(language):
            made = say()
        return made if made.language else replace(made, language=language)

    def once_before_commit(self, key: str, work: Callable[[], Awaitable[None]]) -> None:
        """Do `work` once, just before this transaction commits, however many changes asked for it:
        a burst of votes or RSVPs written together redraws their card once, not once per click."""
        self._before_commit.setdefault(key, work)

    async def before_commit(self) -> None:
        while self._before_commit:
            key = next(iter(self._before_commit))
            await self._before_commit.pop(key)()

    async def to(
        self,
        recipient: ChannelView | MemberView,
        reply: Say,
        *,
        key: str,
        not_before: datetime | None = None,
        source: str = "",
        source_id: int | None = None,
        at: datetime | None = None,
        sealed: bool = False,
    ) -> OutboxMessage:
        """Queue `reply` for a channel (a post) or a member (a private message), rendered in the
        language they read. `key` makes it once: the same key is never queued twice. `sealed`:
        the payload is encrypted under the secret until it is sent (feedback)."""
        address: dict[str, Any] = {
            "coalition_id": recipient.coalition_id,
            "created_at": at or self.clock.now(),
            "platform": recipient.platform,
            "workspace_id": recipient.workspace_id,
        }
        if isinstance(recipient, Member):
            address.update(kind="dm", user_id=recipient.user_id)
            language = await self.member_language(recipient)
        else:
            assert isinstance(recipient, Channel)  # a view handed out by a service: its row
            address.update(kind="post", channel_id=recipient.channel_id)
            language = await self.channel_language(recipient)
        return await self._queue(address, self.render(reply, language), key, not_before, source, source_id, sealed)

    async def edit(self, original: OutboxMessage, reply: Reply, *, key: str, every: timedelta = EDIT_EVERY) -> None:
        """Replace what `original` delivered. Repeated calls coalesce into one pending edit row, sent
        no sooner than `every` after the previous edit went out (live tallies, delivery reports).
        The caller makes `reply` in the language of the original's reader (`channel_language`,
        `member_language`)."""
        if original.platform in self.unedited:
            return
        if reply.language is None:  # an edit reads in the language of what it replaces
            reply = replace(
                reply, language=json.loads(open_payload(original.payload or "{}", self.secret)).get("language")
            )
        payload = json.dumps(reply_to_dict(reply))
        existing = await self.repos.outbox.by_key(key)
        not_before = self.clock.now()
        if existing is not None and existing.status == SENDING:
            not_before += every  # an older version is landing about now
        elif existing is not None and existing.sent_at is not None:
            not_before = max(not_before, existing.sent_at + every)
        if existing is None:
            if original.payload == payload:
                return
            await self.repos.outbox.insert_edit(
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
                    created_at=self.clock.now(),
                )
            )
        elif existing.payload != payload:
            await self.repos.outbox.rearm(existing, payload, not_before)

    async def prune(self, before: datetime) -> int:
        """Forget deliveries finished before `before` (see `OutboxRepository.prune` for what stays)."""
        return await self.repos.outbox.prune(before)

    async def to_members(
        self,
        members: Sequence[Member | MemberAddress],
        reply: Say,
        *,
        key_prefix: str,
        source: str = "",
        source_id: int | None = None,
    ) -> int:
        """The same private message to many members, made once per language and queued in one
        statement per language; each delivery is keyed `key_prefix` + the member's id."""
        now = self.clock.now()
        by_language: dict[str, list[int]] = {}
        for m in members:
            assert m.id is not None
            by_language.setdefault(await self.member_language(m), []).append(m.id)
        queued = 0
        for language, ids in by_language.items():
            payload = json.dumps(reply_to_dict(self.render(reply, language)))
            queued += await self.repos.outbox.add_private_many(
                ids, payload=payload, key_prefix=key_prefix, source=source, source_id=source_id, now=now
            )
        return queued

    async def _queue(
        self,
        address: dict[str, Any],
        reply: Reply,
        key: str,
        not_before: datetime | None,
        source: str,
        source_id: int | None,
        sealed: bool = False,
    ) -> OutboxMessage:
        """`address`: where it goes (a channel or a member) and when it was made."""
        payload = json.dumps(reply_to_dict(reply))
        row = OutboxMessage(
            **address,
            payload=seal_payload(payload, self.secret) if sealed else payload,
            dedupe_key=key,
            source=source,
            source_id=source_id,
            not_before=not_before or self.clock.now(),
        )
        return await self.repos.outbox.add(row)
