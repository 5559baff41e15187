"""The console as a platform: members are typed by name (`@maria`), and it is started by its own
command, `coalition-bot console`, rather than by `run`."""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from adapters.platform import PlatformAdapter, Running
from bot import logs
from bot.clock import Clock, SimulatedClock, SystemClock
from bot.config import ConfigError, Settings
from bot.i18n import N_
from bot.platform import UserMention

if TYPE_CHECKING:
    from bot.app import App
    from commands.dispatcher import Dispatcher

_PLAIN_USER = re.compile(r"@([A-Za-z0-9_.\-]{1,32})")


class ConsolePlatform(PlatformAdapter):
    name = "console"
    title = N_("console")
    space = N_("console")
    served = False

    def configured(self, settings: Settings) -> bool:
        return True  # it needs no token: it is what runs when nothing else is set up

    def missing(self) -> str:
        return ""

    async def start(self, settings: Settings, app: App, dispatcher: Dispatcher) -> Running:
        """Never by `run` (`served` is False): the console is a conversation in this terminal,
        started by its own command."""
        raise ConfigError("the console is started with `coalition-bot console`")

    def user_mention(self, text: str) -> UserMention | None:
        if m := _PLAIN_USER.fullmatch(text):
            return UserMention(m.group(1).lower(), m.group(1))
        return None

    def add_cli(self, commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        console = commands.add_parser("console", help="talk to the bot in this terminal, as a chosen member")
        console.add_argument("--json", action="store_true", help="print every message as one JSON object per line")
        console.add_argument(
            "--clock", choices=("real", "simulated"), default="real", help="real time, or a clock !advance moves"
        )
        console.add_argument(
            "--start", help="simulated clock's start, ISO 8601 (default: now), e.g. 2026-12-01T09:00:00+01:00"
        )
        console.add_argument("--db", help="database file or URL (default: DATABASE_URL)")
        console.add_argument(
            "--as", dest="user", default="admin", help="the member you act as (default: admin, the coordinator)"
        )
        console.add_argument("--channel", default="general", help="the channel you start in (default: general)")
        console.set_defaults(func=run_console)


def default_arguments() -> argparse.Namespace:
    """`coalition-bot console` with no options: what `run` starts when no platform is configured."""
    return argparse.Namespace(json=False, clock="real", start=None, db=None, user="admin", channel="general")


async def run_console(args: argparse.Namespace, settings: Settings) -> int:
    from adapters import PLATFORMS, build_dispatcher
    from adapters.cli import open_app
    from adapters.console.adapter import ConsoleAdapter, ConsoleOptions

    clock: Clock = SystemClock()
    if args.clock == "simulated":
        try:
            start = datetime.fromisoformat(args.start) if args.start else datetime.now(UTC).replace(microsecond=0)
        except ValueError:
            raise ConfigError(
                f"--start: expected an ISO 8601 time like 2026-12-01T09:00:00+01:00, got {args.start!r}"
            ) from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=settings.zone)
        clock = SimulatedClock(start)
    elif args.start:
        raise ConfigError("--start: only with --clock simulated")
    if settings.log_level != "DEBUG":
        # The terminal is the conversation; routine INFO lines would interleave with it.
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    app = await open_app(settings, clock)
    holding = contextlib.ExitStack()
    holding.enter_context(app.in_use())  # `coalition-bot restore` waits for the session to end
    beside: list[Running] = []
    try:
        console = ConsoleAdapter(
            build_dispatcher(app),
            ConsoleOptions(
                json=args.json, user=args.user, channel=args.channel, coalition_name=settings.coalition_name
            ),
        )
        app.add_messenger(console)
        for other in PLATFORMS:  # email, when set up, mails the console's coalition's members
            if other.interactive_too and other.configured(settings):
                beside.append(await other.start(settings, app, console.dispatcher))
        port = await app.serve_http()  # with HTTP_PORT set: the calendar feeds, as `run` serves them
        if port is not None:
            logs.announce(f"HTTP (calendar feeds, /readyz, /metrics) on {settings.web_host}:{port}.")
        if isinstance(clock, SimulatedClock):
            await app.scheduler.run_due()
        else:
            await app.scheduler.start()
        return await console.run()
    finally:
        for running in beside:
            await running.stop()
        await app.close()
        holding.close()
