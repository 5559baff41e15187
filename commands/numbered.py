"""Things members name by their number (`/poll close 3`, `/meeting rsvp 12 going`): the option
that reads the number, and the suggestions Discord shows while it is typed."""

from __future__ import annotations

from collections.abc import Iterable

from commands.spec import OptionSpec, OptionType


def id_option(help: str, complete: str | None = None) -> OptionSpec:
    """A command's first argument: the number of the poll, meeting, proposal... it acts on.
    `complete`: the registry's completer that suggests them (Registry.completers)."""
    return OptionSpec("id", OptionType.INT, help, required=True, positional=True, min_value=1, complete=complete)


def suggestions(typed: str, found: Iterable[tuple[int | None, str, str]]) -> list[tuple[str, str]]:
    """Each (number, words a member may type to find it, what follows the number in its label)
    whose number or words hold `typed`, labelled "#12 ...", once per number, in order."""
    shown: dict[int, tuple[str, str]] = {}
    for number, words, label in found:
        if number is None or number in shown:
            continue  # a meeting series once, with its next date
        if not typed or typed in str(number) or typed in words.lower():
            shown[number] = (f"#{number} {label}"[:100], str(number))
    return list(shown.values())
