"""Which group figures of an anonymous count may be shown: one rule for surveys and anonymous
proposals, so that a small sector's answers are never printed, nor left to be worked out as the
difference between the total and the sectors that are shown."""

from __future__ import annotations

from collections.abc import Mapping

STEP = 3  # an anonymous count shows nothing below this many, and moves in steps of this many


def shown_groups(counted: Mapping[str, int], total: int, minimum: int) -> set[str]:
    """The groups whose figures may be shown: each holds at least `minimum`, and what is left
    outside them (`total` less theirs) is none or at least `minimum` too. Where the rest would be
    too few, the smallest shown group is held back as well, until it is not."""
    kept = {group for group, n in counted.items() if n >= minimum}
    while kept:
        rest = total - sum(counted[group] for group in kept)
        if rest == 0 or rest >= minimum:
            break
        kept.remove(min(kept, key=lambda group: (counted[group], group)))
    return kept
