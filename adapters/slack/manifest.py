"""The Slack app manifest, generated from the command registry so Slack and the bot agree."""

from __future__ import annotations

from typing import Any

from commands.registry import Registry
from commands.spec import CommandSpec

# What the bot uses, and why: commands (slash commands); chat:write (post, edit its own messages);
# im:write (open a DM for reminders and reports); users:read (names, admin status, time zones);
# files:write (charts, CSV exports, calendar files, my-data); channels:read and groups:read (is the
# bot in a channel it is asked to link?).
BOT_SCOPES = ["commands", "chat:write", "im:write", "users:read", "files:write", "channels:read", "groups:read"]
# Only with SLACK_READ_HISTORY: after a crash in the middle of a send, find the bot's own message by
# its delivery key instead of posting it again. These let the bot read every message in its channels.
HISTORY_SCOPES = ["channels:history", "groups:history", "im:history"]
USAGE_HINT_LIMIT = 1000  # Slack's limit for a slash command's usage hint


def bot_scopes(*, read_history: bool = False) -> list[str]:
    return BOT_SCOPES + (HISTORY_SCOPES if read_history else [])


def manifest(
    registry: Registry, *, name: str = "Coalition Bot", request_url: str | None = None, read_history: bool = False
) -> dict[str, Any]:
    """Socket Mode unless a public `request_url` (https://host/slack/events) is given for HTTP mode."""
    commands = []
    for spec in registry.commands():
        command: dict[str, Any] = {
            "command": f"/{spec.name}",
            "description": spec.description[:100],
            "usage_hint": _usage_hint(spec),
            "should_escape": True,
        }
        if request_url:
            command["url"] = request_url
        commands.append(command)
    settings: dict[str, Any] = {
        "event_subscriptions": {"bot_events": ["app_home_opened"]},
        "interactivity": {"is_enabled": True},
        "org_deploy_enabled": False,
        "socket_mode_enabled": request_url is None,
        "token_rotation_enabled": False,
    }
    if request_url:
        settings["event_subscriptions"]["request_url"] = request_url
        settings["interactivity"]["request_url"] = request_url
    return {
        "display_information": {
            "name": name[:35],
            "description": "Meetings, polls and broadcasts for the whole coalition, across Slack and Discord.",
            "background_color": "#2c5f2d",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": "coalition-bot", "always_online": True},
            "slash_commands": commands,
        },
        "oauth_config": {"scopes": {"bot": bot_scopes(read_history=read_history)}},
        "settings": settings,
    }


def _usage_hint(spec: CommandSpec) -> str:
    """Every subcommand, whole: words are never cut (if Slack's limit were ever reached, whole
    names are left out and the hint says where to find them)."""
    if not spec.is_group:
        return ""
    hint = ""
    for sub in spec.subcommands:
        candidate = f"{hint} | {sub.name}" if hint else sub.name
        if len(candidate) > USAGE_HINT_LIMIT - len(" | help"):
            return f"{hint} | help"
        hint = candidate
    return hint
