from __future__ import annotations

from datetime import UTC, datetime

import discord

from adapters.discord import render
from adapters.discord.commands import command_payloads, read_interaction
from adapters.discord.components import build_view
from adapters.discord.invite import PERMISSIONS, application_id_from_token, invite_url
from bot import markup
from bot.replies import Actions, Button, Context, Divider, Field, Reply, Section, Select, SelectOption
from commands import build_registry
from tests.fakes.discord import TOKEN

WHEN = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)


def test_each_block_type() -> None:
    reply = Reply(
        "fallback",
        blocks=(
            Section(
                f"**Meeting** {markup.user_text('Budget')} {markup.timestamp(WHEN)} ({markup.timestamp(WHEN, 'R')})",
                (Field("Where", "Library"),),
            ),
            Divider(),
            Context("small print"),
            Actions(
                (
                    Button("Going", "meeting:rsvp:1:going", "primary"),
                    Select("Pick", "poll:vote:2", (SelectOption("A", "1"),)),
                )
            ),
        ),
    )
    rendered = render.message(reply)
    ts = int(WHEN.timestamp())
    assert rendered.content is None
    assert rendered.embeds[0].description == f"**Meeting** Budget <t:{ts}:F> (<t:{ts}:R>)\n\n-# small print"
    assert [(f.name, f.value) for f in rendered.embeds[0].fields] == [("Where", "Library")]
    assert [[c.kind for c in row] for row in rendered.rows] == [["button"], ["select"]]
    assert rendered.rows[1][0].custom_id == "s|poll:vote:2"
    view = build_view(rendered.rows)
    assert [item.custom_id for item in view.children] == ["meeting:rsvp:1:going", "s|poll:vote:2"]  # type: ignore[attr-defined]


def test_user_text_cannot_ping_or_format() -> None:
    rendered = render.message(Reply(markup.user_text("@everyone @here <@&42> **x** [bank](https://evil.example)")))
    content = rendered.content or ""
    assert "@everyone" not in content.replace("@\u200beveryone", "")
    assert "@here" not in content.replace("@\u200bhere", "")
    assert "<@&42>" not in content
    assert "\\*\\*x\\*\\*" in content
    assert "\\[bank](<https://evil.example>)" in content  # an escaped bracket: no masked link
    assert rendered.allowed_mentions.everyone is False and rendered.allowed_mentions.roles is False
    assert rendered.allowed_mentions.users == []


def test_the_bot_can_mention_a_member_and_only_they_are_pinged() -> None:
    rendered = render.message(Reply(f"Thanks {markup.mention('discord', '123456789', 'Ana')}"))
    assert rendered.content == "Thanks <@123456789>"
    assert [u.id for u in rendered.allowed_mentions.users] == [123456789]  # type: ignore[union-attr]


def test_long_content_moves_into_embeds_within_6000() -> None:
    rendered = render.message(Reply("\n".join(f"line {n} " + "x" * 100 for n in range(100))))
    assert rendered.content is None
    total = sum(len(e.description or "") for e in rendered.embeds)
    assert total <= render.MAX_EMBED_TOTAL
    assert all(len(e.description or "") <= render.MAX_DESCRIPTION for e in rendered.embeds)
    assert "more characters not shown" in (rendered.embeds[-1].description or "")


def test_buttons_fill_five_rows_of_five_and_say_what_was_left_out() -> None:
    buttons = tuple(Button(f"Option {n}", f"poll:vote:1:{n}") for n in range(30))
    rendered = render.message(Reply("t", blocks=(Section("Pick"), Actions(buttons))))
    assert [len(row) for row in rendered.rows] == [5, 5, 5, 5, 5]
    assert "5 more buttons did not fit" in (rendered.embeds[0].description or "")
    spanish = render.message(Reply("t", blocks=(Section("Elija"), Actions(buttons)), language="es"))
    assert "5 botones más no cupieron aquí (límite de Discord)" in (spanish.embeds[0].description or "")
    long = render.message(Reply("\n".join(f"línea {n} " + "x" * 100 for n in range(100)), language="es"))
    assert "caracteres más que no se muestran (límite de Discord)" in (long.embeds[-1].description or "")


def test_selects_carry_25_options_each() -> None:
    options = tuple(SelectOption(f"Slot {n}", str(n)) for n in range(60))
    rendered = render.message(Reply("t", blocks=(Actions((Select("Pick", "poll:vote:3", options),)),)))
    assert [len(row[0].options) for row in rendered.rows] == [25, 25, 10]
    assert [row[0].custom_id for row in rendered.rows] == ["s|poll:vote:3~1", "s|poll:vote:3~2", "s|poll:vote:3~3"]
    assert render.action_id_of("s|poll:vote:3~2") == "poll:vote:3"


def test_fields_stop_at_25_and_labels_at_80() -> None:
    rendered = render.message(
        Reply(
            "t",
            blocks=(Section("s", tuple(Field(f"f{n}", "v") for n in range(30))), Actions((Button("L" * 100, "a:b"),))),
        )
    )
    assert len(rendered.embeds[0].fields) == 25
    assert len(rendered.rows[0][0].label) == 80


