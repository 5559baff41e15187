"""What Slack and Discord refuse, so that our fakes refuse it too.

The limits come from the platforms' reference pages (Slack: Block Kit blocks, block elements,
composition objects, views; Discord: message resource, embeds, message components, interaction
responses and modals). Each check returns a list of problems, empty when the platform would take
the payload; the fakes answer a payload with problems as the platform does (`invalid_blocks`, or
HTTP 400 with code 50035) and keep it, so a test fixture can fail on any.
"""

from __future__ import annotations

import re
from typing import Any

# Slack ------------------------------------------------------------------------------------------

SLACK_MESSAGE_BLOCKS = 50
SLACK_VIEW_BLOCKS = 100


def slack_message(payload: dict[str, Any]) -> list[str]:
    """chat.postMessage, chat.update, chat.postEphemeral, and response_url messages."""
    blocks = payload.get("blocks")
    if blocks is None:
        return [] if payload.get("text") else ["a message needs text or blocks"]
    if len(blocks) > SLACK_MESSAGE_BLOCKS:
        return [f"{len(blocks)} blocks (a message takes {SLACK_MESSAGE_BLOCKS})"]
    return [p for n, block in enumerate(blocks) for p in _slack_block(block, f"blocks[{n}]")]


def slack_view(view: dict[str, Any]) -> list[str]:
    """views.open (modal) and views.publish (home)."""
    problems = []
    blocks = view.get("blocks") or []
    if len(blocks) > SLACK_VIEW_BLOCKS:
        problems.append(f"{len(blocks)} blocks (a view takes {SLACK_VIEW_BLOCKS})")
    if view.get("type") == "modal":
        for key in ("title", "submit", "close"):
            if key in view:
                problems += _slack_text(view[key], f"view.{key}", 24, plain=True)
        if "title" not in view:
            problems.append("a modal needs a title")
        problems += _max(view.get("private_metadata", ""), 3000, "view.private_metadata")
        problems += _max(view.get("callback_id", ""), 255, "view.callback_id")
    problems += [p for n, block in enumerate(blocks) for p in _slack_block(block, f"view.blocks[{n}]")]
    return problems


def _slack_block(block: dict[str, Any], where: str) -> list[str]:
    kind = block.get("type")
    problems = _max(block.get("block_id", ""), 255, f"{where}.block_id")
    if kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append(f"{where}: a section needs text or fields")
        if "text" in block:
            problems += _slack_text(block["text"], f"{where}.text", 3000)
        fields = block.get("fields") or []
        if len(fields) > 10:
            problems.append(f"{where}: {len(fields)} fields (at most 10)")
        for n, item in enumerate(fields):
            problems += _slack_text(item, f"{where}.fields[{n}]", 2000)
        if "accessory" in block:
            problems += _slack_element(block["accessory"], f"{where}.accessory")
    elif kind == "context":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= 10:
            problems.append(f"{where}: {len(elements)} context elements (1 to 10)")
        for n, item in enumerate(elements):
            if item.get("type") in ("plain_text", "mrkdwn"):
                problems += _slack_text(item, f"{where}.elements[{n}]", 3000)
    elif kind == "actions":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= 25:
            problems.append(f"{where}: {len(elements)} actions elements (1 to 25)")
        for n, item in enumerate(elements):
            problems += _slack_element(item, f"{where}.elements[{n}]")
    elif kind == "header":
        problems += _slack_text(block.get("text"), f"{where}.text", 150, plain=True)
    elif kind == "input":
        problems += _slack_text(block.get("label"), f"{where}.label", 2000, plain=True)
        if "hint" in block:
            problems += _slack_text(block["hint"], f"{where}.hint", 2000, plain=True)
        if "element" not in block:
            problems.append(f"{where}: an input needs an element")
        else:
            problems += _slack_element(block["element"], f"{where}.element")
    elif kind in ("divider", "image", "file", "rich_text"):
        pass
    else:
        problems.append(f"{where}: unknown block type {kind!r}")
    return problems


