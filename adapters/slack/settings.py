"""Slack's variables, read and checked in one place: the core's settings hold none of them.

A mistyped token is refused at start-up with one line naming the variable, like every other
setting (bot/config.py), before the bot tries to connect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import ConfigError, Settings, expect_shape, http_url, port_number, yes_no

VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "SLACK_HTTP_HOST",
    "SLACK_HTTP_PORT",
    "SLACK_READ_HISTORY",
)


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)  # set: Socket Mode; unset: HTTP mode
    signing_secret: str | None = field(default=None, repr=False)
    api_url: str | None = None  # Slack's Web API elsewhere (the tests' fake)
    http_host: str = "127.0.0.1"
    http_port: int = 3000  # HTTP mode's port when HTTP_PORT is unset
    # Let the bot read channel history (channels:history, groups:history, im:history) so that after
    # a crash in the middle of a send it can find the message instead of posting it again.
    read_history: bool = False

    @property
    def http_mode(self) -> bool:
        """Slack sends events to the bot's HTTP server, rather than over a Socket Mode connection."""
        return bool(self.bot_token) and not self.app_token


def slack_settings(settings: Settings) -> SlackSettings:
    """Slack's settings from the environment and `.env`; ConfigError naming the variable when
    one is unusable or Slack is half set up."""
    bot, app, secret = (settings.variable(n) for n in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"))
    if bot is not None:
        expect_shape(bot, r"xoxb-[A-Za-z0-9-]+", "SLACK_BOT_TOKEN", "a bot token starting 'xoxb-'")
    if app is not None:
        expect_shape(app, r"xapp-[A-Za-z0-9-]+", "SLACK_APP_TOKEN", "an app token starting 'xapp-'")
    if secret is not None:
        expect_shape(secret, r"[0-9a-fA-F]{16,}", "SLACK_SIGNING_SECRET", "the app's hexadecimal secret")
    if bot is not None and app is None and secret is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET: expected a value when SLACK_BOT_TOKEN is set without "
            "SLACK_APP_TOKEN (HTTP mode verifies Slack's signatures with it)"
        )
    if (app or secret) and bot is None:
        raise ConfigError("SLACK_BOT_TOKEN: expected a bot token starting 'xoxb-' (Slack is half set up)")
    port = port_number(settings.variable("SLACK_HTTP_PORT"), "SLACK_HTTP_PORT")
    if port == 0:
        raise ConfigError("SLACK_HTTP_PORT: expected a port number 1-65535, got '0'")
    return SlackSettings(
        bot_token=bot,
        app_token=app,
        signing_secret=secret,
        api_url=http_url(settings.variable("SLACK_API_URL"), "SLACK_API_URL"),
        http_host=settings.variable("SLACK_HTTP_HOST") or "127.0.0.1",
        http_port=3000 if port is None else port,
        read_history=yes_no(settings.variable("SLACK_READ_HISTORY"), "SLACK_READ_HISTORY"),
    )
