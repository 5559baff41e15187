"""What a handler receives: the parsed arguments, who and where, and the services to act with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import _
from bot.permissions import Permission, Role, who
from bot.refs import Actor, ConversationRef, MessageRef
from bot.services import Services
from bot.services.coalitions import Place
from bot.views import ChannelView, CoalitionView, MemberView
from commands.errors import CommandError
from commands.registry import Registry


@dataclass
class _Common:
    actor: Actor
    where: ConversationRef
    place: Place
    member: MemberView | None
    services: Services
    registry: Registry
    now: datetime
    zone: ZoneInfo
    # Each platform's name as people write it ("Slack", N_("email")), by its key: for texts that
    # say where something went, in the reader's words.
    platform_titles: dict[str, str]

    def platform_title(self, platform: str) -> str:
        return _(self.platform_titles.get(platform, platform))

    @property
    def coalition(self) -> CoalitionView:
        """The coalition; handlers with scope COALITION or CHANNEL can rely on it being there."""
        assert self.place.coalition is not None
        return self.place.coalition

    @property
    def me(self) -> MemberView:
        assert self.member is not None
        return self.member

    @property
    def channel(self) -> ChannelView | None:
        return self.place.channel

    def require_creator(self, created_by: int | None, doing: str) -> None:
        """Commands declared Permission.CREATOR: only whoever created the thing, or a coordinator."""
        if self.me.role != Role.COORDINATOR and (created_by is None or created_by != self.me.id):
            raise CommandError(_("Only {who} can {doing}.").format(who=who(Permission.CREATOR), doing=doing))


@dataclass
class CommandContext(_Common):
    path: tuple[str, ...]
    args: dict[str, Any]
    audit_note: str | None = None  # what the audit log should say the command acted on
    audit_subject: MemberView | None = None  # the member acted upon; the note names them as "{subject}"

    @property
    def usage(self) -> str:
        return self.registry.usage(self.path)


@dataclass
class ActionContext(_Common):
    action_id: str
    params: dict[str, str]
    value: str | None
    message: MessageRef | None
