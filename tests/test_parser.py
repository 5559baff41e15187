from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import adapters
from bot.platform import ChannelMention, UserMention
from bot.replies import Reply
from commands import build_registry
from commands.errors import UsageError
from commands.parser import ParseContext, parse, tokenize
from commands.registry import Registry
from commands.spec import CommandSpec, OptionSpec, OptionType, Scope
from tests.conftest import examples

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
CTX = ParseContext(BERLIN, NOW)


async def _echo(ctx) -> Reply:  # pragma: no cover - parsing tests never run handlers
    return Reply("ok")


def registry() -> Registry:
    """Commands shaped like the real ones, with every option type."""
    reg = Registry()
    reg.add(
        CommandSpec(
            name="poll",
            description="Polls",
            subcommands=(
                CommandSpec(
                    name="create",
                    description="Create a poll",
                    handler=_echo,
                    options=(
                        OptionSpec("question", OptionType.STRING, "the question", required=True, positional=True),
                        OptionSpec(
                            "options",
                            OptionType.STRING,
                            "the answers",
                            required=True,
                            positional=True,
                            multiple=True,
                            min_count=2,
                            max_count=25,
                            max_length=80,
                        ),
                        OptionSpec("anonymous", OptionType.BOOL, "hide who voted", default=False),
                        OptionSpec("max", OptionType.INT, "most choices", min_value=1, max_value=25),
                        OptionSpec("results", OptionType.CHOICE, "when results show", choices=("live", "closed")),
                        OptionSpec("deadline", OptionType.DATETIME, "when it closes"),
                        OptionSpec("length", OptionType.DURATION, "how long", max_value=86400),
                        OptionSpec("who", OptionType.USER, "a member"),
                        OptionSpec("where", OptionType.CHANNEL, "a channel"),
                        OptionSpec("zone", OptionType.TIMEZONE, "a zone"),
                        OptionSpec("to", OptionType.TAGS, "tags"),
                    ),
                ),
            ),
        )
    )
    reg.add(
        CommandSpec(
            name="note",
            description="Free text",
            handler=_echo,
            scope=Scope.ANYWHERE,
            options=(
                OptionSpec("text", OptionType.TEXT, "what to say", required=True, positional=True, max_length=50),
            ),
        )
    )
    return reg


REG = registry()


def run(text: str, platform: str = "console"):
    return parse(REG, text, CTX, platform=adapters.platform(platform))


def test_tokenize_quotes_and_apostrophes() -> None:
    tokens = tokenize('/poll create "Is 7pm ok?" Yes "Can\'t go" “curly quotes” a\\b "say \\"hi\\""')
    assert [t.value for t in tokens] == [
        "/poll",
        "create",
        "Is 7pm ok?",
        "Yes",
        "Can't go",
        "curly quotes",
        "a\\b",
        'say "hi"',
    ]
    assert [t.quoted for t in tokens][2:6] == [True, False, True, True]


def test_positionals_flags_and_defaults() -> None:
    parsed = run('/poll create "Is 7pm ok?" Yes No Maybe --max 2 --results=closed')
    assert parsed.path == ("poll", "create")
    assert parsed.args["question"] == "Is 7pm ok?"
    assert parsed.args["options"] == ["Yes", "No", "Maybe"]
    assert parsed.args["max"] == 2
    assert parsed.args["results"] == "closed"
    assert parsed.args["anonymous"] is False
    assert parsed.args["deadline"] is None


def test_flags_anywhere_and_negated() -> None:
    assert run("/poll create --anonymous Q A B").args["anonymous"] is True
    assert run("/poll create Q A B --no-anonymous").args["anonymous"] is False
    assert run("/POLL CREATE Q A B").path == ("poll", "create")


def test_typed_values() -> None:
    parsed = run(
        '/poll create Q A B --deadline "friday 5pm" --length 1h30m --zone america/chicago '
        "--to Residents,youth,residents --who @Maria --where #general"
    )
    # Friday 27 Nov 2026, 17:00 in Berlin is 16:00 UTC.
    assert parsed.args["deadline"] == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    assert parsed.args["length"] == timedelta(minutes=90)
    assert parsed.args["zone"] == "America/Chicago"
    assert parsed.args["to"] == ["residents", "youth"]
    assert parsed.args["who"] == UserMention("maria", "Maria")
    assert parsed.args["where"] == ChannelMention("general", "general")


def test_platform_mentions() -> None:
    slack = run("/poll create Q A B --who <@U024BE7LH|bob> --where <#C123ABC|general>", platform="slack")
    assert slack.args["who"] == UserMention("U024BE7LH", "bob")
    assert slack.args["where"] == ChannelMention("C123ABC", "general")
    discord = run("/poll create Q A B --who <@!80351110224678912>", platform="discord")
    assert discord.args["who"].user_id == "80351110224678912"
    with pytest.raises(UsageError, match="not a mention"):
        run("/poll create Q A B --who @bob", platform="slack")


