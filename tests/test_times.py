from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.times import TimeProblem, format_duration, parse_duration, parse_timezone, parse_when
from tests.harness import Harness, shown

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday, 10:00 in Berlin


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("90m", 90),
        ("2h", 120),
        ("1h30m", 90),
        ("1h 30m", 90),
        ("3d", 4320),
        ("1w", 10080),
        ("45s", 0.75),
        ("90 minutes", 90),
        ("2 hours", 120),
        ("1 hour and 30 minutes", 90),
        ("1 hour, 30 mins", 90),
        ("2 weeks", 20160),
        ("90 minutos", 90),
        ("1 hora y 30 minutos", 90),
        ("3 días", 4320),
        ("1 semana", 10080),
    ],
)
def test_durations(text: str, minutes: float) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    "text", ["", "forever", "90", "m90", "1.5h", "-2h", "2 horses", "1 hour and", "and 2h", "1 hour y y 2m", "2 mo"]
)
def test_bad_durations(text: str) -> None:
    with pytest.raises(TimeProblem, match="not a duration"):
        parse_duration(text)


def test_format_duration() -> None:
    assert format_duration(timedelta(hours=25, minutes=5)) == "1d1h5m"


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("next tuesday 7pm", datetime(2026, 11, 24, 19, 0)),
        ("in 3 days at 18:00", datetime(2026, 11, 26, 18, 0)),
        ("2026-12-01 18:30", datetime(2026, 12, 1, 18, 30)),
        ("friday 5pm", datetime(2026, 11, 27, 17, 0)),
        ("in 2 hours", datetime(2026, 11, 23, 12, 0)),
        ("at 7", datetime(2026, 11, 23, 19, 0)),  # an hour without am/pm: in usual meeting hours
        ("19:30", datetime(2026, 11, 23, 19, 30)),
    ],
)
def test_when_is_read_in_the_members_zone(text: str, local: datetime) -> None:
    assert parse_when(text, BERLIN, NOW) == local.replace(tzinfo=BERLIN).astimezone(UTC)


def test_when_across_a_dst_change() -> None:
    before_change = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # Friday before Europe springs forward
    monday = parse_when("monday 9am", BERLIN, before_change)
    assert monday == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST is UTC+2


@pytest.mark.parametrize(
    ("text", "says"), [("yesterday", "in the past"), ("blorp", "couldn't read"), ("25:00", "not a time")]
)
def test_bad_times(text: str, says: str) -> None:
    with pytest.raises(TimeProblem, match=says):
        parse_when(text, BERLIN, NOW)


def test_time_zones_case_insensitive_with_suggestions() -> None:
    assert parse_timezone("america/new_york") == "America/New_York"
    assert parse_timezone("America/New York") == "America/New_York"
    with pytest.raises(TimeProblem, match="Did you mean America/Chicago"):
        parse_timezone("America/Chicagoo")


CHICAGO = ZoneInfo("America/Chicago")
TUESDAY = datetime(2026, 12, 1, 9, 0, tzinfo=CHICAGO)  # Tue 1 Dec 2026, 09:00 in Chicago


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


PM, AM = "was read as {}pm", "was read as {}am"

