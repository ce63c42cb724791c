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

When the QP route fails (HiGHS reports an error, cycles into its iteration limit) or stalls,
the search continues with warm-started cutting planes on the LP master alone. Every run ends
within ``SolverOptions.time_limit_s``; its status is ``optimal`` when the certified gap meets
``gap_rel`` and ``time limit`` otherwise, with the gap it proved.

Tie-break (docs/planning.md): an optimum is often not unique. Among the optimal plans the one
minimising ``ObjectiveModel.tiebreak`` (production and purchases weighted by the periods left
to the horizon end: as late as possible) is returned. The tie-break is a second LP over the
optimal face only (columns and rows with non-zero reduced cost / dual fixed), so it never
changes the objective, the reported costs or the bound.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lpms.domain.errors import InvalidInput
from lpms.planning.solver import INF, CompiledModel, Runner, SolverError, SolveResult, SolverOptions, SolverTimeLimit

OBJECTIVES = ("late", "balance", "inventory", "overtime")
OPTIMAL = "optimal"
TIME_LIMIT = "time limit"
GAP_NOT_MET = "gap not met"  # stopped by solver trouble (not the clock) above the gap target


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
    # secondary objective among the optima (never priced, never part of a bound)
    tiebreak: np.ndarray | None = None

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
    objective: float  # the minimised function (sum of weights * values) at x, norm term exact
    lower_bound: float  # certified: no feasible plan has a smaller objective
    gap_rel: float  # (objective - lower_bound) / max(1, |objective|)
    status: str  # OPTIMAL (gap_rel meets the setting), else TIME_LIMIT or GAP_NOT_MET with the gap proven so far
    weights: dict[str, float]  # what was minimised: objective name -> weight
    stats: dict[str, Any]


@dataclass
class _Search:
    """Best plan found (an upper bound) and the best certified lower bound."""

    x: np.ndarray
    best: float
    lower: float

    def gap_met(self, target: float) -> bool:
        return self.best - self.lower <= target * max(1.0, abs(self.best))

    def offer(self, x: np.ndarray, value: float) -> bool:
        if value < self.best:
            self.best, self.x = value, x
            return True
        return False


@dataclass
class _Work:
    """The LP runner (with one t column per norm group) and, when needed, the QP runner."""

    om: ObjectiveModel
    options: SolverOptions
    deadline: float | None = None
    lp: Runner = field(init=False)
    qp: Runner | None = field(default=None, init=False)
    t_cols: np.ndarray = field(init=False)
    rows: list[tuple[np.ndarray, np.ndarray, float, float]] = field(default_factory=list, init=False)
    started: float = field(default_factory=time.perf_counter, init=False)
    notes: dict[str, Any] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        if self.deadline is None:
            self.deadline = self.started + float(self.options.time_limit_s)
        self.lp = Runner(self.om.model, self.options)
        self.t_cols = self.lp.add_cols(len(self.om.norms)) if self.om.norms else np.zeros(0, dtype=np.int64)

    @property
    def ncols(self) -> int:
        return self.lp.ncols

    def remaining(self) -> float:
        assert self.deadline is not None
        return self.deadline - time.perf_counter()

    def solve_lp(self, until: float | None = None) -> SolveResult:
        limit = self.remaining() if until is None else min(self.remaining(), until - time.perf_counter())
        return self.lp.solve(time_limit=limit)

    def qp_runner(self) -> Runner:
        """The QP runner holds the model and the linear bound rows, but no t columns or cuts:
        zero-cost unbounded columns would only widen the QP solver's null space."""
        if self.qp is None:
            qp = Runner(self.om.model, self.options)
            qp.set_option("qp_iteration_limit", int(max(1000, self.options.qp_iterations_per_column * qp.ncols)))
            for cols, vals, lo, hi in self.rows:
                qp.add_row(cols, vals, lo, hi)
            self.qp = qp
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

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "lp_solves": self.lp.solves, "lp_seconds": round(self.lp.seconds, 4), "lp_iterations": self.lp.iterations,
            "qp_solves": 0, "qp_seconds": 0.0, "qp_iterations": 0,
        }
        if self.qp is not None:
            out.update(qp_solves=self.qp.solves, qp_seconds=round(self.qp.seconds, 4), qp_iterations=self.qp.iterations,
                       qp_accepted_with_residual=self.qp.accepted_with_residual)
        out.update(self.notes)
        out["seconds"] = round(time.perf_counter() - self.started, 4)
        return out


