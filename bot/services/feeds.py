"""Calendar feeds: a subscription address for each member (the coalition's meetings, with their own
answers) and, once coordinators publish it, one for the whole coalition.

An address is an HMAC of who it is for and a generation number, under the anonymity secret: the
database holds nothing that opens a feed. Raising the generation (`/meeting feed reset`) revokes
the old address; forget-me deletes the member, and with it every address they had.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from bot.clock import Clock
from bot.services.meetings import MeetingService
from bot.views import CoalitionView, MemberView
from storage import Repositories
from storage.models import Coalition, Member

FEED_PATH = "/calendar/{token}.ics"
_TOKEN = re.compile(r"(?P<kind>[mc])(?P<id>\d{1,12})-(?P<mac>[0-9a-f]{32})")


class FeedService:
    def __init__(self, repos: Repositories, clock: Clock, secret: str, meetings: MeetingService) -> None:
        self.repos = repos
        self.clock = clock
        self.secret = secret
        self.meetings = meetings

    def _mac(self, *parts: object) -> str:
        message = ":".join(str(p) for p in ("calendar-feed", *parts)).encode()
        return hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()[:32]

    def member_token(self, member: MemberView) -> str:
        return f"m{member.id}-{self._mac('member', member.id, member.feed_generation)}"

    def public_token(self, coalition: CoalitionView) -> str | None:
        if coalition.public_feed_generation is None or coalition.public_feed_generation < 0:
            return None  # never published, or taken down (-(g + 1): the next address is g + 1)
        return f"c{coalition.id}-{self._mac('coalition', coalition.id, coalition.public_feed_generation)}"

    async def reset(self, member: MemberView) -> None:
        assert isinstance(member, Member)  # a view this service handed out: its row
        member.feed_generation += 1
        await self.repos.members.save(member)

    async def publish(self, coalition: CoalitionView, *, new_address: bool = False) -> None:
        assert isinstance(coalition, Coalition)  # a view this service handed out: its row
        generation = coalition.public_feed_generation
        if generation is None:
            coalition.public_feed_generation = 0
        elif generation < 0:
            coalition.public_feed_generation = -generation  # taken down before: a new address
        elif new_address:
            coalition.public_feed_generation = generation + 1
        await self.repos.coalitions.save(coalition)

    async def unpublish(self, coalition: CoalitionView) -> None:
        assert isinstance(coalition, Coalition)  # a view this service handed out: its row
        generation = coalition.public_feed_generation
        if generation is not None and generation >= 0:
            coalition.public_feed_generation = -(generation + 1)
            await self.repos.coalitions.save(coalition)

    async def resolve(self, token: str) -> tuple[Coalition, Member | None] | None:
        """Whose feed `token` opens, or None (unknown, revoked or forgotten: all alike)."""
        match = _TOKEN.fullmatch(token)
        if match is None:
            return None
        if match["kind"] == "m":
            member = await self.repos.members.by_id(int(match["id"]))
            if member is None or not hmac.compare_digest(self.member_token(member), token):
                return None
            coalition = await self.repos.coalitions.get(member.coalition_id)
            return (coalition, member) if coalition is not None else None
        coalition = await self.repos.coalitions.get(int(match["id"]))
        expected = self.public_token(coalition) if coalition is not None else None
        if coalition is None or expected is None or not hmac.compare_digest(expected, token):
            return None
        return coalition, None

    async def calendar(self, coalition: Coalition, member: Member | None) -> bytes:
        """The coalition's meetings still to come (and their series), with the member's answers."""
        upcoming = await self.meetings.upcoming(coalition.id or 0, self.clock.now(), 500)
        meetings = list({m.id: m for _, m in upcoming}.values())
        return await self.meetings.ics(meetings, member=member, name=coalition.name)
