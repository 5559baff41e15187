"""The Slack app manifest, generated from the command registry so Slack and the bot agree."""

from __future__ import annotations

from typing import Any

from commands.registry import Registry

# What the bot uses, and why: commands (slash commands); chat:write (post, edit its own messages);
# im:write (open a DM for reminders and reports); users:read (names, admin status, time zones);
# channels/groups/im:history (after a crash, find its own message by delivery key before resending).
BOT_SCOPES = [
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "channels:history",
    "groups:history",
    "im:history",
]


def manifest(registry: Registry, *, name: str = "Coalition Bot", request_url: str | None = None) -> dict[str, Any]:
    """Socket Mode unless a public `request_url` (https://host/slack/events) is given for HTTP mode."""
    commands = []
    for spec in registry.commands():
        command: dict[str, Any] = {
            "command": f"/{spec.name}",
            "description": spec.description[:100],
            "usage_hint": " | ".join(s.name for s in spec.subcommands)[:100] if spec.is_group else "",
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
        "oauth_config": {"scopes": {"bot": BOT_SCOPES}},
        "settings": settings,
    }
