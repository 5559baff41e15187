"""Nothing the bot renders may depend on today's date: every relative time comes from the app's clock.

Two guards. The console, on a simulated clock set far in the past and far in the future, must say
"closes in 3 days" for a poll closing three days after its own now (a wall-clock read would say
"decades ago" or "in decades"). And no module of the bot may read the wall clock except the clock
itself, so a new rendering path cannot quietly start doing so.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_console import console, messages

ROOT = Path(__file__).resolve().parent.parent
WALL_CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
}
# Where reading the wall clock is the point: the real clock, the simulated clock's default start,
# and the storage default for rows written outside any service (never rendered relative to now).
ALLOWED = {"bot/clock.py", "adapters/cli.py", "adapters/console/platform.py", "storage/models.py"}


@pytest.mark.parametrize("start", ["1999-03-02T09:00:00+00:00", "2071-10-06T09:00:00+00:00"])
def test_relative_times_follow_the_bots_clock_far_from_today(tmp_path: Path, start: str) -> None:
    script = "\n".join(
        [
            "/coalition link",
            '/poll create "Venue?" Library Online --closes "in 3 days"',
            "/poll show 1",
            "/poll list",
            "/poll remind 1",
            "/poll remind 1",
            "/coalition digest on --day tuesday --hour 9",
            "!advance 1h",
            "!advance 4d",
            "/poll vote 1 1",
        ]
    )
    out = messages(console(tmp_path, script + "\n", "console", "--json", "--clock", "simulated", "--start", start))
    texts = [m["text"] for m in out]
    shown = [t for t in texts if "Venue?" in t and "closes in 3 days" in t]
    assert len(shown) >= 2, texts  # the card and /poll show, read at the bot's own now
    assert any("reminded just now; you can remind them again in 1 hour" in t for t in texts), texts
    assert any("closed 1 day ago" in t for t in texts), texts  # the late vote, 4 days on
    assert not any("years" in t or ("ago" in t and "closed 1 day ago" not in t) for t in texts), texts
    assert any("The first: Tue " in t and start[:4] in t for t in texts), texts  # the digest, in the bot's year


def test_no_module_reads_the_wall_clock_but_the_clock() -> None:
    offenders: list[str] = []
    for folder in ("bot", "commands", "adapters", "storage"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in ALLOWED or "/migrations/" in name:
                continue
            for node in ast.walk(ast.parse(path.read_text(), name)):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and (node.func.value.id, node.func.attr) in WALL_CLOCK_CALLS
                ):
                    offenders.append(f"{name}:{node.lineno}")
    assert offenders == [], f"read the app's Clock instead of the wall clock: {offenders}"
