"""Server-side SVG charts (no JavaScript, no internet): grouped/stacked bars with capacity
lines, line charts, and a scatter whose points are links. Each chart's numbers are also shown
as a table or offered as CSV (``csv_response``) by the view that draws it."""
from __future__ import annotations

import csv
import html
import io
import math
from collections.abc import Sequence

from flask import Response

PALETTE = ("#1f6feb", "#e8590c", "#2f9e44", "#ae3ec9", "#f59f00", "#0c8599", "#c2255c", "#5c7cfa")
W, H = 880, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 48


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * exp >= value:
            return float(step * exp)
    return float(10 * exp)


def _fmt(v: float) -> str:
    if abs(v) >= 1000:
        return f"{round(v / 1000, 2):g}k"
    return f"{round(v, 2):g}"


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (about ``count`` of them)."""
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    raw = span / max(count - 1, 1)
    exp = 10.0 ** math.floor(math.log10(raw))
    step = next(s * exp for s in (1, 2, 2.5, 5, 10) if s * exp >= raw)
    first = math.floor(lo / step) * step
    ticks = []
    v = first
    while v <= hi + step * 0.999:
        ticks.append(round(v, 10))
        v += step
    return ticks


def _frame(title: str, y_max: float, y_min: float = 0.0, y_label: str = "", percent: bool = False) -> list[str]:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" class="chart" '
           f'aria-label="{_e(title)}">', f"<title>{_e(title)}</title>",
           f'<text x="{LEFT}" y="18" class="chart-title">{_e(title)}</text>']
    for k in range(5):
        v = y_min + (y_max - y_min) * k / 4
        y = _y(v, y_min, y_max)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
                   f'{_pct(v) if percent else _fmt(v)}</text>')
    if y_label:
        out.append(f'<text x="12" y="{TOP + (H - TOP - BOTTOM) / 2:.0f}" class="tick" '
                   f'transform="rotate(-90 12 {TOP + (H - TOP - BOTTOM) / 2:.0f})" text-anchor="middle">'
                   f'{_e(y_label)}</text>')
    return out


def _y(v: float, y_min: float, y_max: float) -> float:
    return TOP + (H - TOP - BOTTOM) * (1 - (v - y_min) / ((y_max - y_min) or 1.0))


def _legend(names: Sequence[str], colors: Sequence[str], dashed: Sequence[str] = ()) -> list[str]:
    out: list[str] = []
    x = float(LEFT)
    for name, color in zip(names, colors):
        out.append(f'<rect x="{x:.0f}" y="{H - 16}" width="12" height="12" fill="{color}"/>')
        out.append(f'<text x="{x + 16:.0f}" y="{H - 6}" class="tick">{_e(name)}</text>')
        x += 26 + 8.5 * len(name)  # wide enough for capitals ("DRV-BOARD")
    for name in dashed:
        out.append(f'<line x1="{x:.0f}" y1="{H - 10}" x2="{x + 14:.0f}" y2="{H - 10}" class="cap-line"/>')
        out.append(f'<text x="{x + 18:.0f}" y="{H - 6}" class="tick">{_e(name)}</text>')
        x += 30 + 8.5 * len(name)
    return out


def bar_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
              stacked: bool = True, lines: Sequence[tuple[str, Sequence[float]]] = (), y_label: str = "") -> str:
    """Bars per label (stacked or side by side) and optional step lines (e.g. capacity)."""
    n = max(len(labels), 1)
    totals = [sum(s[1][i] for s in series) if stacked else max((s[1][i] for s in series), default=0.0)
              for i in range(len(labels))]
    y_max = _nice_max(max(totals + [v for _, vs in lines for v in vs] + [0.0]))
    out = _frame(title, y_max, y_label=y_label)
    slot = (W - LEFT - RIGHT) / n
    bar_w = slot * 0.7 / (1 if stacked else max(len(series), 1))
    for i, label in enumerate(labels):
        x0 = LEFT + i * slot + slot * 0.15
        base = 0.0
        for k, (name, values) in enumerate(series):
            v = values[i]
            if v <= 0:
                continue
            lo, hi = (base, base + v) if stacked else (0.0, v)
            x = x0 if stacked else x0 + k * bar_w
            y1, y2 = _y(hi, 0, y_max), _y(lo, 0, y_max)
            out.append(f'<rect x="{x:.1f}" y="{y1:.1f}" width="{bar_w:.1f}" height="{max(y2 - y1, 0.5):.1f}" '
                       f'fill="{PALETTE[k % len(PALETTE)]}"><title>{_e(label)} {_e(name)}: {v:g}</title></rect>')
            if stacked:
                base += v
        if n <= 24 or i % math.ceil(n / 24) == 0:
            out.append(f'<text x="{LEFT + (i + 0.5) * slot:.1f}" y="{H - BOTTOM + 16}" class="tick" '
                       f'text-anchor="middle">{_e(label)}</text>')
    for name, values in lines:
        pts = []
        for i, v in enumerate(values):
            y = _y(v, 0, y_max)
            pts += [f"{LEFT + i * slot:.1f},{y:.1f}", f"{LEFT + (i + 1) * slot:.1f},{y:.1f}"]
        out.append(f'<polyline points="{" ".join(pts)}" class="cap-line"><title>{_e(name)}</title></polyline>')
    out += _legend([s[0] for s in series], [PALETTE[k % len(PALETTE)] for k in range(len(series))],
                   [name for name, _ in lines])
    out.append("</svg>")
    return "\n".join(out)


def line_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
               y_max: float | None = None, y_label: str = "", percent: bool = False,
               hlines: Sequence[tuple[str, float]] = ()) -> str:
    values = [v for _, vs in series for v in vs if v is not None] + [v for _, v in hlines]
    top = y_max if y_max is not None else _nice_max(max(values + [0.0]))
    out = _frame(title, top, y_label=y_label, percent=percent)
    n = max(len(labels), 1)
    step = (W - LEFT - RIGHT) / max(n - 1, 1)
    for i, label in enumerate(labels):
        if n <= 24 or i % math.ceil(n / 24) == 0:
            out.append(f'<text x="{LEFT + i * step:.1f}" y="{H - BOTTOM + 16}" class="tick" '
                       f'text-anchor="middle">{_e(label)}</text>')
    for k, (name, vs) in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        pts = [(LEFT + i * step, _y(v, 0, top), v) for i, v in enumerate(vs) if v is not None]
        if len(pts) > 1:
            out.append(f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y, _ in pts)}" fill="none" '
                       f'stroke="{color}" stroke-width="2.5"/>')
        for (x, y, v), label in zip(pts, labels):
            shown = f"{100 * v:.0f}%" if percent else f"{v:g}"
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}"><title>{_e(name)} {_e(label)}: '
                       f'{shown}</title></circle>')
    for name, v in hlines:
        y = _y(v, 0, top)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" class="cap-line">'
                   f'<title>{_e(name)}: {v:g}</title></line>')
    out += _legend([s[0] for s in series], [PALETTE[k % len(PALETTE)] for k in range(len(series))],
                   [name for name, _ in hlines])
    out.append("</svg>")
    return "\n".join(out)


def scatter(title: str, points: Sequence[dict[str, object]], x_label: str, y_label: str) -> str:
    """Points {x, y, label, href, highlight}; each point is a link (keyboard-focusable)."""
    xs = [float(p["x"]) for p in points] or [0.0]  # type: ignore[arg-type]  # numbers by contract
    ys = [float(p["y"]) for p in points] or [0.0]  # type: ignore[arg-type]
    x_lo, x_hi = min(xs), max(xs)
    pad_x = (x_hi - x_lo) * 0.08 or max(abs(x_hi), 1.0) * 0.1
    x_lo, x_hi = x_lo - pad_x, x_hi + pad_x
    if min(xs) >= 0:
        x_lo = max(x_lo, 0.0)  # costs are not negative: no axis below 0
    x_ticks = _nice_ticks(x_lo, x_hi)
    x_lo, x_hi = x_ticks[0], x_ticks[-1]
    y_max = _nice_max(max(ys) * 1.05)
    out = _frame(title, y_max, y_label=y_label)
    out.append(f'<text x="{(LEFT + W - RIGHT) / 2:.0f}" y="{H - BOTTOM + 34}" class="tick" text-anchor="middle">'
               f'{_e(x_label)}</text>')
    for v in x_ticks:
        x = LEFT + (W - LEFT - RIGHT) * (v - x_lo) / ((x_hi - x_lo) or 1.0)
        out.append(f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" class="tick" text-anchor="middle">{_fmt(v)}</text>')
    front = sorted((p for p in points if p.get("highlight")), key=lambda p: float(p["x"]))  # type: ignore[arg-type]
    to_xy = {id(p): (LEFT + (W - LEFT - RIGHT) * (float(p["x"]) - x_lo) / ((x_hi - x_lo) or 1.0),  # type: ignore[arg-type]
                     _y(float(p["y"]), 0, y_max)) for p in points}  # type: ignore[arg-type]
    if len(front) > 1:
        out.append(f'<polyline points="{" ".join(f"{to_xy[id(p)][0]:.1f},{to_xy[id(p)][1]:.1f}" for p in front)}" '
                   f'fill="none" stroke="{PALETTE[0]}" stroke-dasharray="4 3"/>')
    for p in points:
        x, y = to_xy[id(p)]
        color = PALETTE[0] if p.get("highlight") else "#868e96"
        out.append(f'<a href="{_e(p["href"])}" class="point"><circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="{color}">'
                   f'<title>{_e(p["label"])}</title></circle><text x="{x + 12:.1f}" y="{y + 4:.1f}" class="tick">'
                   f'{_e(p["label"])}</text></a>')
    out.append("</svg>")
    return "\n".join(out)


def split_by_scale(series: Sequence[tuple[str, Sequence[float | None]]], ratio: float = 5.0
                   ) -> list[list[tuple[str, Sequence[float | None]]]]:
    """Series for one chart, or for two when a few peak more than ``ratio`` times the median
    peak: those (largest first) in one, the others in another, so that one large series does not
    flatten the rest to the axis."""
    def peak(values: Sequence[float | None]) -> float:
        return max((abs(v) for v in values if v is not None), default=0.0)

    peaks = sorted(peak(v) for _, v in series)
    if len(peaks) < 2:
        return [list(series)] if series else []
    limit = ratio * max(peaks[(len(peaks) - 1) // 2], 1e-9)
    large = sorted((s for s in series if peak(s[1]) > limit), key=lambda s: -peak(s[1]))
    rest = [s for s in series if peak(s[1]) <= limit]
    return [large, rest] if large and rest else [list(series)]


def csv_response(name: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Response:
    """A chart's or table's numbers as a CSV download named ``name``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(buf.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
