"""Multi-item, multi-level, multi-work-center plan over the interval-divided network.

One production variable per interval and period: x[I, s] units of the interval's head
started in period s; it loads every work center of the chain in period s, consumes the
interval's buffered inputs in period s (kit check: the complete set must be in the buffers)
and arrives in the head's buffer in period s + lead time. Buffers hold inventory; only
external (customer) demand may be backlogged. Materials are bought, arriving no earlier than
their lead time. The four objectives generalise the paper's: lateness on external demand
(and unit-periods below a buffer's safety stock), balance as the sample standard deviation
of each work center's load and/or each interval's output, inventory per buffer, overtime
minutes per work center.

Costs (weighted mode) follow one rule at every level: a per-item or per-work-center override
that is given is used, otherwise the global cost is inherited -- 0 included. Priority and
Pareto modes use no costs: every objective is its unweighted quantity (docs/scenario-format.md).
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lpms.domain.enums import ItemKind
from lpms.domain.errors import Infeasible
from lpms.domain.values import DEFAULT_COSTS, Costs
from lpms.planning.network import Division, NetworkError, NetworkSnapshot, build_graph, divide
from lpms.planning.optimize import (
    NormGroup,
    ObjectiveModel,
    Outcome,
    bound_label,
    pareto_front,
    solve_priority,
    solve_weighted,
    solver_report,
)
from lpms.planning.solver import INF, Grid, LinearModel, SolverError, SolverInfeasible, SolverOptions

BALANCE_ON = ("work_centers", "intervals", "both")


@dataclass(frozen=True)
class ReplanTerms:
    """What a re-plan adds to the network LP (docs/replan.md). Period indices are 0-based in
    the plan's horizon (0 = the first planned period, the current one).

    * ``frozen_periods``: every interval's production there is fixed to ``committed`` (0 where
      nothing is committed): the released work inside the fence.
    * ``committed``: interval -> {period: head units still to start}. In a frozen period the
      production equals it; elsewhere (work orders started before the horizon) it is a floor.
    * ``in_process``: buffer item -> arrivals per period of units already started (work in
      process of released work orders): supply counted once, without load or components.
    * ``previous``: interval -> the previous approved plan's production per period; every cell
      outside the frozen periods with ``t < compare_periods`` is compared with it, and each
      unit of change ``|x - previous|`` costs ``nervousness_cost`` (objective ``nervousness``).
    * ``yields``: interval -> the share of the units it starts that arrive good in its head's
      buffer (the planned yield learned from the reported scrap; 1 when absent). Production
      ``x`` is the units started (released, loading the work centers and drawing their kit);
      ``yield * x`` arrive, so the plan starts enough to make up the expected scrap.
    """

    frozen_periods: tuple[int, ...] = ()
    committed: dict[str, dict[int, float]] = field(default_factory=dict)
    in_process: dict[str, tuple[float, ...]] = field(default_factory=dict)
    previous: dict[str, tuple[float, ...]] | None = None
    compare_periods: int = 0
    nervousness_cost: float = 0.0
    yields: dict[str, float] = field(default_factory=dict)

    def yield_of(self, interval: str) -> float:
        return float(self.yields.get(interval, 1.0))

    def compared(self, periods: int) -> np.ndarray:
        """Mask over the periods whose free cells are compared with the previous plan."""
        mask = np.zeros(periods, dtype=bool)
        if self.previous is not None:
            mask[:min(self.compare_periods, periods)] = True
            mask[[t for t in self.frozen_periods if 0 <= t < periods]] = False
        return mask

    def previous_of(self, interval: str, periods: int) -> np.ndarray:
        prev = (self.previous or {}).get(interval)
        out = np.zeros(periods)
        if prev is not None:
            n = min(len(prev), periods)
            out[:n] = prev[:n]
        return out

    @property
    def penalised(self) -> bool:
        return self.previous is not None and self.nervousness_cost > 0


@dataclass(frozen=True)
class NetworkPlanInput:
    snapshot: NetworkSnapshot
    periods: int
    demand: dict[str, tuple[float, ...]]  # item -> external net demand per period
    regular_min: dict[str, tuple[float, ...]]  # work center -> regular minutes per period
    overtime_min: dict[str, tuple[float, ...]]
    on_hand: dict[str, float] = field(default_factory=dict)  # buffered items without external demand
    receipts: dict[str, tuple[float, ...]] = field(default_factory=dict)
    safety_stock: dict[str, float] = field(default_factory=dict)
    costs: Costs = DEFAULT_COSTS
    item_costs: dict[str, dict[str, float]] = field(default_factory=dict)  # item -> {"late", "inventory"}
    work_center_costs: dict[str, dict[str, float]] = field(default_factory=dict)  # wc -> {"overtime", "balance"}
    balance_on: str = "work_centers"  # work_centers | intervals | both
    allow_backlog_past_horizon: bool = False
    replan: ReplanTerms | None = None  # fixed released work, work in process, change penalty
    min_interval_lead: int = 0  # an interval feeding another takes at least this many periods (network.divide)


class NetworkInfeasible(Infeasible):
    """No plan meets all external demand within the horizon; the message says where it is short."""

    def __init__(self, details: list[str]) -> None:
        self.details = details
        super().__init__("no plan meets all demand within the horizon: " + "; ".join(details))


@dataclass
class NetworkModel:
    om: ObjectiveModel  # unweighted objectives (priority and Pareto modes)
    om_costs: ObjectiveModel  # the same model priced by the costs (weighted mode)
    division: Division
    intervals: list[str]
    buffers: list[str]
    work_centers: list[str]
    periods: int
    x: np.ndarray  # (intervals, periods) column indices
    inv: np.ndarray  # (buffers, periods)
    back: dict[str, np.ndarray]
    buy: dict[str, np.ndarray]
    ot: np.ndarray  # (work centers, periods)
    load_coef: np.ndarray  # (work centers, intervals) run minutes per unit
    final_back_cols: np.ndarray
    short: dict[str, np.ndarray] = field(default_factory=dict)  # buffer -> shortfall below safety stock
    change: np.ndarray | None = None  # (2, cells) up and down deviation columns of the compared cells
    build_seconds: float = 0.0


@dataclass
class NetworkPlan:
    periods: int
    interval_production: dict[str, list[float]]  # interval code -> head units started per period
    item_production: dict[str, list[float]]  # made item -> units started per period
    inventory: dict[str, list[float]]  # buffer item -> end-of-period inventory
    backlog: dict[str, list[float]]  # demanded item -> end-of-period backlog
    purchases: dict[str, list[float]]  # material -> arrivals planned per period
    load_min: dict[str, list[float]]
    regular_min: dict[str, list[float]]
    overtime_min: dict[str, list[float]]
    objectives: dict[str, float]
    costs: dict[str, float]
    solver: dict[str, Any]
    intervals: list[dict[str, Any]]
    safety_shortfall: dict[str, list[float]] = field(default_factory=dict)  # buffer -> units below safety stock
    notes: list[str] = field(default_factory=list)  # what a re-plan had to accept (released work over capacity)

    def to_dict(self) -> dict[str, Any]:
        def r(xs: Sequence[float]) -> list[float]:
            return [round(v, 6) + 0.0 for v in xs]

        def rd(d: dict[str, list[float]]) -> dict[str, list[float]]:
            return {k: r(v) for k, v in d.items()}

        return {
            "periods": self.periods, "intervals": self.intervals,
            "interval_production": rd(self.interval_production), "item_production": rd(self.item_production),
            "inventory": rd(self.inventory), "backlog": rd(self.backlog), "safety_shortfall": rd(self.safety_shortfall),
            "purchases": rd(self.purchases),
            "work_centers": {w: {"load_min": r(self.load_min[w]), "regular_min": r(self.regular_min[w]),
                                 "overtime_min": r(self.overtime_min[w])} for w in self.load_min},
            "objectives": {k: round(v, 6) for k, v in self.objectives.items()},
            "costs": {k: round(v, 6) for k, v in self.costs.items()}, "solver": self.solver,
            **({"notes": list(self.notes)} if self.notes else {}),
        }


def _series(values: dict[str, tuple[float, ...]], key: str, n: int) -> np.ndarray:
    v = values.get(key)
    return np.zeros(n) if v is None else np.asarray(v, dtype=float)


def check_demand(inp: NetworkPlanInput, division: Division) -> None:
    """External demand only on items that are not components, safety stock only on buffers
    (raises NetworkError, invalid input)."""
    g = division.graph
    problems = []
    for item, level in sorted(inp.safety_stock.items()):
        if level > 0 and item not in inp.demand and item in g.nodes and item not in division.decoupling:
            problems.append(f"safety stock on {item}, {no_buffer(division, item)}")
    for item in sorted(inp.demand):
        if item not in g.nodes:
            problems.append(f"demand for unknown item {item}")
        elif list(g.successors(item)):
            parents = ", ".join(sorted(g.successors(item)))
            problems.append(f"demand for {item}, a component of {parents}: {spare_part_advice(item)}")
        elif item not in division.decoupling:  # cannot happen: an item without parents is an end product
            problems.append(f"demand for {item}, which is not a buffer")
    if problems:
        raise NetworkError(problems)


def no_buffer(division: Division, item: str) -> str:
    (parent,) = list(division.graph.successors(item))
    return (f"which has no buffer (it flows on into {parent} within {division.interval_of.get(item, 'its interval')}): "
            f"mark it stocked to hold safety stock")


def spare_part_advice(item: str) -> str:
    return (f"external demand is planned only on items that are not components; for spare-part demand add a "
            f"product (e.g. {item}-SPARE) whose only component is {item} (qty 1), give it a routing (run_min may be "
            f"0) and put the demand on that product")


def build_network_model(inp: NetworkPlanInput, with_balance: bool, division: Division | None = None) -> NetworkModel:
    """Build the network LP in bulk (numpy index arithmetic, one COO block per kind of term)."""
    t0 = time.perf_counter()
    if division is None:
        division = divide(build_graph(inp.snapshot), inp.min_interval_lead)
    check_demand(inp, division)
    g = division.graph
    T = inp.periods
    periods = np.arange(T)
    intervals = [iv.code for iv in division.intervals]
    buffers = sorted(division.decoupling)
    b_index = {c: k for k, c in enumerate(buffers)}
    wcs = list(inp.snapshot.work_centers)
    w_index = {c: k for k, c in enumerate(wcs)}
    demanded = sorted(k for k in inp.demand if k in b_index)
    nI, nB, nW = len(intervals), len(buffers), len(wcs)
    lm = LinearModel()
    lead = np.array([iv.lead_time for iv in division.intervals], dtype=np.int64)
    x_ub = np.where(periods[None, :] + lead[:, None] < T, INF, 0.0)
    rt = inp.replan
    committed, frozen, in_process = _replan_arrays(inp, division, intervals, b_index, T)
    x_lb = committed
    if rt is not None:
        # released work: fixed inside the frozen periods, a floor elsewhere (started before the horizon)
        x_ub = np.where(frozen[None, :], committed, np.where(committed > 0, np.maximum(x_ub, committed), x_ub))
    x = lm.add_cols(Grid("x", intervals, T), x_lb.ravel(), x_ub.ravel()).reshape(nI, T)
    inv_ub = np.full((nB, T), INF)
    heads = np.array([b_index[iv.head] for iv in division.intervals], dtype=np.int64)
    arrive = periods[None, :] + lead[:, None]
    ok = arrive < T
    # the share of started units that arrive good (a re-plan's planned yield; 1 otherwise)
    good = np.array([rt.yield_of(c) if rt is not None else 1.0 for c in intervals]) if nI else np.zeros(0)
    forced = in_process.sum(axis=1)  # supply the plan cannot refuse, per buffer
    np.add.at(forced, heads, good * np.where(ok, committed, 0.0).sum(axis=1))
    for item in demanded:
        # plan net demand exactly: no stock left over at the end beyond what released work forces
        surplus = forced[b_index[item]] - float(np.sum(_series(inp.demand, item, T)))
        inv_ub[b_index[item], T - 1] = max(0.0, surplus)
    inv = lm.add_cols(Grid("inv", buffers, T), 0.0, inv_ub.ravel()).reshape(nB, T)
    back = {}
    for item in demanded:
        ub = np.full(T, INF)
        if not inp.allow_backlog_past_horizon:
            ub[-1] = 0.0
        back[item] = lm.add_cols(Grid("back", [item], T), 0.0, ub)
    if rt is not None:
        # kit shortage of released work: a buffer the committed production draws from may fall
        # behind by at most what that production consumes (a component backlog, priced as
        # lateness, made up by the horizon's end); free production never draws on it
        need = np.zeros((nB, T))
        for k, iv in enumerate(division.intervals):
            for item, q in iv.inputs.items():
                need[b_index[item]] += q * committed[k]
        for item in buffers:
            if item in back or not np.any(need[b_index[item]] > 0):
                continue
            ub = np.cumsum(need[b_index[item]])
            if not inp.allow_backlog_past_horizon:
                ub[-1] = 0.0
            back[item] = lm.add_cols(Grid("back", [item], T), 0.0, ub)
    buy = {}
    for item in buffers:
        if g.nodes[item]["kind"] == ItemKind.MATERIAL.value:
            lt = g.nodes[item]["lead_time"]
            buy[item] = lm.add_cols(Grid("buy", [item], T), 0.0, np.where(periods >= lt, INF, 0.0))
    ot_ub = np.stack([_series(inp.overtime_min, w, T) for w in wcs]) if nW else np.zeros((0, T))
    reg = np.stack([_series(inp.regular_min, w, T) for w in wcs]) if nW else np.zeros((0, T))
    if rt is not None and nW:
        # released work is done whatever it takes: where it alone needs more than regular time
        # plus overtime (downtime, whole-unit rounding), the overtime limit is raised to fit it
        need = np.zeros((nW, T))
        for k, iv in enumerate(division.intervals):
            for w, minutes in iv.run_min.items():
                need[w_index[w]] += minutes * committed[k]
        ot_ub = np.maximum(ot_ub, need - reg)
    ot = lm.add_cols(Grid("ot", wcs, T), 0.0, ot_ub.ravel()).reshape(nW, T)

    # buffer balance rows: inv - back - inv_prev + back_prev - arrivals + consumption = receipts - demand (+ on hand)
    rhs = np.zeros((nB, T))
    for item in buffers:
        b = b_index[item]
        rhs[b] += _series(inp.receipts, item, T) - _series(inp.demand, item, T) + in_process[b]
        rhs[b, 0] += inp.on_hand.get(item, 0.0)
    rows = lm.add_rows(Grid("buffer", buffers, T), rhs.ravel(), rhs.ravel()).reshape(nB, T)
    lm.add_coefs(rows, inv, 1.0)
    lm.add_coefs(rows[:, 1:], inv[:, :-1], -1.0)
    for item, cols in back.items():
        r = rows[b_index[item]]
        lm.add_coefs(r, cols, -1.0)
        lm.add_coefs(r[1:], cols[:-1], 1.0)
    for item, cols in buy.items():
        lm.add_coefs(rows[b_index[item]], cols, -1.0)
    lm.add_coefs(rows[np.broadcast_to(heads[:, None], (nI, T))[ok], arrive[ok]], x[ok],
                 -np.broadcast_to(good[:, None], (nI, T))[ok])
    cons_i, cons_b, cons_q = [], [], []
    for k, iv in enumerate(division.intervals):
        for item, q in iv.inputs.items():
            cons_i.append(k)
            cons_b.append(b_index[item])
            cons_q.append(q)
    if cons_i:
        ci, cb, cq = np.array(cons_i), np.array(cons_b), np.array(cons_q)
        lm.add_coefs(rows[cb][:, :], x[ci][:, :], cq[:, None])

    # work-center load (minutes per unit of head output, summed along the chain)
    load_coef = np.zeros((nW, nI))
    for k, iv in enumerate(division.intervals):
        for w, minutes in iv.run_min.items():
            load_coef[w_index[w], k] += minutes
    wi, ii = np.nonzero(load_coef)
    # balance terms: a series that is identically zero (a work center no interval loads, an
    # interval that cannot start within the horizon) is dropped: its norm is a constant 0 that
    # only makes the QP degenerate
    loaded = [k for k in range(nW) if np.any(load_coef[k] > 0)]
    startable = [k for k in range(nI) if np.any(x_ub[k] > 0)]
    groups: list[tuple[NormGroup, float]] = []  # (unit group, cost per unit of standard deviation)
    if with_balance and inp.balance_on in ("work_centers", "both") and T >= 2 and loaded:
        load = lm.add_cols(Grid("load", wcs, T), -INF, INF).reshape(nW, T)
        lrows = lm.add_rows(Grid("load", wcs, T), 0.0, 0.0).reshape(nW, T)
        lm.add_coefs(lrows, load, 1.0)
        lm.add_coefs(lrows[wi][:, :], x[ii][:, :], -load_coef[wi, ii][:, None])
        crows = lm.add_rows(Grid("capacity", wcs, T), -INF, reg.ravel()).reshape(nW, T)
        lm.add_coefs(crows, load, 1.0)
        lm.add_coefs(crows, ot, -1.0)
        names = [wcs[k] for k in loaded]
        for grp, w in zip(_deviation_groups(lm, "wc", names, load[loaded], T), names):
            groups.append((grp, wc_cost(inp, w, "balance")))
    else:
        crows = lm.add_rows(Grid("capacity", wcs, T), -INF, reg.ravel()).reshape(nW, T)
        lm.add_coefs(crows[wi][:, :], x[ii][:, :], load_coef[wi, ii][:, None])
        lm.add_coefs(crows, ot, -1.0)
    if with_balance and inp.balance_on in ("intervals", "both") and T >= 2 and startable:
        names = [intervals[k] for k in startable]
        for grp in _deviation_groups(lm, "iv", names, x[startable], T):
            groups.append((grp, inp.costs.balance))  # intervals have no override level: the global cost

    # safety stock of buffers without external demand: soft, shortfall priced as lateness
    short: dict[str, np.ndarray] = {}
    for item, level in sorted(inp.safety_stock.items()):
        if level > 0 and item in b_index and item not in inp.demand:
            s = lm.add_cols(Grid("short", [item], T), 0.0, INF)
            r = lm.add_rows(Grid("safety", [item], T), level, INF)
            lm.add_coefs(r, inv[b_index[item]], 1.0)
            lm.add_coefs(r, s, 1.0)
            short[item] = s
    # nervousness: x - previous = up - down on every compared cell, |x - previous| = up + down at the optimum
    change = None
    if rt is not None and rt.penalised:
        mask = rt.compared(T)
        cells_i, cells_t = np.nonzero(np.broadcast_to(mask[None, :], (nI, T)))
        if len(cells_i):
            prev = np.stack([rt.previous_of(c, T) for c in intervals])[cells_i, cells_t]
            labels = [f"{intervals[i]},{t + 1}" for i, t in zip(cells_i, cells_t)]
            up = lm.add_cols([f"up[{c}]" for c in labels], 0.0, INF)
            down = lm.add_cols([f"down[{c}]" for c in labels], 0.0, INF)
            crow = lm.add_rows([f"change[{c}]" for c in labels], prev, prev)
            lm.add_coefs(crow, x[cells_i, cells_t], 1.0)
            lm.add_coefs(crow, up, -1.0)
            lm.add_coefs(crow, down, 1.0)
            change = np.stack([up, down])
    model = lm.compile()
    linear = ("late", "inventory", "overtime", "nervousness") if rt is not None and rt.previous is not None else \
        ("late", "inventory", "overtime")
    units = {k: np.zeros(model.ncols) for k in linear}
    priced = {k: np.zeros(model.ncols) for k in linear}
    if change is not None and rt is not None:
        units["nervousness"][change.ravel()] = 1.0
        priced["nervousness"][change.ravel()] = rt.nervousness_cost
    for item, cols in back.items():
        units["late"][cols] = 1.0
        priced["late"][cols] = backlog_cost(inp, item)
    for item, cols in short.items():
        units["late"][cols] = 1.0
        priced["late"][cols] = item_cost(inp, item, "late")
    for item in buffers:
        units["inventory"][inv[b_index[item]]] = 1.0
        priced["inventory"][inv[b_index[item]]] = item_cost(inp, item, "inventory")
    for w in wcs:
        units["overtime"][ot[w_index[w]]] = 1.0
        priced["overtime"][ot[w_index[w]]] = wc_cost(inp, w, "overtime")
    # tie-break (docs/planning.md): among optimal plans, start production and buy as late as possible
    tiebreak = np.zeros(model.ncols)
    later = (T - 1 - periods).astype(float)
    tiebreak[x] = later[None, :]
    for cols in buy.values():
        tiebreak[cols] = later
    om = ObjectiveModel(model, units, [grp for grp, _ in groups], tiebreak)
    om_costs = ObjectiveModel(model, priced, [NormGroup(grp.cols, grp.scale * cost, grp.label)
                                             for grp, cost in groups if cost > 0], tiebreak)
    final_back = np.array([cols[-1] for cols in back.values()], dtype=np.int64)
    nm = NetworkModel(om, om_costs, division, intervals, buffers, wcs, T, x, inv, back, buy, ot, load_coef, final_back,
                      short, change)
    nm.build_seconds = time.perf_counter() - t0
    return nm


def _replan_arrays(inp: NetworkPlanInput, division: Division, intervals: list[str], b_index: dict[str, int],
                   T: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Committed production (intervals x periods), the frozen-period mask and the in-process
    arrivals (buffers x periods) of a re-plan; zeros without one. Raises NetworkError for work
    the network no longer has."""
    committed = np.zeros((len(intervals), T))
    frozen = np.zeros(T, dtype=bool)
    in_process = np.zeros((len(b_index), T))
    rt = inp.replan
    if rt is None:
        return committed, frozen, in_process
    problems = []
    i_index = {c: k for k, c in enumerate(intervals)}
    for t in rt.frozen_periods:
        if not 0 <= t < T:
            problems.append(f"frozen period index {t} is outside the horizon of {T} periods")
        else:
            frozen[t] = True
    for code, cells in sorted(rt.committed.items()):
        if code not in i_index:
            problems.append(f"released work of interval {code}, which is no longer in the production network")
            continue
        for t, qty in cells.items():
            if not 0 <= t < T:
                problems.append(f"released work of {code} in period index {t}, outside the horizon")
            elif qty < 0 or not math.isfinite(qty):
                problems.append(f"released work of {code} in period index {t} is {qty!r}")
            else:
                committed[i_index[code], t] += qty
    for item, arrivals in sorted(rt.in_process.items()):
        if item not in b_index:
            problems.append(f"work in process arrives in {item}, which is not a buffer")
            continue
        a = np.asarray(arrivals, dtype=float)
        if len(a) != T or np.any(a < 0) or not np.all(np.isfinite(a)):
            problems.append(f"work in process of {item}: {T} non-negative arrivals expected")
            continue
        in_process[b_index[item]] += a
    if rt.previous is not None:
        for code, prev in rt.previous.items():
            if any(not math.isfinite(v) or v < 0 for v in prev):
                problems.append(f"previous production of {code} is not a list of non-negative numbers")
    if not math.isfinite(rt.nervousness_cost) or rt.nervousness_cost < 0:
        problems.append(f"nervousness cost {rt.nervousness_cost!r} must be a non-negative number")
    for code, y in sorted(rt.yields.items()):
        if code in i_index and not (math.isfinite(y) and 0 < y <= 1):
            problems.append(f"planned yield of {code} is {y!r}: expected a share in (0, 1]")
    if problems:
        raise NetworkError(problems)
    return committed, frozen, in_process


