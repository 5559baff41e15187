"""What the core and the commands know of a chat platform, and no more.

A platform's adapter (in its own folder under `adapters/`) subclasses `Platform` with how members
there write a mention, what one install is called and how fast the bot may post; the full
contract, with how the adapter starts, is `adapters.platform.PlatformAdapter`. Keeping these
facts here, behind one small class, is what lets `commands/` parse `<@U123|dana>` or `<@!123>`
without knowing Slack or Discord exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
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


@dataclass(frozen=True)
class Limits:
    """What one message can carry on a platform, as far as the bot's cards go: each platform
    declares its own (`Platform.limits`), and every one must hold what the cards use
    (`bot.replies.CARDS`), or the list of platforms is refused when it is loaded."""

    label: int  # characters of a button's or a menu option's label
    menu_options: int  # options in one menu
    menus: int  # menus one message carries (rows of them, on Discord)
    action_id: int  # characters of the id a button or a menu carries back

    def short_of(self, needed: Limits) -> list[str]:
        """Each limit below what `needed` asks, as "menu_options 20 < 25"."""
        return [
            f"{f.name} {getattr(self, f.name)} < {getattr(needed, f.name)}"
            for f in fields(self)
            if getattr(self, f.name) < getattr(needed, f.name)
        ]


def smallest(limits: Iterable[Limits]) -> Limits:
    """What every one of `limits` holds."""
    found = list(limits)
    return Limits(*(min(getattr(each, f.name) for each in found) for f in fields(Limits)))


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
    # What one message can carry there (a platform of text and links, like the console: plenty).
    limits: ClassVar[Limits] = Limits(label=2000, menu_options=100, menus=50, action_id=255)
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
