"""Multi-objective optimisation over a compiled plan model: weighted, priority, Pareto.

Objectives are the four of the paper: ``late``, ``balance``, ``inventory``, ``overtime``.
Three are linear (a cost vector over the model's columns); ``balance`` is a sum of scaled
Euclidean norms, one per group of deviation columns (d = x - mean), i.e. sample standard
deviations. The norm term is optimised exactly, not replaced by another measure:

* upper bound: iterated QPs with HiGHS (min c.x + sum mu_g ||d_g||^2, with
  mu_g = w_g / (2 ||d_g||) at the last point) -- the QP optimum is the norm problem's optimum
  at the fixed point; every iterate's true cost is a valid upper bound;
* lower bound: an LP master min c.x + sum w_g t_g with tangent cuts t_g >= <u, d_g>
  (u = d/||d|| at every point seen), which under-estimates the norms, so its optimum is a
  certified lower bound. Iteration stops when (UB - LB) / max(1, |UB|) <= gap_rel.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from lpms.domain.errors import InvalidInput
from lpms.planning.solver import INF, CompiledModel, Runner, SolverError, SolverOptions

OBJECTIVES = ("late", "balance", "inventory", "overtime")


@dataclass(frozen=True)
class NormGroup:
    cols: np.ndarray  # deviation columns d (free variables, d = x - mean)
    scale: float  # value = scale * ||x[cols]||, e.g. 1 / sqrt(n - 1) for a sample std deviation
    label: str = ""


@dataclass
class ObjectiveModel:
    model: CompiledModel
    linear: dict[str, np.ndarray]  # objective name -> cost vector over the columns
    norms: list[NormGroup] = field(default_factory=list)

    def values(self, x: np.ndarray) -> dict[str, float]:
        out = {name: float(c @ x[: len(c)]) for name, c in self.linear.items()}
        out["balance"] = self.balance(x)
        return out

    def balance(self, x: np.ndarray) -> float:
        return float(sum(g.scale * np.linalg.norm(x[g.cols]) for g in self.norms))


@dataclass
class Outcome:
    x: np.ndarray
    values: dict[str, float]  # objective values at x
    objective: float  # weighted objective at x (true value, norm term exact)
    lower_bound: float
    gap_rel: float
    stats: dict[str, float | int | str]


@dataclass
class _Work:
    """The LP runner (with one t column per norm group) and, when needed, the QP runner."""

    om: ObjectiveModel
    options: SolverOptions
    lp: Runner = field(init=False)
    qp: Runner | None = field(default=None, init=False)
    t_cols: np.ndarray = field(init=False)
    rows: list[tuple[np.ndarray, np.ndarray, float, float]] = field(default_factory=list, init=False)
    started: float = field(default_factory=time.perf_counter, init=False)
    method: str = field(default="iterated QP", init=False)
    kelley_result: tuple[np.ndarray, float, float] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.lp = Runner(self.om.model, self.options)
        self.t_cols = self.lp.add_cols(len(self.om.norms)) if self.om.norms else np.zeros(0, dtype=np.int64)

    @property
    def ncols(self) -> int:
        return self.lp.ncols

    def qp_runner(self) -> Runner:
        """The QP runner holds the model and the linear bound rows, but no t columns or cuts:
        zero-cost unbounded columns would only widen the QP solver's null space."""
        if self.qp is None:
            self.qp = Runner(self.om.model, self.options)
            for cols, vals, lo, hi in self.rows:
                self.qp.add_row(cols, vals, lo, hi)
        return self.qp

    def add_row(self, cols: np.ndarray, vals: np.ndarray, lo: float, hi: float, lp_only: bool = False) -> None:
        self.lp.add_row(cols, vals, lo, hi)
        if lp_only:
            return
        self.rows.append((cols, vals, lo, hi))
        if self.qp is not None:
            self.qp.add_row(cols, vals, lo, hi)

    def add_cuts(self, x: np.ndarray) -> None:
        """Tangent cuts t_g >= <u, d_g> with u = d_g / ||d_g|| at x."""
        for g, t in zip(self.om.norms, self.t_cols):
            d = x[g.cols]
            norm = float(np.linalg.norm(d))
            if norm <= 1e-9:
                continue
            cols = np.concatenate([[t], g.cols])
            vals = np.concatenate([[1.0], -d / norm])
            self.add_row(cols, vals, 0.0, INF, lp_only=True)

    def full_cost(self, weights: dict[str, float], with_t: bool) -> np.ndarray:
        c = np.zeros(self.ncols)
        n0 = self.om.model.ncols
        for name, w in weights.items():
            if name != "balance" and w:
                c[:n0] += w * self.om.linear[name]
        if with_t and weights.get("balance", 0.0):
            for g, t in zip(self.om.norms, self.t_cols):
                c[t] = weights["balance"] * g.scale
        return c

    def stats(self) -> dict[str, float | int | str]:
        out: dict[str, float | int | str] = {
            "lp_solves": self.lp.solves, "lp_seconds": round(self.lp.seconds, 4), "lp_iterations": self.lp.iterations,
            "qp_solves": 0, "qp_seconds": 0.0, "qp_iterations": 0,
        }
        if self.qp is not None:
            out.update(qp_solves=self.qp.solves, qp_seconds=round(self.qp.seconds, 4), qp_iterations=self.qp.iterations,
                       qp_accepted_with_residual=self.qp.accepted_with_residual)
        out["seconds"] = round(time.perf_counter() - self.started, 4)
        return out


