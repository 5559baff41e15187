"""What the core and the commands know of a chat platform, and no more.

A platform's adapter (in its own folder under `adapters/`) subclasses `Platform` with how members
there write a mention, what one install is called and how fast the bot may post; the full
contract, with how the adapter starts, is `adapters.platform.PlatformAdapter`. Keeping these
facts here, behind one small class, is what lets `commands/` parse `<@U123|dana>` or `<@!123>`
without knowing Slack or Discord exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from bot.pacing import UNLIMITED, PacingPolicy


@dataclass(frozen=True)
class UserMention:
    user_id: str
    label: str


@dataclass(frozen=True)
class ChannelMention:
    channel_id: str
    label: str


# A channel typed by name (`#general`): every platform's members can type it, and the console has no
# other way.
_PLAIN_CHANNEL = re.compile(r"#([A-Za-z0-9_.\-]{1,80})")


class Platform:
    """The neutral facts of one platform. `name` is the value of `UserRef.platform` and
    `ConversationRef.platform` for everything that comes from it."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""  # as people write it: "Slack"
    space: ClassVar[str] = "space"  # what its members call one install: "Slack workspace"
    pacing: ClassVar[PacingPolicy] = UNLIMITED
    # Loggers of its libraries that log whole request bodies at DEBUG: kept at INFO or above, since
    # a body can say who voted for what in an anonymous poll.
    libraries: ClassVar[tuple[str, ...]] = ()

    def user_mention(self, text: str) -> UserMention | None:
        """The member a typed mention names, or None when `text` is not one."""
        return None

    def channel_mention(self, text: str) -> ChannelMention | None:
        """The channel a typed mention names, or None when `text` is not one."""
        if m := _PLAIN_CHANNEL.fullmatch(text):
            return ChannelMention(m.group(1).lower(), m.group(1).lower())
        return None
