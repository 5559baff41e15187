"""Addresses of places, people and messages on any platform.

They are stored on meetings, polls and deliveries so the bot can post or edit later without an
incoming event to reply to.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ConversationRef:
    platform: str
    workspace_id: str
    channel_id: str
    thread_id: str | None = None
    name: str = ""
    # Set by an adapter that knows the bot cannot post here: what is wrong, and the fix, in the
    # platform's own words (e.g. "invite me with /invite @coalition-bot"). Not part of the address.
    access_problem: str | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.platform, self.workspace_id, self.channel_id)


@dataclass(frozen=True)
class UserRef:
    platform: str
    workspace_id: str
    user_id: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.platform, self.workspace_id, self.user_id)


@dataclass(frozen=True)
class MessageRef:
    conversation: ConversationRef
    message_id: str


@dataclass(frozen=True)
class Actor:
    """Who is acting, with what the platform tells us about them on this event."""

    user: UserRef
    display_name: str
    is_platform_admin: bool = False
    timezone_hint: str | None = None
    # The language the platform says the member uses ("es-ES", "es-419", "en-US"), when it says.
    locale: str | None = None
    # False when only the event's own fields were at hand (a click from someone whose profile has
    # not been fetched): the name may be a handle, and is not used to rename a known member.
    profile_known: bool = True
