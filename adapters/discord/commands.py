"""Discord application commands generated from the registry, and interactions read back.

Each top-level command becomes a command with subcommands (`/meeting schedule`, `/poll create`).
An option that takes several values becomes one text option read with the shared tokenizer, so
`"Is 7pm ok?" Yes No` means the same in Discord as in Slack.
"""

from __future__ import annotations

from typing import Any

from adapters.discord import names
from adapters.discord.names import localized_name
from bot.i18n import N_, _, speaking
from commands.converters import converter
from commands.parser import tokenize
from commands.registry import Registry
from commands.spec import CommandSpec, OptionSpec, OptionType

STRING, INTEGER, BOOLEAN, USER, CHANNEL = 3, 4, 5, 6, 7
SUB_COMMAND = 1
OPTION_TYPES = {
    OptionType.INT: INTEGER,
    OptionType.BOOL: BOOLEAN,
    OptionType.USER: USER,
    OptionType.CHANNEL: CHANNEL,
}
# Discord's locales for each language the bot speaks besides English (its commands' own language).
DISCORD_LOCALES = {"es": ("es-ES", "es-419")}
MANY = N_('{description} (several: "in quotes" when they have spaces)')


def localized(text: str, fill: dict[str, str] | None = None) -> dict[str, str]:
    """`description_localizations`: the text in each language Discord shows its members, where a
    translation exists (a member whose Discord is in Spanish reads Spanish descriptions)."""
    found = {}
    for language, locales in DISCORD_LOCALES.items():
        with speaking(language):
            translated = _(text).format(**(fill or {}))
        if translated != text.format(**(fill or {})):
            found.update({locale: translated[:100] for locale in locales})
    return found


def command_payloads(registry: Registry) -> list[dict[str, Any]]:
    payloads = []
    for spec in registry.commands():
        payload: dict[str, Any] = {
            "name": spec.name,
            "name_localizations": localized_name(names.COMMANDS, spec.name),
            "description": spec.description[:100],
            "description_localizations": localized(spec.description),
            "type": 1,
            "contexts": [0],  # in servers only: a coalition lives in linked server channels
            "integration_types": [0],
        }
        if spec.is_group:
            payload["options"] = [
                {
                    "type": SUB_COMMAND,
                    "name": sub.name,
                    "name_localizations": localized_name(names.SUBCOMMANDS, sub.name),
                    "description": sub.description[:100],
                    "description_localizations": localized(sub.description),
                    "options": [_option(o) for o in _ordered(sub)],
                }
                for sub in spec.subcommands
            ]
        else:
            payload["options"] = [_option(o) for o in _ordered(spec)]
        payloads.append(payload)
    return payloads


def _ordered(spec: CommandSpec) -> list[OptionSpec]:
    """Discord wants required options first."""
    return [o for o in spec.options if o.required] + [o for o in spec.options if not o.required]


def _option(option: OptionSpec) -> dict[str, Any]:
    description, localizations = option.help, localized(option.help)
    if option.multiple:
        for locale, text in list(localizations.items()):
            with speaking(next(code for code, names in DISCORD_LOCALES.items() if locale in names)):
                localizations[locale] = _(MANY).format(description=text)[:100]
        description = MANY.format(description=description)
    rendered: dict[str, Any] = {
        "type": OPTION_TYPES.get(option.type, STRING),
        "name": option.name,
        "name_localizations": localized_name(names.OPTIONS, option.name),
        "description": description[:100],
        "description_localizations": localizations,
        "required": option.required,
    }
    if option.type == OptionType.CHOICE:
        rendered["choices"] = [
            {"name": c, "name_localizations": localized_name(names.CHOICES, c), "value": c} for c in option.choices[:25]
        ]
    if option.type in (OptionType.STRING, OptionType.TEXT) and not option.multiple:
        rendered["max_length"] = min(option.length_limit, 6000)
    if option.type == OptionType.INT:
        if option.min_value is not None:
            rendered["min_value"] = option.min_value
        if option.max_value is not None:
            rendered["max_value"] = option.max_value
    if option.type == OptionType.CHANNEL:
        rendered["channel_types"] = [0, 5]  # text and announcement channels
    if converter(option).suggest is not None or option.complete:
        rendered["autocomplete"] = True
    return rendered


def read_interaction(registry: Registry, data: dict[str, Any]) -> tuple[tuple[str, ...], dict[str, Any], str | None]:
    """The command path, the raw option values, and the option being autocompleted (if any)."""
    path: tuple[str, ...] = (data["name"],)
    options = data.get("options") or []
    while options and options[0].get("type") == SUB_COMMAND:
        path = (*path, options[0]["name"])
        options = options[0].get("options") or []
    spec = registry.find(path)
    raw: dict[str, Any] = {}
    focused = None
    for given in options:
        value = given.get("value")
        if given.get("focused"):
            focused = given["name"]
        option = next((o for o in spec.options if o.name == given["name"]), None) if spec else None
        if option is None:
            continue
        if option.type == OptionType.USER:
            value = f"<@{value}>"
        elif option.type == OptionType.CHANNEL:
            value = f"<#{value}>"
        elif option.multiple and isinstance(value, str):
            value = [t.value for t in tokenize(value)]
        raw[option.name] = value
    return path, raw, focused
