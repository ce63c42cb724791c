"""The experiment's files: runs.csv (one row per seed and policy, every measure), summary.json
(per-policy means and 95% confidence intervals, the best MRP padding, paired differences) and
report.html (the tables and, for one seed, on-time rate and inventory value over time as inline
SVG charts)."""
from __future__ import annotations

import csv
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lpms.simulation.runner import KEY_MEASURES, RunResult

COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else round(v, 6)
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def write_runs_csv(path: Path, results: Sequence[RunResult]) -> None:
    names = sorted({k for r in results for k in r.measures})
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["plant", "variability", "periods", "warmup", "seed", "policy", "seconds", *names, "notes"])
        for r in results:
            c = r.config
            w.writerow([c.plant, c.variability, c.periods, c.warmup, c.seed, c.policy, round(r.seconds, 3),
                        *[_clean(r.measures.get(k, float("nan"))) for k in names], " | ".join(r.stats.notes)[:500]])


def write_summary_json(path: Path, summary: dict[str, Any], command: str) -> None:
    path.write_text(json.dumps(_clean({**summary, "command": command}), indent=2) + "\n", encoding="utf-8")


def fmt_ci(cell: dict[str, float], pct: bool = False) -> str:
    m, lo, hi = cell.get("mean", float("nan")), cell.get("lo", float("nan")), cell.get("hi", float("nan"))
    if math.isnan(m):
        return "-"
    if pct:
        return f"{100 * m:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]" if not math.isnan(lo) else f"{100 * m:.1f}%"
    return f"{m:,.1f} [{lo:,.1f}, {hi:,.1f}]" if not math.isnan(lo) else f"{m:,.1f}"


RATES = ("on_time", "fill_rate", "kit_rate")


def results_table(summary: dict[str, Any]) -> list[list[str]]:
    """Rows: header, then one per policy, then one per paired difference (markdown-ready)."""
    head = ["policy", *KEY_MEASURES]
    rows = [head]
    for p, cells in sorted(summary["policies"].items()):
        mark = " (best MRP)" if p == summary.get("best_mrp") else ""
        rows.append([p + mark, *[fmt_ci(cells[k], k in RATES) if k in cells else "-" for k in KEY_MEASURES]])
    for name, cells in summary.get("paired", {}).items():
        rows.append([f"diff {name}", *[fmt_ci(cells[k], k in RATES) if k in cells else "-" for k in KEY_MEASURES]])
    return rows


def markdown_table(summary: dict[str, Any]) -> str:
    rows = results_table(summary)
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out)


def _svg_chart(title: str, series: dict[str, list[float]], pct: bool, warmup: int) -> str:
    W, H, L, B = 640, 240, 56, 28
    vals = [v for s in series.values() for v in s if not math.isnan(v)]
    if not vals:
        return ""
    lo, hi = (0.0, 1.0) if pct else (0.0, max(vals) * 1.05 or 1.0)
    n = max(len(s) for s in series.values())

    def x(i: int) -> float:
        return L + (W - L - 10) * i / max(n - 1, 1)

    def y(v: float) -> float:
        return H - B - (H - B - 20) * (v - lo) / (hi - lo)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" '
             f'aria-label="{html.escape(title)}">',
             f'<text x="{L}" y="14" font-size="13">{html.escape(title)}</text>',
             f'<line x1="{L}" y1="{H - B}" x2="{W - 10}" y2="{H - B}" stroke="#888"/>',
             f'<line x1="{L}" y1="20" x2="{L}" y2="{H - B}" stroke="#888"/>',
             f'<rect x="{L}" y="20" width="{x(warmup) - L:.1f}" height="{H - B - 20}" fill="#eee"/>']
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        label = f"{100 * v:.0f}%" if pct else f"{v:,.0f}"
        parts.append(f'<text x="{L - 4}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end">{label}</text>')
    for i in range(0, n, max(1, n // 13)):
        parts.append(f'<text x="{x(i):.1f}" y="{H - B + 14}" font-size="10" text-anchor="middle">{i + 1}</text>')
    for c, (name, s) in enumerate(series.items()):
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s) if not math.isnan(v))
        colour = COLOURS[c % len(COLOURS)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{pts}"/>')
        parts.append(f'<text x="{W - 150}" y="{34 + 14 * c}" font-size="11" fill="{colour}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def write_report_html(path: Path, results: Sequence[RunResult], summary: dict[str, Any], command: str) -> None:
    rows = results_table(summary)
    cfg = summary.get("config") or {}
    seed = min((r.config.seed for r in results), default=1)
    one = {r.config.policy: r for r in results if r.config.seed == seed}
    warmup = int(cfg.get("warmup", 0))
    table = "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in rows[0]) + "</tr>" + "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:]) + "</table>"
    notes = sorted({n for r in results for n in r.stats.notes})
    services = {r.config.policy: r.stats.services for r in results if r.config.seed == seed and r.stats.services}
    body = [
        "<!doctype html><html><head><meta charset='utf-8'><title>LPMS simulation</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child{text-align:left}"
        "</style></head><body>",
        "<h1>LPMS against MRP: closed-loop simulation</h1>",
        f"<p>Plant <b>{html.escape(str(cfg.get('plant')))}</b>, {cfg.get('periods')} periods "
        f"(warm-up {warmup} excluded), variability <b>{html.escape(str(cfg.get('variability')))}</b>, "
        f"{len(cfg.get('seeds', []))} seeds. Means with 95% confidence intervals; the paired differences "
        f"are per seed against the best MRP padding ({html.escape(str(summary.get('best_mrp')))}: highest on-time "
        f"rate, ties to lower inventory).</p>",
        f"<p>Reproduce: <code>{html.escape(command)}</code></p>", table,
        f"<h2>Seed {seed} over time</h2>",
        _svg_chart(f"on-time rate per period (seed {seed})", {p: r.series["on_time"] for p, r in one.items()}, True,
                   warmup),
        "<br>",
        _svg_chart(f"inventory value at period end (seed {seed})",
                   {p: r.series["inventory_value"] for p, r in one.items()}, False, warmup),
    ]
    if services:
        dumped = html.escape(json.dumps(services, indent=1))
        body.append(f"<h2>LPMS services used (seed {seed})</h2><pre>{dumped}</pre>")
    if notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes[:20]) + "</ul>")
    body.append("<p>Measures: docs/simulation.md.</p></body></html>")
    path.write_text("\n".join(body), encoding="utf-8")