def _weighted_value(om: ObjectiveModel, weights: dict[str, float], x: np.ndarray) -> float:
    vals = om.values(x[: om.model.ncols])
    return sum(w * vals[n] for n, w in weights.items() if w)


def _outcome(work: _Work, weights: dict[str, float], x: np.ndarray, lower: float, extra: dict[str, Any]) -> Outcome:
    om = work.om
    x = x[: om.model.ncols]
    vals = om.values(x)
    total = sum(w * vals[n] for n, w in weights.items() if w)
    # the LP master's optimum equals the plan's value up to HiGHS's tolerances: never above it
    lower = min(lower, total)
    gap = max(0.0, total - lower) / max(1.0, abs(total))
    if gap <= work.options.gap_rel:
        status = OPTIMAL
    else:
        status = GAP_NOT_MET if work.notes.get("stopped_by") == "solver" else TIME_LIMIT
    stats = work.stats()
    stats.update(extra)
    return Outcome(x=x, values=vals, objective=total, lower_bound=lower, gap_rel=gap, status=status,
                   weights=dict(weights), stats=stats)


def _minimise(work: _Work, weights: dict[str, float], balance_bound: float | None = None) -> Outcome:
    """Minimise sum_k weights_k * objective_k subject to the rows already in ``work``.

    Raises SolverTimeLimit when not even the first LP finishes in time (no plan at all)."""
    om, opts = work.om, work.options
    if any(w < 0 for w in weights.values()):
        raise InvalidInput("objective weights must not be negative")
    jb = weights.get("balance", 0.0) if om.norms else 0.0
    work.lp.set_cost(work.full_cost(weights, with_t=True))
    res = work.solve_lp()
    x, lower = res.x, res.objective  # the LP master under-estimates the norm term: a valid lower bound
    if balance_bound is not None:
        x, lower = _enforce_balance(work, x, lower, balance_bound)
    x = x[: om.model.ncols]  # the LP's t columns are not part of the plan
    search = _Search(x, _weighted_value(om, weights, x), lower)
    extra: dict[str, Any] = {"balance_iterations": 0}
    if jb > 0:
        method = "cutting planes"
        if om.model.ncols <= opts.qp_max_columns:
            stopped = _iterated_qp(work, weights, search, extra)
            method = "iterated QP" if stopped is None else f"iterated QP, then cutting planes ({stopped})"
        if not search.gap_met(opts.gap_rel):
            extra["cutting_plane_rounds"] = _kelley(work, weights, search)
        extra["balance_method"] = method
    return _outcome(work, weights, search.x, search.lower, extra)


def _iterated_qp(work: _Work, weights: dict[str, float], search: _Search, extra: dict[str, Any]) -> str | None:
    """The iterated QP. Returns None when the gap target is met, else why it stopped."""
    om, opts = work.om, work.options
    jb = weights["balance"]
    work.add_cuts(search.x)
    try:
        qp = work.qp_runner()
    except SolverError as exc:
        return f"QP rejected: {exc}"
    c_qp = work.full_cost(weights, with_t=False)[: om.model.ncols]
    x = search.x
    finite_ub = om.model.ub[np.isfinite(om.model.ub)]
    scale = max(1.0, float(np.max(np.abs(finite_ub), initial=1.0)))
    stalled = 0
    iterations = 0
    while not search.gap_met(opts.gap_rel):
        if iterations >= opts.max_iterations:
            return "QP iteration limit"
        if work.remaining() <= 0:
            return "time limit"
        iterations += 1
        extra["balance_iterations"] = iterations
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
        try:
            qp.set_cost(c_qp[: qp.ncols] * factor)
            qp.set_diagonal_hessian(diag * factor)
            # a cycling QP must leave time for the cutting planes
            x = qp.solve(residual_tol=1e-6, time_limit=work.remaining() / 2).x[: om.model.ncols]
        except SolverError as exc:
            return f"QP failed: {exc}"
        before = (search.best, search.lower)
        search.offer(x, _weighted_value(om, weights, x))
        work.add_cuts(x)
        try:
            master = work.solve_lp()
        except SolverError as exc:
            return f"LP master failed: {exc}"
        search.lower = max(search.lower, master.objective)
        search.offer(master.x[: om.model.ncols], _weighted_value(om, weights, master.x))
        work.add_cuts(master.x)
        tiny = 1e-12 * max(1.0, abs(search.best))
        progress = search.best < before[0] - tiny or search.lower > before[1] + tiny
        stalled = 0 if progress else stalled + 1
        if stalled >= 5:
            return "QP stalled"
    return None


