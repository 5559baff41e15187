"""Slack as a platform: its mention syntax, its pace, how the adapter starts, and the manifest."""

from __future__ import annotations

import argparse
import json
import re
from typing import TYPE_CHECKING

from adapters.platform import PlatformAdapter, Running
from adapters.slack.limits import MAX_ACTION_ID, MAX_ELEMENTS, MAX_LABEL, MAX_OPTIONS
from adapters.slack.settings import VARIABLES, slack_settings
from bot.config import Settings
from bot.i18n import N_
from bot.pacing import PacingPolicy, Window
from bot.platform import ChannelMention, Limits, UserMention

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.app import App
    from commands.dispatcher import Dispatcher

# Slack escapes what a member picks from its menus as `<@U123|name>` and `<#C123|name>`.
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")


class SlackPlatform(PlatformAdapter):
    name = "slack"
    title = "Slack"
    credentials = "SLACK_BOT_TOKEN"
    variables = VARIABLES
    prefixes = ("SLACK_",)
    space = N_("Slack workspace")
    # About one message a second per channel, with short bursts; a workspace-wide ceiling well
    # below Slack's per-workspace limits.
    pacing = PacingPolicy(overall=Window(50, 1.0), channel=Window(3, 3.0))
    # Block Kit: a button's or an option's text 75 characters, a static select 100 options, an
    # actions block 25 elements (further blocks take more), an action_id 255 characters.
    limits = Limits(label=MAX_LABEL, menu_options=MAX_OPTIONS, menus=MAX_ELEMENTS, action_id=MAX_ACTION_ID)

    libraries = ("slack_bolt", "slack_sdk")

    def user_mention(self, text: str) -> UserMention | None:
        if m := _USER.fullmatch(text):
            return UserMention(m.group(1), m.group(2) or m.group(1))
        return None

    def channel_mention(self, text: str) -> ChannelMention | None:
        if m := _CHANNEL.fullmatch(text):
            return ChannelMention(m.group(1), m.group(2) or m.group(1))
        return super().channel_mention(text)

    def configured(self, settings: Settings) -> bool:
        return settings.variable("SLACK_BOT_TOKEN") is not None

    def check(self, settings: Settings) -> None:
        slack_settings(settings)

    def listens(self, settings: Settings) -> tuple[str, int] | None:
        slack = slack_settings(settings)
        return (slack.http_host, slack.http_port) if slack.http_mode else None

    def missing(self) -> str:
        return "SLACK_BOT_TOKEN: expected a bot token to start the Slack adapter (see .env.example)"

    async def start(self, settings: Settings, app: App, dispatcher: Dispatcher) -> Running:
        from adapters.slack.app import SlackAdapter

        adapter = SlackAdapter(settings, app, dispatcher)
        await adapter.start()
        return adapter

    async def doctor(self, settings: Settings, channels: list[tuple[str, str, str]]) -> list[str]:
        from slack_sdk.errors import SlackApiError

        from adapters.slack.manifest import bot_scopes

        client = web_client(settings)
        problems = []
        try:
            auth = await client.auth_test()
        except SlackApiError as exc:
            return [
                f"Slack: the bot token is refused ({exc.response.get('error')}): copy the Bot User OAuth Token "
                "again from the app's OAuth & Permissions page into SLACK_BOT_TOKEN."
            ]
        except Exception as exc:  # unreachable, DNS, TLS: the fix is the same
            return [f"Slack: cannot reach Slack ({type(exc).__name__}): check the network, or SLACK_API_URL."]
        granted = {s.strip() for s in str(auth.headers.get("x-oauth-scopes", "")).split(",") if s.strip()}
        missing = [s for s in bot_scopes(read_history=slack_settings(settings).read_history) if s not in granted]
        if missing:
            problems.append(
                f"Slack: the app lacks the scope{'s' if len(missing) > 1 else ''} {', '.join(missing)}: paste "
                "`coalition-bot slack manifest` into the app's manifest (or add them under OAuth & Permissions), "
                "then reinstall the app."
            )
        for _, channel_id, name in channels:
            try:
                info = await client.conversations_info(channel=channel_id)
            except SlackApiError as exc:
                problems.append(f"Slack: #{name} ({channel_id}) cannot be read ({exc.response.get('error')}).")
                continue
            if not (info.get("channel") or {}).get("is_member", True):
                bot = auth.get("user")
                problems.append(f"Slack: the bot is not in #{name} ({channel_id}): type `/invite @{bot}` there.")
        return problems

    def add_cli(self, commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        slack = commands.add_parser("slack", help="Slack set-up helpers")
        actions = slack.add_subparsers(dest="slack_command", required=True, metavar="ACTION")
        man = actions.add_parser("manifest", help="print the Slack app manifest (JSON) generated from the commands")
        man.add_argument(
            "--request-url", help="HTTP mode: your public https://.../slack/events URL (default: Socket Mode)"
        )
        man.set_defaults(func=print_manifest)


async def print_manifest(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.slack.manifest import manifest
    from commands import build_registry

    found = manifest(
        build_registry(),
        name=settings.coalition_name,
        request_url=args.request_url,
        read_history=slack_settings(settings).read_history,
    )
    print(json.dumps(found, indent=2))
    return 0


def web_client(settings: Settings) -> AsyncWebClient:
    """Slack's Web API client for the bot's token, at SLACK_API_URL when it is set (the tests' fake)."""
    from slack_sdk.web.async_client import AsyncWebClient

    slack = slack_settings(settings)
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url or AsyncWebClient.BASE_URL)