def committed_overload(inp: NetworkPlanInput, division: Division) -> list[str]:
    """Work centers whose committed (released) work alone exceeds regular + overtime capacity."""
    if inp.replan is None:
        return []
    T = inp.periods
    intervals = [iv.code for iv in division.intervals]
    committed, _, _ = _replan_arrays(inp, division, intervals, {b: k for k, b in enumerate(sorted(division.decoupling))},
                                     T)
    out = []
    for w in inp.snapshot.work_centers:
        coef = np.array([iv.run_min.get(w, 0.0) for iv in division.intervals])
        load = coef @ committed
        cap = _series(inp.regular_min, w, T) + _series(inp.overtime_min, w, T)
        for t in np.flatnonzero(load > cap + 1e-6 * np.maximum(1.0, cap)):
            out.append(f"released work needs {load[t]:g} minutes on {w} in planned period {t + 1}, which has "
                       f"{cap[t]:g} (regular + overtime): planned as overtime beyond the limit")
    return out


def _deviation_groups(lm: LinearModel, tag: str, names: Sequence[str], values: np.ndarray, T: int) -> list[NormGroup]:
    """d[k,t] = values[k,t] - mean_k, with mean_k a column: sparse rows, one norm group per k
    (scale 1 / sqrt(T - 1): the sample standard deviation)."""
    n = len(names)
    mean = lm.add_cols([f"mean[{tag},{c}]" for c in names], -INF, INF)
    dev = lm.add_cols(Grid(f"dev[{tag}]", list(names), T), -INF, INF).reshape(n, T)
    mrows = lm.add_rows([f"mean[{tag},{c}]" for c in names], 0.0, 0.0)
    lm.add_coefs(mrows, mean, float(T))
    lm.add_coefs(np.repeat(mrows, T), values.ravel(), -1.0)
    drows = lm.add_rows(Grid(f"dev[{tag}]", list(names), T), 0.0, 0.0).reshape(n, T)
    lm.add_coefs(drows, dev, 1.0)
    lm.add_coefs(drows, values, -1.0)
    lm.add_coefs(drows, np.repeat(mean[:, None], T, axis=1), 1.0)
    return [NormGroup(dev[k], 1.0 / math.sqrt(T - 1), f"{tag}:{names[k]}") for k in range(n)]


