"""Plain-text plan tables for people.

Quantities are printed as integers when they are integral (within the solver's 1e-6) and
with at most two decimals otherwise, right-aligned; columns are
separated by at least two spaces; zero quantities inside a plan are left blank, as in the
paper's tables, while totals and objective values always print. A multi-item plan prints one
table per item and one per work center, all with the same column widths so that periods line
up down the page.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Cell = str | float | int | None
GAP = "  "


def qty(x: float | int | None, decimals: int = 2) -> str:
    """A quantity for people: '240' when integral, else at most ``decimals`` decimals ('108.33', '462.5')."""
    if x is None:
        return ""
    x = float(x)
    r = round(x)
    if abs(x - r) <= 1e-6:
        return str(int(r))
    if abs(x) < 0.5 * 10 ** -decimals:
        return f"{x:.1g}"
    return f"{x:.{decimals}f}".rstrip("0").rstrip(".")


@dataclass
class Table:
    """A text table: ``labels`` leading text columns (left-aligned), then number columns."""

    header: list[str]
    rows: list[list[Cell]]
    labels: int = 1
    title: str = ""
    blank_zero: bool = True  # zero quantities print blank ...
    zero_shown: set[int] = field(default_factory=set)  # ... except in these columns (e.g. totals)

    def cells(self) -> list[list[str]]:
        ncol = len(self.header)
        out = [[""] * ncol for _ in self.rows]
        for j in range(ncol):
            if j < self.labels:
                for i, row in enumerate(self.rows):
                    v = row[j] if j < len(row) else None
                    out[i][j] = "" if v is None else str(v)
                continue
            for i, row in enumerate(self.rows):
                v = row[j] if j < len(row) else None
                if v is None or isinstance(v, str):
                    out[i][j] = v or ""
                elif self.blank_zero and j not in self.zero_shown and abs(float(v)) <= 1e-6:
                    out[i][j] = ""
                else:
                    out[i][j] = qty(v)
        return out

    def widths(self) -> list[int]:
        cells = self.cells()
        return [max([len(self.header[j])] + [len(r[j]) for r in cells]) for j in range(len(self.header))]

    def render(self, widths: Sequence[int] | None = None) -> str:
        cells = self.cells()
        own = self.widths()
        w = [max(a, b) for a, b in zip(own, widths)] if widths else own

        def line(values: Sequence[str]) -> str:
            parts = [f"{v:<{w[j]}}" if j < self.labels else f"{v:>{w[j]}}" for j, v in enumerate(values)]
            return GAP.join(parts).rstrip()

        lines = [self.title] if self.title else []
        lines.append(line(self.header))
        lines.append(GAP.join("-" * x for x in w))
        lines.extend(line(r) for r in cells)
        return "\n".join(lines)


def render_tables(tables: Sequence[Table], sep: str = "\n\n") -> str:
    """Render tables of the same shape with common column widths, so their columns line up."""
    if not tables:
        return ""
    ncol = max(len(t.header) for t in tables)
    widths = [0] * ncol
    for t in tables:
        for j, x in enumerate(t.widths()):
            widths[j] = max(widths[j], x)
    return sep.join(t.render(widths[: len(t.header)]) for t in tables)


def _total(values: Sequence[float]) -> float:
    return float(sum(values))


def _period_header(n: int, first: Sequence[str], total: str = "total") -> list[str]:
    return list(first) + [str(t + 1) for t in range(n)] + ([total] if total else [])


def _solver_line(s: Mapping[str, Any]) -> str:
    parts = [f"HiGHS, {s.get('mode', 'weighted')}", str(s.get("status", "optimal"))]
    if "rows" in s:
        parts.append(f"{s['rows']} rows x {s['columns']} columns")
    if "lp_solves" in s:
        parts.append(f"{s.get('lp_solves', 0)} LP + {s.get('qp_solves', 0)} QP solves")
    gap = float(s.get("gap_rel", 0) or 0)
    parts.append(f"gap {gap:.1e}" if gap > 1e-12 else "gap 0")
    parts.append(f"{float(s.get('seconds', 0)):.3f} s")
    line = "Solver: " + ", ".join(parts)
    stages = s.get("stages")
    if stages:
        line += "\nPriority stages: " + " -> ".join(f"{st['objective']} {qty(st['optimum'])}" for st in stages)
    return line


# ------------------------------------------------------------------ single item

def single_plan_table(plan: Any, forecast: Sequence[float], orders: Sequence[float], rule: str) -> str:
    """A single-item plan laid out like the paper's Tables 2 and 3: periods as columns, a Total column."""
    n = len(plan.production)
    capacity = [r + o for r, o in zip(plan.regular_capacity, plan.overtime_capacity)]
    groups = [
        ("Demand", "Forecast (after average)", forecast),
        ("", f"Orders ({rule})", orders),
        ("", "Gross demand", plan.gross_demand),
        ("", "Net demand", plan.net_demand),
        ("Capacity", "Regular capacity", plan.regular_capacity),
        ("", "Overtime capacity", plan.overtime_capacity),
        ("", "Total capacity", capacity),
        ("Planning", "Production planning", plan.production),
        ("", "Inventory planning", plan.inventory),
        ("", "Overtime planning", plan.overtime),
        ("", "Delayed delivery planning", plan.backlog),
    ]
    rows: list[list[Cell]] = [[g, label, *values, _total(values)] for g, label, values in groups]
    table = Table(_period_header(n, ["", ""], "Total"), rows, labels=2, zero_shown={n + 2})
    return "\n\n".join([table.render(), _single_summary(plan), _solver_line(plan.solver)])