def _weighted_value(om: ObjectiveModel, weights: dict[str, float], x: np.ndarray) -> tuple[float, dict[str, float]]:
    vals = om.values(x[: om.model.ncols])
    return sum(w * vals[n] for n, w in weights.items() if w), vals


def _minimise(work: _Work, weights: dict[str, float], balance_bound: float | None = None) -> Outcome:
    """Minimise sum_k weights_k * objective_k subject to the rows already in ``work``."""
    om, opts = work.om, work.options
    n0 = om.model.ncols
    jb = weights.get("balance", 0.0) if om.norms else 0.0
    if jb < 0 or any(w < 0 for w in weights.values()):
        raise InvalidInput("objective weights must not be negative")
    work.lp.set_cost(work.full_cost(weights, with_t=True))
    res = work.lp.solve()
    x_best = res.x
    lower = res.objective  # the LP master under-estimates the norm term: a valid lower bound
    if balance_bound is not None:
        x_best, lower = _enforce_balance(work, weights, res.x, res.objective, balance_bound)
    best, _ = _weighted_value(om, weights, x_best)
    iterations = 0
    if jb > 0 and om.model.ncols > opts.qp_max_columns:
        iterations = _kelley(work, weights, x_best, lower, best)
        x_best, lower, best = work.kelley_result
    elif jb > 0:
        work.add_cuts(x_best)
        qp = work.qp_runner()
        c_qp = work.full_cost(weights, with_t=False)[: om.model.ncols]
        x = x_best
        scale = max(1.0, float(np.max(np.abs(om.model.ub[np.isfinite(om.model.ub)]), initial=1.0)))
        while iterations < opts.max_iterations and (best - lower) > opts.gap_rel * max(1.0, abs(best)):
            iterations += 1
            diag = np.zeros(qp.ncols)
            mus = []
            for g in om.norms:
                norm = max(float(np.linalg.norm(x[g.cols])), 1e-7 * scale)
                mu = jb * g.scale / (2.0 * norm)
                mus.append(mu)
                diag[g.cols] = 2.0 * mu  # 0.5 * diag * d^2 = mu * d^2
            # HiGHS's tolerances are absolute: scale the QP so its quadratic part is O(1),
            # otherwise a flat objective stops the QP solver short of the optimum
            factor = 1.0 / max(mus)
            qp.set_cost(c_qp[: qp.ncols] * factor)
            qp.set_diagonal_hessian(diag * factor)
            x = qp.solve(residual_tol=1e-6).x
            value, _ = _weighted_value(om, weights, x)
            if value < best:
                best, x_best = value, x
            work.add_cuts(x)
            master = work.lp.solve()
            lower = max(lower, master.objective)
            value_m, _ = _weighted_value(om, weights, master.x)
            if value_m < best:
                best, x_best = value_m, master.x
            work.add_cuts(master.x)
    total, vals = _weighted_value(om, weights, x_best)
    gap = max(0.0, total - lower) / max(1.0, abs(total))
    stats = work.stats()
    stats["balance_iterations"] = iterations
    if jb > 0:
        stats["balance_method"] = work.method
    return Outcome(x=x_best[:n0], values=vals, objective=total, lower_bound=min(lower, total), gap_rel=gap, stats=stats)