def _cost(overrides: dict[str, dict[str, float]], name: str, key: str, base: float) -> float:
    """The one rule for every cost and override level: an override that is given (any value,
    0 included) is used; otherwise the global cost is inherited (0 included)."""
    return float(overrides.get(name, {}).get(key, base))


def item_cost(inp: NetworkPlanInput, item: str, key: str) -> float:
    """Cost per unit of ``late`` (per period delayed or below safety stock) or ``inventory`` of an item."""
    return _cost(inp.item_costs, item, key, float(getattr(inp.costs, key)))


KIT_BACKLOG_FACTOR = 10.0


def backlog_cost(inp: NetworkPlanInput, item: str) -> float:
    """Cost per unit-period of an item's backlog: its late cost for an item with external
    demand; for a component (the kit shortage of released work, docs/replan.md) ten times the
    highest late cost of any item, so that the plan uses it only where released work cannot be
    supplied otherwise, never to let free production draw material that is not there."""
    if item in inp.demand:
        return item_cost(inp, item, "late")
    highest = max([float(inp.costs.late), *(float(c["late"]) for c in inp.item_costs.values() if "late" in c)])
    return KIT_BACKLOG_FACTOR * highest


def wc_cost(inp: NetworkPlanInput, wc: str, key: str) -> float:
    """Cost per overtime minute (``overtime``) or per minute of load standard deviation (``balance``)."""
    return _cost(inp.work_center_costs, wc, key, float(getattr(inp.costs, key)))


