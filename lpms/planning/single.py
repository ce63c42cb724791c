"""The paper's single-item plan (Wang & Liu 2013, 2.1-2.2), solved exactly.

minimise L*sum(LQ) + J*S + K*sum(KQ) + A*sum(AQ)
s.t. 0 <= Q_i <= NQ_i + UQ_i, sum Q = sum ND,
LQ/KQ from the cumulative balance, AQ_i = max(Q_i - NQ_i, 0), S the sample std of Q.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lpms.domain.enums import OffsetRule
from lpms.domain.errors import Infeasible, InvalidInput
from lpms.domain.values import DEFAULT_COSTS, Costs
from lpms.planning.demand import OrderLine, gross_demand, net_demand
from lpms.planning.optimize import (
    OBJECTIVES,
    NormGroup,
    ObjectiveModel,
    Outcome,
    bound_label,
    pareto_front,
    solve_priority,
    solve_weighted,
    solver_report,
)
from lpms.planning.solver import INF, LinearModel, SolverOptions


@dataclass(frozen=True)
class Shortage:
    first: int  # 1-based periods, inclusive
    last: int
    demand: float
    capacity: float

    @property
    def short(self) -> float:
        return self.demand - self.capacity

    def describe(self) -> str:
        return (f"periods {self.first}-{self.last} need {_fmt(self.demand)}, capacity (regular + overtime) is "
                f"{_fmt(self.capacity)}, short by {_fmt(self.short)}")


class PlanInfeasible(Infeasible):
    """Capacity cannot cover net demand within the horizon; ``shortages`` says where and how much."""

    def __init__(self, shortages: list[Shortage], subject: str = "") -> None:
        self.shortages = shortages
        head = f"{subject}: " if subject else ""
        text = "; ".join(s.describe() for s in shortages)
        super().__init__(f"{head}capacity cannot cover net demand: {text}. "
                         "Add capacity, reduce demand, or allow backlog past the horizon.")


@dataclass(frozen=True)
class SingleItemScenario:
    forecast: tuple[float, ...]
    regular_capacity: tuple[float, ...]
    overtime_capacity: tuple[float, ...]
    orders: tuple[OrderLine, ...] = ()
    offset_rule: OffsetRule = OffsetRule.BACKWARD
    backward_window: int | None = None
    forward_window: int | None = None
    on_hand: float = 0.0
    receipts: tuple[float, ...] | None = None
    safety_stock: float | tuple[float, ...] = 0.0
    costs: Costs = DEFAULT_COSTS
    allow_backlog_past_horizon: bool = False

    @property
    def periods(self) -> int:
        return len(self.forecast)


@dataclass
class SingleItemPlan:
    gross_demand: list[float]
    net_demand: list[float]
    regular_capacity: list[float]
    overtime_capacity: list[float]
    production: list[float]
    inventory: list[float]
    backlog: list[float]
    overtime: list[float]
    costs: dict[str, float]
    objectives: dict[str, float]
    solver: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "gross_demand": _nums(self.gross_demand), "net_demand": _nums(self.net_demand),
            "production": _nums(self.production), "inventory": _nums(self.inventory),
            "backlog": _nums(self.backlog), "overtime": _nums(self.overtime),
            "costs": {k: _num(v) for k, v in self.costs.items()},
            "objectives": {k: _num(v) for k, v in self.objectives.items()},
            "solver": self.solver,
        }


def _num(x: float) -> float | int:
    """A quantity for output: whole numbers (within the solver's 1e-6) as int, else 9 decimals."""
    r = round(x)
    if abs(x - r) <= 1e-6:
        return int(r)
    return round(x, 9)


def _snap(x: float) -> float:
    """Snap solver noise around whole numbers; keep other values at full precision."""
    r = round(x)
    return float(r) if abs(x - r) <= 1e-6 else float(x)


def _nums(xs: Sequence[float]) -> list[float | int]:
    return [_num(x) for x in xs]


def _fmt(x: float) -> str:
    return str(_num(x))


def diagnose_capacity(net: Sequence[float], capacity: Sequence[float]) -> list[Shortage]:
    """Where capacity falls short of net demand: the whole horizon if it is short, and the
    first cumulative window from period 1 that is short (lateness is unavoidable from there)."""
    out: list[Shortage] = []
    cum_d = np.cumsum(net)
    cum_c = np.cumsum(capacity)
    n = len(net)
    if n and cum_d[-1] - cum_c[-1] > 1e-9:
        short = np.flatnonzero(cum_d - cum_c > 1e-9)
        first = int(short[0])
        if first < n - 1:
            out.append(Shortage(1, first + 1, float(cum_d[first]), float(cum_c[first])))
        out.append(Shortage(1, n, float(cum_d[-1]), float(cum_c[-1])))
    return out


@dataclass
class SingleItemModel:
    om: ObjectiveModel
    q: np.ndarray  # column indices of production per period


def build_model(net: Sequence[float], regular: Sequence[float], overtime: Sequence[float],
                allow_backlog_past_horizon: bool = False, name: str = "item") -> SingleItemModel:
    """The paper's model as a sparse LP with deviation columns for the std-dev term."""
    n = len(net)
    nd = np.asarray(net, dtype=float)
    reg = np.asarray(regular, dtype=float)
    cap = reg + np.asarray(overtime, dtype=float)
    lm = LinearModel()
    per = range(1, n + 1)
    q = lm.add_cols([f"Q[{name},{i}]" for i in per], 0.0, cap)
    inv = lm.add_cols([f"KQ[{name},{i}]" for i in per], 0.0, INF)
    back = lm.add_cols([f"LQ[{name},{i}]" for i in per], 0.0, INF)
    ot = lm.add_cols([f"AQ[{name},{i}]" for i in per], 0.0, INF)
    # cumulative balance: KQ_i - LQ_i = KQ_{i-1} - LQ_{i-1} + Q_i - ND_i
    rows = lm.add_rows([f"balance[{name},{i}]" for i in per], nd, nd)
    lm.add_coefs(rows, q, 1.0)
    lm.add_coefs(rows, inv, -1.0)
    lm.add_coefs(rows, back, 1.0)
    lm.add_coefs(rows[1:], inv[:-1], 1.0)
    lm.add_coefs(rows[1:], back[:-1], -1.0)
    total = float(nd.sum())
    row = lm.add_rows([f"total[{name}]"], -INF if allow_backlog_past_horizon else total, total)
    lm.add_coefs(row, q, 1.0)
    rows = lm.add_rows([f"overtime[{name},{i}]" for i in per], -INF, reg)
    lm.add_coefs(rows, q, 1.0)
    lm.add_coefs(rows, ot, -1.0)
    norms = []
    # the standard deviation term is dropped when production is forced to zero (no capacity, or
    # nothing to make): an identically zero norm only makes the QP degenerate
    produces = bool(np.any(cap > 0)) and total > 0  # sum Q <= total and Q >= 0
    if n >= 2 and produces:
        mean = lm.add_cols([f"mean[{name}]"], -INF, INF)
        dev = lm.add_cols([f"dev[{name},{i}]" for i in per], -INF, INF)
        row = lm.add_rows([f"mean[{name}]"], 0.0, 0.0)
        lm.add_coefs(row, mean, float(n))
        lm.add_coefs(row, q, -1.0)
        rows = lm.add_rows([f"dev[{name},{i}]" for i in per], 0.0, 0.0)
        lm.add_coefs(rows, dev, 1.0)
        lm.add_coefs(rows, q, -1.0)
        lm.add_coefs(rows, mean, 1.0)
        norms.append(NormGroup(dev, 1.0 / math.sqrt(n - 1), name))
    model = lm.compile()
    linear = {}
    for key, cols in (("late", back), ("inventory", inv), ("overtime", ot)):
        c = np.zeros(model.ncols)
        c[cols] = 1.0
        linear[key] = c
    # tie-break (docs/planning.md): among optimal plans, produce as late as possible
    tiebreak = np.zeros(model.ncols)
    tiebreak[q] = np.arange(n - 1, -1, -1, dtype=float)
    return SingleItemModel(ObjectiveModel(model, linear, norms, tiebreak), q)


def evaluate_plan(net: Sequence[float], regular: Sequence[float], production: Sequence[float],
                  costs: Costs) -> tuple[list[float], list[float], list[float], dict[str, float], dict[str, float]]:
    """Inventory, backlog and overtime of a production plan, and its objective values and costs."""
    q = np.asarray(production, dtype=float)
    pos = np.cumsum(q - np.asarray(net, dtype=float))
    inventory = np.maximum(pos, 0.0)
    backlog = np.maximum(-pos, 0.0)
    overtime = np.maximum(q - np.asarray(regular, dtype=float), 0.0)
    std = float(np.std(q, ddof=1)) if len(q) >= 2 else 0.0
    objectives = {"late": float(backlog.sum()), "balance": std, "inventory": float(inventory.sum()),
                  "overtime": float(overtime.sum())}
    w = costs.as_weights()
    cost = {k: w[k] * objectives[k] for k in OBJECTIVES}
    cost["total"] = sum(cost.values())
    return _clean(inventory), _clean(backlog), _clean(overtime), objectives, cost


def _clean(values: np.ndarray) -> list[float]:
    return [_snap(float(v)) for v in values]


def _demand(scn: SingleItemScenario) -> tuple[list[float], list[float]]:
    gross = gross_demand(scn.forecast, scn.orders, scn.offset_rule, scn.backward_window, scn.forward_window)
    net = net_demand(gross, scn.on_hand, scn.receipts, scn.safety_stock)
    return gross, net


def _to_plan(scn: SingleItemScenario, gross: list[float], net: list[float], out: Outcome, q_cols: np.ndarray,
             options: SolverOptions, weighted: bool) -> SingleItemPlan:
    production = [_snap(v) for v in out.x[q_cols]]
    inventory, backlog, overtime, objectives, costs = evaluate_plan(net, scn.regular_capacity, production, scn.costs)
    if weighted:
        value, bound_of = costs["total"], "costs.total"
    else:
        value, bound_of = sum(w * objectives[k] for k, w in out.weights.items()), bound_label(out.weights)
    solver = {**solver_report(out, value, bound_of, options), **out.stats}
    return SingleItemPlan(gross, net, list(scn.regular_capacity), list(scn.overtime_capacity), production,
                          inventory, backlog, overtime, costs, objectives, solver)


def _prepare(scn: SingleItemScenario) -> tuple[list[float], list[float], SingleItemModel]:
    gross, net = _demand(scn)
    capacity = [r + o for r, o in zip(scn.regular_capacity, scn.overtime_capacity)]
    if not scn.allow_backlog_past_horizon:
        shortages = diagnose_capacity(net, capacity)
        if shortages:
            raise PlanInfeasible(shortages)
    return gross, net, build_model(net, scn.regular_capacity, scn.overtime_capacity, scn.allow_backlog_past_horizon)


def plan_weighted(scn: SingleItemScenario, options: SolverOptions = SolverOptions()) -> SingleItemPlan:
    """Plan with the cost coefficients L, J, K, A of ``scn.costs``. Raises PlanInfeasible."""
    gross, net, sm = _prepare(scn)
    return _to_plan(scn, gross, net, solve_weighted(sm.om, scn.costs.as_weights(), options), sm.q, options, True)


def plan_priority(scn: SingleItemScenario, order: Sequence[str], options: SolverOptions = SolverOptions()) -> SingleItemPlan:
    """Plan by objective priority (lexicographic), no cost coefficients needed. Raises PlanInfeasible."""
    check_objectives(order)
    gross, net, sm = _prepare(scn)
    return _to_plan(scn, gross, net, solve_priority(sm.om, order, options), sm.q, options, False)


def plan_pareto(scn: SingleItemScenario, first: str, second: str, options: SolverOptions = SolverOptions(),
                max_points: int = 25) -> list[SingleItemPlan]:
    """Efficient plans trading ``first`` against ``second``; lateness (if not in the pair) is held at its minimum."""
    check_objectives([first, second])
    if first == second:
        raise InvalidInput("the Pareto sweep needs two different objectives")
    gross, net, sm = _prepare(scn)
    hold = [] if "late" in (first, second) else ["late"]
    return [_to_plan(scn, gross, net, o, sm.q, options, False)
            for o in pareto_front(sm.om, first, second, options, hold, max_points)]


def check_objectives(names: Sequence[str]) -> None:
    for name in names:
        if name not in OBJECTIVES:
            raise InvalidInput(f"unknown objective {name!r} (choose from {', '.join(OBJECTIVES)})")
    if len(set(names)) != len(names):
        raise InvalidInput("an objective is named twice")