def _kelley(work: _Work, weights: dict[str, float], x: np.ndarray, lower: float, best: float) -> int:
    """Cutting planes on the LP master alone, warm-started, until the gap target or the time
    budget. Each round adds one tangent cut per norm group at the master's solution."""
    om, opts = work.om, work.options
    x_best = x
    started = time.perf_counter()
    rounds = 0
    alpha = 0.5
    while (best - lower) > opts.gap_rel * max(1.0, abs(best)) and time.perf_counter() - started < opts.balance_time_limit_s:
        rounds += 1
        # in-out separation: cut at a point between the best plan and the master's point (a
        # convex combination, so also feasible); when it brings no progress fall back to x
        sep = alpha * x_best + (1 - alpha) * x
        value_sep, _ = _weighted_value(om, weights, sep)
        if value_sep < best:
            best, x_best = value_sep, sep
        work.add_cuts(sep)
        res = work.lp.solve()
        previous = lower
        x = res.x
        lower = max(lower, res.objective)
        value, _ = _weighted_value(om, weights, x)
        if value < best:
            best, x_best = value, x
        alpha = min(0.9, alpha + 0.1) if lower > previous + 1e-12 * max(1.0, abs(lower)) else max(0.0, alpha - 0.25)
    work.kelley_result = (x_best, lower, best)
    work.method = "cutting planes"
    return rounds


def _enforce_balance(work: _Work, weights: dict[str, float], x: np.ndarray, obj: float, bound: float) -> tuple[np.ndarray, float]:
    """Cut loop for the constraint balance <= bound while minimising a linear objective."""
    om = work.om
    for _ in range(200):
        if om.balance(x[: om.model.ncols]) <= bound * (1 + 1e-6) + 1e-7:
            return x, obj
        work.add_cuts(x)
        res = work.lp.solve()
        x, obj = res.x, res.objective
    raise SolverError("could not hold the balance objective at its optimum within 200 cuts")


def _bound_row(work: _Work, name: str, bound: float) -> None:
    c = work.om.linear[name]
    nz = np.flatnonzero(c)
    work.add_row(nz, c[nz], -INF, bound)


def _add_balance_bound(work: _Work, bound: float) -> None:
    scales = np.array([g.scale for g in work.om.norms])
    work.add_row(work.t_cols, scales, -INF, bound, lp_only=True)


def _hold_balance(work: _Work, x: np.ndarray, value: float) -> float | None:
    """Keep the balance objective at its optimum for the later stages.

    With one norm group the minimiser's deviation vector is unique (||d||^2 is strictly
    convex in d), so fixing d at it is exact and linear. With several groups the optimal set
    need not fix each d_g: a bound on the sum of norms is enforced by tangent cuts instead.
    Returns the bound enforced by cuts, or None when d was fixed.
    """
    if len(work.om.norms) == 1:
        cols = work.om.norms[0].cols
        for j, v in zip(cols, x[cols]):
            eps = 1e-9 * max(1.0, abs(float(v)))
            work.add_row(np.array([j]), np.array([1.0]), float(v) - eps, float(v) + eps)
        return None
    bound = value + max(_tolerance(value), 1e-6 * max(1.0, abs(value)))
    _add_balance_bound(work, bound)
    return bound


