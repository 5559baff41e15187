"""Replies as terminal text or as JSON objects, for one viewer's time zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot import markup
from bot.i18n import speaking
from bot.replies import Actions, Button, Context, Divider, Reply, Section, Select


@dataclass(frozen=True)
class Clickable:
    """A button, or one option of a select, numbered for `!click N`."""

    label: str
    action_id: str
    value: str | None = None


@dataclass
class ConsoleMessage:
    message_id: str
    reply: Reply
    channel: str | None
    user: str | None
    clickables: list[Clickable] = field(default_factory=list)
    key: str | None = None  # the outbox delivery it came from, if any
    files: list[str] = field(default_factory=list)  # where its attachments were saved


def clickables(reply: Reply) -> list[Clickable]:
    found: list[Clickable] = []
    for block in reply.blocks:
        if isinstance(block, Actions):
            for element in block.elements:
                if isinstance(element, Button):
                    found.append(Clickable(markup.strip_markers(element.label), element.action_id))
                elif isinstance(element, Select):
                    found.extend(
                        Clickable(
                            f"{markup.strip_markers(element.placeholder)}: {o.label}",
                            element.action_id,
                            o.value,
                        )
                        for o in element.options
                    )
    return found


def body(reply: Reply, zone: ZoneInfo, now: datetime) -> str:
    """The message as a member reads it: blocks when there are any, else the text; times in the
    reply's language."""
    with speaking(reply.language):
        return _body(reply, zone, now)


def _body(reply: Reply, zone: ZoneInfo, now: datetime) -> str:
    if not reply.blocks:
        return markup.plain(reply.text, zone, now)
    parts: list[str] = []
    for block in reply.blocks:
        if isinstance(block, Section):
            parts.append(markup.plain(block.text, zone, now))
            parts.extend(
                f"  {markup.plain(f.label, zone, now)}: {markup.plain(f.value, zone, now)}" for f in block.fields
            )
        elif isinstance(block, Context):
            parts.append(markup.plain(block.text, zone, now))
        elif isinstance(block, Divider):
            parts.append("-" * 40)
    return "\n".join(parts)


def as_text(message: ConsoleMessage, zone: ZoneInfo, now: datetime, edit: bool) -> str:
    where = f"#{message.channel}" if message.channel else f"DM to {message.user}"
    flags = []
    if message.reply.private and message.channel:
        flags.append(f"only {message.user} sees this")
    if edit:
        flags.append("edited")
    head = f"[{message.message_id}] {where}" + (f" ({', '.join(flags)})" if flags else "")
    lines = [head, body(message.reply, zone, now)]
    if message.clickables:
        lines.append("  " + "  ".join(f"[{i}] {c.label}" for i, c in enumerate(message.clickables, 1)))
    lines.extend(f"  📎 saved to {path}" for path in message.files)
    return "\n".join(lines)


def as_json(message: ConsoleMessage, zone: ZoneInfo, now: datetime, edit: bool) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "message",
        "message_id": message.message_id,
        "text": body(message.reply, zone, now),
        "private": message.reply.private,
        "error": message.reply.error,
        "buttons": [
            {
                "n": i,
                "label": c.label,
                "action_id": c.action_id,
                **({"value": c.value} if c.value else {}),
            }
            for i, c in enumerate(message.clickables, 1)
        ],
    }
    if message.channel:
        obj["channel"] = message.channel
    if message.user and (message.reply.private or not message.channel):
        obj["user"] = message.user
    if edit:
        obj["edit_of"] = message.message_id
    if message.files:
        obj["attachments"] = message.files
    return obj
