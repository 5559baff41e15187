"""Recurrence rules (RFC 5545 RRULEs) said in words, for announcements and cards."""

from __future__ import annotations

from datetime import datetime

from dateutil.parser import isoparse

WEEKDAYS = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last", -2: "second to last"}
UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}


def rule_parts(rule: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in rule.upper().removeprefix("RRULE:").split(";") if "=" in part)


def describe(rule: str) -> str:
    """`FREQ=MONTHLY;BYDAY=2TU` -> "every month on the second Tuesday"."""
    parts = rule_parts(rule)
    freq = parts.get("FREQ", "")
    unit = UNITS.get(freq, freq.lower())
    interval = int(parts.get("INTERVAL", "1") or "1")
    text = f"every {unit}" if interval == 1 else f"every {interval} {unit}s"
    days = [_day(d) for d in parts.get("BYDAY", "").split(",") if d]
    if days:
        text += " on " + _and(days)
    month_days = [_nth(int(d)) for d in parts.get("BYMONTHDAY", "").split(",") if d.lstrip("-").isdigit()]
    if month_days:
        text += " on the " + _and(month_days)
    if parts.get("COUNT", "").isdigit():
        text += f", {parts['COUNT']} times"
    if "UNTIL" in parts:
        text += f", until {_until(parts['UNTIL'])}"
    return text


def _day(code: str) -> str:
    name = WEEKDAYS.get(code[-2:], code[-2:])
    number = code[:-2]
    if number.lstrip("+-").isdigit():
        return f"the {ORDINALS.get(int(number), _nth(int(number)))} {name}"
    return name


def _nth(n: int) -> str:
    if n < 0:
        return "last day" if n == -1 else f"{_nth(-n)} to last day"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _until(value: str) -> str:
    try:
        moment: datetime = isoparse(value)
    except ValueError:
        return value
    return moment.strftime("%d %b %Y")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