def test_last_free_text_needs_no_quotes() -> None:
    assert run("/note the street lights are out").args["text"] == "the street lights are out"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("/pol create Q A B", "no command '/pol'. Did you mean '/poll'?"),
        ("/poll crate Q A B", "no subcommand 'crate'. Did you mean 'create'?"),
        ("/poll", "needs a subcommand: create"),
        (
            "/poll create Q A B --anonymus",
            "no option '--anonymus' for this command. Did you mean '--anonymous'?",
        ),
        ("/poll create", "QUESTION is missing"),
        ("/poll create Q A", "at least 2 OPTIONS"),
        ('/poll create "Q A B', "never closed"),
        ("/poll create Q A B --max", "--max needs a value"),
        ("/poll create Q A B --max 2 --max 3", "given twice"),
        ("/poll create Q A B --max lots", "'lots' is not a whole number"),
        ("/poll create Q A B --max 26", "the maximum is 25"),
        ("/poll create Q A B --results sometimes", "not one of: live, closed"),
        ("/poll create Q A B --deadline yesterday", "in the past"),
        ("/poll create Q A B --deadline 'blorp'", "couldn't read"),
        ("/poll create Q A B --length forever", "not a duration"),
        ("/poll create Q A B --length 25h", "too long"),
        ("/poll create Q A B --zone Berlin/Mars", "not a time zone"),
        ("/poll create Q A B --to 'bad tag!'", "not a usable tag"),
        ("/poll create Q A " + "B" * 81, "the limit is 80"),
        ("/poll create Q\x07 A B", "control character (U+0007)"),
        ("/poll create Q\u202eA A B", "control character (U+202E)"),
        ("/note " + "x" * 51, "51 characters long; the limit is 50"),
        ("", "Type a command"),
    ],
)
def test_usage_errors_name_the_problem(text: str, says: str) -> None:
    with pytest.raises(UsageError) as caught:
        run(text)
    assert says in caught.value.message


def test_usage_errors_show_usage() -> None:
    with pytest.raises(UsageError) as caught:
        run("/poll create")
    assert caught.value.usage is not None
    assert caught.value.usage.startswith('/poll create "QUESTION" "OPTIONS"...')


def test_help_usage_lines_for_every_real_command() -> None:
    real = build_registry()
    for path, _spec in real.leaves():
        assert real.usage(path).startswith("/" + " ".join(path))


@settings(max_examples=examples(400), deadline=None)
@given(st.text(max_size=300))
def test_no_input_crashes_the_parser(text: str) -> None:
    for candidate in (text, "/poll create " + text, "/note " + text, "/coalition " + text):
        try:
            run(candidate)
        except UsageError as exc:
            assert exc.message


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.sampled_from(['"', "“", "”", "--", "--max", "=", " ", "a", "\\", "--to", "@", "#"]), max_size=30))
def test_no_punctuation_soup_crashes_the_parser(parts: list[str]) -> None:
    try:
        run("/poll create " + "".join(parts))
    except UsageError as exc:
        assert exc.message


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        (
            "/meeting schedule Coalition meeting tomorrow 7pm",
            'If the title is "Coalition meeting", put it in double quotes: '
            '`/meeting schedule "Coalition meeting" tomorrow 7pm`.',
        ),
        ('/meeting schedule "Coalition meeting" tomorow 7pm', "Did you mean 'tomorrow 7pm'?"),
        ('/meeting schedule "Walk" "wensday 6pm"', "Did you mean 'wednesday 6pm'?"),
        ("/meeting rsvp 1 yes", "'yes' is not one of: going, maybe, no. Did you mean 'going'?"),
        ("/meeting rsvp 1 goign", "Did you mean 'going'?"),
        ('/poll create "Q" A B --to all', "There is no option '--to' for this command. Did you mean '--also'?"),
    ],
)
def test_likely_slips_get_a_did_you_mean(typed: str, hint: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(build_registry(), typed, CTX)
    assert hint in caught.value.message, caught.value.message


def test_every_kind_of_option_has_a_converter_and_accepts_the_examples_its_forms_show() -> None:
    """A kind of option is one converter; the example a form shows in an empty field is what a
    member copies, so each one the bot shows must read as a value of that kind."""
    from commands.converters import CONVERTERS, Reading, convert

    assert set(CONVERTERS) == set(OptionType)
    reading = Reading(BERLIN, NOW, adapters.PLATFORMS[0], [])
    tried = 0
    for kind, converter in CONVERTERS.items():
        if converter.example is None or not converter.example.startswith(("e.g. ", "yes or")):
            continue
        for example in converter.example.removeprefix("e.g. ").split(" or "):
            option = OptionSpec("value", kind, "a value")
            assert convert(option, example.strip('"'), reading) not in (None, ""), (kind, example)
            tried += 1
    assert tried >= 7


async def test_a_time_zone_is_suggested_as_it_is_typed_even_before_there_is_a_coalition(dispatcher) -> None:
    from bot.refs import Actor, ConversationRef, UserRef

    actor = Actor(UserRef("console", "local", "sam"), "sam")
    suggested = await dispatcher.complete(
        ("coalition", "timezone"), "zone", "chic", actor, ConversationRef("console", "local", "general")
    )
    assert ("America/Chicago", "America/Chicago") in suggested and len(suggested) <= 25


def test_numbered_things_are_suggested_by_number_or_words_once_each() -> None:
    from commands.numbered import suggestions

    found = [
        (12, "Budget review", "Budget review (next Tue)"),
        (12, "Budget review", "later date"),
        (3, "Walk", "Walk"),
    ]
    assert suggestions("bud", found) == [("#12 Budget review (next Tue)", "12")]  # a series once, its next date
    assert suggestions("3", found) == [("#3 Walk", "3")]
    assert [v for _, v in suggestions("", found)] == ["12", "3"]
    assert len(suggestions("", [(7, "x", "y" * 300)])[0][0]) == 100  # Discord's limit for a choice's name
