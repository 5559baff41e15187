from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.times import TimeProblem, format_duration, parse_duration, parse_timezone, parse_when

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday, 10:00 in Berlin


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("90m", 90), ("2h", 120), ("1h30m", 90), ("1h 30m", 90), ("3d", 4320), ("1w", 10080), ("45s", 0.75)],
)
def test_durations(text: str, minutes: float) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "forever", "90", "m90", "1.5h", "-2h"])
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
        ("at 7", datetime(2026, 11, 24, 7, 0)),
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
