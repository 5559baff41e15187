from __future__ import annotations

from datetime import UTC, datetime

from adapters.slack import render
from adapters.slack.manifest import manifest
from bot import markup
from bot.replies import Actions, Button, Context, Divider, Field, Reply, Section, Select, SelectOption
from commands import build_registry

WHEN = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)


def test_each_block_type() -> None:
    reply = Reply(
        "fallback",
        blocks=(
            Section(
                f"**Meeting** {markup.user_text('Budget')} at {markup.timestamp(WHEN)}", (Field("Where", "Library"),)
            ),
            Context("small print"),
            Divider(),
            Actions(
                (
                    Button("Going", "meeting:rsvp:1:going", "primary"),
                    Select("Pick", "poll:vote:2", (SelectOption("A", "1"),)),
                )
            ),
        ),
    )
    blocks = render.blocks(reply)
    assert [b["type"] for b in blocks] == ["section", "section", "context", "divider", "actions"]
    ts = int(WHEN.timestamp())
    assert blocks[0]["text"] == {
        "type": "mrkdwn",
        "text": f"*Meeting* Budget at <!date^{ts}^{{date_long_pretty}} at {{time}}|Tue 01 Dec 2026, 18:30 UTC>",
    }
    assert blocks[1]["fields"] == [{"type": "mrkdwn", "text": "*Where*\nLibrary"}]
    button, select = blocks[4]["elements"]
    assert button == {
        "type": "button",
        "text": {"type": "plain_text", "text": "Going", "emoji": True},
        "action_id": "meeting:rsvp:1:going",
        "value": "meeting:rsvp:1:going",
        "style": "primary",
    }
    assert select["type"] == "static_select" and select["options"][0]["value"] == "1"


def test_relative_time_and_mentions() -> None:
    text = (
        f"{markup.mention('slack', 'U1', 'Ana')} {markup.mention('discord', '99', 'Bo')} {markup.timestamp(WHEN, 'R')}"
    )
    assert render.mrkdwn(text) == f"<@U1> @Bo <!date^{int(WHEN.timestamp())}^{{ago}}|Tue 01 Dec 2026, 18:30 UTC>"


def test_user_text_can_neither_ping_nor_format_nor_link() -> None:
    text = render.mrkdwn(markup.user_text("<!here> <@U1> *bold* _it_ ~s~ `c` <http://x|y> & >quote"))
    assert "<" not in text and ">" not in text.replace("&gt;", "")
    assert "&lt;!here&gt;" in text and "&amp;" in text
    for ch in "*_~`":
        assert f"\u200b{ch}\u200b" in text


def test_long_sections_are_split_not_cut() -> None:
    lines = [f"line {n} " + "x" * 90 for n in range(80)]  # about 8,000 characters
    blocks = render.blocks(Reply("t", blocks=(Section("\n".join(lines)),)))
    assert len(blocks) > 2
    assert all(len(b["text"]["text"]) <= render.MAX_SECTION for b in blocks)
    joined = "\n".join(b["text"]["text"] for b in blocks)
    assert all(line in joined for line in lines)


def test_more_than_25_buttons_go_into_several_action_blocks() -> None:
    buttons = tuple(Button(f"Option {n}", f"poll:vote:1:{n}") for n in range(30))
    blocks = render.blocks(Reply("t", blocks=(Actions(buttons),)))
    assert [len(b["elements"]) for b in blocks] == [25, 5]


def test_selects_over_100_options_are_paginated() -> None:
    options = tuple(SelectOption(f"Slot {n}", str(n)) for n in range(230))
    blocks = render.blocks(Reply("t", blocks=(Actions((Select("Pick a slot", "poll:vote:7", options),)),)))
    selects = blocks[0]["elements"]
    assert [len(s["options"]) for s in selects] == [100, 100, 30]
    assert [s["action_id"] for s in selects] == ["poll:vote:7~1", "poll:vote:7~2", "poll:vote:7~3"]
    assert selects[0]["placeholder"]["text"] == "Pick a slot (1/3)"
    assert render.action_id_of("poll:vote:7~2") == "poll:vote:7"