def _kelley(work: _Work, weights: dict[str, float], search: _Search) -> int:
    """Cutting planes on the LP master alone, warm-started, until the gap target, the balance
    budget or the time limit. Each round adds one tangent cut per norm group."""
    om, opts = work.om, work.options
    until = min(time.perf_counter() + opts.balance_time_limit_s, work.deadline or INF)
    rounds = 0
    alpha = 0.5
    x = search.x
    while not search.gap_met(opts.gap_rel) and time.perf_counter() < until:
        rounds += 1
        # in-out separation: cut at a point between the best plan and the master's point (a
        # convex combination, so also feasible); when it brings no progress fall back to x
        sep = alpha * search.x + (1 - alpha) * x
        search.offer(sep, _weighted_value(om, weights, sep))
        work.add_cuts(sep)
        try:
            res = work.solve_lp(until)
        except SolverTimeLimit:
            break
        except SolverError as exc:
            work.notes["stopped_by"] = "solver"
            work.notes["cutting_planes_stopped"] = str(exc)
            break
        previous = search.lower
        x = res.x[: om.model.ncols]
        search.lower = max(search.lower, res.objective)
        search.offer(x, _weighted_value(om, weights, x))
        improved = search.lower > previous + 1e-12 * max(1.0, abs(search.lower))
        alpha = min(0.9, alpha + 0.1) if improved else max(0.0, alpha - 0.25)
    return rounds


def _enforce_balance(work: _Work, x: np.ndarray, obj: float, bound: float) -> tuple[np.ndarray, float]:
    """Cut loop for the constraint balance <= bound while minimising a linear objective."""
    om = work.om
    for _ in range(1000):
        if om.balance(x[: om.model.ncols]) <= bound * (1 + 1e-6) + 1e-7:
            return x, obj
        work.add_cuts(x)
        res = work.solve_lp()
        x, obj = res.x, res.objective
    raise SolverTimeLimit("could not hold the balance objective at its optimum within 1000 cuts")


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


def _tie_break(work: _Work, out: Outcome, balance_bound: float | None = None) -> Outcome:
    """Among the optimal plans take the one minimising ``om.tiebreak`` (docs/planning.md).

    The LP runner holds the last stage's optimal basis (linear objective), or -- when the
    balance term is weighted -- every deviation vector is held at the plan's and the linear
    part re-optimised first. Then the optimal face is fixed exactly: columns with a non-zero
    reduced cost at their bound, rows with a non-zero dual at theirs; every plan left has the
    same objective. The tie-break LP runs over that face. The result is accepted only if its
    objective is not worse (1e-7 relative); otherwise, or on any solver trouble or when the
    plan is not optimal, the plan is returned unchanged."""
    om = work.om
    if om.tiebreak is None or not np.any(om.tiebreak):
        return out
    if out.status != OPTIMAL or work.remaining() <= 0:
        out.stats["tie_break"] = "skipped (the plan is not proven optimal)" if out.status != OPTIMAL else \
            "skipped (time limit)"
        return out
    n0 = om.model.ncols
    lp = work.lp
    jb = out.weights.get("balance", 0.0) if om.norms else 0.0
    try:
        if jb > 0:
            for g in om.norms:
                d = out.x[g.cols]
                eps = 1e-9 * np.maximum(1.0, np.abs(d))
                lp.fix_cols(g.cols, d - eps, d + eps)
            lp.set_cost(work.full_cost(out.weights, with_t=False))
            work.solve_lp()
        xv, rv, rc, rd = lp.solution()
        cl, cu, rl, ru, cost = lp.bounds()
        tol = 1e-9 * max(1.0, float(np.max(np.abs(cost), initial=0.0)))
        cols = np.flatnonzero(np.abs(rc) > tol)
        at = np.where(np.abs(xv[cols] - cl[cols]) <= np.abs(xv[cols] - cu[cols]), cl[cols], cu[cols])
        keep = np.isfinite(at)
        lp.fix_cols(cols[keep], at[keep], at[keep])
        rows = np.flatnonzero(np.abs(rd) > tol)
        at = np.where(np.abs(rv[rows] - rl[rows]) <= np.abs(rv[rows] - ru[rows]), rl[rows], ru[rows])
        keep = np.isfinite(at)
        lp.fix_rows(rows[keep], at[keep], at[keep])
        c = np.zeros(lp.ncols)
        c[:n0] = om.tiebreak
        lp.set_cost(c)
        res = work.solve_lp()
    except SolverError as exc:
        out.stats["tie_break"] = f"skipped ({exc})"
        return out
    x = res.x[:n0]
    value = _weighted_value(om, out.weights, x)
    ok = value <= out.objective + 1e-7 * max(1.0, abs(out.objective))
    if ok and balance_bound is not None:
        ok = om.balance(x) <= balance_bound * (1 + 1e-6) + 1e-7
    if not ok:
        out.stats["tie_break"] = "skipped (it would have changed the objective)"
        return out
    new = _outcome(work, out.weights, x, out.lower_bound, {k: v for k, v in out.stats.items()
                                                            if k not in ("seconds",)})
    new.stats["tie_break"] = "latest production"
    if new.status != OPTIMAL:  # cannot happen within the tolerances above; keep the proven plan then
        return out
    return new


