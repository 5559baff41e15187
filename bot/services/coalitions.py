"""Coalitions, the spaces and channels linked to them, and their members."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Settings
from bot.i18n import DEFAULT as DEFAULT_LANGUAGE
from bot.i18n import _, from_locale
from bot.permissions import Role
from bot.problems import Problem
from bot.refs import Actor, ConversationRef, UserRef
from bot.views import ChannelView, CoalitionView, MemberView
from storage import Repositories
from storage.models import Channel, Coalition, JoinCode, Member, Space

MAX_TAGS = 10
JOIN_CODE_LIFETIME = timedelta(hours=24)
JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I/L to misread


class JoinProblem(Problem):
    """A join code cannot be used; the message says why."""


class TargetProblem(Problem):
    """The channels asked for do not exist; the message lists the tags there are."""


def _hash_code(code: str) -> str:
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


@dataclass(frozen=True)
class Place:
    """Where an event happened, as the coalition sees it."""

    coalition: Coalition | None
    space: Space | None
    channel: Channel | None

    @property
    def linked(self) -> bool:
        return self.channel is not None


class CoalitionService:
    def __init__(self, repos: Repositories, settings: Settings, clock: Clock) -> None:
        self.repos = repos
        self.settings = settings
        self.clock = clock
        # Within one transaction that handles many clicks (a batch of votes), places and members
        # are looked up once. Off by default: a single command may change them as it runs.
        self.remember = False
        self._places: dict[tuple[str, str, str], Place] = {}
        self._members: dict[tuple[int, str, str, str], Member] = {}
        self._joined: dict[tuple[str, str, str], Member] = {}  # members who joined in this transaction

    def remember_lookups(self) -> None:
        """For the rest of this transaction, look each place and member up once (a batch of clicks)."""
        self.remember = True

    async def all(self) -> list[Coalition]:
        """Every coalition in the database (the command line picks one by number)."""
        return await self.repos.coalitions.all()

    async def resolve(self, where: ConversationRef) -> Place:
        if self.remember and where.key in self._places:
            return self._places[where.key]
        space = await self.repos.coalitions.space(where.platform, where.workspace_id)
        if space is None:
            return Place(None, None, None)
        coalition = await self.repos.coalitions.get(space.coalition_id)
        channel = await self.repos.coalitions.channel(*where.key)
        place = Place(coalition, space, channel)
        if self.remember:
            self._places[where.key] = place
        return place

    async def prefetch_members(self, coalition: Coalition, actors: list[Actor]) -> None:
        """Look up (and join) the members behind a burst of clicks in two statements instead of two
        per click; `member_for` then finds them here. Needs `remember_lookups()` first."""
        assert coalition.id is not None and self.remember
        by_space: dict[tuple[str, str], dict[str, Actor]] = {}
        for actor in actors:
            by_space.setdefault((actor.user.platform, actor.user.workspace_id), {})[actor.user.user_id] = actor
        for (platform, workspace), wanted in by_space.items():
            found = await self.repos.members.find_many(coalition.id, platform, workspace, list(wanted))
            known = {m.user_id for m in found}
            missing = [a for user_id, a in wanted.items() if user_id not in known]
            joining = [self._new_member_row(coalition, a) for a in missing]
            if joining:
                joined = await self.repos.members.add_all(joining)  # those another process added are found below
                found = await self.repos.members.find_many(coalition.id, platform, workspace, list(wanted))
                self._joined.update({(platform, workspace, m.user_id): m for m in found if m.user_id in joined})
            for member in found:
                self._members[(coalition.id, platform, workspace, member.user_id)] = member

    async def member_for(self, coalition: Coalition, actor: Actor) -> Member:
        """The acting member, joining them on first contact.

        Platform admins (Slack workspace admins, Discord Manage Server) join as coordinators;
        everyone else as a member. A later change of display name is picked up.
        """
        assert coalition.id is not None
        user = actor.user
        member = self._members.get((coalition.id, user.platform, user.workspace_id, user.user_id))
        if member is None:
            member = await self.repos.members.find(coalition.id, user.platform, user.workspace_id, user.user_id)
        if member is None:
            member = await self.repos.members.add(self._new_member(coalition, actor))
            self._joined[user.platform, user.workspace_id, user.user_id] = member
            return member
        changed = False
        if actor.profile_known and actor.display_name and member.display_name != actor.display_name[:80]:
            member.display_name = actor.display_name[:80]
            changed = True
        app_language = from_locale(actor.locale)
        if app_language is not None and member.app_language != app_language:
            member.app_language = app_language  # reminders and other later messages follow it too
            changed = True
        if changed:
            await self.repos.members.save(member)
        return member

    async def save_member(self, member: Member) -> Member:
        return await self.repos.members.save(member)

    async def save(self, coalition: Coalition) -> Coalition:
        return await self.repos.coalitions.save(coalition)

    async def member_named(self, coalition: CoalitionView, user: UserRef, label: str) -> MemberView:
        """A member named in a command (`@maria`) before they ever used the bot: they join now."""
        assert isinstance(coalition, Coalition)  # a view this service handed out: its row
        assert coalition.id is not None
        return await self.repos.members.add(self._new_member(coalition, Actor(user, label)))

    def joined(self) -> list[Member]:
        """The members who joined in this transaction."""
        return list(self._joined.values())

    async def remove_newcomer(self, member: MemberView) -> None:
        """Take back a member who joined (in a commit of their own) only to be refused."""
        found = await self.repos.members.by_id(member.id or 0)
        if found is not None:
            await self.repos.members.remove(found)

    async def undo_joins(self, users: set[tuple[str, str, str]]) -> None:
        """Take back the joining of members whose only act in this transaction was refused: a
        refusal writes nothing, not even the member who was refused."""
        for key in users & set(self._joined):
            await self.repos.members.remove(self._joined.pop(key))

    def _new_member(self, coalition: Coalition, actor: Actor) -> Member:
        return Member(**self._new_member_row(coalition, actor))

    def _new_member_row(self, coalition: Coalition, actor: Actor) -> dict[str, Any]:
        """A joining member's column values (bursts insert these directly: building a model
        object per member costs more than the insert)."""
        role = Role.COORDINATOR if actor.is_platform_admin else Role.MEMBER
        return {
            "coalition_id": coalition.id,
            "platform": actor.user.platform,
            "workspace_id": actor.user.workspace_id,
            "user_id": actor.user.user_id,
            "display_name": actor.display_name[:80],
            "role": role.value,
            "joined_at": self.clock.now(),
            # What anonymous ballots are keyed by (with the secret): random, so a newcomer who is
            # given a forgotten member's id can never reach that member's ballots.
            "ballot_salt": secrets.token_hex(16),
            "app_language": from_locale(actor.locale),
        }

    async def find_member(self, coalition: Coalition, user: UserRef) -> MemberView | None:
        assert coalition.id is not None
        return await self.repos.members.find(coalition.id, user.platform, user.workspace_id, user.user_id)

    async def member_by_mention(self, coalition: CoalitionView, actor: Actor, user_id: str) -> MemberView | None:
        """The member a command mentions: mentions name people on the actor's own platform and space."""
        assert coalition.id is not None
        return await self.repos.members.find(coalition.id, actor.user.platform, actor.user.workspace_id, user_id)

    async def create(self, name: str, where: ConversationRef, founder: Actor, space_name: str = "") -> Place:
        """A new coalition around this space, with this channel linked and the founder coordinating."""
        coalition = await self.repos.coalitions.create(name, self.settings.timezone)
        assert coalition.id is not None
        space = await self.repos.coalitions.add_space(coalition.id, where.platform, where.workspace_id, space_name)
        channel = await self.repos.coalitions.link_channel(space, where.channel_id, where.name, [])
        member = await self.member_for(coalition, founder)
        member.role = Role.COORDINATOR.value
        await self.repos.members.save(member)
        return Place(coalition, space, channel)

    async def link(self, space: Space, where: ConversationRef, tags: list[str]) -> ChannelView:
        return await self.repos.coalitions.link_channel(space, where.channel_id, where.name, tags)

    async def unlink(self, channel: ChannelView) -> int:
        """Unlink a channel and withdraw what was queued for it; returns how many messages were withdrawn."""
        assert isinstance(channel, Channel)  # a view this service handed out: its row
        withdrawn = await self.repos.outbox.cancel_pending_posts_to(
            channel.platform, channel.workspace_id, channel.channel_id
        )
        await self.repos.coalitions.unlink_channel(channel)
        return withdrawn

    async def invite(self, coalition: CoalitionView, creator: MemberView) -> tuple[str, datetime]:
        """A one-time join code for another workspace or server; only its hash is stored."""
        assert coalition.id is not None and creator.id is not None
        code = "-".join("".join(secrets.choice(JOIN_ALPHABET) for _ in range(4)) for _ in range(3))
        expires = self.clock.now() + JOIN_CODE_LIFETIME
        await self.repos.broadcasts.add_join_code(
            JoinCode(coalition_id=coalition.id, code_hash=_hash_code(code), created_by=creator.id, expires_at=expires)
        )
        return code, expires

    async def join(self, code: str, where: ConversationRef, actor: Actor, space_name: str = "") -> Place:
        """Bring this space into the coalition the code belongs to, linking this channel."""
        found = await self.repos.broadcasts.join_code(_hash_code(code))
        if found is None:
            raise JoinProblem(_("That join code is not right. Check it with the coordinator who gave it to you."))
        if found.used_at is not None:
            raise JoinProblem(
                _("That join code has already been used. Ask a coordinator for a new one (`/coalition invite`).")
            )
        if found.expires_at <= self.clock.now():
            raise JoinProblem(_("That join code has expired. Ask a coordinator for a new one (`/coalition invite`)."))
        coalition = await self.repos.coalitions.get(found.coalition_id)
        assert coalition is not None and coalition.id is not None
        space = await self.repos.coalitions.add_space(coalition.id, where.platform, where.workspace_id, space_name)
        assert space.id is not None
        channel = await self.repos.coalitions.link_channel(space, where.channel_id, where.name, [])
        member = await self.member_for(coalition, actor)
        member.role = Role.COORDINATOR.value
        await self.repos.members.save(member)
        await self.repos.broadcasts.use_join_code(found, space.id, self.clock.now())
        return Place(coalition, space, channel)

    async def retag(self, channel: ChannelView, tags: list[str]) -> ChannelView:
        assert isinstance(channel, Channel)  # a view this service handed out: its row
        channel.tags = list(tags)
        return await self.repos.coalitions.save_channel(channel)

    async def channels(self, coalition: CoalitionView) -> Sequence[ChannelView]:
        assert coalition.id is not None
        return await self.repos.coalitions.channels(coalition.id)

    async def targets(self, coalition: CoalitionView, here: ChannelView, tags: list[str]) -> Sequence[ChannelView]:
        """The channel a command was typed in, plus the linked channels with any of `tags` (`all`:
        every one) and those that get every announcement (members on email), for what is posted in
        several channels at once (meetings, polls)."""
        channels: list[ChannelView] = [here]
        linked = await self.channels(coalition)
        channels += [c for c in linked if c.every_announcement and c.id != here.id]
        if tags:
            extra = linked if tags == ["all"] else [c for c in linked if set(c.tags) & set(tags)]
            if not extra:
                known = sorted({t for c in linked for t in c.tags})
                listing = ", ".join(known) if known else _("none yet (add some with /coalition link --tags ...)")
                raise TargetProblem(
                    _("No linked channel has the tag '{item}'. Tags in use: {listing}; or say all.").format(
                        item=tags[0], listing=listing
                    )
                )
            channels += [c for c in extra if c.id != here.id and not c.every_announcement]
        return channels

    async def coordinators(self, coalition: Coalition) -> Sequence[MemberView]:
        assert coalition.id is not None
        return await self.repos.members.coordinators(coalition.id)

    async def member_count(self, coalition: Coalition) -> int:
        assert coalition.id is not None
        return await self.repos.members.count(coalition.id)

    async def set_timezone(self, member: MemberView, zone: str | None) -> MemberView:
        assert isinstance(member, Member)  # a view this service handed out: its row
        member.timezone = zone
        return await self.repos.members.save(member)

    async def set_language(self, member: MemberView, language: str | None) -> MemberView:
        """The member's own language; None: their platform's, else the coalition's. A member whose
        mail is a channel of its own (email) reads that channel's messages in it too."""
        assert isinstance(member, Member)  # a view this service handed out: its row
        member.language = language
        own = await self.repos.coalitions.channel(member.platform, member.workspace_id, member.user_id)
        if own is not None and own.every_announcement:
            own.language = language
            await self.repos.coalitions.save_channel(own)
        return await self.repos.members.save(member)

    async def set_default_language(self, coalition: CoalitionView, language: str) -> CoalitionView:
        assert isinstance(coalition, Coalition)  # a view this service handed out: its row
        coalition.language = language
        return await self.repos.coalitions.save(coalition)

    async def set_channel_language(self, channel: ChannelView, language: str | None) -> ChannelView:
        assert isinstance(channel, Channel)  # a view this service handed out: its row
        channel.language = language
        return await self.repos.coalitions.save_channel(channel)

    @staticmethod
    def language_for(member: MemberView | None, coalition: CoalitionView | None, locale: str | None = None) -> str:
        """The language a member reads: their choice, else their platform's (if the bot speaks
        it), else the coalition's."""
        return (
            (member.language if member else None)
            or from_locale(locale)
            or (member.app_language if member else None)
            or (coalition.language if coalition else None)
            or DEFAULT_LANGUAGE
        )

    @staticmethod
    def channel_language(channel: Channel | None, coalition: Coalition) -> str:
        return (channel.language if channel else None) or coalition.language or DEFAULT_LANGUAGE

    def zone_for(self, member: MemberView | None, coalition: Coalition | None, hint: str | None = None) -> ZoneInfo:
        """The member's own zone, else what their platform profile says, else the coalition's."""
        for name in (
            member.timezone if member else None,
            hint,
            coalition.timezone if coalition else None,
            self.settings.timezone,
        ):
            if name:
                try:
                    return ZoneInfo(name)
                except (ValueError, KeyError):
                    continue
        return ZoneInfo("UTC")
