"""The contract a chat platform's adapter fulfils, and the one list of platforms the bot knows.

A platform lives in its own folder under `adapters/` and hands the rest of the bot one
`PlatformAdapter`: the neutral facts the commands need (`bot.platform.Platform`: mentions, the
workspace noun, pacing), when its settings are present, how it starts, and any set-up commands of
its own for the `coalition-bot` command line. `adapters/__init__.py` lists them; nothing else
names a platform.
"""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Protocol

from bot.platform import Platform

if TYPE_CHECKING:
    from bot.app import App
    from bot.config import Settings
    from commands.dispatcher import Dispatcher


class Running(Protocol):
    """A started adapter: it stops when the bot does, after the last deliveries are made."""

    async def stop(self) -> None: ...


class PlatformAdapter(Platform, ABC):
    """Subclass this in `adapters/<name>/platform.py`; see README, "Adding a platform". A platform
    that leaves out `configured`, `missing` or `start` cannot be made at all: it fails when the bot
    loads its list of platforms, not by quietly never starting."""

    # Started by `coalition-bot run` when configured; the console is interactive and is started by
    # its own command instead.
    served: bool = True
    credentials: str = ""  # the variable whose presence starts it: "SLACK_BOT_TOKEN"
    interactive_too: bool = False  # also started beside the interactive `coalition-bot console` when configured (email)
    variables: tuple[str, ...] = ()  # every variable it reads
    prefixes: tuple[str, ...] = ()  # its variables' prefixes: an unknown variable with one is a typo

    def check(self, settings: Settings) -> None:
        """Refuse unusable values of this platform's variables with a ConfigError naming the
        variable, when the settings are loaded (adapters.load_settings), before anything starts."""

    def listens(self, settings: Settings) -> tuple[str, int] | None:
        """Where the bot's HTTP server should listen for this platform's events when HTTP_PORT is
        unset (Slack's HTTP mode), or None when it needs no server of its own."""
        return None

    @abstractmethod
    def configured(self, settings: Settings) -> bool:
        """Whether the settings hold what this platform needs to start (its tokens)."""

    @abstractmethod
    def missing(self) -> str:
        """What to set when this platform is asked for but not configured: a ConfigError's text."""

    @abstractmethod
    async def start(self, settings: Settings, app: App, dispatcher: Dispatcher) -> Running:
        """Connect, register the messenger with `app.add_messenger(messenger, self.pacing)`, and
        return once commands can arrive."""

    async def doctor(self, settings: Settings, channels: list[tuple[str, str, str]]) -> list[str]:
        """What is wrong with this platform's set-up, one line each with its fix: its credentials,
        what it was granted, and the linked `channels` (workspace, channel id, name) it cannot use."""
        return []

    def add_cli(self, commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Add this platform's set-up commands (`coalition-bot slack manifest`, ...); each sets
        `func` to an `async def (args, settings) -> int`."""
