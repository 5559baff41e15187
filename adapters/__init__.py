"""Platform adapters: they turn platform events into dispatcher calls and render replies natively.

Adapters know nothing about SQL; `adapters.cli` is the composition root that wires everything.
`PLATFORMS` is the one place a platform is registered (README, "Adding a platform").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.console.platform import ConsolePlatform
from adapters.discord.platform import DiscordPlatform
from adapters.email.platform import EmailPlatform
from adapters.platform import PlatformAdapter
from adapters.slack.platform import SlackPlatform
from bot.config import CORE_VARIABLES

if TYPE_CHECKING:
    from bot.app import App
    from commands.dispatcher import Dispatcher

PLATFORMS: tuple[PlatformAdapter, ...] = (ConsolePlatform(), SlackPlatform(), DiscordPlatform(), EmailPlatform())
LIBRARIES = tuple(library for p in PLATFORMS for library in p.libraries)  # kept quiet in the log


def known_variables() -> tuple[str, ...]:
    """Every variable the bot reads: the core's and each platform's."""
    return CORE_VARIABLES + tuple(v for p in PLATFORMS for v in p.variables)


def platform(name: str) -> PlatformAdapter:
    return next(p for p in PLATFORMS if p.name == name)


def build_dispatcher(app: App) -> Dispatcher:
    """The dispatcher with every command and every registered platform's mention syntax."""
    from commands import build_registry
    from commands.dispatcher import Dispatcher

    return Dispatcher(app, build_registry(), PLATFORMS)
