"""Platform adapters: they turn platform events into dispatcher calls and render replies natively.

Adapters know nothing about SQL; `adapters.cli` is the composition root that wires everything.
`PLATFORMS` is the one place a platform is registered (README, "Adding a platform").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.console.platform import ConsolePlatform
from adapters.discord.platform import DiscordPlatform
from adapters.email.platform import EmailPlatform
from adapters.platform import PlatformAdapter
from adapters.slack.platform import SlackPlatform
from bot.config import CORE_PREFIXES, CORE_VARIABLES, Settings, unknown_variables
from bot.config import load_settings as load_core_settings
from bot.replies import CARDS

if TYPE_CHECKING:
    from bot.app import App
    from commands.dispatcher import Dispatcher

PLATFORMS: tuple[PlatformAdapter, ...] = (ConsolePlatform(), SlackPlatform(), DiscordPlatform(), EmailPlatform())


def refuse_short(platforms: tuple[PlatformAdapter, ...]) -> None:
    """A platform whose messages cannot carry what the bot's cards use (`bot.replies.CARDS`: a
    poll's options in one menu, a label, a ranked poll's menus, a button's id) is refused where
    the list is loaded, naming the limit, rather than cutting cards short on that platform."""
    for each in platforms:
        if short := each.limits.short_of(CARDS):
            raise TypeError(
                f"{type(each).__name__}.limits holds less than the bot's cards use ({'; '.join(short)}): "
                "lower bot.replies.CARDS to fit, or check the platform's documented limits"
            )


refuse_short(PLATFORMS)
LIBRARIES = tuple(library for p in PLATFORMS for library in p.libraries)  # kept quiet in the log


def known_variables() -> tuple[str, ...]:
    """Every variable the bot reads: the core's and each platform's."""
    return CORE_VARIABLES + tuple(v for p in PLATFORMS for v in p.variables)


def known_prefixes() -> tuple[str, ...]:
    return CORE_PREFIXES + tuple(prefix for p in PLATFORMS for prefix in p.prefixes)


def misspelt_variables(settings: Settings) -> list[str]:
    """Variables that look meant for the bot but are not ones it reads (bot.config.unknown_variables)."""
    return unknown_variables(settings, known_variables(), known_prefixes())


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """The core's settings, each platform's variables checked by the platform, and the HTTP
    server placed where a platform needs it when HTTP_PORT does not say (Slack's HTTP mode)."""
    settings = load_core_settings(environ, env_file)
    for each in PLATFORMS:
        each.check(settings)
    for each in PLATFORMS:
        listen = each.listens(settings)
        if listen is not None and settings.http_port is None:
            settings = replace(settings, http_host=listen[0], http_port=listen[1])
    return settings


def platform(name: str) -> PlatformAdapter:
    return next(p for p in PLATFORMS if p.name == name)


def build_dispatcher(app: App) -> Dispatcher:
    """The dispatcher with every command and every registered platform's mention syntax."""
    from commands import build_registry
    from commands.dispatcher import Dispatcher

    return Dispatcher(app, build_registry(), PLATFORMS)
