"""A form for a command marked `modal=True`, built from its options (Discord allows five fields)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.i18n import _
from commands.converters import converter
from commands.spec import CommandSpec, OptionSpec, OptionType

if TYPE_CHECKING:
    from adapters.discord.app import DiscordAdapter

MAX_FIELDS = 5


class FormModal(discord.ui.Modal):
    def __init__(
        self,
        adapter: DiscordAdapter,
        path: tuple[str, ...],
        spec: CommandSpec,
        initial: dict[str, str] | None = None,
    ) -> None:
        title = f"/{' '.join(path)}"
        super().__init__(title=title[:45], custom_id=("modal:" + ".".join(path))[:100], timeout=900)
        self.adapter = adapter
        self.path = path
        self.spec = spec
        self.inputs: dict[str, discord.ui.TextInput[Any]] = {}
        for option in spec.options[:MAX_FIELDS]:
            long = option.type == OptionType.TEXT or option.multiple
            said = _(option.help)
            field: discord.ui.TextInput[Any] = discord.ui.TextInput(
                label=said[:1].upper() + said[1:45],
                custom_id=option.name,
                style=discord.TextStyle.paragraph if long else discord.TextStyle.short,
                required=option.required,
                max_length=min(option.form_length, 4000)
                if option.type in (OptionType.STRING, OptionType.TEXT)
                else 200,
                placeholder=_placeholder(option),
                default=(initial or {}).get(option.name)
                or ("yes" if option.type == OptionType.BOOL and option.default else None),
            )
            self.inputs[option.name] = field
            self.add_item(field)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.adapter.held(interaction, "discord form", self._submit(interaction))

    async def _submit(self, interaction: discord.Interaction) -> None:
        raw: dict[str, Any] = {}
        for name, field in self.inputs.items():
            value = field.value.strip()
            if not value:
                continue
            option = next(o for o in self.spec.options if o.name == name)
            raw[name] = value.splitlines() if option.multiple else value
        reply = await self.adapter.dispatcher.run_command(
            self.path, raw, self.adapter.actor(interaction), self.adapter.where(interaction)
        )
        await self.adapter.answer(interaction, reply)


def _placeholder(option: OptionSpec) -> str | None:
    if option.multiple:
        return _("one per line")
    example = converter(option).example
    return _(example) if example else None
