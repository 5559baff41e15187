"""Whether a goal is on track: the least-squares line through its values so far, projected to the
target date and compared with the target. Pure functions over (date, value) points, so the card,
the report and the public page say the same, and a test checks them against numpy's fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.i18n import N_

MIN_VALUES = 3  # below this many values there is no trend to speak of
DAY = 86400.0

STATUS = {
    "reached": N_("target reached"),
    "on-track": N_("on track"),
    "off-track": N_("off track"),
    "not-enough-data": N_("not enough data"),
}


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float


@dataclass(frozen=True)
class Standing:
    status: str  # a key of STATUS
    latest: Point | None
    change: float | None  # the latest value less the baseline
    slope: float | None  # per day
    projected: float | None  # the line's value at the target date


def fit(points: list[Point], origin: datetime) -> tuple[float, float] | None:
    """(slope per day, value at `origin`) of the least-squares line; None below two distinct dates."""
    if len(points) < 2:
        return None
    xs = [(p.at - origin).total_seconds() / DAY for p in points]
    ys = [p.value for p in points]
    n = len(points)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return slope, mean_y - slope * mean_x


def meets(value: float, target: float, lower_is_better: bool) -> bool:
    return value <= target if lower_is_better else value >= target


def standing(
    points: list[Point], baseline: float, baseline_at: datetime, target: float, target_at: datetime, lower: bool
) -> Standing:
    """The goal as it stands: its latest value and change from the baseline, and its status."""
    ordered = sorted(points, key=lambda p: p.at)
    latest = ordered[-1] if ordered else None
    change = latest.value - baseline if latest else None
    if latest is not None and meets(latest.value, target, lower):
        line = fit(ordered, baseline_at)
        return Standing("reached", latest, change, line[0] if line else None, None)
    line = fit(ordered, baseline_at) if len(ordered) >= MIN_VALUES else None
    if line is None:
        return Standing("not-enough-data", latest, change, None, None)
    slope, start = line
    projected = start + slope * (target_at - baseline_at).total_seconds() / DAY
    status = "on-track" if meets(projected, target, lower) else "off-track"
    return Standing(status, latest, change, slope, projected)