def _single_summary(plan: Any) -> str:
    c, o = plan.costs, plan.objectives
    header = ["", "delayed", "balance (S)", "inventory", "overtime", "total"]
    rows: list[list[Cell]] = [
        ["Objectives", o["late"], o["balance"], o["inventory"], o["overtime"], ""],
        ["Costs", c["late"], c["balance"], c["inventory"], c["overtime"], c["total"]],
    ]
    return Table(header, rows, blank_zero=False).render()


def single_pareto_table(plans: Sequence[Any], a: str, b: str) -> str:
    """The efficient points of a single-item Pareto sweep: the two objectives and the production per period."""
    n = len(plans[0].production) if plans else 0
    rows: list[list[Cell]] = []
    for i, p in enumerate(plans, 1):
        rows.append([str(i), p.objectives[a], p.objectives[b], *p.production, _total(p.production)])
    header = _period_header(n, ["#", a, b])
    title = (f"Pareto front: {a} against {b}: {len(plans)} efficient points "
             f"(delayed delivery held at its minimum); production per period")
    return Table(header, rows, title=title, zero_shown={1, 2, n + 3}).render()


# ------------------------------------------------------------------ network (multi-item)

def _compress(sequence: Sequence[str], limit: int = 80) -> str:
    """'MON MON TV MON' -> 'MON x2, TV, MON'; cut at ``limit`` characters with the rest counted."""
    runs: list[list[Any]] = []
    for s in sequence:
        if runs and runs[-1][0] == s:
            runs[-1][1] += 1
        else:
            runs.append([s, 1])
    parts = [f"{s} x{k}" if k > 1 else s for s, k in runs]
    text = ""
    for k, part in enumerate(parts):
        candidate = part if not text else f"{text}, {part}"
        if text and len(candidate) > limit and k < len(parts) - 1:
            return f"{text}, ... ({sum(r[1] for r in runs[k:])} more)"
        text = candidate
    return text


def _item_tables(plan: Any, gross: Mapping[str, Sequence[float]] | None,
                 net: Mapping[str, Sequence[float]] | None) -> list[Table]:
    n = plan.periods
    gross = gross or {}
    net = net or {}
    interval_of: dict[str, dict[str, Any]] = {}
    for iv in plan.intervals:
        for mbr in iv["members"]:
            interval_of[mbr] = iv
    demanded = set(plan.backlog) | set(gross) | set(net)
    made = set(plan.item_production)
    bought = set(plan.purchases)
    everything = demanded | made | bought | set(plan.inventory)
    order = ([(c, "end product") for c in sorted(demanded)]
             + [(c, "made") for c in sorted(made - demanded)]
             + [(c, "purchased") for c in sorted(bought - demanded - made)]
             + [(c, "buffer") for c in sorted(everything - demanded - made - bought)])
    header = _period_header(n, ["item"])
    tables = []
    for code, kind in order:
        iv = interval_of.get(code)
        if iv is None:
            title = f"{code}: {kind}"
        elif iv["head"] == code:
            chain = " <- ".join(iv["members"])
            title = (f"{code}: {kind}, interval {iv['code']}"
                     + (f" ({chain})" if len(iv["members"]) > 1 else "")
                     + f", lead time {iv['lead_time']}" + (", kit check" if iv.get("kit_check") else ""))
        else:
            title = f"{code}: made in interval {iv['code']} ({' <- '.join(iv['members'])}), started with {iv['head']}"
        series: list[tuple[str, Sequence[float]]] = []
        if code in gross:
            series.append(("gross demand", gross[code]))
        if code in net:
            series.append(("net demand", net[code]))
        if code in plan.item_production:
            series.append(("production (started)", plan.item_production[code]))
        if code in plan.purchases:
            series.append(("purchases (arriving)", plan.purchases[code]))
        if code in plan.inventory:
            series.append(("inventory (end)", plan.inventory[code]))
        if code in plan.backlog:
            series.append(("backlog (end)", plan.backlog[code]))
        rows: list[list[Cell]] = [[label, *values, _total(values)] for label, values in series]
        tables.append(Table(header, rows, title=title, zero_shown={n + 1}))
    return tables


def _work_center_tables(plan: Any) -> list[Table]:
    n = plan.periods
    header = _period_header(n, ["minutes"])
    tables = []
    for w in plan.load_min:
        rows: list[list[Cell]] = [
            ["load", *plan.load_min[w], _total(plan.load_min[w])],
            ["regular capacity", *plan.regular_min[w], _total(plan.regular_min[w])],
            ["overtime", *plan.overtime_min[w], _total(plan.overtime_min[w])],
        ]
        tables.append(Table(header, rows, title=f"Work center {w}", zero_shown={n + 1}))
    return tables