def _balance_priced(inp: NetworkPlanInput) -> bool:
    """Whether weighted mode has any balance cost at all."""
    on_wc = inp.balance_on in ("work_centers", "both") and any(
        wc_cost(inp, w, "balance") > 0 for w in inp.snapshot.work_centers)
    on_iv = inp.balance_on in ("intervals", "both") and inp.costs.balance > 0
    return on_wc or on_iv


def _plan(inp: NetworkPlanInput, options: SolverOptions, mode: str, priority: Sequence[str] = (),
          pareto: Sequence[str] = ()) -> list[NetworkPlan]:
    """Plan the network in one mode (one plan, or the Pareto points). Raises NetworkInfeasible."""
    if inp.balance_on not in BALANCE_ON:
        raise NetworkError([f"balance_on {inp.balance_on!r} is not one of {', '.join(BALANCE_ON)}"])
    if mode == "weighted":
        with_balance = _balance_priced(inp)
    else:
        with_balance = "balance" in priority or "balance" in pareto
    division = divide(build_graph(inp.snapshot), inp.min_interval_lead)
    overload = committed_overload(inp, division)
    nm = build_network_model(inp, with_balance, division)
    penalised = nm.change is not None
    try:
        if mode == "priority":
            # minimal change comes last: among the lexicographic optima, the one closest to the previous plan
            order = [*priority, "nervousness"] if penalised else list(priority)
            outs: list[Outcome] = [solve_priority(nm.om, order, options)]
        elif mode == "pareto":
            hold = [] if "late" in pareto else ["late"]
            outs = pareto_front(nm.om, pareto[0], pareto[1], options, hold)
        else:
            weights = {"late": 1.0, "inventory": 1.0, "overtime": 1.0, "balance": 1.0 if nm.om_costs.norms else 0.0}
            if penalised:
                weights["nervousness"] = 1.0
            outs = [solve_weighted(nm.om_costs, weights, options)]
    except SolverInfeasible:
        raise NetworkInfeasible(explain_infeasibility(inp, nm, options)) from None
    plans = [_extract(inp, nm, o, options, mode == "weighted") for o in outs]
    for plan in plans:
        plan.notes.extend(overload)
    return plans


