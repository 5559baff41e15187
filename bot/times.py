"""Reading times and durations the way members type them, in their own time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from difflib import get_close_matches
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.problems import Problem

_DURATION_PART = re.compile(r"(\d+)\s*(w|d|h|m|s)", re.I)
_DURATION = re.compile(r"\s*(?:\d+\s*[wdhms]\s*)+", re.I)
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_BARE_HOUR = re.compile(r"(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(?:h|o'?clock)?", re.I)

DURATION_EXAMPLES = "90m, 2h, 1h30m or 3d"
WHEN_EXAMPLES = '"next tuesday 7pm", "in 3 days at 18:00" or "2026-12-01 18:30"'


class TimeProblem(Problem):
    """A time or duration could not be understood; the message says how to write it."""


def parse_duration(text: str) -> timedelta:
    if not _DURATION.fullmatch(text):
        raise TimeProblem(f"'{text}' is not a duration; write it like {DURATION_EXAMPLES}.")
    seconds = sum(int(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION_PART.findall(text))
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0m"


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
    hint = f" Did you mean {', '.join(zone_names()[c] for c in close)}?" if close else ""
    raise TimeProblem(f"'{text}' is not a time zone I know.{hint} Use a name like Europe/Berlin or America/Chicago.")


def parse_when(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """A future moment, read in `zone` relative to `now`; returned in UTC.

    A bare hour ("7", "at 19:30") is taken as the next time the clock shows it, on a 24-hour clock,
    because dateparser would read "at 7" as the 7th month.
    """
    import dateparser  # imported late: it loads language data the console's start-up doesn't need

    cleaned = " ".join(text.split())
    local_now = now.astimezone(zone)
    bare = _BARE_HOUR.fullmatch(cleaned)
    if bare:
        hour, minute = int(bare.group(1)), int(bare.group(2) or 0)
        if hour > 23 or minute > 59:
            raise TimeProblem(f"'{text}' is not a time of day.")
        result = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if result <= local_now:
            result += timedelta(days=1)
        return result.astimezone(UTC)
    parsed = dateparser.parse(
        cleaned,
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": local_now.replace(tzinfo=None),
            "TIMEZONE": zone.key,
            "RETURN_AS_TIMEZONE_AWARE": True,
        },
    )
    if parsed is None:
        respelled = _respell(cleaned)
        if respelled != cleaned and _readable(respelled, zone, now):
            raise TimeProblem(f"I couldn't read '{text}' as a time. Did you mean '{respelled}'?")
        raise TimeProblem(f"I couldn't read '{text}' as a time; write it like {WHEN_EXAMPLES}.")
    result = parsed.astimezone(UTC)
    if result <= now:
        shown = parsed.astimezone(zone).strftime("%a %d %b %Y, %H:%M %Z")
        raise TimeProblem(f"'{text}' is {shown}, which is in the past. Please give a future time.")
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


def _readable(text: str, zone: ZoneInfo, now: datetime) -> bool:
    try:
        parse_when(text, zone, now)
    except TimeProblem as exc:
        return "in the past" in str(exc)
    return True
