"""The console adapter: try the bot with no Slack or Discord account, or script it."""

from adapters.console.adapter import ConsoleAdapter, ConsoleOptions

__all__ = ["ConsoleAdapter", "ConsoleOptions"]
