"""Read-only views for the screens that need computation beyond reading rows (web/ only formats).

``levelled_lots``: a period's levelled (heijunka) sequence in lots, so that a screen shows a
compact sequence ("A×40 B×20 A×40 ...") instead of one entry per unit.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from lpms.planning.levelling import level_period

LEVEL_EXACT_UP_TO = 60  # lots: above this the sequence is the goal-chasing heuristic


def levelled_lots(mix: Mapping[str, float], *, max_lots: int = 24) -> tuple[tuple[str, float], ...]:
    """The mix (units per item) levelled in at most about ``max_lots`` equal lots (the pitch: the
    smallest whole number of units that keeps the lot count within ``max_lots``); each item's last
    lot carries its remainder. Returns runs of (item, units), neighbouring lots of an item merged."""
    whole = {k: float(round(v)) for k, v in mix.items() if v >= 0.5}
    total = sum(whole.values())
    if total <= 0:
        return ()
    pitch = max(1, math.ceil(total / max_lots))
    lots = {k: max(1.0, float(round(v / pitch))) for k, v in whole.items()}
    sequence = level_period(lots, exact_up_to=LEVEL_EXACT_UP_TO).sequence
    left = dict(whole)
    count = {k: 0 for k in lots}
    runs: list[list[object]] = []
    for item in sequence:
        count[item] += 1
        units = left[item] if count[item] == lots[item] else min(float(pitch), left[item])
        left[item] -= units
        if units <= 0:
            continue
        if runs and runs[-1][0] == item:
            runs[-1][1] = float(runs[-1][1]) + units  # type: ignore[arg-type]  # a number
        else:
            runs.append([item, units])
    return tuple((str(i), float(u)) for i, u in runs)  # type: ignore[arg-type]  # a number
