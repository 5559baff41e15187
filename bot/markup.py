"""Neutral inline markup for reply text.

Handlers write plain strings. Three kinds of span are marked with private-use characters so that
each adapter can render them natively and safely:

- text typed by users (`user_text`): every adapter escapes it for its own markup, so nobody can
  inject `<!channel>`, `@everyone`, masked links or formatting into a message the bot posts;
- time stamps (`timestamp`): rendered in each viewer's own time zone (`<!date^...>`, `<t:...>`);
- mentions of members (`mention`): a real mention on the member's own platform, a name elsewhere.

The bot's own text may use `**bold**`; adapters translate it. Input is stripped of the private-use
markers before wrapping, so user text can never forge a span.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from typing import NamedTuple

from bot import i18n

USER_OPEN, USER_CLOSE = "\ue000", "\ue001"
TS_OPEN, TS_CLOSE = "\ue002", "\ue003"
MENTION_OPEN, MENTION_CLOSE = "\ue004", "\ue005"
_MARKERS = USER_OPEN + USER_CLOSE + TS_OPEN + TS_CLOSE + MENTION_OPEN + MENTION_CLOSE
_STRIP = str.maketrans("", "", _MARKERS)
_SPAN = re.compile(
    f"{USER_OPEN}(?P<user>[^{_MARKERS}]*){USER_CLOSE}"
    f"|{TS_OPEN}(?P<ts>-?\\d+):(?P<style>[a-zA-Z]){TS_CLOSE}"
    f"|{MENTION_OPEN}(?P<mention>[^{_MARKERS}]*){MENTION_CLOSE}"
)

TIME_STYLES = {
    "F": "%a %d %b %Y, %H:%M %Z",  # full date and time
    "f": "%d %b %Y, %H:%M %Z",
    "D": "%d %b %Y",
    "t": "%H:%M %Z",
    "R": "",  # relative ("in 3 hours"), rendered by the caller's clock
}
# The same styles in other languages, as CLDR skeletons: Babel puts the parts in the language's order.
BABEL_SKELETONS = {"F": ("yMMMEd", "Hm"), "f": ("yMMMd", "Hm"), "D": ("yMMMd", ""), "t": ("", "Hm")}


def user_text(text: str) -> str:
    """Mark text that came from a user: adapters escape it, never interpret it."""
    return f"{USER_OPEN}{strip_markers(text)}{USER_CLOSE}"


def timestamp(when: datetime, style: str = "F") -> str:
    """A moment every viewer sees in their own time zone."""
    if when.tzinfo is None:
        raise ValueError("timestamps need an aware datetime")
    if style not in TIME_STYLES:
        raise ValueError(f"unknown time style {style!r}")
    return f"{TS_OPEN}{int(when.timestamp())}:{style}{TS_CLOSE}"


def mention(platform: str, user_id: str, display_name: str) -> str:
    """A member, pinged on their own platform and named elsewhere."""
    parts = [strip_markers(p).replace("|", "/") for p in (platform, user_id)]
    return f"{MENTION_OPEN}{parts[0]}|{parts[1]}|{strip_markers(display_name)}{MENTION_CLOSE}"


def strip_markers(text: str) -> str:
    return text.translate(_STRIP)


class MentionSpan(NamedTuple):
    platform: str
    user_id: str
    display_name: str


def render(
    text: str,
    *,
    bot: Callable[[str], str],
    user: Callable[[str], str],
    time: Callable[[datetime, str], str],
    member: Callable[[MentionSpan], str],
    bold: str = "",
) -> str:
    """Render marked text, each span by the adapter's own function.

    `**` in the bot's own text toggles bold (which may enclose user text and time stamps) and
    becomes the platform's `bold` marker; a `**` typed by a user is user text like any other.
    """
    out: list[str] = []
    pos = 0

    def own(segment: str) -> None:
        pieces = strip_markers(segment).split("**")
        for i, piece in enumerate(pieces):
            if i:
                out.append(bold)
            out.append(bot(piece))

    for match in _SPAN.finditer(text):
        own(text[pos : match.start()])
        if match.group("user") is not None:
            out.append(user(match.group("user")))
        elif match.group("ts") is not None:
            out.append(time(datetime.fromtimestamp(int(match.group("ts")), UTC), match.group("style")))
        else:
            platform, user_id, name = [*match.group("mention").split("|", 2), "", ""][:3]
            out.append(member(MentionSpan(platform, user_id, name)))
        pos = match.end()
    own(text[pos:])
    return "".join(out)


def format_time(when: datetime, zone: tzinfo, style: str = "F", now: datetime | None = None) -> str:
    """A time stamp as plain text in one zone: the fallback wherever a platform cannot localise.

    A relative time ("in 3 days") needs the reader's `now`, which only the app's clock may give:
    without one it is shown as an absolute time, never measured against the wall clock (the
    console's simulated clock and the tests run far from today's date).
    """
    if style == "R":
        if now is not None:
            return relative(when, now)
        style = "f"
    language = i18n.language()
    if language != i18n.DEFAULT:
        from babel.dates import format_skeleton

        local = when.astimezone(zone)
        day, clock = BABEL_SKELETONS[style]
        parts = [format_skeleton(day, local, locale=language)] if day else []
        if clock:
            parts.append(f"{format_skeleton(clock, local, locale=language)} {local.strftime('%Z')}")
        return ", ".join(parts)
    return when.astimezone(zone).strftime(TIME_STYLES[style])


def format_day(day: date | datetime) -> str:
    """A day without its time ("Tue 15 Dec 2026", "mar, 15 dic 2026"), in the language in force."""
    if i18n.language() != i18n.DEFAULT:
        from babel.dates import format_skeleton

        return format_skeleton("yMMMEd", day, locale=i18n.language())
    return day.strftime("%a %d %b %Y")


def relative(when: datetime, now: datetime) -> str:
    if i18n.language() != i18n.DEFAULT:
        from babel.dates import format_timedelta

        if abs((when - now).total_seconds()) < 60:
            return i18n._("just now")
        return format_timedelta(when - now, add_direction=True, locale=i18n.language())
    seconds = (when - now).total_seconds()
    future = seconds >= 0
    minutes = round(abs(seconds) / 60)
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes >= size:
            n = round(minutes / size)
            span = f"{n} {unit}{'s' if n != 1 else ''}"
            return f"in {span}" if future else f"{span} ago"
    return i18n._("just now")


def plain(text: str, zone: tzinfo, now: datetime | None = None) -> str:
    """Marked text as plain text for one viewer (console, logs, notification fallbacks).

    `now` comes from the app's clock; without it relative times are shown as absolute ones.
    """
    return render(
        text,
        bot=lambda s: s,
        user=lambda s: s,
        time=lambda when, style: format_time(when, zone, style, now),
        member=lambda m: f"@{m.display_name or m.user_id}",
    )


_BARS = re.compile(r" ?`[█░]+`")


def without_bars(text: str) -> str:
    """Text with the drawn bars of a result (`██░░`) left out: what a notification or a screen
    reader reads has the count in words already."""
    return _BARS.sub("", text)