def _slack_element(element: dict[str, Any], where: str) -> list[str]:
    kind = element.get("type")
    problems = _max(element.get("action_id", ""), 255, f"{where}.action_id")
    if kind == "button":
        problems += _slack_text(element.get("text"), f"{where}.text", 75, plain=True)
        problems += _max(element.get("value", ""), 2000, f"{where}.value")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"{where}: style {element.get('style')!r}")
    elif kind in ("static_select", "multi_static_select", "checkboxes", "radio_buttons"):
        options = element.get("options") or []
        most = 10 if kind in ("checkboxes", "radio_buttons") else 100
        if not 1 <= len(options) <= most:
            problems.append(f"{where}: {len(options)} options (1 to {most})")
        for n, option in enumerate(options):
            problems += _slack_text(option.get("text"), f"{where}.options[{n}].text", 75)
            problems += _max(option.get("value", ""), 150, f"{where}.options[{n}].value")
        if "placeholder" in element:
            problems += _slack_text(element["placeholder"], f"{where}.placeholder", 150, plain=True)
    elif kind == "plain_text_input":
        if "placeholder" in element:
            problems += _slack_text(element["placeholder"], f"{where}.placeholder", 150, plain=True)
        if not 1 <= element.get("max_length", 3000) <= 3000:
            problems.append(f"{where}.max_length {element.get('max_length')} (1 to 3000)")
        if not 0 <= element.get("min_length", 0) <= 3000:
            problems.append(f"{where}.min_length {element.get('min_length')} (0 to 3000)")
    elif kind in ("users_select", "conversations_select", "channels_select", "datepicker", "timepicker"):
        if "placeholder" in element:
            problems += _slack_text(element["placeholder"], f"{where}.placeholder", 150, plain=True)
    else:
        problems.append(f"{where}: unknown element type {kind!r}")
    return problems


