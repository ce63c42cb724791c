"""Plain-text plan tables laid out like the paper's Tables 2 and 3."""
from __future__ import annotations

from typing import Sequence

from lpms.planning.single import SingleItemPlan, _num


def _cell(x: float) -> str:
    v = _num(x)
    if v == 0:
        return ""
    return str(v) if isinstance(v, int) else f"{v:.2f}"


def plan_table(plan: SingleItemPlan, forecast: Sequence[float], orders: Sequence[float], rule: str) -> str:
    """Render a single-item plan with periods as columns and a Total column."""
    n = len(plan.production)
    capacity = [r + o for r, o in zip(plan.regular_capacity, plan.overtime_capacity)]
    rows = [
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
    widths = [max(6, *(len(_cell(r[2][i])) for r in rows)) for i in range(n)]
    head_w = max(len(r[1]) for r in rows)
    total_w = max(7, *(len(_cell(sum(r[2]))) for r in rows))
    lines = [f"{'':9}{'':{head_w}}  " + " ".join(f"{i + 1:>{w}}" for i, w in enumerate(widths)) + f" {'Total':>{total_w}}"]
    for group, label, values in rows:
        cells = " ".join(f"{_cell(v):>{w}}" for v, w in zip(values, widths))
        lines.append(f"{group:9}{label:{head_w}}  {cells} {_cell(sum(values)):>{total_w}}")
    c = plan.costs
    lines.append("")
    lines.append("Costs: " + ", ".join(f"{k} {_num(round(c[k], 6))}" for k in ("late", "balance", "inventory", "overtime", "total")))
    o = {k: _num(round(v, 6)) for k, v in plan.objectives.items()}
    lines.append(f"Objectives: delayed {o['late']}, std deviation S {o['balance']}, "
                 f"inventory {o['inventory']}, overtime {o['overtime']}")
    s = plan.solver
    lines.append(f"Solver: HiGHS, {s.get('mode')}, {s.get('lp_solves', 0)} LP + {s.get('qp_solves', 0)} QP solves, "
                 f"gap {s.get('gap_rel', 0):.2e}, {s.get('seconds', 0):.3f} s")
    return "\n".join(lines)
