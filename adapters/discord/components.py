"""Buttons and selects as `discord.ui.DynamicItem`s: one template each matches every action id,
so a click on any message, however old and across restarts, reaches the dispatcher, and no view
is kept in memory per message."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from adapters.discord.limits import SELECT_PREFIX
from adapters.discord.render import Component, DiscordMessage

ClickHandler = Callable[[discord.Interaction, str, str | None], Awaitable[None]]


class ClickingClient(discord.Client):
    """A client that knows where clicks go: each adapter's own, instead of a handler set on the
    item classes for every client in the process."""

    def __init__(self, on_click: ClickHandler, **options: Any) -> None:
        super().__init__(**options)
        self.on_click = on_click
        self.add_dynamic_items(ActionButton, ActionSelect)


async def _click(interaction: discord.Interaction, action: str, value: str | None) -> None:
    client = interaction.client
    assert isinstance(client, ClickingClient)
    await client.on_click(interaction, action, value)


_STYLES = {"primary": discord.ButtonStyle.primary, "danger": discord.ButtonStyle.danger}
_ID = r"[A-Za-z0-9_.:~\-]{1,100}"


class ActionButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"(?P<action>{_ID})"):
    def __init__(self, action: str, label: str = "\u200b", style: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label, custom_id=action, style=_STYLES.get(style or "", discord.ButtonStyle.secondary)
            )
        )
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ActionButton:
        return cls(match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _click(interaction, self.action, None)


class ActionSelect(
    discord.ui.DynamicItem[discord.ui.Select[Any]], template=rf"{re.escape(SELECT_PREFIX)}(?P<action>{_ID})"
):
    def __init__(
        self, action: str, placeholder: str = "", options: tuple[tuple[str, str], ...] = (), max_values: int = 1
    ) -> None:
        select: discord.ui.Select[Any] = discord.ui.Select(
            custom_id=f"{SELECT_PREFIX}{action}",
            placeholder=placeholder or None,
            max_values=max_values,
            options=[discord.SelectOption(label=label, value=value) for label, value in options]
            or [discord.SelectOption(label="-", value="-")],
        )
        super().__init__(select)
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ActionSelect:
        return cls(match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:
        # Several values (a multi-choice menu) arrive together and travel on joined by commas.
        data: dict[str, Any] = dict(interaction.data or {})
        values = [str(v) for v in data.get("values") or []]
        await _click(interaction, self.action, ",".join(values) if values else None)


def message_parts(rendered: DiscordMessage) -> dict[str, Any]:
    """The keyword arguments every way of sending or editing a message takes alike."""
    return {
        "content": rendered.content,
        "embeds": rendered.embeds,
        "view": build_view(rendered.rows),
        "allowed_mentions": rendered.allowed_mentions,
    }


def build_view(rows: list[list[Component]]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for row_number, row in enumerate(rows):
        for component in row:
            if component.kind == "button":
                item: discord.ui.Item[Any] = ActionButton(component.custom_id, component.label, component.style)
            else:
                item = ActionSelect(
                    component.custom_id.removeprefix(SELECT_PREFIX),
                    component.label,
                    component.options,
                    component.max_values,
                )
            item.row = row_number
            view.add_item(item)
    return view
