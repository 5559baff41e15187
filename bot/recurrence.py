"""Recurrence rules (RFC 5545 RRULEs) said in words, for announcements and cards, in the language
in force: whole phrases are translated, never English word order with words swapped in."""

from __future__ import annotations

from datetime import datetime

from dateutil.parser import isoparse

from bot.i18n import N_, _, language, ngettext

WEEKDAYS = {
    "MO": N_("Monday"),
    "TU": N_("Tuesday"),
    "WE": N_("Wednesday"),
    "TH": N_("Thursday"),
    "FR": N_("Friday"),
    "SA": N_("Saturday"),
    "SU": N_("Sunday"),
}
# "the second Tuesday": one phrase per ordinal, as languages place and inflect ordinals differently.
NTH_WEEKDAY = {
    1: N_("the first {day}"),
    2: N_("the second {day}"),
    3: N_("the third {day}"),
    4: N_("the fourth {day}"),
    5: N_("the fifth {day}"),
    -1: N_("the last {day}"),
    -2: N_("the second to last {day}"),
}


def rule_parts(rule: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in rule.upper().removeprefix("RRULE:").split(";") if "=" in part)


def describe(rule: str) -> str:
    """`FREQ=MONTHLY;BYDAY=2TU` -> "every month on the second Tuesday"."""
    parts = rule_parts(rule)
    interval = int(parts.get("INTERVAL", "1") or "1")
    text = _every(parts.get("FREQ", ""), interval)
    days = [_day(d) for d in parts.get("BYDAY", "").split(",") if d]
    if days:
        text += _(" on {days}").format(days=_and(days))
    month_days = [_nth(int(d)) for d in parts.get("BYMONTHDAY", "").split(",") if d.lstrip("-").isdigit()]
    if month_days:
        text += _(" on the {days}").format(days=_and(month_days))
    if parts.get("COUNT", "").isdigit():
        count = int(parts["COUNT"])
        text += ngettext(", {count} time", ", {count} times", count).format(count=count)
    if "UNTIL" in parts:
        text += _(", until {date}").format(date=_until(parts["UNTIL"]))
    return text


def _every(freq: str, n: int) -> str:
    if freq == "DAILY":
        return ngettext("every day", "every {n} days", n).format(n=n)
    if freq == "WEEKLY":
        return ngettext("every week", "every {n} weeks", n).format(n=n)
    if freq == "MONTHLY":
        return ngettext("every month", "every {n} months", n).format(n=n)
    if freq == "YEARLY":
        return ngettext("every year", "every {n} years", n).format(n=n)
    return freq.lower()


def _day(code: str) -> str:
    name = _(WEEKDAYS[code[-2:]]) if code[-2:] in WEEKDAYS else code[-2:]
    number = code[:-2]
    if number.lstrip("+-").isdigit():
        n = int(number)
        if n in NTH_WEEKDAY:
            return _(NTH_WEEKDAY[n]).format(day=name)
        return _("the {nth} {day}").format(nth=_nth(n), day=name)
    return name


def _nth(n: int) -> str:
    if n < 0:
        return _("last day") if n == -1 else _("{nth} to last day").format(nth=_nth(-n))
    if language() != "en":
        return str(n)  # "el día 15": the number alone
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _until(value: str) -> str:
    try:
        moment: datetime = isoparse(value)
    except ValueError:
        return value
    if language() == "en":
        return moment.strftime("%d %b %Y")
    from babel.dates import format_date

    return format_date(moment.date(), "medium", locale=language())


def _and(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return _("{items} and {last}").format(items=", ".join(items[:-1]), last=items[-1])