def _std(a: np.ndarray) -> float:
    return float(np.std(a, ddof=1)) if len(a) >= 2 else 0.0


def price_plan(inp: NetworkPlanInput, production: dict[str, np.ndarray], load: dict[str, np.ndarray],
               inventory: dict[str, np.ndarray], backlog: dict[str, np.ndarray],
               shortfall: dict[str, np.ndarray]) -> tuple[dict[str, float], dict[str, float]]:
    """The objective values and costs of a plan, recomputed from its quantities (docs/scenario-format.md).

    late: backlog unit-periods of external demand plus unit-periods below a buffer's safety
    stock; inventory: buffer unit-periods; overtime: minutes above regular capacity; balance:
    the sample standard deviations of the series named by ``balance_on`` (work-center loads,
    interval outputs). Costs: each quantity times its item's / work center's cost (override
    given, else global); interval balance at the global balance cost."""
    T = inp.periods
    overtime = {w: np.maximum(load[w] - _series(inp.regular_min, w, T), 0.0) for w in load}
    wc_on = inp.balance_on in ("work_centers", "both")
    iv_on = inp.balance_on in ("intervals", "both")
    objectives = {
        "late": float(sum(v.sum() for v in backlog.values()) + sum(v.sum() for v in shortfall.values())),
        "inventory": float(sum(v.sum() for v in inventory.values())),
        "overtime": float(sum(v.sum() for v in overtime.values())),
        "balance": (sum(_std(v) for v in load.values()) if wc_on else 0.0) +
                   (sum(_std(v) for v in production.values()) if iv_on else 0.0),
    }
    rt = inp.replan
    if rt is not None and rt.previous is not None:
        # units of change against the previous approved plan on the compared cells (outside the fence)
        mask = rt.compared(T)
        objectives["nervousness"] = float(sum(np.abs(np.asarray(v) - rt.previous_of(c, T))[mask].sum()
                                              for c, v in production.items()))
    costs = {
        "late": float(sum(backlog_cost(inp, b) * v.sum() for b, v in backlog.items())
                      + sum(item_cost(inp, b, "late") * v.sum() for b, v in shortfall.items())),
        "inventory": float(sum(item_cost(inp, b, "inventory") * v.sum() for b, v in inventory.items())),
        "overtime": float(sum(wc_cost(inp, w, "overtime") * v.sum() for w, v in overtime.items())),
        "balance": (sum(wc_cost(inp, w, "balance") * _std(v) for w, v in load.items()) if wc_on else 0.0) +
                   (sum(inp.costs.balance * _std(v) for v in production.values()) if iv_on else 0.0),
    }
    if "nervousness" in objectives:
        costs["nervousness"] = (rt.nervousness_cost if rt is not None else 0.0) * objectives["nervousness"]
    costs["total"] = sum(costs.values())
    return objectives, costs


