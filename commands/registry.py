"""The registry of commands and actions, and everything generated from it (usage, help)."""

from __future__ import annotations

from collections.abc import Iterator

from bot.text import small_number
from commands.spec import ActionSpec, CommandSpec, Completer, HomeSection, OptionSpec, OptionType


class Registry:
    def __init__(self) -> None:
        self._commands: dict[str, CommandSpec] = {}
        self._actions: dict[str, ActionSpec] = {}
        self.home_sections: list[HomeSection] = []
        self.completers: dict[str, Completer] = {}

    # Commands -------------------------------------------------------------------------------

    def add(self, spec: CommandSpec) -> CommandSpec:
        if spec.name in self._commands:
            raise ValueError(f"command /{spec.name} is registered twice")
        _check(spec)
        self._commands[spec.name] = spec
        return spec

    def get(self, name: str) -> CommandSpec | None:
        return self._commands.get(name)

    def names(self) -> list[str]:
        return sorted(self._commands)

    def commands(self) -> list[CommandSpec]:
        return [self._commands[n] for n in self.names()]

    def find(self, path: tuple[str, ...]) -> CommandSpec | None:
        spec = self._commands.get(path[0]) if path else None
        for name in path[1:]:
            spec = spec.subcommand(name) if spec else None
        return spec

    def leaves(self) -> Iterator[tuple[tuple[str, ...], CommandSpec]]:
        """Every runnable command with its path: ('coalition', 'help'), ('poll', 'create'), ..."""

        def walk(path: tuple[str, ...], spec: CommandSpec) -> Iterator[tuple[tuple[str, ...], CommandSpec]]:
            if spec.is_group:
                for sub in spec.subcommands:
                    yield from walk((*path, sub.name), sub)
            else:
                yield path, spec

        for spec in self.commands():
            yield from walk((spec.name,), spec)

    def usage(self, path: tuple[str, ...]) -> str:
        spec = self.find(path)
        if spec is None:
            return "/coalition help"
        if spec.is_group:
            return f"/{' '.join(path)} {'|'.join(s.name for s in spec.subcommands)} ..."
        return " ".join([f"/{' '.join(path)}", *(_option_usage(o) for o in spec.options)])

    def usage_with(self, path: tuple[str, ...], first: str) -> str:
        """The usage with its first option given: what a form button says to type where there are no forms."""
        spec = self.find(path)
        if spec is None or spec.is_group or not spec.options:
            return self.usage(path)
        return " ".join([f"/{' '.join(path)}", first, *(_option_usage(o) for o in spec.options[1:])])

    # Actions ----------------------------------------------------------------------------------

    def add_action(self, spec: ActionSpec) -> ActionSpec:
        if spec.prefix in self._actions:
            raise ValueError(f"action {spec.prefix} is registered twice")
        self._actions[spec.prefix] = spec
        return spec

    def route(self, action_id: str) -> tuple[ActionSpec, dict[str, str]] | None:
        """Find the action for an id like `poll:vote:12:3` and name the id parts after its prefix."""
        parts = action_id.split(":")
        for cut in range(len(parts), 0, -1):
            spec = self._actions.get(":".join(parts[:cut]))
            if spec is not None:
                rest = parts[cut:]
                if len(rest) != len(spec.params):
                    return None
                params = dict(zip(spec.params, rest, strict=True))
                # Ids arrive from the platform, where anyone can forge them: numbers must be numbers.
                if any(small_number(v) is None for k, v in params.items() if k not in spec.words):
                    return None
                if any(len(v) > 40 for v in params.values()):
                    return None
                return spec, params
        return None

    def actions(self) -> list[ActionSpec]:
        return list(self._actions.values())


def _option_usage(option: OptionSpec) -> str:
    if option.positional:
        text = f'"{option.metavar}"' if option.type in (OptionType.STRING, OptionType.TEXT) else option.metavar
        if option.multiple:
            text += "..."
    elif option.type == OptionType.BOOL:
        text = f"--no-{option.name}" if option.default is True else f"--{option.name}"
    else:
        text = f"--{option.name} {option.metavar}"
    return text if option.required else f"[{text}]"


def _check(spec: CommandSpec) -> None:
    """Catch declaration mistakes when the bot starts, not when a member hits them."""
    if spec.is_group and spec.options:
        raise ValueError(f"/{spec.name}: a group takes subcommands, not options")
    if not spec.is_group and spec.handler is None:
        raise ValueError(f"/{spec.name}: a command needs a handler")
    if len(spec.description) > 100:
        raise ValueError(f"/{spec.name}: descriptions are at most 100 characters (Discord's limit)")
    if len(spec.options) > 25:
        raise ValueError(f"/{spec.name}: at most 25 options (Discord's limit)")
    positionals = [o for o in spec.options if o.positional]
    for option in positionals[:-1]:
        if option.multiple:
            raise ValueError(f"/{spec.name}: only the last positional option may take several values")
    seen_optional = False
    for option in positionals:
        if not option.required:
            seen_optional = True
        elif seen_optional:
            raise ValueError(f"/{spec.name}: a required positional cannot follow an optional one")
    for sub in spec.subcommands:
        _check(sub)