def test_every_name_a_spanish_member_picks_is_spanish_and_one_discord_accepts() -> None:
    """Discord shows a member whose app is in Spanish the commands' localized names: command,
    subcommand, option and choice names (descriptions were Spanish, names English). A name Discord
    refuses (upper case, a space, over 32 characters, two alike under one parent) would fail the
    whole command sync, so each one is checked as Discord checks it."""
    import regex  # Discord's own pattern needs \p{L}

    pattern = regex.compile(r"^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$")
    payloads = command_payloads(build_registry())

    def check(siblings: list[dict]) -> None:
        for locale in ("es-ES", "es-419"):
            named = [o.get("name_localizations", {}).get(locale, o["name"]) for o in siblings]
            assert len(set(named)) == len(named), (locale, named)
            for name in named:
                assert pattern.match(name) and name == name.lower(), name

    check(payloads)
    missing = []
    for command in payloads:
        missing += [] if command["name_localizations"] else [command["name"]]
        check(command["options"])
        for sub in command["options"]:
            missing += [] if sub["name_localizations"] or sub["name"] == "ics" else [sub["name"]]
            check(sub.get("options", []))
            for option in sub.get("options", []):
                same = option["name"] in ("csv", "sector", "es", "en")  # the same word in Spanish
                missing += [] if option["name_localizations"] or same else [option["name"]]
                for choice in option.get("choices", []):
                    same = choice["name"] in ("no", "html")  # the same word in Spanish
                    missing += [] if choice["name_localizations"] or same else [choice["name"]]
                    assert all(1 <= len(name) <= 100 for name in choice["name_localizations"].values())
    assert missing == []
    meeting = next(c for c in payloads if c["name"] == "meeting")
    schedule = next(o for o in meeting["options"] if o["name"] == "schedule")
    assert meeting["name_localizations"]["es-419"] == "reunión"
    assert schedule["name_localizations"]["es-ES"] == "programar"
    rsvp = next(o for o in meeting["options"] if o["name"] == "rsvp")
    answer = next(o for o in rsvp["options"] if o["name"] == "answer")
    assert [c["name_localizations"]["es-ES"] for c in answer["choices"]] == ["voy", "quizás", "no puedo ir"]


def test_commands_are_generated_as_groups_with_typed_options() -> None:
    payloads = {p["name"]: p for p in command_payloads(build_registry())}
    assert set(payloads) == {"coalition", "broadcast", "decision", "goal", "meeting", "poll"}
    subs = {o["name"]: o for o in payloads["broadcast"]["options"]}
    send = [o["name"] for o in subs["send"]["options"]]
    assert send == ["text", "to", "at", "ack", "public", "es", "en"]
    assert subs["status"]["options"][0] == {
        "type": 4,
        "name": "id",
        "name_localizations": {"es-ES": "número", "es-419": "número"},
        "description": "the broadcast's number",
        "description_localizations": {"es-ES": "el número del anuncio", "es-419": "el número del anuncio"},
        "required": True,
        "min_value": 1,
        "autocomplete": True,
    }
    zone = next(o for o in payloads["coalition"]["options"] if o["name"] == "timezone")["options"][0]
    assert zone["autocomplete"] is True
    assert all(len(p["options"]) <= 25 for p in payloads.values())


def test_interactions_are_read_back_into_raw_arguments() -> None:
    data = {
        "name": "coalition",
        "options": [
            {"type": 1, "name": "help", "options": [{"type": 3, "name": "topic", "value": '"broadcast" send'}]}
        ],
    }
    path, raw, focused = read_interaction(build_registry(), data)
    assert path == ("coalition", "help") and raw == {"topic": ["broadcast", "send"]} and focused is None


def test_invite_has_exactly_the_permissions_used() -> None:
    assert application_id_from_token(TOKEN) == 1100000000000000001
    url = invite_url(1100000000000000001)
    assert "client_id=1100000000000000001" in url and "scope=bot+applications.commands" in url
    assert f"permissions={PERMISSIONS.value}" in url
    assert PERMISSIONS.send_messages and PERMISSIONS.embed_links and not PERMISSIONS.mention_everyone
    assert not PERMISSIONS.administrator and not PERMISSIONS.manage_messages
    assert not PERMISSIONS.send_messages_in_threads  # nothing the bot does happens in threads
    assert (
        PERMISSIONS.value
        == discord.Permissions(view_channel=True, send_messages=True, embed_links=True, read_message_history=True).value
    )


def test_links_typed_by_members_do_not_unfurl() -> None:
    content = render.message(Reply(markup.user_text("see https://example.org/a_b and more_text"))).content
    assert content == "see <https://example.org/a_b> and more\\_text"


def test_sentence_punctuation_stays_outside_links() -> None:
    content = render.message(Reply(markup.user_text("see https://x.org/a_b, ok."))).content
    assert content == "see <https://x.org/a_b>, ok."
