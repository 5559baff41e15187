"""Discord's variables, read and checked in one place: the core's settings hold none of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import Settings, expect_shape, http_url, ws_url

VARIABLES = ("DISCORD_BOT_TOKEN", "DISCORD_API_URL", "DISCORD_GATEWAY_URL", "DISCORD_COORDINATOR_ROLE")


@dataclass(frozen=True)
class DiscordSettings:
    bot_token: str | None = field(default=None, repr=False)
    api_url: str | None = None  # Discord's REST API elsewhere (the tests' fake)
    gateway_url: str | None = None  # and its gateway
    # Members with this role in a server are the coalition's coordinators there.
    coordinator_role: str | None = None


def discord_settings(settings: Settings) -> DiscordSettings:
    """Discord's settings from the environment and `.env`; ConfigError naming the variable when
    one is unusable (the token's value is never repeated back)."""
    token = settings.variable("DISCORD_BOT_TOKEN")
    if token is not None:
        expect_shape(
            token,
            r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}",
            "DISCORD_BOT_TOKEN",
            "a bot token of three dot-separated parts, from the Developer Portal's Bot page",
        )
    return DiscordSettings(
        bot_token=token,
        api_url=http_url(settings.variable("DISCORD_API_URL"), "DISCORD_API_URL"),
        gateway_url=ws_url(settings.variable("DISCORD_GATEWAY_URL"), "DISCORD_GATEWAY_URL"),
        coordinator_role=settings.variable("DISCORD_COORDINATOR_ROLE"),
    )
