"""Times typed in Spanish (issue 32): what a Spanish speaker means, read against a fixed "now" two
days before Chicago's change to daylight time (14 March 2027), every reading either right or
refused with a suggestion, never a silent guess; and where dateparser's own Spanish reads a phrase,
ours agrees with it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import dateparser
import pytest

from bot.i18n import speaking
from bot.times import TimeProblem, parse_when

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2027, 3, 12, 10, 0, tzinfo=CHICAGO)  # Friday, 10:00 CST; CDT from Sunday 2:00


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2027) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


PHRASES: list[tuple[str, datetime | str]] = [
    # Weekdays, whole and abbreviated, with and without accents.
    ("martes 19:00", at(3, 16, 19)),
    ("mar 7pm", at(3, 16, 19)),  # martes, not marzo: no day of the month follows
    ("el martes a las 7 de la tarde", at(3, 16, 19)),
    ("mié 19:00", at(3, 17, 19)),
    ("mie 19:00", at(3, 17, 19)),
    ("miércoles a las 18:30", at(3, 17, 18, 30)),
    ("jue 18:30", at(3, 18, 18, 30)),
    ("vie 17:00", at(3, 12, 17)),  # today, still ahead
    ("viernes 9:00", at(3, 19, 9)),  # today's 9:00 has passed: next Friday
    ("sáb 10:00", at(3, 13, 10)),
    ("sab 10:00", at(3, 13, 10)),
    ("dom 12:00", at(3, 14, 12)),  # after the change to daylight time: still noon
    ("domingo a las 18:00", at(3, 14, 18)),
    ("lun 18:00", at(3, 15, 18)),
    ("el próximo martes a las 19:00", at(3, 16, 19)),
    ("el sábado que viene a las 10", at(3, 13, 10)),
    # Today, tomorrow, the day after.
    ("hoy a las 18:00", at(3, 12, 18)),
    ("mañana a las 7pm", at(3, 13, 19)),
    ("manana a las 7pm", at(3, 13, 19)),
    ("pasado mañana al mediodía", at(3, 14, 12)),
    ("mañana por la mañana a las 9", at(3, 13, 9)),
    ("el martes por la mañana a las 9", at(3, 16, 9)),
    ("martes en la tarde a las 5", at(3, 16, 17)),
    ("mañana en la noche a las 8", at(3, 13, 20)),
    # Counts in words and figures.
    ("dentro de una hora", at(3, 12, 11)),
    ("en dos horas", at(3, 12, 12)),
    ("en media hora", at(3, 12, 10, 30)),
    ("dentro de 3 horas", at(3, 12, 13)),
    ("en 2 h", at(3, 12, 12)),
    ("dentro de una hora y media", at(3, 12, 11, 30)),
    ("dentro de 3 días a las 18:00", at(3, 15, 18)),
    # Clock words.
    ("a las 7 y media", at(3, 12, 19, 30)),
    ("6 y cuarto de la tarde", at(3, 12, 18, 15)),
    ("7 menos cuarto", at(3, 12, 18, 45)),
    ("12 del día", at(3, 12, 12)),
    ("mediodía", at(3, 12, 12)),
    ("medio día", at(3, 12, 12)),
    ("medianoche", at(3, 13, 0)),
    ("a medianoche", at(3, 13, 0)),
    ("7 p. m.", at(3, 12, 19)),
    ("7 p.m.", at(3, 12, 19)),
    ("7 pm", at(3, 12, 19)),
    ("19.00", at(3, 12, 19)),
    ("19 h", at(3, 12, 19)),
    ("19 hrs", at(3, 12, 19)),
    ("a las 19 hrs", at(3, 12, 19)),
    ("a las 11 de la mañana", at(3, 12, 11)),  # today: 11 is still ahead at 10:00
    # Dates.
    ("el 20 de marzo a las 18:00", at(3, 20, 18)),
    ("20 de marzo de 2027 18:00", at(3, 20, 18)),
    ("15 mar 18:00", at(3, 15, 18)),  # marzo: a day of the month comes first
    ("el 20 a las 19:00", at(3, 20, 19)),
    ("el 15 de enero a las 6 pm", at(1, 15, 18, year=2028)),  # already past this year: next year's
    ("el segundo martes de abril a las 18:00", at(4, 13, 18)),
    ("el primer lunes de abril a las 18:00", at(4, 5, 18)),
    ("el último viernes de marzo a las 17:00", at(3, 26, 17)),
    ("2027-03-20 18:30", at(3, 20, 18, 30)),
    # Refused, each with what to write instead: never read as something else.
    ("cada martes a las 19:00", "--every"),
    ("el primer lunes de cada mes", "--every"),
    ("todos los jueves a las 6", "--every"),
    ("martes", "¿a qué hora?"),
    ("en la tarde", "No pude entender"),
    ("ayer a las 5", "No pude entender"),
    ("mañna 7pm", "¿Quiso decir 'mañana 7pm'?"),  # a slip, with the word it was meant to be
    ("miercoels 19:00", "¿Quiso decir 'miércoles 19:00'?"),
]


@pytest.mark.parametrize(("text", "meant"), PHRASES, ids=[p[0] for p in PHRASES])
def test_what_a_spanish_speaker_means(text: str, meant: datetime | str) -> None:
    with speaking("es"):
        if isinstance(meant, str):
            with pytest.raises(TimeProblem) as refused:
                parse_when(text, CHICAGO, NOW, [], "es")
            assert meant in str(refused.value), str(refused.value)
            return
        read = parse_when(text, CHICAGO, NOW, [], "es")
    assert read.astimezone(CHICAGO) == meant, read.astimezone(CHICAGO)


# Phrases dateparser's Spanish reads as a Spanish speaker means them: ours must agree. (It reads
# "mar 7pm" as today, in March, and "a las 19 hrs" as 19 hours from now: the misreadings this
# parser refuses to copy.)
AGREED = [
    "martes 19:00",
    "miércoles a las 18:30",
    "mañana a las 7pm",
    "20 de marzo a las 18:00",
    "mañana a las 19:00",
    "domingo a las 18:00",
    "lunes 18:00",
    "dentro de 3 horas",
    "hoy a las 18:00",
    "2027-03-20 18:30",
]


@pytest.mark.parametrize("text", AGREED)
def test_where_dateparser_reads_spanish_ours_agrees(text: str) -> None:
    theirs = dateparser.parse(
        text,
        languages=["es"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": NOW.replace(tzinfo=None),
            "TIMEZONE": "America/Chicago",
            "RETURN_AS_TIMEZONE_AWARE": True,
        },
    )
    assert theirs is not None, f"dateparser no longer reads {text!r}"
    with speaking("es"):
        ours = parse_when(text, CHICAGO, NOW, [], "es")
    assert ours == theirs.astimezone(ours.tzinfo), (ours, theirs)


def test_the_table_is_large_enough() -> None:
    assert len(PHRASES) >= 60


def test_months_ahead_read_in_spanish_as_in_english() -> None:
    """A review date "dentro de 6 meses" (`/decision outcome`) was refused; "in 6 months" was read."""
    zone = ZoneInfo("America/Chicago")
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    english = parse_when("in 6 months", zone, now)
    with speaking("es"):
        for typed in ("dentro de 6 meses", "en 6 meses", "dentro de seis meses"):
            assert parse_when(typed, zone, now) == english, typed
        assert parse_when("en un mes", zone, now) == parse_when("in 1 month", zone, now)
