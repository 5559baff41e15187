"""Replies as Block Kit, within Slack's limits.

Limits are met by the renderer, never discovered as an API error: long sections are split at line
breaks, buttons beyond 25 go into further actions blocks, selects beyond 100 options are split into
several menus, and a reply that would pass 50 blocks ends with a context line saying how much was
left out. User text is escaped for mrkdwn (`&`, `<`, `>`, and formatting characters), so nobody can
post `<!channel>`, a disguised link or bold text through the bot.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.slack.limits import (
    MAX_BLOCKS,
    MAX_ELEMENTS,
    MAX_FIELD,
    MAX_FIELDS,
    MAX_LABEL,
    MAX_OPTIONS,
    MAX_SECTION,
    MAX_TEXT,
)
from bot import markup
from bot.i18n import ngettext, speaking
from bot.replies import Actions, Button, Context, Divider, Reply, Section, Select, SelectOption
from bot.text import split_text

_DATE_TOKENS = {
    "F": "{date_long_pretty} at {time}",
    "f": "{date_short_pretty} at {time}",
    "D": "{date_short_pretty}",
    "t": "{time}",
    "R": "{ago}",
}
_FORMATTING = "*_~`"


def escape(text: str) -> str:
    """Slack's three control characters, as its docs require for any text we did not write."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_user(text: str) -> str:
    """User text: escaped, and formatting characters fenced by a zero-width space so they format nothing."""
    escaped = escape(text)
    return "".join(f"\u200b{ch}\u200b" if ch in _FORMATTING else ch for ch in escaped)


def _time(when: datetime, style: str) -> str:
    fallback = markup.format_time(when, UTC, "F" if style == "R" else style)
    return f"<!date^{int(when.timestamp())}^{_DATE_TOKENS.get(style, _DATE_TOKENS['F'])}|{escape(fallback)}>"


def _member(span: markup.MentionSpan) -> str:
    if span.platform == "slack" and span.user_id.isalnum():
        return f"<@{span.user_id}>"
    return escape_user(f"@{span.display_name or span.user_id}")


def mrkdwn(text: str) -> str:
    return markup.render(text, bot=escape, user=escape_user, time=_time, member=_member, bold="*")


def plain(text: str) -> str:
    """For plain_text fields (buttons, options, titles): no markup at all, times in UTC."""
    return markup.plain(text, UTC)


def _label(text: str, limit: int = MAX_LABEL) -> dict[str, Any]:
    value = plain(text) or " "
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return {"type": "plain_text", "text": value, "emoji": True}


def blocks(reply: Reply) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in reply.blocks:
        if isinstance(block, Section):
            rendered = mrkdwn(block.text)
            pieces = split_text(rendered, MAX_SECTION) or [" "]
            for piece in pieces:
                out.append({"type": "section", "text": {"type": "mrkdwn", "text": piece}})
            fields = [
                {"type": "mrkdwn", "text": split_text(f"*{mrkdwn(f.label)}*\n{mrkdwn(f.value)}", MAX_FIELD)[0]}
                for f in block.fields
            ]
            for start in range(0, len(fields), MAX_FIELDS):
                out.append({"type": "section", "fields": fields[start : start + MAX_FIELDS]})
        elif isinstance(block, Context):
            for piece in split_text(mrkdwn(block.text), MAX_SECTION):
                out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": piece}]})
        elif isinstance(block, Divider):
            out.append({"type": "divider"})
        elif isinstance(block, Actions):
            out.extend(_actions(block))
    if len(out) > MAX_BLOCKS:
        left_out = len(out) - (MAX_BLOCKS - 1)
        out = out[: MAX_BLOCKS - 1]
        out.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": ngettext(
                            "… {count} more part not shown here (Slack's limit).",
                            "… {count} more parts not shown here (Slack's limit).",
                            left_out,
                        ).format(count=left_out),
                    }
                ],
            }
        )
    return out


def _actions(block: Actions) -> list[dict[str, Any]]:
    elements: list[dict[str, Any]] = []
    for element in block.elements:
        if isinstance(element, Button):
            rendered: dict[str, Any] = {
                "type": "button",
                "text": _label(element.label),
                "action_id": element.action_id,
                "value": element.action_id,
            }
            if element.style:
                rendered["style"] = element.style
            elements.append(rendered)
        elif isinstance(element, Select):
            chunks = [element.options[i : i + MAX_OPTIONS] for i in range(0, len(element.options), MAX_OPTIONS)]
            for n, chunk in enumerate(chunks, 1):
                placeholder = element.placeholder if len(chunks) == 1 else f"{element.placeholder} ({n}/{len(chunks)})"
                elements.append(_select(element, placeholder, chunk, n if len(chunks) > 1 else None))
    # Action ids must be unique within a message; a select split in pages gets a suffix per page.
    return [
        {"type": "actions", "elements": elements[i : i + MAX_ELEMENTS]} for i in range(0, len(elements), MAX_ELEMENTS)
    ]


def _select(select: Select, placeholder: str, options: tuple[SelectOption, ...], page: int | None) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "type": "static_select",
        "placeholder": _label(placeholder, 150),
        "action_id": select.action_id if page is None else f"{select.action_id}~{page}",
        "options": [{"text": _label(o.label), "value": o.value[:150]} for o in options],
    }
    if select.max_values > 1:
        rendered["type"] = "multi_static_select"
        rendered["max_selected_items"] = min(select.max_values, len(options))
    return rendered


def message(reply: Reply) -> dict[str, Any]:
    """Keyword arguments for chat.postMessage, chat.update, respond() and ack(). `text` is what
    notifications and screen readers read: without the result bars the blocks draw. The dates
    Slack shows where it cannot localise (the fallback of `<!date>`) are in the reply's language."""
    with speaking(reply.language):
        return _message(reply)


def _message(reply: Reply) -> dict[str, Any]:
    fallback = mrkdwn(markup.without_bars(reply.text))
    if len(fallback) > MAX_TEXT:
        fallback = fallback[: MAX_TEXT - 1] + "…"
    rendered: dict[str, Any] = {"text": fallback}
    if reply.blocks:
        rendered["blocks"] = blocks(reply)
    else:
        shown = mrkdwn(reply.text)
        rendered["blocks"] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": p}} for p in split_text(shown, MAX_SECTION)
        ][:MAX_BLOCKS]
    return rendered


def action_value(action: dict[str, Any]) -> str | None:
    """What a member chose in a menu: one value, or several joined by commas (multi-select)."""
    if action.get("type") == "multi_static_select":
        return ",".join(o.get("value", "") for o in action.get("selected_options") or [])
    return (action.get("selected_option") or {}).get("value")


def action_id_of(raw: str) -> str:
    """Undo the page suffix a split select got."""
    return raw.split("~", 1)[0]
