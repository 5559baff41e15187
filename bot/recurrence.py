"""Recurrence rules (RFC 5545 RRULEs) said in words, for announcements and cards, in the language
in force: whole phrases are translated, never English word order with words swapped in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.parser import isoparse
from dateutil.rrule import rrulestr

from bot.i18n import N_, _, language, ngettext
from bot.problems import Problem
from bot.spanish_words import meaning as spanish_meaning

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


RECURRENCE = {
    "weekly": "FREQ=WEEKLY",
    "2weeks": "FREQ=WEEKLY;INTERVAL=2",
    "biweekly": "FREQ=WEEKLY;INTERVAL=2",
    "monthly": "MONTHLY-SAME-WEEKDAY",  # resolved against the start date
    "quarterly": "FREQ=MONTHLY;INTERVAL=3",
    "daily": "FREQ=DAILY",
}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class RecurrenceProblem(Problem):
    """`--every` cannot be read or kept as calendars would; the message says why."""


def recurrence_rule(every: str | None, local_start: datetime, zone: ZoneInfo | None = None) -> str | None:
    """An RRULE for "weekly", "2weeks", "monthly" (same weekday, e.g. 2nd Tuesday) or a raw RRULE,
    written the way RFC 5545 wants it beside a DTSTART with a time zone (UNTIL in UTC). Anything the
    bot could not keep as calendars would is refused here, with the reason."""
    if not every:
        return None
    zone = zone or ZoneInfo("UTC")
    key = spanish_meaning(every, RECURRENCE) or every.strip().lower()  # "mensual" too
    rule = RECURRENCE.get(key, every.strip().upper().removeprefix("RRULE:"))
    if rule == "MONTHLY-SAME-WEEKDAY":
        nth = (local_start.day - 1) // 7 + 1
        rule = f"FREQ=MONTHLY;BYDAY={nth if nth < 5 else -1}{_WEEKDAYS[local_start.weekday()]}"
    problem = RecurrenceProblem(
        _(
            "'{every}' is not a recurrence I understand: use weekly, 2weeks, monthly, daily "
            "or an RRULE like FREQ=WEEKLY;BYDAY=TU,TH or "
            "FREQ=MONTHLY;BYMONTHDAY=1,15;UNTIL=20270331T000000Z."
        ).format(every=every)
    )
    from icalendar import vRecur  # imported when needed, not on every start-up

    try:
        parts = vRecur.from_ical(rule)
    except (ValueError, TypeError) as exc:
        raise problem from exc
    known = {"FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY"}
    known |= {"BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST"}
    if not parts.get("FREQ") or set(parts) - known:
        raise problem
    if parts["FREQ"][0] not in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        raise RecurrenceProblem(_("Repeats are at most daily: use FREQ=DAILY, WEEKLY, MONTHLY or YEARLY."))
    several = [p for p in ("BYHOUR", "BYMINUTE", "BYSECOND") if p in parts]
    if several:
        raise RecurrenceProblem(
            _("{item} would repeat several times a day; make one per time of day instead.").format(item=several[0])
        )
    if "UNTIL" in parts and "COUNT" in parts:
        raise RecurrenceProblem(_("An RRULE takes UNTIL or COUNT, not both."))
    if "UNTIL" in parts:
        parts["UNTIL"] = [_utc_until(parts["UNTIL"][0], zone)]
    rule = parts.to_ical().decode()
    try:
        first = rrulestr(rule, dtstart=local_start.replace(tzinfo=zone)).after(
            local_start.replace(tzinfo=zone) - timedelta(seconds=1), inc=True
        )
    except (ValueError, TypeError) as exc:
        raise problem from exc
    if first is None:
        raise RecurrenceProblem(
            _("'{every}' gives no date at all from the start given; check UNTIL or COUNT.").format(every=every)
        )
    return rule


def _utc_until(until: date | datetime, zone: ZoneInfo) -> datetime:
    """UNTIL as RFC 5545 wants it beside a zoned DTSTART: UTC. A date means to the end of that day
    where the meeting is; a time without a zone is the meeting's local time."""
    if not isinstance(until, datetime):
        until = datetime.combine(until, datetime.max.time().replace(microsecond=0))
    if until.tzinfo is None:
        until = until.replace(tzinfo=zone)
    return until.astimezone(UTC)


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
