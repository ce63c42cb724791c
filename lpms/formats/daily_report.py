"""The daily management report as one self-contained HTML page (inline CSS and SVG charts, no
scripts, nothing fetched): what the ``daily_report`` job writes under ``instance/reports/``.

Input is the JSON of ``lpms.services.progress.daily_report_dict``: ``{as_of, current_period,
period_start, progress: {on_time_rate, intervals, items, work_centers}, kit: {rate, window,
work_orders, history}, on_time: {rate, counted, on_time, late}, wip: {units, open_orders,
work_centers, work_orders}, buffers: {buffers, below}, overtime: {work_centers}}``. A part that is
missing is shown as "not available"; every value from the data is escaped.
"""
from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

TABLE_ROWS_MAX = 200  # rows per table; the rest is counted, not printed

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d2733;max-width:1100px}
h1{font-size:1.5em;margin:0 0 4px} h2{font-size:1.15em;margin:28px 0 8px;border-bottom:1px solid #d5dbe3;padding-bottom:4px}
.meta{color:#5a6675;font-size:.9em}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid #d5dbe3;border-radius:6px;padding:10px 14px;min-width:150px}
.card .v{font-size:1.6em;font-weight:600} .card .l{color:#5a6675;font-size:.85em}
.bad{color:#b42318} .good{color:#067647}
table{border-collapse:collapse;font-size:.88em;margin:6px 0}
th,td{border-bottom:1px solid #e6e9ee;padding:3px 10px;text-align:right} th{background:#f4f6f9}
td.t,th.t{text-align:left} .note{color:#5a6675;font-size:.85em}
svg text{font-family:inherit;font-size:11px;fill:#1d2733}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def fmt_number(value: Any) -> str:
    v = _num(value)
    if v is None:
        return "&ndash;"
    text = f"{round(v, 2):,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fmt_rate(value: Any) -> str:
    """A fraction as a percentage for people (the data keeps fractions)."""
    v = _num(value)
    return "&ndash;" if v is None else f"{v * 100:.1f}%"


def _rows(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        return []
    return [r for r in value if isinstance(r, Mapping)]


def _part(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def table(columns: Sequence[tuple[str, str, str]], rows: Iterable[Mapping[str, Any]]) -> str:
    """``columns``: (key, heading, kind) with kind ``text``, ``number`` or ``rate``."""
    rows = list(rows)
    if not rows:
        return '<p class="note">none</p>'
    head = "".join(f'<th class="t">{_e(h)}</th>' if kind == "text" else f"<th>{_e(h)}</th>"
                   for _, h, kind in columns)
    body = []
    for row in rows[:TABLE_ROWS_MAX]:
        cells = []
        for key, _, kind in columns:
            value = row.get(key)
            if kind == "text":
                shown = ", ".join(_e(v) for v in value) if isinstance(value, list) else _e("" if value is None else value)
                cells.append(f'<td class="t">{shown}</td>')
            elif kind == "rate":
                cells.append(f"<td>{fmt_rate(value)}</td>")
            else:
                cells.append(f"<td>{fmt_number(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="note">{len(rows) - TABLE_ROWS_MAX} more row(s) not shown (in the JSON)</p>'
            if len(rows) > TABLE_ROWS_MAX else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def line_chart_svg(points: Sequence[tuple[str, float | None]], *, width: int = 640, height: int = 200,
                   y_max: float = 1.0, percent: bool = True, target: float | None = None) -> str:
    """A line chart of values in [0, y_max] (None: a gap) with the labels on the x axis."""
    if not points:
        return '<p class="note">no history yet</p>'
    left, right, top, bottom = 44, 12, 10, 28
    w, h = width - left - right, height - top - bottom
    n = len(points)

    def x(i: int) -> float:
        return left + (w * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + h * (1 - max(0.0, min(v, y_max)) / y_max)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">']
    for k in range(5):
        tick = y_max * k / 4
        label = f"{tick * 100:.0f}%" if percent else fmt_number(tick)
        parts.append(f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + w}" y2="{y(tick):.1f}" stroke="#e6e9ee"/>'
                     f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{label}</text>')
    if target is not None:
        parts.append(f'<line x1="{left}" y1="{y(target):.1f}" x2="{left + w}" y2="{y(target):.1f}" '
                     f'stroke="#b42318" stroke-dasharray="4 3"/>')
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (_, v) in enumerate(points):
        if v is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(v):.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(f'<polyline fill="none" stroke="#2e6fd8" stroke-width="2" points="{" ".join(seg)}"/>')
    step = max(1, math.ceil(n / 16))
    for i, (label, v) in enumerate(points):
        if v is not None:
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="#2e6fd8">'
                         f"<title>{_e(label)}: {fmt_rate(v) if percent else fmt_number(v)}</title></circle>")
        if i % step == 0:
            parts.append(f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="middle">{_e(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_pairs_svg(rows: Sequence[tuple[str, float, float]], *, names: tuple[str, str] = ("planned", "actual"),
                  width: int = 640) -> str:
    """Horizontal bars, two per row (e.g. planned and actual), scaled to the largest value."""
    if not rows:
        return '<p class="note">none</p>'
    label_w, bar_h, gap = 150, 9, 8
    top = 22
    height = top + len(rows) * (2 * bar_h + gap) + 4
    scale_max = max([max(a, b) for _, a, b in rows] + [1e-9])
    span = width - label_w - 130
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">',
             f'<rect x="{label_w}" y="4" width="10" height="10" fill="#9db4d8"/>'
             f'<text x="{label_w + 14}" y="13">{_e(names[0])}</text>'
             f'<rect x="{label_w + 90}" y="4" width="10" height="10" fill="#2e6fd8"/>'
             f'<text x="{label_w + 104}" y="13">{_e(names[1])}</text>']
    for i, (label, a, b) in enumerate(rows):
        y0 = top + i * (2 * bar_h + gap)
        wa, wb = span * max(a, 0.0) / scale_max, span * max(b, 0.0) / scale_max
        parts.append(f'<text x="{label_w - 6}" y="{y0 + bar_h + 4}" text-anchor="end">{_e(label[:24])}</text>'
                     f'<rect x="{label_w}" y="{y0}" width="{wa:.1f}" height="{bar_h}" fill="#9db4d8">'
                     f"<title>{_e(label)} {_e(names[0])}: {fmt_number(a)}</title></rect>"
                     f'<rect x="{label_w}" y="{y0 + bar_h}" width="{wb:.1f}" height="{bar_h}" fill="#2e6fd8">'
                     f"<title>{_e(label)} {_e(names[1])}: {fmt_number(b)}</title></rect>"
                     f'<text x="{label_w + max(wa, wb) + 4:.1f}" y="{y0 + bar_h + 4}">'
                     f"{fmt_number(b)} of {fmt_number(a)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _period_label(period: Any) -> str:
    """A history row's period: a number (P5) or the period's start date."""
    return f"P{period}" if isinstance(period, int) and not isinstance(period, bool) else str(period)


def _card(label: str, value: str, bad: bool | None = None) -> str:
    cls = "" if bad is None else (" bad" if bad else " good")
    return f'<div class="card"><div class="v{cls}">{value}</div><div class="l">{_e(label)}</div></div>'


def render_daily_report(data: Mapping[str, Any], *, title: str, plant_date: dt.date, timezone: str,
                        as_of: dt.datetime, report_id: int | None = None) -> str:
    """The page for one day's report (a complete HTML document)."""
    progress, kit, on_time = _part(data, "progress"), _part(data, "kit"), _part(data, "on_time")
    wip, buffers, overtime = _part(data, "wip"), _part(data, "buffers"), _part(data, "overtime")
    kit_rate, on_time_rate = _num(kit.get("rate")), _num(on_time.get("rate", progress.get("on_time_rate")))
    below = [b for b in _rows(buffers.get("buffers")) if b.get("below")]
    meta = (f"plant date {_e(plant_date.isoformat())} ({_e(timezone)}), as of {_e(as_of.isoformat())}, "
            f"current period {_e(data.get('current_period', '-'))}"
            + (f", report {report_id}" if report_id is not None else ""))
    cards = "".join([
        _card("kit rate (due this window)", fmt_rate(kit_rate),
              None if kit_rate is None else kit_rate < 1.0 - 1e-9),
        _card(f"on-time completion ({on_time.get('on_time', '-')} of {on_time.get('counted', '-')})",
              fmt_rate(on_time_rate), None if on_time_rate is None else on_time_rate < 1.0 - 1e-9),
        _card(f"WIP units ({wip.get('open_orders', '-')} open work orders)", fmt_number(wip.get("units"))),
        _card("buffers below safety stock", str(len(below)), bool(below)),
    ])
    history = [(_period_label(r.get("period")), _num(r.get("rate"))) for r in _rows(kit.get("history"))]
    wc_rows = [(str(r.get("work_center", "")), _num(r.get("planned")) or 0.0, _num(r.get("actual")) or 0.0)
               for r in _rows(progress.get("work_centers"))]
    wip_rows = _rows(wip.get("work_centers"))
    short_orders = [{"number": r.get("number"), "coverage": r.get("coverage"),
                     "short": [f"{s.get('item')} {fmt_number(s.get('available'))}/{fmt_number(s.get('required'))}"
                               for s in _rows(r.get("short"))],
                     "kit_complete_date": r.get("kit_complete_date") or "beyond the horizon"}
                    for r in _rows(kit.get("work_orders")) if _rows(r.get("short"))]
    gap_cols = [("planned", "planned", "number"), ("actual", "actual", "number"), ("gap", "gap", "number")]
    body = [
        f"<h1>{_e(title)}</h1><div class=\"meta\">{meta}</div>",
        f'<div class="cards">{cards}</div>',
        "<h2>Complete-assembly (kit) rate by period</h2>",
        line_chart_svg(history, target=None),
        "<h2>Progress against plan by work center (standard minutes to date)</h2>",
        bar_pairs_svg(wc_rows),
        "<h2>Work orders with an incomplete kit</h2>",
        table([("number", "work order", "text"), ("coverage", "coverage", "rate"),
               ("short", "short (available/required)", "text"), ("kit_complete_date", "kit complete", "text")],
              short_orders),
        "<h2>Progress by item</h2>",
        table([("item", "item", "text"), *gap_cols], _rows(progress.get("items"))),
        "<h2>Progress by interval</h2>",
        table([("interval", "interval", "text"), ("item", "item", "text"), *gap_cols], _rows(progress.get("intervals"))),
        "<h2>Late work orders</h2>",
        table([("number", "work order", "text")],
              [{"number": n} for n in (on_time.get("late") or []) if isinstance(n, str)]),
        "<h2>Work in process by work center</h2>",
        table([("work_center", "work center", "text"), ("units", "units", "number")], wip_rows),
        "<h2>Open work orders</h2>",
        table([("number", "work order", "text"), ("item", "item", "text"), ("started", "started", "number"),
               ("in_process", "in process", "number"), ("remaining", "remaining", "number")],
              _rows(wip.get("work_orders"))),
        "<h2>Buffers against safety stock</h2>",
        table([("item", "item", "text"), ("on_hand", "on hand", "number"), ("safety_stock", "safety stock", "number"),
               ("margin", "margin", "number")], _rows(buffers.get("buffers"))),
        "<h2>Overtime used against plan (minutes to date)</h2>",
        table([("work_center", "work center", "text"), ("planned_min", "planned", "number"),
               ("used_min", "used", "number"), ("excess_min", "excess", "number")], _rows(overtime.get("work_centers"))),
        '<p class="note">Rates are shown as percentages here; the stored JSON keeps fractions.</p>',
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