def test_more_than_50_blocks_are_summarised_openly() -> None:
    blocks = render.blocks(Reply("t", blocks=tuple(Section(f"item {n}") for n in range(70))))
    assert len(blocks) == 50
    assert blocks[-1]["type"] == "context"
    assert "21 more parts not shown here" in blocks[-1]["elements"][0]["text"]
    spanish = render.message(Reply("t", blocks=tuple(Section(f"punto {n}") for n in range(70)), language="es"))
    assert "21 partes más que no se muestran aquí (límite de Slack)" in spanish["blocks"][-1]["elements"][0]["text"]


def test_labels_fit_75_characters_and_fields_10_per_section() -> None:
    blocks = render.blocks(
        Reply(
            "t",
            blocks=(
                Section("s", tuple(Field(f"f{n}", "v") for n in range(13))),
                Actions((Button("L" * 100, "a:b"),)),
            ),
        )
    )
    assert [len(b.get("fields", [])) for b in blocks[:3]] == [0, 10, 3]
    assert len(blocks[-1]["elements"][0]["text"]["text"]) == 75


def test_text_only_replies_get_a_section_and_fallback() -> None:
    message = render.message(Reply("**Done.** " + markup.user_text("<ok>")))
    assert message["text"] == "*Done.* &lt;ok&gt;"
    assert message["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": "*Done.* &lt;ok&gt;"}}]


def test_manifest_is_generated_from_the_registry() -> None:
    registry = build_registry()
    socket = manifest(registry)
    assert [c["command"] for c in socket["features"]["slash_commands"]] == [f"/{n}" for n in registry.names()]
    assert socket["settings"]["socket_mode_enabled"] is True
    assert socket["settings"]["interactivity"]["is_enabled"] is True
    assert socket["features"]["app_home"]["home_tab_enabled"] is True
    scopes = set(socket["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "im:write", "users:read", "files:write"} <= scopes
    assert not {"channels:history", "groups:history", "im:history"} & scopes  # reading history is a choice
    chosen = manifest(registry, read_history=True)["oauth_config"]["scopes"]["bot"]
    assert {"channels:history", "groups:history", "im:history"} <= set(chosen)
    hints = {c["command"]: c["usage_hint"] for c in socket["features"]["slash_commands"]}
    for spec in registry.commands():  # every subcommand named whole, within Slack's 1,000 characters
        assert hints[f"/{spec.name}"].split(" | ") == [s.name for s in spec.subcommands]
        assert len(hints[f"/{spec.name}"]) <= 1000
    http = manifest(registry, request_url="https://bot.example.org/slack/events")
    assert http["settings"]["socket_mode_enabled"] is False
    assert http["settings"]["interactivity"]["request_url"] == "https://bot.example.org/slack/events"
    assert all(c["url"] == "https://bot.example.org/slack/events" for c in http["features"]["slash_commands"])


def test_the_notification_text_leaves_out_the_drawn_bars() -> None:
    """What Slack puts in a notification, and a screen reader reads first: the counts in words, not
    the bars the card draws beside them."""
    text = "Lunch?\n1. Pizza: 2 votes, 67% `██████░░░`\n2. Tacos: 1 vote, 33% `███░░░░░░`"
    rendered = render.message(Reply(text, blocks=(Section(text),)))
    assert "█" not in rendered["text"] and "2 votes, 67%" in rendered["text"]
    assert "█" in rendered["blocks"][0]["text"]["text"]  # the card itself still draws them


def test_the_fallback_of_a_date_is_in_the_readers_language() -> None:
    """Slack writes `<!date>` in each viewer's own language; where it cannot (notifications, old
    clients) it shows our fallback, which must be Spanish for a Spanish reader, not "Thu 10 Dec"."""
    from datetime import UTC, datetime

    from bot.markup import timestamp

    moment = datetime(2026, 12, 10, 18, 0, tzinfo=UTC)
    spanish = render.message(Reply(f"Foro: {timestamp(moment, 'F')}", language="es"))["text"]
    english = render.message(Reply(f"Forum: {timestamp(moment, 'F')}", language="en"))["text"]
    assert "|jue, 10 dic 2026" in spanish, spanish
    assert "|Thu 10 Dec 2026" in english, english
