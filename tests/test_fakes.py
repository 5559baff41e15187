"""The fakes refuse what Slack and Discord refuse: otherwise our tests pass against platforms
that do not exist. Each case is a payload the real platform rejects."""

from __future__ import annotations

import pytest

from tests.fakes import limits


def _option(value: str) -> dict:
    return {"text": {"type": "plain_text", "text": "o"}, "value": value}


def _button(label: str) -> dict:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": "a"}


@pytest.mark.parametrize(
    "payload",
    [
        {"blocks": [{"type": "divider"}] * 51},
        {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
        {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]},
        {"blocks": [{"type": "actions", "elements": [_button("x" * 76)]}]},
        {"blocks": [{"type": "actions", "elements": [_button("ok")] * 26}]},
        {"blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}]},
        {
            "blocks": [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "static_select",
                            "action_id": "s",
                            "options": [
                                {"text": {"type": "plain_text", "text": "o"}, "value": str(n)} for n in range(101)
                            ],
                        }
                    ],
                }
            ]
        },
    ],
)
def test_slack_refuses_messages_over_block_kit_limits(payload: dict) -> None:
    assert limits.slack_message(payload)


def test_slack_refuses_forms_over_view_limits() -> None:
    field = {"type": "plain_text_input", "action_id": "value", "max_length": 3001}
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "A title longer than 24 chars"},
        "blocks": [{"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "L"}, "element": field}],
    }
    problems = limits.slack_view(view)
    assert any("view.title" in p for p in problems) and any("max_length" in p for p in problems)
    typed = {"b": {"value": {"type": "plain_text_input", "value": "x" * 80}}}
    short = {**view, "blocks": [{**view["blocks"][0], "element": {**field, "max_length": 75}}]}
    assert limits.slack_typed(short, typed)


@pytest.mark.parametrize(
    "body",
    [
        {"content": "x" * 2001},
        {"embeds": [{"description": "x" * 4097}]},
        {"embeds": [{"description": "x" * 4000}, {"description": "x" * 2001}]},
        {"embeds": [{}] * 11},
        {"components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "b", "custom_id": "c"}] * 6}]},
        {"components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "x" * 81, "custom_id": "c"}]}]},
        {"components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "b", "custom_id": "c" * 101}]}]},
        {"components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "b", "custom_id": "c"}]}] * 6},
        {
            "components": [
                {
                    "type": 1,
                    "components": [
                        {"type": 3, "custom_id": "s", "options": [{"label": "o", "value": str(n)} for n in range(26)]}
                    ],
                }
            ]
        },
    ],
)
def test_discord_refuses_messages_over_its_limits(body: dict) -> None:
    assert limits.discord_message(body)


def test_discord_refuses_forms_over_its_limits() -> None:
    field = {"type": 4, "custom_id": "options", "label": "x" * 46, "style": 2, "max_length": 75}
    modal = {"title": "t", "custom_id": "m", "components": [{"type": 1, "components": [field]}]}
    assert any("label" in p for p in limits.discord_modal(modal))
    assert limits.discord_typed(modal, {"options": "x" * 76})
    assert not limits.discord_typed(modal, {"options": "x" * 75})