def _slack_text(obj: Any, where: str, limit: int, *, plain: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in (("plain_text",) if plain else ("plain_text", "mrkdwn")):
        return [f"{where}: expected a {'plain_text' if plain else 'text'} object, got {obj!r:.80}"]
    text = obj.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= limit:
        return [f"{where}: text of {len(text) if isinstance(text, str) else 0} characters (1 to {limit})"]
    return []


def _max(value: Any, limit: int, where: str) -> list[str]:
    return [f"{where}: {len(str(value))} characters (at most {limit})"] if len(str(value)) > limit else []


def slack_typed(view: dict[str, Any], values: dict[str, dict[str, Any]]) -> list[str]:
    """What a member could not have typed into a form: Slack's client stops at max_length."""
    limits = {
        block.get("block_id"): (block.get("element") or {}).get("max_length", 3000)
        for block in view.get("blocks") or []
        if block.get("type") == "input"
    }
    problems = []
    for block_id, fields in values.items():
        for field in fields.values():
            text = field.get("value")
            if isinstance(text, str) and len(text) > limits.get(block_id, 3000):
                problems.append(f"{block_id}: {len(text)} characters typed, the field stops at {limits[block_id]}")
    return problems


# Discord ----------------------------------------------------------------------------------------


def discord_message(body: dict[str, Any]) -> list[str]:
    """Creating or editing a message, an interaction reply (types 4 and 7) or a follow-up."""
    problems = _max(body.get("content") or "", 2000, "content")
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        problems.append(f"{len(embeds)} embeds (at most 10)")
    total = 0
    for n, embed in enumerate(embeds):
        where = f"embeds[{n}]"
        problems += _max(embed.get("title") or "", 256, f"{where}.title")
        problems += _max(embed.get("description") or "", 4096, f"{where}.description")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems.append(f"{where}: {len(fields)} fields (at most 25)")
        for k, item in enumerate(fields):
            problems += _max(item.get("name") or "", 256, f"{where}.fields[{k}].name")
            problems += _max(item.get("value") or "", 1024, f"{where}.fields[{k}].value")
            if not item.get("name") or not item.get("value"):
                problems.append(f"{where}.fields[{k}]: a field needs a name and a value")
        footer = (embed.get("footer") or {}).get("text") or ""
        problems += _max(footer, 2048, f"{where}.footer")
        total += len(embed.get("title") or "") + len(embed.get("description") or "") + len(footer)
        total += sum(len(f.get("name") or "") + len(f.get("value") or "") for f in fields)
    if total > 6000:
        problems.append(f"embeds hold {total} characters in all (at most 6000)")
    rows = body.get("components") or []
    if len(rows) > 5:
        problems.append(f"{len(rows)} action rows (at most 5)")
    for n, row in enumerate(rows):
        problems += _discord_row(row, f"components[{n}]")
    return problems


def _discord_row(row: dict[str, Any], where: str) -> list[str]:
    if row.get("type") != 1:
        return [f"{where}: expected an action row"]
    items = row.get("components") or []
    selects = [c for c in items if c.get("type") in (3, 5, 6, 7, 8)]
    problems = []
    if selects and len(items) > 1:
        problems.append(f"{where}: a select menu fills its row alone")
    if not 1 <= len(items) <= 5:
        problems.append(f"{where}: {len(items)} components (1 to 5)")
    for n, item in enumerate(items):
        at = f"{where}.components[{n}]"
        problems += _max(item.get("custom_id") or "", 100, f"{at}.custom_id")
        if item.get("type") == 2:
            problems += _max(item.get("label") or "", 80, f"{at}.label")
            if item.get("style") != 5 and not item.get("custom_id"):
                problems.append(f"{at}: a button needs a custom_id")
        elif item.get("type") == 3:
            options = item.get("options") or []
            if not 1 <= len(options) <= 25:
                problems.append(f"{at}: {len(options)} options (1 to 25)")
            for k, option in enumerate(options):
                problems += _max(option.get("label") or "", 100, f"{at}.options[{k}].label")
                problems += _max(option.get("value") or "", 100, f"{at}.options[{k}].value")
                problems += _max(option.get("description") or "", 100, f"{at}.options[{k}].description")
            problems += _max(item.get("placeholder") or "", 150, f"{at}.placeholder")
            if not 1 <= item.get("max_values", 1) <= min(25, max(1, len(options))):
                problems.append(f"{at}: max_values {item.get('max_values')} for {len(options)} options")
    return problems


def discord_modal(data: dict[str, Any]) -> list[str]:
    """An interaction answered with a form (callback type 9)."""
    problems = _max(data.get("title") or "", 45, "title") + _max(data.get("custom_id") or "", 100, "custom_id")
    if not data.get("title"):
        problems.append("a modal needs a title")
    rows = data.get("components") or []
    if not 1 <= len(rows) <= 5:
        problems.append(f"{len(rows)} rows (1 to 5)")
    for n, row in enumerate(rows):
        items = row.get("components") or []
        if len(items) != 1 or items[0].get("type") != 4:
            problems.append(f"components[{n}]: a modal row holds one text input")
            continue
        field, at = items[0], f"components[{n}].components[0]"
        problems += _max(field.get("custom_id") or "", 100, f"{at}.custom_id")
        problems += _max(field.get("label") or "", 45, f"{at}.label")
        problems += _max(field.get("placeholder") or "", 100, f"{at}.placeholder")
        problems += _max(field.get("value") or "", 4000, f"{at}.value")
        if not 1 <= field.get("max_length", 4000) <= 4000:
            problems.append(f"{at}.max_length {field.get('max_length')} (1 to 4000)")
    return problems


def discord_typed(modal: dict[str, Any], fields: dict[str, str]) -> list[str]:
    """What a member could not have typed into a form: Discord's client stops at max_length."""
    limits = {
        row["components"][0]["custom_id"]: row["components"][0].get("max_length", 4000)
        for row in modal.get("components") or []
        if row.get("components")
    }
    return [
        f"{name}: {len(value)} characters typed, the field stops at {limits[name]}"
        for name, value in fields.items()
        if name in limits and len(value) > limits[name]
    ]


# Discord's locales, as its API names them (Reference > Locales): a localization under any other key
# is refused with 50035.
DISCORD_LOCALES = {
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl", "no", "pl",
    "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th", "zh-CN", "ja", "zh-TW", "ko",
}  # fmt: skip


def discord_commands(commands: list[dict[str, Any]]) -> list[str]:
    """A bulk overwrite of application commands: names, descriptions and their localizations."""
    problems: list[str] = []

    def check(item: dict[str, Any], where: str) -> None:
        if not re.fullmatch(r"[-_\w]{1,32}", item.get("name") or "") or item["name"] != item["name"].lower():
            problems.append(f"{where}: name {item.get('name')!r}")
        if not 1 <= len(item.get("description") or "") <= 100:
            problems.append(f"{where}: description of {len(item.get('description') or '')} characters (1 to 100)")
        for locale, text in (item.get("description_localizations") or {}).items():
            if locale not in DISCORD_LOCALES:
                problems.append(f"{where}: unknown locale {locale!r}")
            if not 1 <= len(text) <= 100:
                problems.append(f"{where}: {locale} description of {len(text)} characters (1 to 100)")
        for n, option in enumerate(item.get("options") or []):
            check(option, f"{where}.options[{n}]")

    for n, command in enumerate(commands):
        check(command, f"commands[{n}]")
    return problems