def network_summary(plan: Any) -> str:
    """Objectives and costs of a network plan, aligned, with the solver line."""
    o, c = plan.objectives, plan.costs
    header = ["", "delayed", "inventory", "overtime", "balance", "total"]
    rows: list[list[Cell]] = [
        ["Objectives", o["late"], o["inventory"], o["overtime"], o["balance"], ""],
        ["Costs", c.get("late", 0.0), c.get("inventory", 0.0), c.get("overtime", 0.0), c.get("balance", 0.0),
         c.get("total", 0.0)],
    ]
    note = ("(delayed and inventory in unit-periods, overtime in minutes, balance: sum of the work centers' "
            "load standard deviations)")
    return "\n\n".join([Table(header, rows, blank_zero=False).render(), note + "\n" + _solver_line(plan.solver)])


def _levelling_table(levelling: Mapping[str, Mapping[str, Any]]) -> str:
    rows: list[list[Cell]] = []
    for t, lv in levelling.items():
        seq = list(lv["sequence"])
        mix: dict[str, int] = {}
        for s in seq:
            mix[s] = mix.get(s, 0) + 1
        rows.append([t, "optimal" if lv["exact"] else "goal chasing",
                     ", ".join(f"{k} {v}" for k, v in sorted(mix.items())), _compress(seq)])
    return Table(["period", "method", "mix", "sequence"], rows, labels=4,
                 title="Final-assembly sequence per period (levelled mix)").render()


def network_plan_report(plan: Any, gross: Mapping[str, Sequence[float]] | None = None,
                        net: Mapping[str, Sequence[float]] | None = None,
                        levelling: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """A network plan for people: one table per item (end products, made items, purchased items), one per
    work center, the levelled final-assembly sequences, then objectives, costs and the solver line."""
    parts = [render_tables(_item_tables(plan, gross, net) + _work_center_tables(plan))]
    if levelling:
        parts.append(_levelling_table(levelling))
    parts.append(network_summary(plan))
    return "\n\n".join(parts)


def network_pareto_report(plans: Sequence[Any], a: str, b: str, outputs: Sequence[Mapping[str, Any]],
                          gross: Mapping[str, Sequence[float]] | None = None,
                          net: Mapping[str, Sequence[float]] | None = None) -> str:
    """The efficient points of a network Pareto sweep: a summary table, then each point's plan."""
    rows: list[list[Cell]] = [[str(k), p.objectives[a], p.objectives[b], p.objectives["late"], p.costs.get("total", 0.0)]
                              for k, p in enumerate(plans, 1)]
    summary = Table(["#", a, b, "delayed", "total cost"], rows, blank_zero=False,
                    title=f"Pareto front: {a} against {b}: {len(plans)} efficient point{'s' if len(plans) != 1 else ''}").render()
    parts = [summary]
    for k, (plan, out) in enumerate(zip(plans, outputs), 1):
        head = f"=== efficient point {k} of {len(plans)}: {a} {qty(plan.objectives[a])}, {b} {qty(plan.objectives[b])} ==="
        parts.append(head + "\n\n" + network_plan_report(plan, gross, net, out.get("levelling")))
    return "\n\n".join(parts)


def plan_run_report(run_id: int, plan: Any, snapshot: Any = None) -> str:
    """`lpms plan run`: the stored run's headline, one table per item (with its gross and net demand when the
    snapshot is given) and work center, objectives and costs."""
    s = plan.solver
    head = (f"plan run {run_id} stored: {len(plan.intervals)} intervals, {s['rows']} rows x {s['columns']} columns, "
            f"build {s['build_seconds']:.3f} s, solve {s['seconds']:.3f} s")
    gross = snapshot.gross if snapshot is not None else None
    net = snapshot.net if snapshot is not None else None
    return head + "\n\n" + network_plan_report(plan, gross, net)


# ------------------------------------------------------------------ network division (text)

def describe_network(division: Any) -> str:
    """Text listing of the intervals, their chains, inputs, loads and cut reasons."""
    lines = [f"{len(division.intervals)} intervals, {len(division.kit_points)} kitting points, "
             f"{sum(1 for r in division.decoupling.values() if 'purchased' in r)} purchased items"]
    for iv in division.intervals:
        chain = " <- ".join(iv.members)
        lines.append(f"{iv.code}{'  [kit check]' if iv.is_kitting else ''}")
        lines.append(f"  chain: {chain} (lead time {iv.lead_time})")
        lines.append(f"  cut: {'; '.join(iv.cut_reasons)}")
        if iv.inputs:
            lines.append("  inputs: " + ", ".join(f"{k} x{qty(v, 4)}" for k, v in sorted(iv.inputs.items())))
        if iv.run_min:
            lines.append("  load min/unit: " + ", ".join(f"{k} {qty(v, 4)}" for k, v in sorted(iv.run_min.items())))
    return "\n".join(lines)
