"""Replies as Discord content, embeds and components, within Discord's limits.

Limits are met here, never discovered as an API error: content over 2,000 characters moves into
embed descriptions (4,096 each, 6,000 in all, at most 10 embeds), fields stop at 25, buttons fill
rows of 5 and at most 5 rows, selects carry 25 options each. What does not fit is said openly.
User text is escaped for markdown and mentions; `allowed_mentions` pings only members the bot
itself mentions, so `@everyone`, `@here` and role mentions typed by anyone notify nobody.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import discord

from adapters.discord.limits import (
    MAX_BUTTONS_PER_ROW,
    MAX_CONTENT,
    MAX_CUSTOM_ID,
    MAX_DESCRIPTION,
    MAX_EMBED_TOTAL,
    MAX_EMBEDS,
    MAX_FIELD_NAME,
    MAX_FIELD_VALUE,
    MAX_FIELDS,
    MAX_LABEL,
    MAX_OPTIONS,
    MAX_ROWS,
    SELECT_PREFIX,
)
from bot import markup
from bot.i18n import ngettext, speaking
from bot.replies import Actions, Button, Context, Divider, Reply, Section, Select
from bot.text import split_text

_URL = re.compile(r"https?://[^\s<>()\[\]]+")
_BRACKET = re.compile(r"(?<!\\)\[")


def escape_user(text: str) -> str:
    """No pings, no formatting, no masked links, no link previews: every `<@` is broken, whatever the
    id's length, and bare links are wrapped in <> so Discord does not unfurl them."""
    out: list[str] = []
    pos = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?'\"")
        out.append(_escape_plain(text[pos : match.start()]))
        out.append(f"<{url}>")
        pos = match.start() + len(url)
    out.append(_escape_plain(text[pos:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    escaped = discord.utils.escape_markdown(discord.utils.escape_mentions(text))
    escaped = _BRACKET.sub(r"\\[", escaped)  # no [text](link) disguises
    return escaped.replace("<@", "<\u200b@")


def _time(when: datetime, style: str) -> str:
    return f"<t:{int(when.timestamp())}:{style}>"


class _Mentions:
    """Collects the members a reply mentions, so only they are pinged."""

    def __init__(self) -> None:
        self.users: list[int] = []

    def __call__(self, span: markup.MentionSpan) -> str:
        if span.platform == "discord" and span.user_id.isdigit():
            self.users.append(int(span.user_id))
            return f"<@{span.user_id}>"
        return escape_user(f"@{span.display_name or span.user_id}")


def text(value: str, mentions: _Mentions | None = None) -> str:
    return markup.render(
        value, bot=lambda s: s, user=escape_user, time=_time, member=mentions or _Mentions(), bold="**"
    )


def plain(value: str) -> str:
    return markup.plain(value, UTC)


@dataclass(frozen=True)
class Component:
    kind: Literal["button", "select"]
    custom_id: str
    label: str = ""
    style: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    max_values: int = 1


@dataclass
class DiscordMessage:
    content: str | None
    embeds: list[discord.Embed] = field(default_factory=list)
    rows: list[list[Component]] = field(default_factory=list)
    allowed_mentions: discord.AllowedMentions = field(default_factory=discord.AllowedMentions.none)
    ephemeral: bool = False


def _embeds(description: str, fields: list[tuple[str, str]]) -> list[discord.Embed]:
    embeds: list[discord.Embed] = []
    budget = MAX_EMBED_TOTAL
    pieces = split_text(description, MAX_DESCRIPTION) or [""]
    for n, piece in enumerate(pieces):
        if len(embeds) == MAX_EMBEDS or budget - len(piece) < 100:
            left = sum(len(p) for p in pieces[n:])
            note = "\n" + ngettext(
                "… {count} more character not shown (Discord's limit).",
                "… {count} more characters not shown (Discord's limit).",
                left,
            ).format(count=left)
            shown = (embeds[-1].description or "")[: MAX_DESCRIPTION - len(note)]  # the note fits too
            embeds[-1].description = shown + note
            break
        embeds.append(discord.Embed(description=piece or None, colour=discord.Colour(0x2C5F2D)))
        budget -= len(piece)
    for name, value in fields[:MAX_FIELDS]:
        name, value = name[:MAX_FIELD_NAME] or "\u200b", value[:MAX_FIELD_VALUE] or "\u200b"
        if budget - len(name) - len(value) < 0:
            break
        embeds[-1].add_field(name=name, value=value, inline=True)
        budget -= len(name) + len(value)
    return embeds


def _label(value: str) -> str:
    label = plain(value) or "\u200b"
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _rows(actions: list[Actions]) -> tuple[list[list[Component]], int]:
    rows: list[list[Component]] = []
    buttons: list[Component] = []
    dropped = 0

    def flush() -> None:
        nonlocal buttons
        for start in range(0, len(buttons), MAX_BUTTONS_PER_ROW):
            rows.append(buttons[start : start + MAX_BUTTONS_PER_ROW])
        buttons = []

    for block in actions:
        for element in block.elements:
            if isinstance(element, Button):
                buttons.append(Component("button", element.action_id, _label(element.label), element.style))
            elif isinstance(element, Select):
                flush()
                chunks = [element.options[i : i + MAX_OPTIONS] for i in range(0, len(element.options), MAX_OPTIONS)]
                for n, chunk in enumerate(chunks, 1):
                    page = f" ({n}/{len(chunks)})" if len(chunks) > 1 else ""
                    custom = f"{SELECT_PREFIX}{element.action_id}" + (f"~{n}" if len(chunks) > 1 else "")
                    rows.append(
                        [
                            Component(
                                "select",
                                custom[:MAX_CUSTOM_ID],
                                _label(element.placeholder + page)[:150],
                                options=tuple((_label(o.label)[:100], o.value[:100]) for o in chunk),
                                max_values=min(element.max_values, len(chunk)),
                            )
                        ]
                    )
        flush()
    if len(rows) > MAX_ROWS:
        dropped = sum(len(r) if r[0].kind == "button" else 1 for r in rows[MAX_ROWS:])
        rows = rows[:MAX_ROWS]
    return rows, dropped


def message(reply: Reply) -> DiscordMessage:
    """The reply as Discord shows it; what the bot adds itself (a note that something did not fit)
    is in the reply's language."""
    with speaking(reply.language):
        return _message(reply)


def _message(reply: Reply) -> DiscordMessage:
    mentions = _Mentions()
    actions = [b for b in reply.blocks if isinstance(b, Actions)]
    if not reply.blocks:
        body = text(reply.text, mentions)
        if len(body) <= MAX_CONTENT:
            return DiscordMessage(body, [], [], _allowed(mentions), reply.private)
        return DiscordMessage(None, _embeds(body, []), [], _allowed(mentions), reply.private)
    parts: list[str] = []
    fields: list[tuple[str, str]] = []
    for block in reply.blocks:
        if isinstance(block, Section):
            parts.append(text(block.text, mentions))
            fields += [(plain(f.label), text(f.value, mentions)) for f in block.fields]
        elif isinstance(block, Context):
            parts.append("\n".join(f"-# {line}" for line in text(block.text, mentions).splitlines() if line))
        elif isinstance(block, Divider):
            parts.append("")
    rows, dropped = _rows(actions)
    description = "\n".join(parts).strip("\n")
    if dropped:
        description += "\n-# " + ngettext(
            "{count} more button did not fit here (Discord's limit).",
            "{count} more buttons did not fit here (Discord's limit).",
            dropped,
        ).format(count=dropped)
    return DiscordMessage(None, _embeds(description, fields), rows, _allowed(mentions), reply.private)


def _allowed(mentions: _Mentions) -> discord.AllowedMentions:
    return discord.AllowedMentions(
        everyone=False, roles=False, replied_user=False, users=[discord.Object(id=u) for u in mentions.users]
    )


def action_id_of(custom_id: str) -> str:
    return custom_id.removeprefix(SELECT_PREFIX).split("~", 1)[0]