def solve_weighted(om: ObjectiveModel, weights: dict[str, float], options: SolverOptions,
                   deadline: float | None = None) -> Outcome:
    """Minimise the weighted sum of the objectives (costs L, J, K, A of the paper)."""
    work = _Work(om, options, deadline)
    out = _minimise(work, {k: v for k, v in weights.items() if v})
    out = _tie_break(work, out)
    out.stats["mode"] = "weighted"
    return out


def _trivial_bound(om: ObjectiveModel, name: str) -> float:
    """A lower bound of an objective without solving: 0 when its coefficients and columns are
    non-negative (true of every plan objective), else minus infinity."""
    if name == "balance":
        return 0.0
    c = om.linear[name]
    nz = c != 0
    return 0.0 if bool(np.all(c[nz] > 0) and np.all(om.model.lb[nz] >= 0)) else -INF


def solve_priority(om: ObjectiveModel, order: Sequence[str], options: SolverOptions,
                   deadline: float | None = None) -> Outcome:
    """Lexicographic optimisation: each objective in ``order`` is minimised while the earlier
    ones are kept within 1e-9 (relative) of their optimum. When the time limit stops a later
    stage, the previous stage's plan is returned with status ``time limit`` and the trivial
    bound of the unfinished stage."""
    if not order:
        raise InvalidInput("priority mode needs at least one objective")
    work = _Work(om, options, deadline)
    stages: list[dict[str, Any]] = []
    balance_bound: float | None = None
    out: Outcome | None = None
    for name in order:
        try:
            stage = _minimise(work, {name: 1.0}, balance_bound)
        except SolverTimeLimit:
            if out is None:
                raise
            value = out.values[name]
            lower = min(value, _trivial_bound(om, name))
            gap = max(0.0, value - lower) / max(1.0, abs(value))
            out = Outcome(x=out.x, values=out.values, objective=value, lower_bound=lower, gap_rel=gap,
                          status=OPTIMAL if gap <= options.gap_rel else TIME_LIMIT, weights={name: 1.0},
                          stats=work.stats())
            stages.append({"objective": name, "optimum": value, "lower_bound": lower, "gap_rel": gap,
                           "status": out.status})
            break
        out = stage
        value = out.values[name]
        stages.append({"objective": name, "optimum": value, "lower_bound": out.lower_bound, "gap_rel": out.gap_rel,
                       "status": out.status})
        if name == "balance":
            balance_bound = _hold_balance(work, out.x, value)
        else:
            _bound_row(work, name, value + _tolerance(value))
    assert out is not None
    if all(s["status"] == OPTIMAL for s in stages):
        out = _tie_break(work, out, balance_bound)
    else:
        # the plan is only as proven as its first unproven stage: report that stage's bound
        first = next(s for s in stages if s["status"] != OPTIMAL)
        name = first["objective"]
        value = om.values(out.x)[name]
        lower = min(first["lower_bound"], value)
        gap = max(0.0, value - lower) / max(1.0, abs(value))
        out = Outcome(x=out.x, values=out.values, objective=value, lower_bound=lower, gap_rel=gap,
                      status=OPTIMAL if gap <= options.gap_rel else first["status"], weights={name: 1.0},
                      stats=out.stats)
    out.stats["mode"] = "priority"
    out.stats["stages"] = stages
    return out


