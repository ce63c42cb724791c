"""Server-side SVG charts: legend entries leave room for their names."""
from __future__ import annotations

import re

from web.charts import bar_chart


def test_legend_entries_leave_room_for_capitals() -> None:
    names = ["DRV-BOARD", "IC-TCON", "LED-CHIP"]
    svg = bar_chart("Buffers", ["P1", "P2"], [(n, [1.0, 2.0]) for n in names])
    xs = [float(x) for x in re.findall(r'<rect x="([\d.]+)" y="\d+" width="12" height="12"', svg)]
    assert len(xs) == 3
    for k, name in enumerate(names[:-1]):  # next swatch after this name's text (~9 px per capital)
        assert xs[k + 1] - (xs[k] + 16) >= 8.5 * len(name)
