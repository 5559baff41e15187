"""One converter per kind of option: how a member types it, how it is checked and converted,
what a form shows as an example, and what to suggest while they type.

The parser (commands/parser.py), Discord's split options, the forms of Slack and Discord and
autocomplete all ask the option's converter, so a new kind of option is one entry in
`CONVERTERS`, not a branch in each of them (the way discord.py's transformers carry an
argument's conversion and autocomplete together). A converter's failure is a TextProblem or a
TimeProblem whose message names what was wrong; the parser puts the option's name before it and
the usage after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import get_close_matches
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import N_, _
from bot.platform import ChannelMention, Platform, UserMention
from bot.spanish_words import meaning as spanish_meaning
from bot.text import TextProblem, check_text
from bot.times import TimeProblem, parse_day, parse_duration, parse_timezone, parse_when, zone_names
from commands.spec import OptionSpec, OptionType

LARGEST_INT = 2**31 - 1  # PostgreSQL's INTEGER, which ids are; SQLite's is wider
TYPED_LIMIT = 200  # characters of anything but free text, before it is read
_TAG = re.compile(r"[a-z0-9][a-z0-9_-]{0,29}")


@dataclass(frozen=True)
class Reading:
    """What converting needs to know about the member: where times are read, now, the platform
    whose mentions they type, and where to note how something ambiguous was read."""

    zone: ZoneInfo
    now: datetime
    platform: Platform
    notes: list[str]


Convert = Callable[[OptionSpec, str, Reading], Any]


@dataclass(frozen=True)
class Converter:
    convert: Convert
    # Given by its name alone (`--anonymous`); `--no-NAME` turns it off.
    flag: bool = False
    # As a command's last positional, takes the rest of the line without quotes
    # (`/coalition feedback the lights are out`, `/meeting schedule "Walk" next friday 6pm`).
    takes_rest: bool = False
    # An example for a form's empty field, in the reader's language (N_: translated when shown).
    example: str | None = None
    # What help says the option takes ("a member, typed as @name"); `{examples}`: durations'.
    described: str | None = None
    # Suggestions for what has been typed so far, as (shown, value), without the database.
    suggest: Callable[[str], list[tuple[str, str]]] | None = None
    # Characters that may be typed before it is read; None: the converter bounds it itself.
    typed_limit: int | None = TYPED_LIMIT


def _flag(option: OptionSpec, text: str, reading: Reading) -> bool:
    word = text.strip().lower()
    if word in ("yes", "true", "on", "1"):
        return True
    if word in ("no", "false", "off", "0"):
        return False
    raise TextProblem(_("'{value}' is not yes or no.").format(value=text))


def _text(option: OptionSpec, text: str, reading: Reading) -> str:
    multiline = option.type == OptionType.TEXT
    return check_text(text, what=option.metavar, max_length=option.length_limit, multiline=multiline)


def _number(option: OptionSpec, text: str, reading: Reading) -> int:
    try:
        number = int(text)
    except ValueError:
        raise TextProblem(_("'{text}' is not a whole number.").format(text=text)) from None
    if option.min_value is not None and number < option.min_value:
        raise TextProblem(
            _("{number} is too small; the minimum is {min_value}.").format(number=number, min_value=option.min_value)
        )
    # Unbounded options (ids) stop where a database integer does: a larger number names nothing.
    maximum = option.max_value if option.max_value is not None else LARGEST_INT
    if number > maximum:
        raise TextProblem(
            _("{number} is too large; the maximum is {max_value}.").format(number=number, max_value=maximum)
        )
    return number


def _choice(option: OptionSpec, text: str, reading: Reading) -> str:
    word = dict(option.aliases).get(text.lower(), text.lower())
    if word not in option.choices:
        word = spanish_meaning(text, option.choices) or word  # "voy", "coordinadora", "sí"
    if word not in option.choices:
        meant = dict(option.synonyms).get(word)
        hint = _(" Did you mean '{meant}'?").format(meant=meant) if meant else suggestion(word, list(option.choices))
        raise TextProblem(
            _("'{text}' is not one of: {choices}.{hint}").format(
                text=text, choices=", ".join(option.choices), hint=hint
            )
        )
    return word


def _user(option: OptionSpec, text: str, reading: Reading) -> UserMention:
    if mention := reading.platform.user_mention(text):
        return mention
    raise TextProblem(_("'{text}' is not a mention of a member; type @ and pick their name.").format(text=text))


def _channel(option: OptionSpec, text: str, reading: Reading) -> ChannelMention:
    if mention := reading.platform.channel_mention(text):
        return mention
    raise TextProblem(_("'{text}' is not a channel; type # and pick the channel.").format(text=text))


def _duration(option: OptionSpec, text: str, reading: Reading) -> timedelta:
    duration = parse_duration(text)
    if option.min_value is not None and duration.total_seconds() < option.min_value:
        raise TimeProblem(_("'{text}' is too short.").format(text=text))
    if option.max_value is not None and duration.total_seconds() > option.max_value:
        raise TimeProblem(_("'{text}' is too long.").format(text=text))
    return duration


def _tags(option: OptionSpec, text: str, reading: Reading) -> list[str]:
    tags = [t.strip().lower().lstrip("#") for t in text.split(",") if t.strip()]
    bad = [t for t in tags if not _TAG.fullmatch(t)]
    if bad:
        raise TextProblem(
            _("'{item}' is not a usable tag; tags are short words of letters, digits, '-' or '_'.").format(item=bad[0])
        )
    if len(tags) > 10:
        raise TextProblem(_("{tags} tags given; the limit is 10.").format(tags=len(tags)))
    return list(dict.fromkeys(tags))


def zones_matching(typed: str) -> list[tuple[str, str]]:
    """Time zone names for what has been typed: those starting with it (or whose city does),
    then those containing it; 25 at most, as Discord shows."""
    needle = typed.strip().lower().replace(" ", "_")
    names = sorted(zone_names().values())
    starts = [n for n in names if n.lower().startswith(needle) or n.lower().split("/")[-1].startswith(needle)]
    contains = [n for n in names if needle in n.lower() and n not in starts]
    return [(name, name) for name in (starts + contains)[:25]]


CONVERTERS: dict[OptionType, Converter] = {
    OptionType.BOOL: Converter(_flag, flag=True, example=N_("yes or no"), typed_limit=None),
    OptionType.STRING: Converter(_text, typed_limit=None),
    OptionType.TEXT: Converter(_text, takes_rest=True, typed_limit=None),
    OptionType.INT: Converter(_number, example=N_("a whole number")),
    OptionType.CHOICE: Converter(_choice),
    OptionType.USER: Converter(_user, described=N_("a member, typed as @name")),
    OptionType.CHANNEL: Converter(_channel, described=N_("a channel, typed as #name")),
    OptionType.DURATION: Converter(_duration, example=N_("e.g. 90m or 2h"), described=N_("a duration like {examples}")),
    OptionType.DATE: Converter(
        lambda option, text, reading: parse_day(text, reading.zone, reading.now),
        described=N_('a day like "2026-12-15", "dec 15" or "tuesday"'),
    ),
    OptionType.DATETIME: Converter(
        lambda option, text, reading: parse_when(text, reading.zone, reading.now, reading.notes),
        takes_rest=True,
        example=N_('e.g. "friday 9am" or "2026-12-01 18:30"'),
        described=N_('a time like "next tuesday 7pm", read in your time zone'),
    ),
    OptionType.TIMEZONE: Converter(
        lambda option, text, reading: parse_timezone(text),
        example=N_("e.g. America/Chicago"),
        described=N_("a time zone like Europe/Berlin"),
        suggest=zones_matching,
    ),
    OptionType.TAGS: Converter(
        _tags, example=N_("e.g. residents,youth"), described=N_("comma-separated tags like residents,youth")
    ),
}


def converter(option: OptionSpec) -> Converter:
    return CONVERTERS[option.type]


def convert(option: OptionSpec, value: Any, reading: Reading) -> Any:
    """One value of `option` as typed (or as a platform sent it: Discord's booleans and numbers)."""
    if isinstance(value, bool) and option.type == OptionType.BOOL:
        return value
    kind = converter(option)
    text = str(value)
    if kind.typed_limit is not None:
        text = check_text(text, what=option.metavar, max_length=kind.typed_limit)
    return kind.convert(option, text, reading)


def suggestion(word: str, candidates: list[str], prefix: str = "") -> str:
    """ " Did you mean 'X'?" for the closest of `candidates`, or nothing when none is close."""
    close = get_close_matches(word, candidates, n=1, cutoff=0.6)
    return _(" Did you mean '{prefix}{item}'?").format(prefix=prefix, item=close[0]) if close else ""