def pareto_front(om: ObjectiveModel, first: str, second: str, options: SolverOptions,
                 hold: Sequence[str] = (), max_points: int = 25) -> list[Outcome]:
    """Efficient points trading ``first`` against ``second`` (weight sweep by dichotomic search).

    Objectives in ``hold`` are minimised first and kept at their optimum. For linear objectives
    every extreme efficient point is found; duplicates are removed. Sorted by ``first``. The
    whole sweep shares one time limit; when it runs out, the points found so far are returned
    and each says ``"front": "cut short by the time limit"`` in its stats.
    """
    deadline = time.perf_counter() + float(options.time_limit_s)

    def lexi(order: Sequence[str]) -> Outcome:
        return solve_priority(om, [*hold, *order], options, deadline)

    def weighted(wa: float, wb: float) -> Outcome:
        work = _Work(om, options, deadline)
        bound = None
        for name in hold:
            o = _minimise(work, {name: 1.0}, bound)
            v = o.values[name]
            if name == "balance":
                bound = _hold_balance(work, o.x, v)
            else:
                _bound_row(work, name, v + _tolerance(v))
        out = _minimise(work, {first: wa, second: wb}, bound)
        out = _tie_break(work, out, bound)
        out.stats["mode"] = "pareto"
        return out

    a = lexi([first, second])
    b = lexi([second, first])
    points = [a, b]
    todo = [(a, b)]
    complete = True
    while todo and len(points) < max_points:
        p, q = todo.pop()
        wa = p.values[second] - q.values[second]
        wb = q.values[first] - p.values[first]
        if wa <= _tolerance(p.values[second]) or wb <= _tolerance(q.values[first]):
            continue
        try:
            r = weighted(wa, wb)
        except SolverTimeLimit:
            complete = False
            break
        seg = wa * p.values[first] + wb * p.values[second]
        here = wa * r.values[first] + wb * r.values[second]
        if here < seg - 1e-6 * max(1.0, abs(seg)):
            points.append(r)
            todo.extend([(p, r), (r, q)])
    # keep one point per efficient value pair: equal within the stage tolerance means the same
    # point, and a point no better in the second objective than its predecessor is dominated
    def close(u: float, v: float) -> bool:
        return abs(u - v) <= 1e-7 * max(1.0, abs(u), abs(v))

    front: list[Outcome] = []
    for o in sorted(points, key=lambda o: (o.values[first], o.values[second])):
        if front and (close(o.values[first], front[-1].values[first]) or
                      o.values[second] >= front[-1].values[second] or close(o.values[second], front[-1].values[second])):
            continue
        front.append(o)
    for o in front:  # each point keeps its own status; the front may be incomplete
        o.stats["front"] = "complete" if complete else "cut short by the time limit"
    return front


def bound_label(weights: dict[str, float]) -> str:
    """What a priority/Pareto bound bounds, e.g. ``objectives.late`` or ``2*objectives.inventory + objectives.overtime``."""
    parts = []
    for name, w in weights.items():
        if w:
            parts.append(f"objectives.{name}" if w == 1 else f"{w:.12g}*objectives.{name}")
    return " + ".join(parts) or "0"


def solver_report(out: Outcome, value: float, bound_of: str, options: SolverOptions) -> dict[str, Any]:
    """The solver section of a plan, honest by construction.

    ``value`` is the minimised function recomputed from the reported plan (``costs.total`` in
    weighted mode). The certified lower bound must not exceed it: beyond solver noise (1e-5
    relative) that would mean the model and the pricing of the plan disagree, a bug reported as
    InternalError rather than a bound above the objective. The gap is recomputed against
    ``value``; the status is ``optimal`` only when that gap meets ``options.gap_rel``.
    """
    from lpms.domain.errors import InternalError

    slack = 1e-5 * max(1.0, abs(value))
    if abs(out.objective - value) > slack:
        raise InternalError(f"the plan's {bound_of} recomputed from the plan is {value:.9g}, the solver's is "
                            f"{out.objective:.9g}: model and pricing disagree")
    lower = min(out.lower_bound, value)
    gap = max(0.0, value - lower) / max(1.0, abs(value))
    # the certified gap decides; a plan short of the target says why the search stopped
    status = OPTIMAL if gap <= options.gap_rel else (out.status if out.status != OPTIMAL else GAP_NOT_MET)
    return {"status": status, "objective": value, "bound_of": bound_of, "lower_bound": lower, "gap_rel": gap,
            "gap_target": options.gap_rel}