# What a volunteer types, read at Tue 1 Dec 2026 09:00 in Chicago: the moment, or what the refusal
# says; and, for an hour without am/pm, which reading the note names.
PHRASES: list[tuple[str, datetime | str, str | None]] = [
    # Issue 16: a weekday with a bare hour is that weekday, in meeting hours; not a month.
    ("tues 7", at(12, 1, 19), PM.format(7)),
    ("thu 7", at(12, 3, 19), PM.format(7)),
    ("Tuesday 7", at(12, 1, 19), PM.format(7)),
    ("fri 6", at(12, 4, 18), PM.format(6)),
    ("sat 10", at(12, 5, 10), AM.format(10)),
    ("the 3rd thursday", "Thu 17 Dec 2026, but at what time", None),
    ("the 3rd thursday 7pm", at(12, 17, 19), None),
    ("tonight at 7", at(12, 1, 19), None),
    ("next tues 7", at(12, 8, 19), PM.format(7)),
    ("Dec 3rd 7", at(12, 3, 19), PM.format(7)),
    ("Dec 1 8:00", "Tue 01 Dec 2026, 08:00 CST, which is in the past", None),
    ("8am", "which is in the past", None),
    ("Jan 5", "Tue 05 Jan 2027, but at what time", None),
    ("next monday", "Mon 07 Dec 2026, but at what time", None),
    # Days.
    ("tomorrow", "Wed 02 Dec 2026, but at what time", None),
    ("tonight", "Tue 01 Dec 2026, but at what time", None),
    ("next week", "Tue 08 Dec 2026, but at what time", None),
    ("yesterday", "in the past", None),
    ("Nov 30 7pm", "Mon 30 Nov 2026, 19:00 CST, which is in the past", None),
    # A day of the month alone is that day of this month (or the next), never a month.
    ("on the 10th at 7pm", at(12, 10, 19), None),
    ("the 3rd at 7pm", at(12, 3, 19), None),
    ("the 31st at 7pm", at(12, 31, 19), None),
    ("tuesday 7pm", at(12, 1, 19), None),
    ("tuesday 8am", at(12, 8, 8), None),  # today's 8am has passed: next Tuesday
    ("next tuesday 7pm", at(12, 8, 19), None),
    ("wed 12", at(12, 2, 12), None),
    ("thurs 6:45", at(12, 3, 18, 45), PM.format("6:45")),
    ("friday 5pm", at(12, 4, 17), None),
    ("friday at 6:30", at(12, 4, 18, 30), PM.format("6:30")),
    ("saturday 9", at(12, 5, 9), AM.format(9)),
    ("sunday 2", at(12, 6, 14), PM.format(2)),
    ("monday 9am", at(12, 7, 9), None),
    ("7pm friday", at(12, 4, 19), None),
    ("7 p.m. tomorrow", at(12, 2, 19), None),
    ("tomorrow 6pm", at(12, 2, 18), None),
    ("tomorrow at noon", at(12, 2, 12), None),
    ("tomorrow 7:30", at(12, 2, 19, 30), PM.format("7:30")),
    ("tomorrow morning at 9", at(12, 2, 9), None),
    ("this evening at 8", at(12, 1, 20), None),
    # Dates.
    ("Dec 1 7pm", at(12, 1, 19), None),
    ("dec 24 at 6", at(12, 24, 18), PM.format(6)),
    ("dec 31 11:59pm", at(12, 31, 23, 59), None),
    ("3 dec 7pm", at(12, 3, 19), None),
    ("12/3 7pm", at(12, 3, 19), None),
    ("Fri Dec 4 6pm", at(12, 4, 18), None),
    ("Thursday, Dec 3 at 7 PM", at(12, 3, 19), None),
    ("jan 5 7pm", at(1, 5, 19, year=2027), None),
    ("January 15th at 6pm", at(1, 15, 18, year=2027), None),
    ("2026-12-01 18:30", at(12, 1, 18, 30), None),
    ("2026-12-10 09:15", at(12, 10, 9, 15), None),
    ("the 2nd tuesday 6pm", at(12, 8, 18), None),
    ("the first monday of next month 6pm", at(1, 4, 18, year=2027), None),
    ("1st monday of january 7pm", at(1, 4, 19, year=2027), None),
    ("last friday of december 5pm", at(12, 25, 17), None),
    # Times of day alone.
    ("7", at(12, 1, 19), PM.format(7)),
    ("at 7", at(12, 1, 19), PM.format(7)),
    ("11", at(12, 1, 11), AM.format(11)),
    ("6 pm", at(12, 1, 18), None),
    ("19:30", at(12, 1, 19, 30), None),
    ("noon", at(12, 1, 12), None),
    ("midnight", at(12, 2, 0), None),
    ("at 0:30", at(12, 2, 0, 30), None),
    ("at 7:30am", "which is in the past", None),
    # Moments from now.
    ("in 2 hours", at(12, 1, 11), None),
    ("in 30 minutes", at(12, 1, 9, 30), None),
    ("in 3 days", at(12, 4, 9), None),
    ("in 3 days at 18:00", at(12, 4, 18), None),
    # Not times.
    ("blorp", "couldn't read", None),
    ("25:00", "not a time of day", None),
    ("tomorow 7pm", "Did you mean 'tomorrow 7pm'?", None),
]


@pytest.mark.parametrize(("text", "expected", "note"), PHRASES, ids=[p[0] for p in PHRASES])
def test_phrases_a_volunteer_types(text: str, expected: datetime | str, note: str | None) -> None:
    notes: list[str] = []
    if isinstance(expected, str):
        with pytest.raises(TimeProblem) as refused:
            parse_when(text, CHICAGO, TUESDAY, notes)
        assert expected in str(refused.value)
        return
    assert parse_when(text, CHICAGO, TUESDAY, notes).astimezone(CHICAGO) == expected
    if note is None:
        assert notes == []
    else:
        assert len(notes) == 1 and note in notes[0]
        assert "write '" in notes[0]  # and how to write the other reading


