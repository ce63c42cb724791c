"""Server-side SVG charts: labels of points on the same spot do not print over each other, and
legend entries leave room for their names."""
from __future__ import annotations

import re

from web.charts import bar_chart, scatter


def test_points_on_the_same_spot_get_their_labels_on_separate_lines() -> None:
    points = [{"x": 100.0, "y": 50.0, "label": f"run {k}", "href": f"/plan/runs/{k}", "highlight": k == 2}
              for k in (2, 3)] + [{"x": 300.0, "y": 10.0, "label": "run 4", "href": "/plan/runs/4"}]
    svg = scatter("Pareto", points, "late", "inventory")
    labels = {m.group(3): (float(m.group(1)), float(m.group(2)))
              for m in re.finditer(r'<text x="([\d.]+)" y="([\d.]+)" class="tick">(run \d)</text>', svg)}
    assert set(labels) == {"run 2", "run 3", "run 4"}
    assert labels["run 2"][0] == labels["run 3"][0]  # same point
    assert abs(labels["run 2"][1] - labels["run 3"][1]) >= 13  # one line apart, not on top of each other


def test_legend_entries_leave_room_for_capitals() -> None:
    names = ["DRV-BOARD", "IC-TCON", "LED-CHIP"]
    svg = bar_chart("Buffers", ["P1", "P2"], [(n, [1.0, 2.0]) for n in names])
    xs = [float(x) for x in re.findall(r'<rect x="([\d.]+)" y="\d+" width="12" height="12"', svg)]
    assert len(xs) == 3
    for k, name in enumerate(names[:-1]):  # next swatch after this name's text (~9 px per capital)
        assert xs[k + 1] - (xs[k] + 16) >= 8.5 * len(name)
