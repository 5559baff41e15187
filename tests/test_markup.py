from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import markup
from bot.text import TextProblem, check_text

MOMENT = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)


def render_for_test(text: str) -> str:
    """A renderer that makes every span visible, as an adapter's would."""
    return markup.render(
        text,
        bot=lambda s: s,
        user=lambda s: f"[user:{s}]",
        time=lambda when, style: f"[time:{int(when.timestamp())}:{style}]",
        member=lambda m: f"[member:{m.platform}:{m.user_id}:{m.display_name}]",
        bold="*",
    )


def test_spans_reach_the_adapter_separately() -> None:
    text = (
        f"**Poll** by {markup.mention('slack', 'U1', 'Ana')}: {markup.user_text('Lunch?')} "
        f"closes {markup.timestamp(MOMENT, 'R')}"
    )
    assert render_for_test(text) == (
        f"*Poll* by [member:slack:U1:Ana]: [user:Lunch?] closes [time:{int(MOMENT.timestamp())}:R]"
    )


def test_user_text_cannot_forge_spans_or_bold() -> None:
    forged = "\ue002123:F\ue003 **loud** \ue000x"
    rendered = render_for_test(f"**{markup.user_text(forged)}**")
    assert rendered == "*[user:123:F **loud** x]*"


def test_plain_rendering_for_one_viewer() -> None:
    text = f"Meeting **{markup.user_text('Budget')}** at {markup.timestamp(MOMENT)}"
    assert markup.plain(text, ZoneInfo("Europe/Berlin")) == "Meeting Budget at Tue 01 Dec 2026, 19:30 CET"
    assert markup.plain(text, ZoneInfo("America/Chicago")).endswith("12:30 CST")
    soon = markup.plain(markup.timestamp(MOMENT, "R"), UTC, now=datetime(2026, 12, 1, 15, 30, tzinfo=UTC))
    assert soon == "in 3 hours"


def test_timestamps_need_aware_times() -> None:
    with pytest.raises(ValueError):
        markup.timestamp(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("two\nlines", "must be on one line"),
        ("bell\x07", "U+0007"),
        ("rtl\u202eevil", "U+202E"),
        ("x" * 11, "11 characters long; the limit is 10"),
    ],
)
def test_check_text_refuses_with_reasons(text: str, problem: str) -> None:
    with pytest.raises(TextProblem, match=problem.replace("+", r"\+")):
        check_text(text, what="TITLE", max_length=10)


def test_check_text_tidies_but_keeps_meaning() -> None:
    assert check_text("  hello\r\nworld ", what="T", max_length=50, multiline=True) == "hello\nworld"
    assert check_text("tab\there", what="T", max_length=50) == "tab\there"
    assert check_text("@everyone <!channel>", what="T", max_length=50) == "@everyone <!channel>"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (20, "just now"),
        (-20, "just now"),
        (90, "in 2 minutes"),
        (3595, "in 1 hour"),
        (-7200, "2 hours ago"),
        (86400 * 3 - 100, "in 3 days"),
    ],
)
def test_relative_times_read_naturally(seconds: int, shown: str) -> None:
    from datetime import timedelta

    assert markup.relative(MOMENT + timedelta(seconds=seconds), MOMENT) == shown
