"""Errors that become friendly replies, never tracebacks."""

from __future__ import annotations


class UsageError(Exception):
    """The command was written wrongly: say what was wrong and show the correct form."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


class CommandError(Exception):
    """The command was well-formed but cannot be done (unknown id, closed poll...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
