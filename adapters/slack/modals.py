"""Forms for commands marked `modal=True`, generated from their option declarations.

Values come back as the strings a member would have typed, so a form goes through the very same
checks as a typed command (`Dispatcher.run_command`) and errors point at the field concerned.
"""

from __future__ import annotations

import json
from typing import Any

from bot.i18n import _
from bot.refs import ConversationRef
from commands.converters import converter
from commands.registry import Registry
from commands.spec import CommandSpec, OptionSpec, OptionType


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit], "emoji": True}


def modal_for(
    registry: Registry, path: tuple[str, ...], where: ConversationRef, initial: dict[str, str] | None = None
) -> dict[str, Any]:
    """The command's form; `initial` fills some text fields in (a form button's poll number)."""
    spec = registry.find(path)
    assert spec is not None
    title = f"/{' '.join(path)}"
    return {
        "type": "modal",
        "callback_id": "modal:" + ".".join(path),
        "title": _plain(title if len(title) <= 24 else path[-1].capitalize(), 24),
        "submit": _plain(_(spec.submit_label), 24),
        "close": _plain(_("Cancel"), 24),
        "private_metadata": json.dumps({"channel": where.channel_id, "name": where.name}),
        "blocks": [_input(option, (initial or {}).get(option.name)) for option in spec.options],
    }


def _input(option: OptionSpec, initial: str | None = None) -> dict[str, Any]:
    said = _(option.help)
    label = said[:1].upper() + said[1:]
    block: dict[str, Any] = {
        "type": "input",
        "block_id": option.name,
        "label": _plain(label, 2000),
        "optional": not option.required,
    }
    kind = option.type
    if kind == OptionType.BOOL:
        choice = {"text": _plain(label, 75), "value": "yes"}
        element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": [choice]}
        if option.default:
            element["initial_options"] = [choice]
        block["optional"] = True
    elif kind == OptionType.CHOICE:
        element = {
            "type": "static_select",
            "action_id": "value",
            "options": [{"text": _plain(c, 75), "value": c} for c in option.choices[:100]],
        }
    elif kind == OptionType.USER:
        element = {"type": "users_select", "action_id": "value"}
    elif kind == OptionType.CHANNEL:
        element = {"type": "conversations_select", "action_id": "value"}
    else:
        element = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": kind == OptionType.TEXT or option.multiple,
        }
        if kind in (OptionType.STRING, OptionType.TEXT):
            element["max_length"] = min(option.form_length, 3000)
        example = converter(option).example
        hint = _("one per line") if option.multiple else _(example) if example else None
        if hint:
            element["placeholder"] = _plain(hint, 150)
        if initial is not None:
            element["initial_value"] = initial
    block["element"] = element
    return block


def values_from(spec: CommandSpec, state: dict[str, Any]) -> dict[str, Any]:
    """The form's answers as raw option values (strings, lists for multiple, bools for flags)."""
    raw: dict[str, Any] = {}
    for option in spec.options:
        field = (state.get(option.name) or {}).get("value") or {}
        kind = field.get("type")
        if kind == "checkboxes":
            raw[option.name] = bool(field.get("selected_options"))
        elif kind == "static_select":
            raw[option.name] = (field.get("selected_option") or {}).get("value")
        elif kind == "users_select":
            user = field.get("selected_user")
            raw[option.name] = f"<@{user}>" if user else None
        elif kind == "conversations_select":
            channel = field.get("selected_conversation")
            raw[option.name] = f"<#{channel}>" if channel else None
        else:
            value = field.get("value")
            if value is not None and option.multiple:
                raw[option.name] = [line.strip() for line in value.splitlines() if line.strip()]
            else:
                raw[option.name] = value
    return raw
