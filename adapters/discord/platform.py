"""Discord as a platform: its mention syntax, its pace, how the adapter starts, `sync` and `invite`."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from adapters.discord.limits import MAX_CUSTOM_ID, MAX_LABEL, MAX_OPTIONS, MAX_ROWS, SELECT_PREFIX
from adapters.discord.settings import VARIABLES, discord_settings
from adapters.platform import PlatformAdapter, Running
from bot.config import ConfigError, Settings
from bot.i18n import N_
from bot.pacing import PacingPolicy, Window
from bot.platform import ChannelMention, Limits, UserMention

if TYPE_CHECKING:
    from bot.app import App
    from commands.dispatcher import Dispatcher

_USER = re.compile(r"<@!?(\d{5,25})>")
_CHANNEL = re.compile(r"<#(\d{5,25})>")


class DiscordPlatform(PlatformAdapter):
    name = "discord"
    title = "Discord"
    credentials = "DISCORD_BOT_TOKEN"
    variables = VARIABLES
    prefixes = ("DISCORD_",)
    space = N_("Discord server")
    # 50 requests a second overall; 5 messages per 5 seconds in a channel.
    pacing = PacingPolicy(overall=Window(50, 1.0), channel=Window(5, 5.0))
    # Components: a button's label 80 characters, a select 25 options, a message 5 rows (a select
    # fills one), a custom_id 100 characters, of which a select's marker takes two.
    limits = Limits(
        label=MAX_LABEL, menu_options=MAX_OPTIONS, menus=MAX_ROWS, action_id=MAX_CUSTOM_ID - len(SELECT_PREFIX)
    )

    libraries = ("discord",)

    def user_mention(self, text: str) -> UserMention | None:
        if m := _USER.fullmatch(text):
            return UserMention(m.group(1), m.group(1))
        return None

    def channel_mention(self, text: str) -> ChannelMention | None:
        if m := _CHANNEL.fullmatch(text):
            return ChannelMention(m.group(1), m.group(1))
        return super().channel_mention(text)

    def configured(self, settings: Settings) -> bool:
        return settings.variable("DISCORD_BOT_TOKEN") is not None

    def check(self, settings: Settings) -> None:
        discord_settings(settings)

    def missing(self) -> str:
        return "DISCORD_BOT_TOKEN: expected a bot token to start the Discord adapter (see .env.example)"

    async def start(self, settings: Settings, app: App, dispatcher: Dispatcher) -> Running:
        from adapters.discord.app import DiscordAdapter

        adapter = DiscordAdapter(settings, app, dispatcher)
        await adapter.start()
        return adapter

    async def doctor(self, settings: Settings, channels: list[tuple[str, str, str]]) -> list[str]:
        from adapters.discord.doctor import doctor

        return await doctor(settings, channels)

    def add_cli(self, commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        disc = commands.add_parser("discord", help="Discord set-up helpers")
        actions = disc.add_subparsers(dest="discord_command", required=True, metavar="ACTION")
        sync = actions.add_parser("sync", help="register the bot's slash commands with Discord")
        sync.add_argument("--guild", type=int, help="one server's id: updates at once (global sync can take an hour)")
        sync.set_defaults(func=sync_commands)
        inv = actions.add_parser("invite", help="print the link that adds the bot to a server")
        inv.add_argument("--client-id", type=int, help="the application id (default: read from DISCORD_BOT_TOKEN)")
        inv.set_defaults(func=print_invite)


async def sync_commands(args: argparse.Namespace, settings: Settings) -> int:
    if not DiscordPlatform().configured(settings):
        raise ConfigError("DISCORD_BOT_TOKEN: expected a bot token to sync commands (see .env.example)")
    from adapters.discord.app import sync_commands as sync
    from commands import build_registry

    synced = await sync(settings, build_registry(), args.guild)
    where = f"server {args.guild} (visible now)" if args.guild else "every server (Discord may take up to an hour)"
    names = ", ".join("/" + c["name"] for c in synced)
    print(f"Synced {len(synced)} commands to {where}: {names}.")
    return 0


async def print_invite(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.discord.invite import application_id_from_token, invite_url

    token = discord_settings(settings).bot_token
    client_id = args.client_id or (application_id_from_token(token) if token else None)
    if client_id is None:
        raise ConfigError("DISCORD_BOT_TOKEN: set it (or pass --client-id) so the invite names your application")
    print(invite_url(client_id))
    return 0