def _extract(inp: NetworkPlanInput, nm: NetworkModel, out: Outcome, options: SolverOptions, weighted: bool) -> NetworkPlan:
    x = out.x
    T = nm.periods

    def snap(a: np.ndarray) -> np.ndarray:
        return np.asarray(np.where(np.abs(a - np.round(a)) <= 1e-6, np.round(a), a) + 0.0, dtype=float)

    prod = snap(x[nm.x])
    interval_production = {c: prod[k].tolist() for k, c in enumerate(nm.intervals)}
    item_production: dict[str, list[float]] = {}
    for k, iv in enumerate(nm.division.intervals):
        for m in iv.members:
            item_production[m] = snap(prod[k] * iv.multiplier[m]).tolist()
    # inventory and backlog from the buffer position (inventory - backlog), so a plan never
    # reports stock and backlog of one item at once
    position = {b: x[nm.inv[k]] - (x[nm.back[b]] if b in nm.back else 0.0) for k, b in enumerate(nm.buffers)}
    inv_arr = {b: snap(np.maximum(p, 0.0)) for b, p in position.items()}
    back_arr = {b: snap(np.maximum(-position[b], 0.0)) for b in nm.back}
    short_arr = {b: snap(np.maximum(inp.safety_stock[b] - inv_arr[b], 0.0)) for b in nm.short}
    purchases = {b: snap(x[c]).tolist() for b, c in nm.buy.items()}
    # loads from the reported item quantities (routing minutes x units started), so the reported
    # loads, overtime and balance are exactly those of the reported plan
    w_index = {w: k for k, w in enumerate(nm.work_centers)}
    load = np.zeros((len(nm.work_centers), T))
    for item, units in item_production.items():
        for operation in nm.division.graph.nodes[item]["ops"]:
            load[w_index[operation.work_center]] += operation.run_min * np.asarray(units)
    load_by_wc = {w: load[k] for k, w in enumerate(nm.work_centers)}
    reg = {w: list(_series(inp.regular_min, w, T)) for w in nm.work_centers}
    overtime = {w: snap(np.maximum(load[k] - np.asarray(reg[w]), 0.0)).tolist() for k, w in enumerate(nm.work_centers)}
    objectives, costs = price_plan(inp, {c: prod[k] for k, c in enumerate(nm.intervals)}, load_by_wc, inv_arr,
                                   back_arr, short_arr)
    if weighted:
        report = solver_report(out, costs["total"], "costs.total", options)
    else:
        report = solver_report(out, sum(w * objectives[k] for k, w in out.weights.items()), bound_label(out.weights),
                               options)
    model = nm.om.model
    solver = {**report, "rows": model.nrows, "columns": model.ncols, "nonzeros": int(len(model.value)),
              "build_seconds": round(nm.build_seconds, 4), **out.stats}
    intervals = [{"code": iv.code, "head": iv.head, "members": list(iv.members), "lead_time": iv.lead_time,
                  "kit_check": iv.is_kitting, "inputs": iv.inputs, "cut": list(iv.cut_reasons)}
                 for iv in nm.division.intervals]
    return NetworkPlan(T, interval_production, item_production, {b: v.tolist() for b, v in inv_arr.items()},
                       {b: v.tolist() for b, v in back_arr.items()}, purchases,
                       {w: load[k].tolist() for k, w in enumerate(nm.work_centers)}, reg, overtime,
                       objectives, costs, solver, intervals, {b: v.tolist() for b, v in short_arr.items()})


