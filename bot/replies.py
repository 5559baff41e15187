"""The neutral reply model every handler returns and every adapter renders.

A small vocabulary on purpose: each element has a native form on Slack (Block Kit), on Discord
(content, embed fields, components) and in the console (text or JSON lines). `text` is always
present, so a platform or a notification that cannot show blocks still says everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bot.platform import Limits

# What the bot's cards use at most: a poll's options fit one menu, a label one button, a ranked
# poll's and a survey's menus one message, an id what a button carries back. Every platform's
# declared limits must hold it (`adapters.PLATFORMS` is refused at load otherwise).
CARDS = Limits(label=75, menu_options=25, menus=5, action_id=98)
ACTION_ID_MAX = CARDS.action_id
MENU_OPTIONS_MAX = CARDS.menu_options
_ACTION_PART = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True)
class Section:
    """A paragraph, optionally with label/value fields beside it."""

    text: str
    fields: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Context:
    """Small print: who posted, when it closes, how to use it."""

    text: str


@dataclass(frozen=True)
class Divider:
    pass


@dataclass(frozen=True)
class Button:
    label: str
    action_id: str
    style: Literal["primary", "danger"] | None = None


@dataclass(frozen=True)
class SelectOption:
    label: str
    value: str


@dataclass(frozen=True)
class Select:
    """A menu; the chosen option's `value` arrives with the action. With `max_values` above 1 the
    member may pick several, and the values arrive joined by commas: the whole selection every
    time, so a repeated delivery of the same choice changes nothing."""

    placeholder: str
    action_id: str
    options: tuple[SelectOption, ...]
    max_values: int = 1


@dataclass(frozen=True)
class Actions:
    elements: tuple[Button | Select, ...]


Block = Section | Context | Divider | Actions


@dataclass(frozen=True)
class Reply:
    """What a handler answers.

    `private` replies are seen only by the person who acted (ephemeral on Slack and Discord).
    `error` replies roll back the command's transaction: a refused command changes nothing.
    `replace_original` asks the adapter to edit the message whose button was clicked.
    """

    text: str
    blocks: tuple[Block, ...] = ()
    private: bool = False
    error: bool = False
    replace_original: bool = False
    attachments: tuple[Attachment, ...] = field(default=())
    # The language it is written in (bot.i18n), for what the platform renders itself (plain times).
    language: str | None = None
    # The language of what members wrote in it (a title, a question), where known: a platform that
    # can say so (email's HTML, `lang`) tells a screen reader which voice to read it in.
    written_in: str | None = None

    @property
    def buttons(self) -> list[Button]:
        return [e for b in self.blocks if isinstance(b, Actions) for e in b.elements if isinstance(e, Button)]


def with_notes(reply: Reply, notes: list[str]) -> Reply:
    """The reply with how its input was read ("'7' was read as 7pm ...") below it."""
    if not notes or reply.error:
        return reply
    shown = "\n".join(f"ℹ️ {note}" for note in notes)
    blocks = (*reply.blocks, Context(shown)) if reply.blocks else ()
    return replace(reply, text=f"{reply.text}\n{shown}", blocks=blocks)


@dataclass(frozen=True)
class Attachment:
    """A file to post with the reply (a CSV export, a chart, an .ics calendar)."""

    filename: str
    content: bytes
    mime_type: str
    # What the file shows, for those who cannot see it (a chart's alt text): Slack's `alt_txt`,
    # Discord's attachment description.
    description: str = ""


FORM = "form"  # a button that opens a command's form (`form:poll.add:12`), its first field filled in


def form_button(label: str, path: tuple[str, ...], first: str | int) -> Button:
    """A button that opens `/path`'s form with its first option set to `first`, where the platform
    has forms (Slack, Discord); elsewhere a click says what to type instead."""
    return Button(label, action_id(FORM, ".".join(path), first))


def form_target(action: str) -> tuple[tuple[str, ...], str] | None:
    """(the command's path, the first option's value) of a form button's action id; else None."""
    parts = action.split(":")
    if len(parts) != 3 or parts[0] != FORM:
        return None
    return tuple(parts[1].split(".")), parts[2]


def action_id(*parts: str | int) -> str:
    """Build an action id from ids only, so a click still routes after a restart."""
    text = [str(p) for p in parts]
    for part in text:
        if not _ACTION_PART.fullmatch(part):
            raise ValueError(f"action id part {part!r} must be letters, digits, '_', '.' or '-'")
    result = ":".join(text)
    if len(result) > ACTION_ID_MAX:
        raise ValueError(f"action id longer than {ACTION_ID_MAX} characters: {result!r}")
    return result


def error(text: str, usage: str | None = None) -> Reply:
    """A private, friendly refusal; `usage` shows the correct form (its line in the language in
    force: the command stays English, the word before it does not)."""
    body = f"⚠️ {text}"
    if usage:
        body += "\n" + usage_line(usage)
    return Reply(text=body, private=True, error=True)


def usage_line(usage: str) -> str:
    from bot.i18n import _

    return _("Usage: {usage}").format(usage=f"`{usage}`")


def without_usage(text: str) -> str:
    """A refusal without its usage line (where no command can be typed: a web page)."""
    from bot.i18n import _

    prefix = "\n" + _("Usage: {usage}").split("{usage}")[0]
    return text.split(prefix)[0]


# Serialisation: outbox rows carry replies as JSON, so a message composed in one process can be
# delivered by another (the Discord process delivers a broadcast created from Slack).


def reply_to_dict(reply: Reply) -> dict[str, Any]:
    if reply.attachments:
        raise ValueError("replies with attachments are answered directly, not queued")
    return {
        "text": reply.text,
        "blocks": [_block_to_dict(b) for b in reply.blocks],
        "private": reply.private,
        **({"language": reply.language} if reply.language else {}),
        **({"written_in": reply.written_in} if reply.written_in else {}),
    }


def reply_from_dict(data: dict[str, Any]) -> Reply:
    return Reply(
        text=data["text"],
        blocks=tuple(_block_from_dict(b) for b in data.get("blocks", [])),
        private=bool(data.get("private", False)),
        language=data.get("language"),
        written_in=data.get("written_in"),
    )


def _block_to_dict(block: Block) -> dict[str, Any]:
    if isinstance(block, Section):
        return {"type": "section", "text": block.text, "fields": [[f.label, f.value] for f in block.fields]}
    if isinstance(block, Context):
        return {"type": "context", "text": block.text}
    if isinstance(block, Divider):
        return {"type": "divider"}
    elements: list[dict[str, Any]] = []
    for e in block.elements:
        if isinstance(e, Button):
            elements.append({"type": "button", "label": e.label, "action_id": e.action_id, "style": e.style})
        else:
            elements.append(
                {
                    "type": "select",
                    "placeholder": e.placeholder,
                    "action_id": e.action_id,
                    "options": [[o.label, o.value] for o in e.options],
                    "max_values": e.max_values,
                }
            )
    return {"type": "actions", "elements": elements}


def _block_from_dict(data: dict[str, Any]) -> Block:
    kind = data["type"]
    if kind == "section":
        return Section(data["text"], tuple(Field(label, value) for label, value in data.get("fields", [])))
    if kind == "context":
        return Context(data["text"])
    if kind == "divider":
        return Divider()
    elements: list[Button | Select] = []
    for e in data["elements"]:
        if e["type"] == "button":
            elements.append(Button(e["label"], e["action_id"], e.get("style")))
        else:
            options = tuple(SelectOption(label, value) for label, value in e["options"])
            elements.append(Select(e["placeholder"], e["action_id"], options, e.get("max_values", 1)))
    return Actions(tuple(elements))
