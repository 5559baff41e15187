"""Reading times and durations the way members type them, in their own time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from difflib import get_close_matches
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.i18n import N_, _, ngettext
from bot.markup import format_day, format_time
from bot.problems import Problem

# A duration as members write it: "90m", "1h30m", "2 hours", "1 hour and 30 minutes", "90 minutos",
# "1 hora y media" is not taken (a word for a number); whole numbers only, as "1.5h" reads two ways.
_UNITS = {
    "w": ("w", "wk", "wks", "week", "weeks", "semana", "semanas", "sem"),
    "d": ("d", "day", "days", "día", "días", "dia", "dias"),
    "h": ("h", "hr", "hrs", "hour", "hours", "hora", "horas"),
    "m": ("m", "min", "mins", "minute", "minutes", "minuto", "minutos"),
    "s": ("s", "sec", "secs", "second", "seconds", "segundo", "segundos", "seg"),
}
_UNIT_OF = {word: unit for unit, words in _UNITS.items() for word in words}
_UNIT_WORD = "|".join(sorted(map(re.escape, _UNIT_OF), key=len, reverse=True))
_DURATION_PART = re.compile(rf"(\d+)\s*({_UNIT_WORD})(?![a-zá-ú])", re.I)
_DURATION = re.compile(rf"\s*\d+\s*(?:{_UNIT_WORD})(?:\s*(?:,|\band\b|\by\b)?\s*\d+\s*(?:{_UNIT_WORD}))*\s*", re.I)
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}

DURATION_EXAMPLES = "90m, 2h, 1h30m or 3d"
WHEN_EXAMPLES = N_('"next tuesday 7pm", "in 3 days at 18:00" or "2026-12-01 18:30"')


class TimeProblem(Problem):
    """A time or duration could not be understood; the message says how to write it."""


class PastTime(TimeProblem):
    """The time was understood, and it has passed."""


def parse_duration(text: str) -> timedelta:
    if not _DURATION.fullmatch(text):
        raise TimeProblem(
            _("'{text}' is not a duration; write it like {examples}.").format(text=text, examples=DURATION_EXAMPLES)
        )
    seconds = sum(int(n) * _UNIT_SECONDS[_UNIT_OF[u.lower()]] for n, u in _DURATION_PART.findall(text))
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0m"


def spoken_duration(delta: timedelta) -> str:
    """A length as a member reads it, in the language in force: "1 día", "2 hours 30 minutes"
    (`format_duration` writes it as it is typed: "1d", "2h30m")."""
    seconds = int(delta.total_seconds())
    days, hours, minutes = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
    parts = []
    if days:
        parts.append(ngettext("{n} day", "{n} days", days).format(n=days))
    if hours:
        parts.append(ngettext("{n} hour", "{n} hours", hours).format(n=hours))
    if minutes or not parts:
        parts.append(ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes))
    return " ".join(parts)


@lru_cache(maxsize=1)
def zone_names() -> dict[str, str]:
    """Every IANA zone, keyed by its lower-case name."""
    return {name.lower(): name for name in available_timezones()}


def parse_timezone(text: str) -> str:
    """An IANA zone name, matched without regard to case; suggestions when it is close."""
    name = zone_names().get(text.strip().lower().replace(" ", "_"))
    if name:
        try:
            ZoneInfo(name)
            return name
        except ZoneInfoNotFoundError:
            pass
    close = get_close_matches(text.strip().lower(), list(zone_names()), n=3, cutoff=0.6)
    hint = _(" Did you mean {zones}?").format(zones=", ".join(zone_names()[c] for c in close)) if close else ""
    raise TimeProblem(
        _("'{text}' is not a time zone I know.{hint} Use a name like Europe/Berlin or America/Chicago.").format(
            text=text, hint=hint
        )
    )


WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4, "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}  # fmt: skip
MONTH_NUMBERS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
    "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}  # fmt: skip
MONTHS = tuple(MONTH_NUMBERS)
ORDINALS = {"1st": 1, "first": 1, "2nd": 2, "second": 2, "3rd": 3, "third": 3, "4th": 4, "fourth": 4, "last": -1}
EVENING = ("tonight", "this evening", "tomorrow night", "tomorrow evening", "this afternoon", "tomorrow afternoon")
MORNING = ("this morning", "tomorrow morning")

_AMPM = r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ap>a\.?m\.?|p\.?m\.?)"
_CLOCK = r"(?P<h2>\d{1,2}):(?P<m2>\d{2})"
_NAMED = r"(?P<named>noon|midday|midnight)"
_BARE = r"(?P<h3>\d{1,2})(?:\s*(?:h|o'?clock))?"
_TRAILING_TIME = re.compile(rf"(?:^|\s)(?P<at>(?:at|@)\s*)?(?:{_AMPM}|{_CLOCK}|{_NAMED}|{_BARE})$")
_LEADING_TIME = re.compile(rf"^(?:{_AMPM}|{_CLOCK}|{_NAMED})(?:\s+(?:on\s+)?|$)")
_ORDINAL_DAY = re.compile(
    r"^(?:the\s+)?(?P<nth>1st|first|2nd|second|3rd|third|4th|fourth|last)\s+(?P<day>[a-z]+)"
    r"(?:\s+(?:of|in)\s+(?P<which>this month|next month|[a-z]+))?$"
)
RECENTLY = timedelta(days=31)  # a date without a year this close behind is a mistake, not next year's
_DAY_OF_MONTH = re.compile(r"^(?:on\s+)?(?:the\s+)?(?P<n>\d{1,2})(?:st|nd|rd|th)$")
_WEEKDAY = re.compile(r"^(?:(?P<rel>this|next|on)\s+)?(?P<day>[a-z]+)$")
_MOMENT = re.compile(r"^(?:in\s+\d+\s*(?:minutes?|mins?|hours?|hrs?|m|h)|\d+\s*(?:minutes?|hours?)\s+from\s+now|now)$")
_YEAR = re.compile(r"\b\d{4}\b")


@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int
    ambiguous: bool  # 1 to 11 without am/pm: morning or evening
    bare: bool  # typed without am/pm (rolls to tomorrow when today's has passed, if no day is named)
    typed: str


def parse_when(
    text: str, zone: ZoneInfo, now: datetime, notes: list[str] | None = None, language: str | None = None
) -> datetime:
    """A future moment, read in `zone` relative to `now`; returned in UTC.

    Read in English, and in the member's `language` too (default: the one in force, bot.i18n):
    "martes 19:00" and "mañana a las 7pm" are first put in the English words they mean.

    A day and a time are read apart: the time by the rules below, the day by dateparser (or here,
    for weekdays and "the 3rd thursday", which it misreads). An hour from 1 to 11 without am/pm is
    read in usual meeting hours (8 to 11 in the morning, 1 to 7 in the afternoon and evening, or as
    "tonight" and "this morning" say), and a note saying so is added to `notes`. A day without a
    time is refused with a question, not taken as midnight.
    """
    local_now = now.astimezone(zone)
    cleaned = _in_english(" ".join(text.split()), local_now, language)
    lowered = cleaned.lower().rstrip(".").replace(",", " ")
    lowered = " ".join(lowered.split())
    day_text, clock = _split(lowered)
    if clock is not None and (clock.hour > 23 or clock.minute > 59):
        raise TimeProblem(_("'{text}' is not a time of day.").format(text=text))
    if clock is None and not day_text:
        raise TimeProblem(
            _("I couldn't read '{text}' as a time; write it like {examples}.").format(
                text=text, examples=_(WHEN_EXAMPLES)
            )
        )
    if clock is None:
        if _MOMENT.match(day_text) or not _names_a_day(day_text):
            return _whole(text, cleaned, zone, now, language)
        day = _day(day_text, local_now, None)
        if day is None:
            return _whole(text, cleaned, zone, now, language)
        shown_day = format_day(day)
        if datetime.combine(day, datetime.max.time(), zone) <= local_now:
            raise PastTime(
                _("'{text}' is {when}, which is in the past. Please give a future time.").format(
                    text=text, when=shown_day
                )
            )
        raise TimeProblem(
            _("'{text}' is {day}, but at what time? Write it like '{typed} 7pm'.").format(
                text=text, day=shown_day, typed=cleaned
            )
        )
    hour = _meeting_hour(clock, day_text, notes)
    if not day_text:
        result = local_now.replace(hour=hour, minute=clock.minute, second=0, microsecond=0)
        if clock.bare and result <= local_now:
            result += timedelta(days=1)
    else:
        day = _day(day_text, local_now, (hour, clock.minute))
        if day is None:
            return _whole(text, cleaned, zone, now, language)
        result = datetime(day.year, day.month, day.day, hour, clock.minute, tzinfo=zone)
    return _future(text, result, zone, now)


def parse_day(text: str, zone: ZoneInfo, now: datetime, language: str | None = None) -> date:
    """A day as a member names it ("2026-12-15", "dec 15", "tuesday", "the 3rd thursday"), in `zone`;
    past days too (the minutes of last week's meeting). In English and the member's `language`."""
    cleaned = " ".join(_in_english(text, now.astimezone(zone), language).lower().replace(",", " ").split())
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        pass
    day = _day(cleaned, now.astimezone(zone), None) if cleaned else None
    if day is None:
        raise TimeProblem(
            _("I couldn't read '{text}' as a day; write it like 2026-12-15, dec 15 or tuesday.").format(text=text)
        )
    return day


# Spanish, as residents type a meeting time, put in the English words the parser reads. Longer
# phrases first; accents are optional ("miercoles", "proximo"), as phones often drop them.
_SPANISH_PHRASES = (
    (r"manana por la manana", "tomorrow morning"),
    (r"manana por la tarde", "tomorrow afternoon"),
    (r"manana por la noche", "tomorrow night"),
    (r"esta manana", "this morning"),
    (r"esta tarde", "this afternoon"),
    (r"esta noche", "tonight"),
    (r"(?:por|en) la manana", "morning"),
    (r"(?:por|en) la tarde", "afternoon"),
    (r"(?:por|en) la noche", "evening"),
    (r"de la manana", "am"),
    (r"de la tarde", "pm"),
    (r"de la noche", "pm"),
    (r"(?:al|a|el) mediodia|mediodia", "noon"),
    (r"(?:a la )?medianoche", "midnight"),
    (r"a las|a la", "at"),
    (r"(?:el |la )?(?:proximo|proxima)|que viene", "next"),
    (r"(?:este|esta)", "this"),
    (r"hoy", "today"),
    (r"manana", "tomorrow"),
    (r"(?:en|dentro de) (\d+) (?:minutos?|min)", r"in \1 minutes"),
    (r"(?:en|dentro de) (\d+) horas?", r"in \1 hours"),
    (r"(?:en|dentro de) (\d+) dias?", r"in \1 days"),
    (r"(?:en|dentro de) (\d+) semanas?", r"in \1 weeks"),
    (r"(?:en|dentro de) (\d+) mes(?:es)?", r"in \1 months"),
    (r"del mes next|del next mes|del mes siguiente", "of next month"),
    (r"de este mes|del mes", "of this month"),
    (r"el (primer|primero|primera|segundo|segunda|tercer|tercero|tercera|cuarto|cuarta|ultimo|ultima)", r"the \1"),
    (r"(\d{1,2}) de ([a-z]+)(?: de (\d{4}))?", r"\2 \1 \3"),
    (r"(?:el|los|la|las|del|de)", ""),
)
_SPANISH_WORDS = {
    "lunes": "monday", "martes": "tuesday", "miercoles": "wednesday", "jueves": "thursday",
    "viernes": "friday", "sabado": "saturday", "domingo": "sunday",
    "enero": "january", "febrero": "february", "marzo": "march", "abril": "april", "mayo": "may",
    "junio": "june", "julio": "july", "agosto": "august", "septiembre": "september", "setiembre": "september",
    "octubre": "october", "noviembre": "november", "diciembre": "december",
    "primer": "first", "primero": "first", "primera": "first", "segundo": "second", "segunda": "second",
    "tercer": "third", "tercero": "third", "tercera": "third", "cuarto": "fourth", "cuarta": "fourth",
    "ultimo": "last", "ultima": "last", "ahora": "now", "semana": "week",
}  # fmt: skip


def _in_english(text: str, local_now: datetime, language: str | None) -> str:
    """The time `text` names, in the English words the parser reads (unchanged unless `language`,
    or the language in force, is Spanish)."""
    from bot.i18n import language as in_force

    if (language or in_force()) != "es":
        return text
    import unicodedata

    plain = "".join(
        c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c) or c == "\u0303"
    )
    plain = unicodedata.normalize("NFC", plain).replace("ñ", "n")
    plain = " " + " ".join(plain.replace(",", " ").split()) + " "
    plain = re.sub(r" pasado manana ", f" {(local_now.date() + timedelta(days=2)).isoformat()} ", plain)
    if re.search(r" (?:cada|todos los|todas las) ", plain):
        raise TimeProblem(
            _(
                "'{text}' repeats. Give the first meeting's time, and the rest with --every "
                '(weekly, 2weeks, monthly, or a rule), e.g. "martes 19:00" --every weekly.'
            ).format(text=text)
        )
    for pattern, english in _SPANISH_CLOCK:
        plain = re.sub(rf"(?<= ){pattern}(?= )", english, plain)
    for pattern, english in _SPANISH_PHRASES:
        plain = re.sub(rf"(?<= ){pattern}(?= )", english, plain)
    words = plain.split()
    read = []
    for n, word in enumerate(words):
        after_number = n > 0 and words[n - 1].isdigit()
        if word in _SPANISH_MONTH_ABBREVIATIONS and (after_number or (n + 1 < len(words) and words[n + 1].isdigit())):
            read.append(_SPANISH_MONTH_ABBREVIATIONS[word])  # "15 mar": March; "mar 7pm": Tuesday
        else:
            read.append(_SPANISH_WORDS.get(word, _SPANISH_DAY_ABBREVIATIONS.get(word, word)))
    return " ".join(read)


_NUMBER_WORDS = {
    "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8,
    "nueve": 9, "diez": 10, "once": 11, "doce": 12, "quince": 15, "veinte": 20, "treinta": 30, "cuarenta": 40,
}  # fmt: skip
_NUMBER = "|".join(_NUMBER_WORDS)


def _hour_before(match: re.Match[str]) -> str:
    hour = int(match.group(1))
    return f"{(hour - 1) % 24 or (12 if hour == 1 else 0)}:45"


# Clock and count words first, where Spanish writes a time differently: "7 y media", "6 y cuarto",
# "7 menos cuarto", "19 hrs", "19.00", "7 p. m.", "dentro de una hora", "en media hora".
_SPANISH_CLOCK = (
    (r"p\. ?m\.?", "pm"),
    (r"a\. ?m\.?", "am"),
    (
        rf"({_NUMBER}) (horas?|hrs?|minutos?|min|dias?|semanas?|mes(?:es)?)",
        lambda m: f"{_NUMBER_WORDS[m.group(1)]} {m.group(2)}",
    ),
    (r"(\d+) horas? y media", lambda m: f"{int(m.group(1)) * 60 + 30} minutos"),
    (r"media hora", "30 minutos"),
    (r"(?:en|dentro de) (\d+) (?:horas?|hrs?|h)", r"in \1 hours"),
    (r"(\d{1,2}) menos cuarto", _hour_before),
    (r"(\d{1,2}) y cuarto", r"\1:15"),
    (r"(\d{1,2}) y media", r"\1:30"),
    (r"(\d{1,2})\.(\d{2})", r"\1:\2"),
    (r"(\d{1,2}):(\d{2}) ?(?:hrs?|h)", r"\1:\2"),
    (r"(\d{1,2}) ?(?:hrs?|h)", r"\1:00"),
    (r"12 del dia", "noon"),
    (r"(\d{1,2}) del dia", r"\1 am"),
    (r"medio dia", "mediodia"),
    (r"(?:a la |a |al )?medianoche", "midnight"),
    (r"(?:por|en) la manana (?:a las |a la )?(\d{1,2}(?::\d{2})?)", r"\1 am"),
    (r"(?:por|en) la (?:tarde|noche) (?:a las |a la )?(\d{1,2}(?::\d{2})?)", r"\1 pm"),
    (r"(?:a las |a la )?(\d{1,2}(?::\d{2})?) (?:por|en) la manana", r"\1 am"),
    (r"(?:a las |a la )?(\d{1,2}(?::\d{2})?) (?:por|en) la (?:tarde|noche)", r"\1 pm"),
    (r"(?:el |la )?([a-z]+) que viene", r"next \1"),
    (
        r"(?:el |la )?(primer|primero|primera|segundo|segunda|tercer|tercero|tercera|cuarto|cuarta|ultimo|ultima) "
        r"(lunes|martes|miercoles|jueves|viernes|sabado|domingo) de ([a-z]+)",
        r"the \1 \2 of \3",
    ),
    (r"el (?:dia )?(\d{1,2})(?= (?:a las|a la|at) )", r"the \1th"),
)
_SPANISH_DAY_ABBREVIATIONS = {
    "lun": "monday", "mar": "tuesday", "mie": "wednesday", "mier": "wednesday", "jue": "thursday",
    "vie": "friday", "sab": "saturday", "dom": "sunday",
}  # fmt: skip
_SPANISH_MONTH_ABBREVIATIONS = {
    "ene": "january", "feb": "february", "mar": "march", "abr": "april", "may": "may", "jun": "june",
    "jul": "july", "ago": "august", "sep": "september", "sept": "september", "oct": "october",
    "nov": "november", "dic": "december",
}  # fmt: skip


def _split(text: str) -> tuple[str, _Clock | None]:
    """The words naming the day, and the time of day, wherever it stands ("tues 7", "7pm friday")."""
    match = _TRAILING_TIME.search(text)
    if match:
        rest = text[: match.start()].strip()
        if match.group("h3") is not None and not match.group("at") and rest:
            words = rest.split()
            if words[-1] in MONTHS or words[-1].isdigit():  # "Jan 5", "5 5": the number is a day
                match = None
        if match and match.group("h3") is not None and not match.group("at") and rest and not _names_a_day(rest):
            match = None  # "in 3": not a day followed by an hour
        if match:
            rest = re.sub(r"\s+(?:at|on)$", "", rest).strip()
            return rest, _clock(match)
    match = _LEADING_TIME.match(text)
    if match:
        return text[match.end() :].strip(), _clock(match)
    return text, None


def _clock(match: re.Match[str]) -> _Clock:
    typed = match.group(0).strip()
    if match.group("named"):
        return _Clock(0 if match.group("named") == "midnight" else 12, 0, False, True, typed)
    if match.group("h") is not None:
        hour, minute = int(match.group("h")), int(match.group("m") or 0)
        if not 1 <= hour <= 12:
            return _Clock(99, minute, False, False, typed)
        evening = match.group("ap").startswith("p")
        return _Clock(hour % 12 + (12 if evening else 0), minute, False, False, typed)
    if match.group("h2") is not None:
        raw = match.group("h2")
        hour, minute = int(raw), int(match.group("m2"))
        return _Clock(hour, minute, 1 <= hour <= 11 and not raw.startswith("0"), True, typed)
    hour = int(match.group("h3"))
    return _Clock(hour, 0, 1 <= hour <= 11, True, typed)


def _meeting_hour(clock: _Clock, day_text: str, notes: list[str] | None) -> int:
    if not clock.ambiguous:
        return clock.hour
    if any(word in day_text for word in EVENING):
        return clock.hour + 12
    if any(word in day_text for word in MORNING):
        return clock.hour
    morning = clock.hour >= 8
    hour = clock.hour if morning else clock.hour + 12
    if notes is not None:
        taken, other = ("am", "pm") if morning else ("pm", "am")
        time = f"{clock.hour}:{clock.minute:02d}" if clock.minute else f"{clock.hour}"
        notes.append(
            _("'{typed}' was read as {time}{taken}; for {time}{other}, write '{time}{other}'.").format(
                typed=clock.typed, time=time, taken=taken, other=other
            )
        )
    return hour


def _names_a_day(text: str) -> bool:
    words = set(re.findall(r"[a-z]+|\d+(?:st|nd|rd|th)|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}", text))
    named = {"today", "tonight", "tomorrow", "week", "morning", "evening", "afternoon", "night"}
    return bool(words & (set(WEEKDAYS) | set(MONTHS) | set(ORDINALS) | named)) or any(
        re.fullmatch(r"\d+(?:st|nd|rd|th)|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}", w) for w in words
    )


def _day(text: str, local_now: datetime, time: tuple[int, int] | None) -> date | None:
    """The day `text` names, as seen at `local_now`: a weekday is the next one (today too, while
    `time` is still ahead); a date without a year is the nearer of this year's and next year's."""
    today = local_now.date()
    text = re.sub(r"^on\s+", "", text)
    for word in ("this morning", "this afternoon", "this evening", "tonight", "today"):
        if text == word:
            return today
    if text in ("tomorrow", *(f"tomorrow {p}" for p in ("morning", "afternoon", "evening", "night"))):
        return today + timedelta(days=1)
    if (m := _WEEKDAY.match(text)) and m.group("day") in WEEKDAYS:
        ahead = (WEEKDAYS[m.group("day")] - today.weekday()) % 7
        if ahead == 0 and (m.group("rel") == "next" or not _still_ahead(local_now, time)):
            ahead = 7
        return today + timedelta(days=ahead)
    if (m := _ORDINAL_DAY.match(text)) and m.group("day") in WEEKDAYS:
        return _nth_weekday(m.group("nth"), WEEKDAYS[m.group("day")], m.group("which"), local_now, time)
    if m := _DAY_OF_MONTH.match(text):
        return _day_of_month(int(m.group("n")), local_now, time)
    import dateparser  # imported late: it loads language data the console's start-up doesn't need

    parsed = dateparser.parse(
        text,
        languages=["en"],
        settings={"PREFER_DATES_FROM": "future", "RELATIVE_BASE": local_now.replace(tzinfo=None)},
    )
    if parsed is None:
        return None
    day = parsed.date()
    if not _YEAR.search(text) and any(w in MONTHS for w in text.split()) and day.year > today.year:
        try:
            this_year = day.replace(year=day.year - 1)
        except ValueError:  # 29 February
            return day
        if timedelta(0) <= today - this_year <= RECENTLY:
            # "Dec 1 8:00" typed on 1 December, "Nov 30" on 1 December: this year's, so that the
            # member is told it has passed rather than given a meeting a year away.
            return this_year
        # A date long gone this year is next year's ("15 January" typed in March).
    return day


def _day_of_month(n: int, local_now: datetime, time: tuple[int, int] | None) -> date | None:
    """ "the 10th": that day of this month, or of the next month that has it once it has passed
    (never a month, as dateparser reads "10th")."""
    today = local_now.date()
    year, month = today.year, today.month
    for _step in range(13):
        try:
            day = date(year, month, n)
        except ValueError:
            day = None
        if day is not None and (day > today or (day == today and _still_ahead(local_now, time))):
            return day
        year, month = _next_month(year, month)
    return None


def _still_ahead(local_now: datetime, time: tuple[int, int] | None) -> bool:
    return time is not None and (time[0], time[1]) > (local_now.hour, local_now.minute)


def _nth_weekday(
    nth: str, weekday: int, which: str | None, local_now: datetime, time: tuple[int, int] | None
) -> date | None:
    """ "the 3rd thursday" of this month (or the next, once this month's has passed)."""
    today = local_now.date()
    month_names = MONTH_NUMBERS
    if which in (None, "this month"):
        candidates = [(today.year, today.month), _next_month(today.year, today.month)]
    elif which == "next month":
        candidates = [_next_month(today.year, today.month)]
    elif which in month_names:
        month = month_names[which]
        candidates = [(today.year if month >= today.month else today.year + 1, month)]
    else:
        return None
    for year, month in candidates:
        day = _nth_in_month(year, month, weekday, ORDINALS[nth])
        if day is not None and (day > today or (day == today and _still_ahead(local_now, time))):
            return day
    return None if which not in (None, "this month") else _nth_in_month(*candidates[-1], weekday, ORDINALS[nth])


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _nth_in_month(year: int, month: int, weekday: int, nth: int) -> date | None:
    first = date(year, month, 1)
    days = [first + timedelta(days=i) for i in range(31) if (first + timedelta(days=i)).month == month]
    matching = [d for d in days if d.weekday() == weekday]
    if nth == -1:
        return matching[-1]
    return matching[nth - 1] if nth <= len(matching) else None


def _spanish(language: str | None) -> bool:
    from bot.i18n import language as in_force

    return (language or in_force()) == "es"


def _whole(text: str, cleaned: str, zone: ZoneInfo, now: datetime, language: str | None = None) -> datetime:
    """What the day-and-time split does not cover ("in 2 hours", "2026-12-01 18:30"): dateparser."""
    import dateparser

    parsed = dateparser.parse(
        cleaned,
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": now.astimezone(zone).replace(tzinfo=None),
            "TIMEZONE": zone.key,
            "RETURN_AS_TIMEZONE_AWARE": True,
        },
    )
    if parsed is None:
        respelled = _respell_spanish(text) if _spanish(language) else _respell(cleaned)
        if respelled not in (cleaned, text) and _readable(respelled, zone, now, language):
            raise TimeProblem(
                _("I couldn't read '{text}' as a time. Did you mean '{respelled}'?").format(
                    text=text, respelled=respelled
                )
            )
        raise TimeProblem(
            _("I couldn't read '{text}' as a time; write it like {examples}.").format(
                text=text, examples=_(WHEN_EXAMPLES)
            )
        )
    return _future(text, parsed, zone, now)


def _future(text: str, moment: datetime, zone: ZoneInfo, now: datetime) -> datetime:
    result = moment.astimezone(UTC)
    if result <= now:
        shown = format_time(moment, zone, "F")
        raise PastTime(
            _("'{text}' is {when}, which is in the past. Please give a future time.").format(text=text, when=shown)
        )
    return result


# Words people use in times, for "did you mean" when one is misspelled ("tomorow", "wensday").
TIME_WORDS = (
    "today",
    "tonight",
    "tomorrow",
    "yesterday",
    "next",
    "this",
    "in",
    "at",
    "on",
    "noon",
    "midnight",
    "morning",
    "afternoon",
    "evening",
    "night",
    "minute",
    "minutes",
    "hour",
    "hours",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "am",
    "pm",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


def _respell(text: str) -> str:
    out = []
    for word in text.split():
        lower = word.lower()
        if lower.isalpha() and len(lower) > 3 and lower not in TIME_WORDS:
            close = get_close_matches(lower, TIME_WORDS, n=1, cutoff=0.75)
            word = close[0] if close else word
        out.append(word)
    return " ".join(out)


# Spanish words of times, spelled as they should be, for "¿quiso decir?" ("mañna" -> "mañana").
SPANISH_TIME_WORDS = (
    "hoy", "mañana", "pasado", "próximo", "próxima", "lunes", "martes", "miércoles", "jueves", "viernes",
    "sábado", "domingo", "mediodía", "medianoche", "tarde", "noche", "semana", "horas", "minutos", "dentro",
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
    "noviembre", "diciembre",
)  # fmt: skip


def _respell_spanish(text: str) -> str:
    import unicodedata

    def plain(word: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))

    known = {plain(w): w for w in SPANISH_TIME_WORDS}
    out = []
    for word in text.split():
        lower = plain(word.lower())
        if lower.isalpha() and len(lower) > 3 and lower not in known:
            close = get_close_matches(lower, list(known), n=1, cutoff=0.75)
            word = known[close[0]] if close else word
        out.append(word)
    return " ".join(out)


def _readable(text: str, zone: ZoneInfo, now: datetime, language: str | None = None) -> bool:
    try:
        parse_when(text, zone, now, language=language)
    except PastTime:
        return True
    except TimeProblem:
        return False
    return True