def minutes_per_unit(division: Division) -> dict[str, dict[str, float]]:
    """Work-center minutes per unit of each buffered item, exploded through the BOM."""
    by_head = {iv.head: iv for iv in division.intervals}
    memo: dict[str, dict[str, float]] = {}

    def explode(item: str) -> dict[str, float]:
        if item in memo:
            return memo[item]
        out: dict[str, float] = {}
        iv = by_head.get(item)
        if iv is not None:
            for w, m in iv.run_min.items():
                out[w] = out.get(w, 0.0) + m
            for comp, q in iv.inputs.items():
                for w, m in explode(comp).items():
                    out[w] = out.get(w, 0.0) + q * m
        memo[item] = out
        return out

    return {b: explode(b) for b in division.decoupling}


def explain_infeasibility(inp: NetworkPlanInput, nm: NetworkModel, options: SolverOptions) -> list[str]:
    """Find the least unmet demand (backlog allowed past the horizon) and say which work
    centers are saturated and how many minutes they lack, or that lead times are too long."""
    from lpms.planning.solver import Runner

    runner = Runner(nm.om.model, options)
    cols = nm.final_back_cols.astype(np.int32)
    runner.highs.changeColsBounds(len(cols), cols, np.zeros(len(cols)), np.full(len(cols), INF))
    cost = np.zeros(nm.om.model.ncols)
    cost[cols] = 1.0
    runner.set_cost(cost)
    try:
        x = runner.solve().x
    except SolverInfeasible as exc:
        if inp.replan is not None:
            return ["the released work in the frozen periods cannot be supplied: a buffer its work orders draw "
                    "from cannot be filled in time (check on-hand, receipts and the kits of the released work orders)"]
        return [f"even with backlog past the horizon the model cannot be solved ({exc})"]
    except SolverError as exc:
        return [f"even with backlog past the horizon the model cannot be solved ({exc})"]
    details = []
    unmet = {item: float(x[c[-1]]) for item, c in nm.back.items() if x[c[-1]] > 1e-6}
    need = minutes_per_unit(nm.division)
    prod = x[nm.x]
    load = nm.load_coef @ prod
    for item, qty in sorted(unmet.items()):
        details.append(f"{item}: {qty:g} units cannot be delivered by period {nm.periods}")
    for k, w in enumerate(nm.work_centers):
        cap = np.asarray(_series(inp.regular_min, w, nm.periods)) + np.asarray(_series(inp.overtime_min, w, nm.periods))
        full = np.flatnonzero(load[k] >= cap - 1e-6)
        lacking = sum(q * need.get(item, {}).get(w, 0.0) for item, q in unmet.items())
        if lacking > 1e-6 and len(full):
            details.append(f"work center {w} is at full capacity (regular + overtime) in periods "
                           f"{_ranges(full + 1)} and lacks {lacking:g} minutes")
    if unmet and len(details) == len(unmet):
        details.append("no work center is saturated: the lead times through the BOM are too long for the horizon")
    return details or ["the model is infeasible for a reason other than capacity (check stock, receipts and lead times)"]


def _ranges(values: Sequence[int] | np.ndarray) -> str:
    out = []
    start = prev = None
    seq: list[int | None] = [int(v) for v in values]
    for v in seq + [None]:
        if start is None:
            start = prev = v
        elif v is not None and v == prev + 1:  # type: ignore[operator]
            prev = v
        else:
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = v
    return ", ".join(out)


def plan_weighted(inp: NetworkPlanInput, options: SolverOptions = SolverOptions()) -> NetworkPlan:
    """The plan minimising the weighted sum of the four costs. Raises NetworkInfeasible."""
    return _plan(inp, options, "weighted")[0]


def plan_priority(inp: NetworkPlanInput, priority: Sequence[str],
                  options: SolverOptions = SolverOptions()) -> NetworkPlan:
    """The lexicographic plan for the objectives in ``priority`` order. Raises NetworkInfeasible."""
    return _plan(inp, options, "priority", priority=priority)[0]


def plan_pareto(inp: NetworkPlanInput, first: str, second: str,
                options: SolverOptions = SolverOptions()) -> list[NetworkPlan]:
    """The efficient plans trading ``first`` against ``second``. Raises NetworkInfeasible."""
    return _plan(inp, options, "pareto", pareto=(first, second))
