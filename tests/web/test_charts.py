"""Server-side SVG charts: legend entries leave room for their names; one large series gets a
chart of its own instead of flattening the others."""
from __future__ import annotations

import re

from web.charts import bar_chart, split_by_scale


def test_legend_entries_leave_room_for_capitals() -> None:
    names = ["DRV-BOARD", "IC-TCON", "LED-CHIP"]
    svg = bar_chart("Buffers", ["P1", "P2"], [(n, [1.0, 2.0]) for n in names])
    xs = [float(x) for x in re.findall(r'<rect x="([\d.]+)" y="\d+" width="12" height="12"', svg)]
    assert len(xs) == 3
    for k, name in enumerate(names[:-1]):  # next swatch after this name's text (~9 px per capital)
        assert xs[k + 1] - (xs[k] + 16) >= 8.5 * len(name)


def test_a_series_far_larger_than_the_others_gets_its_own_chart() -> None:
    small = [(f"B{k}", [10.0 + k, 20.0, None]) for k in range(4)]
    spike = ("LED-CHIP", [3300.0, 100.0, 0.0])
    assert split_by_scale([*small, spike]) == [[spike], small]
    assert split_by_scale(small) == [small]  # comparable: one chart
    assert split_by_scale([spike]) == [[spike]] and split_by_scale([]) == []