def _tolerance(value: float) -> float:
    return 1e-9 * max(1.0, abs(value))


def solve_weighted(om: ObjectiveModel, weights: dict[str, float], options: SolverOptions) -> Outcome:
    """Minimise the weighted sum of the objectives (costs L, J, K, A of the paper)."""
    work = _Work(om, options)
    out = _minimise(work, {k: v for k, v in weights.items() if v})
    out.stats["mode"] = "weighted"
    return out


def solve_priority(om: ObjectiveModel, order: Sequence[str], options: SolverOptions,
                   weights_after: dict[str, float] | None = None) -> Outcome:
    """Lexicographic optimisation: each objective in ``order`` is minimised while the earlier
    ones are kept within 1e-6 (relative) of their optimum."""
    work = _Work(om, options)
    stages: list[dict[str, float]] = []
    balance_bound: float | None = None
    out: Outcome | None = None
    for name in order:
        out = _minimise(work, {name: 1.0}, balance_bound)
        value = out.values[name]
        stages.append({"objective": name, "optimum": value, "lower_bound": out.lower_bound})  # type: ignore[dict-item]
        if name == "balance":
            balance_bound = _hold_balance(work, out.x, value)
        else:
            _bound_row(work, name, value + _tolerance(value))
    assert out is not None
    out.stats["mode"] = "priority"
    out.stats["stages"] = stages  # type: ignore[assignment]
    return out


def pareto_front(om: ObjectiveModel, first: str, second: str, options: SolverOptions,
                 hold: Sequence[str] = (), max_points: int = 25) -> list[Outcome]:
    """Efficient points trading ``first`` against ``second`` (weight sweep by dichotomic search).

    Objectives in ``hold`` are minimised first and kept at their optimum. For linear objectives
    every extreme efficient point is found; duplicates are removed. Sorted by ``first``.
    """
    def lexi(order: Sequence[str]) -> Outcome:
        return solve_priority(om, [*hold, *order], options)

    def weighted(wa: float, wb: float) -> Outcome:
        work = _Work(om, options)
        bound = None
        for name in hold:
            o = _minimise(work, {name: 1.0}, bound)
            v = o.values[name]
            if name == "balance":
                bound = _hold_balance(work, o.x, v)
            else:
                _bound_row(work, name, v + _tolerance(v))
        return _minimise(work, {first: wa, second: wb}, bound)

    a = lexi([first, second])
    b = lexi([second, first])
    points = [a, b]
    todo = [(a, b)]
    while todo and len(points) < max_points:
        p, q = todo.pop()
        wa = p.values[second] - q.values[second]
        wb = q.values[first] - p.values[first]
        if wa <= _tolerance(p.values[second]) or wb <= _tolerance(q.values[first]):
            continue
        r = weighted(wa, wb)
        seg = wa * p.values[first] + wb * p.values[second]
        here = wa * r.values[first] + wb * r.values[second]
        if here < seg - 1e-6 * max(1.0, abs(seg)):
            points.append(r)
            todo.extend([(p, r), (r, q)])
    # keep one point per efficient value pair: equal within the stage tolerance means the same
    # point, and a point no better in the second objective than its predecessor is dominated
    close = lambda a, b: abs(a - b) <= 1e-7 * max(1.0, abs(a), abs(b))  # noqa: E731
    front: list[Outcome] = []
    for o in sorted(points, key=lambda o: (o.values[first], o.values[second])):
        if front and (close(o.values[first], front[-1].values[first]) or
                      o.values[second] >= front[-1].values[second] or close(o.values[second], front[-1].values[second])):
            continue
        front.append(o)
    return front