def test_the_table_is_large_enough() -> None:
    assert len(PHRASES) >= 60


@pytest.mark.parametrize(
    "text",
    ["Dec 3 2026 7pm", "2026-12-10 09:15", "December 24, 2026 6:30pm", "Jan 5 2027 19:00", "3 December 2026 18:00"],
)
def test_full_dates_agree_with_dateutil(text: str) -> None:
    """An independent reading of dates that leave nothing to guess."""
    from dateutil import parser as dateutil_parser

    reference = dateutil_parser.parse(text).replace(tzinfo=CHICAGO)
    assert parse_when(text, CHICAGO, TUESDAY).astimezone(CHICAGO) == reference


async def test_the_reply_says_how_an_hour_without_am_pm_was_read(bot: Harness) -> None:
    """Through the command: the meeting lands on Thursday evening, and the reply says so and how to
    write the morning instead; a day without a time is asked about, and nothing is scheduled."""
    reply = await bot.run('/meeting schedule "Budget review" --when "thu 7"')
    assert not reply.error
    assert "Thursday 26 November 2026 at 19:00" in shown(reply)
    assert "'7' was read as 7pm; for 7am, write '7am'." in shown(reply)
    asked = await bot.run('/meeting schedule "Budget review" --when "next monday"')
    assert asked.error and "but at what time?" in shown(asked)
    listed = shown(await bot.run("/meeting list"))
    assert listed.count("Budget review") == 1


# Spanish (issue 19) ----------------------------------------------------------------------------

CHICAGO = ZoneInfo("America/Chicago")
WEDNESDAY = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # Wednesday 2 December, 09:00 in Chicago


@pytest.mark.parametrize(
    "spanish",
    [
        "martes 19:00",
        "mañana a las 7pm",
        "15 de diciembre a las 18:30",
        "en 2 horas",
        "domingo 18:00",
        "mañana 19:00",
        "dentro de 3 días a las 18:00",
        "lunes 8:30",
    ],
)
def test_spanish_times_agree_with_dateparser_reading_spanish(spanish: str) -> None:
    """dateparser's own Spanish, an independent reader, where it reads the phrase at all."""
    import dateparser

    local = WEDNESDAY.astimezone(CHICAGO).replace(tzinfo=None)
    reference = dateparser.parse(
        spanish, languages=["es"], settings={"PREFER_DATES_FROM": "future", "RELATIVE_BASE": local}
    )
    assert reference is not None
    ours = parse_when(spanish, CHICAGO, WEDNESDAY, language="es").astimezone(CHICAGO).replace(tzinfo=None)
    assert ours == reference


@pytest.mark.parametrize(
    ("spanish", "english"),
    [
        ("el próximo martes a las 19:00", "next tuesday at 19:00"),
        ("pasado mañana al mediodía", "2026-12-04 noon"),
        ("hoy a las 8 de la noche", "today at 8pm"),
        ("el viernes a las 9 de la mañana", "friday at 9am"),
        ("jueves 7 de la tarde", "thursday 7pm"),
        ("el 3 de enero a las 17:00", "jan 3 at 17:00"),
        ("sábado a las 10", "saturday at 10"),
        ("el tercer jueves del mes a las 18:00", "the third thursday of this month at 18:00"),
        ("el último viernes del mes a las 17:00", "the last friday of this month at 17:00"),
        ("miércoles 7 de la tarde", "wednesday 7pm"),
        ("miercoles 19h", "wednesday 19h"),
        ("esta noche a las 8", "tonight at 8"),
        ("mañana por la mañana a las 9", "tomorrow morning at 9"),
    ],
)
def test_spanish_times_mean_what_the_english_words_mean(spanish: str, english: str) -> None:
    """Where dateparser's Spanish gives up (or reads "a las 10" as the 10th), the phrase means what
    its English says, to the minute."""
    assert parse_when(spanish, CHICAGO, WEDNESDAY, language="es") == parse_when(english, CHICAGO, WEDNESDAY)


def test_english_still_reads_for_a_spanish_speaker_and_spanish_only_for_them() -> None:
    assert parse_when("next tuesday 7pm", CHICAGO, WEDNESDAY, language="es") == parse_when(
        "next tuesday 7pm", CHICAGO, WEDNESDAY
    )
    with pytest.raises(TimeProblem):
        parse_when("martes 19:00", CHICAGO, WEDNESDAY, language="en")
