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

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from lpms.domain.errors import InternalError, InvalidInput
from lpms.planning.balance_basis import BasisFace, BasisSolution
from lpms.planning.conic import Rows, polish, solve_face, solve_reduced_face, superbasics
from lpms.planning.solver import (
    INF,
    NONBASIC_LOWER,
    NONBASIC_UPPER,
    CompiledModel,
    Runner,
    SolverError,
    SolveResult,
    SolverOptions,
    SolverTimeLimit,
)

log = logging.getLogger(__name__)

OBJECTIVES = ("late", "balance", "inventory", "overtime")
OPTIMAL = "optimal"
TIME_LIMIT = "time limit"
GAP_NOT_MET = "gap not met"  # stopped by solver trouble (not the clock) above the gap target
# a plan satisfies every row and bound to this, relative to max(1, |bound|)
PLAN_TOLERANCE = 1e-7
# a face with at most this many superbasic variables is solved in the basis's coordinates
# (``conic.solve_reduced_face``); a larger one whole (``conic.solve_face``): the reduced form
# costs a basis solve per superbasic and a dense factor of their size
REDUCED_FACE_MAX = 1000
# the tie-break (a secondary goal) may take this share of the time the plan took, at least 1 s
TIE_BREAK_SHARE = 0.1
# with a balance term the tie-break LP is not started when its budget is below this many times
# the balance-free LP's seconds (measured: 3-6 times as long)
TIE_BREAK_HELD_FACTOR = 3.0
# the balance term is first solved on faces of the balance-free LP's basis (``_basis_loop``,
# ``balance_basis``); the face SOCP (``_face_loop``) takes over when that stops short
BASIS_FACES = True
# superbasics priced into a basis face per round (the most improving ones no bound blocks)
BASIS_PRICE_MAX = 400
# the first tangent LPs take these shares of the norms' multipliers: a tangent at the
# balance-free plan is far from the optimum's, and its full LP is slow (many pivots)
BASIS_ALPHAS = (0.3, 0.5)
BASIS_CHAIN = True
# the returned face plan is polished by Newton steps when its face has at most this many
# superbasics (the reduced Hessian products grow with their square: 1 s at 900, 25 s at 2,000)
BASIS_NEWTON_MAX = 1200
# a face answer that puts basic variables left out of the face's rows outside their bounds is
# cut back to the feasible part of its step when that keeps this share of it, else re-solved
BASIS_PARTIAL_STEP = 0.3
# the face's rows are the bounds of the basic variables within this share of their bound at B0's
# vertex (and those a face answer crossed) ...
BASIS_SCREEN = 1e-3
# ... and the bounds each tangent LP's vertex reaches (a face step tends to reach them too: at
# 5,000 items 8 face solves instead of 19, 26 s instead of 45 s)
BASIS_VERTEX_ROWS = True


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

    def gap(self) -> float:
        return max(0.0, self.best - self.lower) / max(1.0, abs(self.best))

    def offer(self, x: np.ndarray, value: float) -> bool:
        if value < self.best:
            self.best, self.x = value, x
            return True
        return False


@dataclass
class _Work:
    """The plan LP (the model plus the linear rows and columns later stages add) in HiGHS, and
    when needed a cut master (the LP with one t column per norm group and tangent cuts) and a
    QP runner. The added rows and columns are mirrored here so the conic solver sees the same
    constraints as HiGHS."""

    om: ObjectiveModel
    options: SolverOptions
    deadline: float | None = None
    lp: Runner = field(init=False)
    master: Runner | None = field(default=None, init=False)
    qp: Runner | None = field(default=None, init=False)
    t_cols: np.ndarray = field(init=False)
    extra_cols: list[tuple[float, float]] = field(default_factory=list, init=False)
    rows: list[tuple[np.ndarray, np.ndarray, float, float]] = field(default_factory=list, init=False)
    cuts: list[tuple[int, np.ndarray]] = field(default_factory=list, init=False)  # (norm group, u)
    started: float = field(default_factory=time.perf_counter, init=False)
    notes: dict[str, Any] = field(default_factory=dict, init=False)
    _rows_cache: Rows | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.deadline is None:
            self.deadline = self.started + float(self.options.time_limit_s)
        self.lp = Runner(self.om.model, self.options)
        self.t_cols = np.zeros(0, dtype=np.int64)
        self.notes.update(conic_solves=0, conic_seconds=0.0, conic_iterations=0, balance_rounds=0)

    @property
    def ncols(self) -> int:
        """Columns of a plan vector: the model's and the added ones (never the master's t)."""
        return self.lp.ncols

    def remaining(self) -> float:
        assert self.deadline is not None
        return self.deadline - time.perf_counter()

    def solve_lp(self, until: float | None = None) -> SolveResult:
        limit = self.remaining() if until is None else min(self.remaining(), until - time.perf_counter())
        return self.lp.solve(time_limit=limit)

    def solve_master(self, until: float | None = None) -> SolveResult:
        limit = self.remaining() if until is None else min(self.remaining(), until - time.perf_counter())
        return self.master_runner().solve(time_limit=limit)

    def _replay(self, runner: Runner) -> None:
        for lo, hi in self.extra_cols:
            runner.add_cols(1, lo, hi)
        for cols, vals, lo, hi in self.rows:
            runner.add_row(cols, vals, lo, hi)

    def master_runner(self) -> Runner:
        """The LP master of the cutting-plane methods: t_g >= <u, d_g> for every point seen."""
        if self.master is None:
            master = Runner(self.om.model, self.options)
            self._replay(master)
            self.t_cols = master.add_cols(len(self.om.norms)) if self.om.norms else np.zeros(0, dtype=np.int64)
            self.master = master
            for k, u in self.cuts:
                self._add_cut(k, u)
        return self.master

    def qp_runner(self) -> Runner:
        """The QP runner holds the model and the linear rows, but no t columns or cuts:
        zero-cost unbounded columns would only widen the QP solver's null space."""
        if self.qp is None:
            qp = Runner(self.om.model, self.options)
            qp.set_option("qp_iteration_limit", int(max(1000, self.options.qp_iterations_per_column * qp.ncols)))
            self._replay(qp)
            self.qp = qp
        return self.qp

    def runners(self) -> list[Runner]:
        return [r for r in (self.lp, self.master, self.qp) if r is not None]

    def add_col(self, lo: float, hi: float) -> int:
        """A plan column added after the model (e.g. a scale of a held deviation vector)."""
        self.master = None  # rebuilt on demand: its t columns come after the plan's columns
        self.extra_cols.append((lo, hi))
        self._rows_cache = None
        (j,) = self.lp.add_cols(1, lo, hi)
        if self.qp is not None:
            self.qp.add_cols(1, lo, hi)
        return int(j)

    def add_row(self, cols: np.ndarray, vals: np.ndarray, lo: float, hi: float) -> None:
        self.rows.append((np.asarray(cols, dtype=np.int64), np.asarray(vals, dtype=float), lo, hi))
        self._rows_cache = None
        for runner in self.runners():
            runner.add_row(cols, vals, lo, hi)

    def add_cuts(self, x: np.ndarray) -> None:
        """Tangent cuts t_g >= <u, d_g> with u = d_g / ||d_g|| at x (in the cut master)."""
        self.master_runner()
        for k, g in enumerate(self.om.norms):
            d = x[g.cols]
            norm = float(np.linalg.norm(d))
            if norm <= 1e-9:
                continue
            self.cuts.append((k, d / norm))
            self._add_cut(k, d / norm)

    def remember_cut(self, k: int, u: np.ndarray) -> None:
        """A cut t_k >= <u, d_k> (valid when ||u|| <= 1) kept for the cut master, should one be needed."""
        self.cuts.append((k, u))
        if self.master is not None:
            self._add_cut(k, u)

    def _add_cut(self, k: int, u: np.ndarray) -> None:
        assert self.master is not None
        g = self.om.norms[k]
        self.master.add_row(np.concatenate([[self.t_cols[k]], g.cols]), np.concatenate([[1.0], -u]), 0.0, INF)

    def constraint_rows(self) -> Rows:
        """The rows and bounds of the plan LP as sparse matrices (for the conic solver)."""
        if self._rows_cache is None:
            m = self.om.model
            n0, n = m.ncols, self.ncols
            a = sp.csc_matrix((m.value, m.index, m.start), shape=(m.nrows, n0))
            lb, ub = m.lb, m.ub
            if n > n0:
                a = sp.hstack([a, sp.csc_matrix((m.nrows, n - n0))], format="csc")
                lb = np.concatenate([lb, [lo for lo, _ in self.extra_cols]])
                ub = np.concatenate([ub, [hi for _, hi in self.extra_cols]])
            lo, hi = m.lo, m.hi
            if self.rows:
                r = np.concatenate([np.full(len(c), k) for k, (c, _, _, _) in enumerate(self.rows)])
                c = np.concatenate([c for c, _, _, _ in self.rows])
                v = np.concatenate([v for _, v, _, _ in self.rows])
                extra = sp.csc_matrix((v, (r, c)), shape=(len(self.rows), n))
                a = sp.vstack([a, extra], format="csc")
                lo = np.concatenate([lo, [row[2] for row in self.rows]])
                hi = np.concatenate([hi, [row[3] for row in self.rows]])
            self._rows_cache = Rows(a, lo, hi, lb, ub)
        return self._rows_cache

    def linear_cost(self, weights: dict[str, float]) -> np.ndarray:
        """The linear part of the weighted objective over the plan columns."""
        c = np.zeros(self.ncols)
        n0 = self.om.model.ncols
        for name, w in weights.items():
            if name != "balance" and w:
                c[:n0] += w * self.om.linear[name]
        return c

    def master_cost(self, weights: dict[str, float]) -> np.ndarray:
        master = self.master_runner()
        c = np.zeros(master.ncols)
        c[: self.ncols] = self.linear_cost(weights)
        if weights.get("balance", 0.0):
            for g, t in zip(self.om.norms, self.t_cols):
                c[t] = weights["balance"] * g.scale
        return c

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "lp_solves": self.lp.solves, "lp_seconds": round(self.lp.seconds, 4), "lp_iterations": self.lp.iterations,
            "qp_solves": 0, "qp_seconds": 0.0, "qp_iterations": 0,
        }
        if self.master is not None:
            out["lp_solves"] += self.master.solves
            out["lp_seconds"] = round(self.lp.seconds + self.master.seconds, 4)
            out["lp_iterations"] += self.master.iterations
        if self.qp is not None:
            out.update(qp_solves=self.qp.solves, qp_seconds=round(self.qp.seconds, 4), qp_iterations=self.qp.iterations,
                       qp_accepted_with_residual=self.qp.accepted_with_residual)
        out.update(self.notes)
        out["conic_seconds"] = round(float(out["conic_seconds"]), 4)
        out["seconds"] = round(time.perf_counter() - self.started, 4)
        return out


def _weighted_value(om: ObjectiveModel, weights: dict[str, float], x: np.ndarray) -> float:
    vals = om.values(x[: om.model.ncols])
    return sum(w * vals[n] for n, w in weights.items() if w)


def _outcome(work: _Work, weights: dict[str, float], x: np.ndarray, lower: float, extra: dict[str, Any]) -> Outcome:
    om = work.om
    x = x[: work.ncols]
    vals = om.values(x[: om.model.ncols])
    total = sum(w * vals[n] for n, w in weights.items() if w)
    # the LP's optimum equals the plan's value up to HiGHS's tolerances: never above it
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


def _minimise(work: _Work, weights: dict[str, float]) -> Outcome:
    """Minimise sum_k weights_k * objective_k subject to the rows already in ``work``.

    Raises SolverTimeLimit when not even the first LP finishes in time (no plan at all)."""
    om, opts = work.om, work.options
    if any(w < 0 for w in weights.values()):
        raise InvalidInput("objective weights must not be negative")
    jb = weights.get("balance", 0.0) if om.norms else 0.0
    work.lp.set_cost(work.linear_cost(weights))
    res = work.solve_lp()
    work.notes["first_lp_seconds"] = round(res.seconds, 4)
    # without the balance term (>= 0) the LP under-estimates the objective: a valid lower bound
    x, lower = res.x, res.objective
    search = _Search(x, _weighted_value(om, weights, x), lower)
    extra: dict[str, Any] = {"balance_iterations": 0}
    if jb > 0:
        # each method that runs says so, with why it stopped short if it did:
        # "iterated QP (QP failed: ...), then basis faces (no progress), then face SOCP"
        steps: list[str] = []

        def ran(name: str, stopped: str | None) -> None:
            steps.append(name if stopped is None else f"{name} ({stopped})")

        if om.model.ncols <= opts.qp_max_columns:
            ran("iterated QP", _iterated_qp(work, weights, search, extra))
        if not search.gap_met(opts.gap_rel) and BASIS_FACES and work.remaining() > 0:
            # work.lp still holds the balance-free LP's optimal basis
            stopped = _basis_loop(work, weights, search)
            ran("basis faces", stopped)
            if stopped is not None and not search.gap_met(opts.gap_rel) and work.remaining() > 0:
                work.notes.pop("stopped_by", None)  # the face SOCP says why it stops, if it does
        if not search.gap_met(opts.gap_rel) and (work.remaining() > 0 or not steps):
            stopped = _face_loop(work, weights, search)
            ran("face SOCP", stopped)
            if stopped is not None and not search.gap_met(opts.gap_rel) and work.remaining() > 0:
                # the exact method stopped short (solver trouble, or a gap target below what
                # double precision resolves): cutting planes use the rest of the balance budget
                work.notes.pop("stopped_by", None)  # the cutting planes say why they stop
                extra["cutting_plane_rounds"] = _kelley(work, weights, search)
                steps.append("cutting planes")
        extra["balance_method"] = ", then ".join(steps)
    return _outcome(work, weights, search.x, search.lower, extra)


def _basis_loop(work: _Work, weights: dict[str, float], search: _Search) -> str | None:
    """The balance term on faces of the balance-free LP's basis B0 (``balance_basis``): rounds of

    1. the tangent LP (each norm replaced by <mu, d>, ||mu_g|| <= w_g, an under-estimator),
       warm-started from B0: HiGHS proves its optimum, a certified lower bound; its vertex's
       moves away from B0 join the superbasic set S;
    2. the exact problem on the face of B0 and S (Clarabel on |S| variables), its answer put
       within the bounds (basic variables follow the superbasics exactly, so the rows hold):
       the next plan, whose true cost is an upper bound, and the next multipliers mu;
    3. pricing with the face's multipliers: improving variables outside S that no basic
       variable at its bound blocks enter S, superbasics held at B0's bound leave.

    The first tangent LPs take a share of mu only (``BASIS_ALPHAS``; still a relaxation).
    Returns None when the gap target is met, else why it stopped."""
    om, opts = work.om, work.options
    lp = work.lp
    jb = weights["balance"]
    groups = [(g.cols, jb * g.scale) for g in om.norms]
    c_lin = work.linear_cost(weights)
    rows = work.constraint_rows()
    n = rows.ncols
    x0 = lp.solution()[0][:n]
    basis0 = lp.highs.getBasis()
    anchor = Runner(om.model, opts)
    work._replay(anchor)
    if anchor.highs.setBasis(basis0) != highspy.HighsStatus.kOk:
        return "basis rejected"
    face = BasisFace(anchor, rows, np.concatenate([x0, -(rows.csr @ x0)]))
    in_s = face.moved(x0)
    mu: list[np.ndarray] = []
    for cols, w in groups:
        d = x0[cols]
        norm = float(np.linalg.norm(d))
        mu.append(w * d / norm if norm > 1e-12 * max(1.0, float(np.max(np.abs(d), initial=0.0))) else np.zeros(len(d)))
    slack = face.slack(face.z_ref)
    rowmask = slack <= BASIS_SCREEN * np.maximum(1.0, np.abs(face.z_ref[face.bidx]))
    tol = 1e-7 * max(1.0, float(np.max(np.abs(c_lin), initial=0.0)), max((w for _, w in groups), default=0.0))
    z_cur = face.z_ref  # the face's current plan (feasible)
    best_face: tuple[np.ndarray, np.ndarray] | None = None  # superbasics and point of the best face plan
    stalled = 0
    per_iteration = 0.0
    lp.set_option("simplex_strategy", 4)  # primal simplex: a new cost keeps B0 primal feasible
    try:
        for k in range(max(1, opts.max_iterations)):
            if work.remaining() <= 0:
                return "time limit"
            work.notes["balance_rounds"] += 1
            before = (search.best, search.lower)
            # (with no linear cost a share of mu only scales the LP: its vertex is the same)
            alpha = BASIS_ALPHAS[k] if k < len(BASIS_ALPHAS) and np.any(c_lin) else 1.0
            cost = c_lin.copy()
            for g, (cols, w) in enumerate(groups):
                cost[cols] += alpha * mu[g]
                if np.any(mu[g]):
                    work.remember_cut(g, alpha * mu[g] / w)  # for the cutting planes, should they be needed
            if k == 0 or not BASIS_CHAIN:
                # the first tangent LP starts from B0, later ones from the last one's optimum
                lp.highs.setBasis(basis0)
            res = _tangent_lp(work, lp, cost)
            if isinstance(res, str):
                return res
            search.lower = max(search.lower, _relaxation_bound(res.objective))
            v = res.x[:n]
            search.offer(v, _weighted_value(om, weights, v))
            if search.gap_met(opts.gap_rel):
                _trace(work, search)
                return None
            in_s |= face.moved(v)
            if BASIS_VERTEX_ROWS:
                # the bounds the tangent LP's vertex reaches are the ones a face step tends to reach
                v_lo, v_hi = face.at_bounds(np.concatenate([v, -(rows.csr @ v)]), 1e-9)
                rowmask |= (v_lo | v_hi)[face.bidx]
            s = np.flatnonzero(in_s)
            sol = None
            if len(s):
                limit = work.remaining() - per_iteration
                sol = _basis_face_solve(face, c_lin, groups, s, rowmask, z_cur, limit)
                work.notes["conic_solves"] += 1
                work.notes["conic_seconds"] += sol.seconds
                work.notes["conic_iterations"] += sol.iterations
                work.notes["basis_faces"] = work.notes.get("basis_faces", 0) + 1
                work.notes["superbasics"] = len(s)
                per_iteration = sol.seconds / max(1, sol.iterations)
                if not sol.ok:
                    if sol.status == "MaxTime" or work.remaining() <= 0:
                        return "time limit"
                    work.notes["stopped_by"] = "solver"
                    return f"conic solver: {sol.status}"
                # basic variables an interior point leaves a hair outside their bounds are moved
                # back: later priority stages hold this plan's values on tight rows (the plan
                # returned is purified and polished at the end)
                z = face.to_bounds(s, sol.z)
                violation = rows.violation(z[:n])
                value = _weighted_value(om, weights, z[:n])
                work.notes["plan_violation"] = float(f"{violation:.2g}")
                if violation <= PLAN_TOLERANCE:
                    if search.offer(z[:n], value):
                        best_face = (s.copy(), z)
                    z_cur = z
                else:
                    work.notes["polish_rejected"] = work.notes.get("polish_rejected", 0) + 1
                mu = sol.mu
                if stalled:
                    # no progress last round: the face may be degenerate and its cone duals one
                    # of many multipliers; this tangent LP takes the norms' gradients at the
                    # face's plan where a load profile is not flat (the cone duals elsewhere)
                    mu = [np.asarray(w * z[cols] / np.linalg.norm(z[cols]))
                          if np.linalg.norm(z[cols]) > 1e-9 * max(1.0, float(np.max(np.abs(z[cols]), initial=0.0)))
                          else mg for (cols, w), mg in zip(groups, sol.mu)]
            _trace(work, search)
            log.debug("basis face round %d: bound %.10g, plan %.10g, gap %.2e, %d superbasics, %s",
                      k + 1, search.lower, search.best, search.gap(), len(s), sol.status if sol else "no face")
            if search.gap_met(opts.gap_rel):
                return None
            if sol is None:
                sol = BasisSolution(face.z_ref, mu, np.zeros(face.m), "Solved", 0, 0.0)
            tiny = 1e-12 * max(1.0, abs(search.best))
            progress = search.best < before[0] - tiny or search.lower > before[1] + tiny
            stalled = 0 if progress else stalled + 1
            # a round without progress: the face's multipliers are one of many (a degenerate face)
            # and the bound needs the global ones, so improving columns enter S even when a basic
            # variable at its bound blocks them (their bound multipliers then join the face's dual)
            _price(face, c_lin, groups, sol, in_s, tol, endgame=stalled > 0)
            if stalled >= 3:
                return "no progress"
        return "round limit"
    finally:
        lp.set_option("simplex_strategy", 1)
        if best_face is not None and np.array_equal(search.x[:n], best_face[1][:n]) and work.remaining() > 0 \
                and len(best_face[0]) <= BASIS_NEWTON_MAX:
            # the plan returned is a face's interior-point answer: Newton steps on its active set
            # give the face's optimum to machine precision (an interior point stops ~1e-6 short
            # in the plan's units, visibly so in a plan of whole units); the active set is taken
            # as the bounds the answer is within 1e-5 (relative) of, then as it stands
            s_best, z_best = best_face
            for near in (1e-5, 0.0):
                start = face.to_bounds(s_best, z_best, near=near) if near else z_best
                z_pol = face.to_bounds(s_best, face.newton(c_lin, groups, s_best, start))
                if rows.violation(z_pol[:n]) <= max(rows.violation(z_best[:n]), 1e-10) and \
                        search.offer(z_pol[:n], _weighted_value(om, weights, z_pol[:n])):
                    work.notes["newton_polished"] = True
                    z_best = z_pol
                    break
            _whole_units(work, face, weights, s_best, z_best, search)
        work.notes["basis_solves"] = face.basis_solves


def _whole_units(work: _Work, face: BasisFace, weights: dict[str, float], s: np.ndarray, z: np.ndarray,
                 search: _Search) -> None:
    """Superbasics within 1e-6 (relative) of a whole number are put on it, the basic variables
    follow; the plan is kept if it stays within its bounds and costs at most 1e-10 (relative)
    more. An optimum is often a segment (the norms are linear along their rays) and an
    interior point lies inside it: quantities of 5.00000094 and 4.99999811 units where 5 and 5
    are as good; the plan's extraction reads quantities that close to whole units as whole."""
    n = face.n
    y = z[s]
    whole = np.round(y)
    near = (y != whole) & (np.abs(y - whole) <= 1e-6 * np.maximum(1.0, np.abs(whole))) & \
        (whole >= face.lo[s]) & (whole <= face.hi[s])
    if not near.any() or not np.array_equal(search.x[:n], z[:n]):
        return
    trial = z.copy()
    trial[s[near]] = whole[near]
    trial = face.to_bounds(s, face.basics(trial), fixed=near)
    rows = work.constraint_rows()
    value = _weighted_value(work.om, weights, trial[:n])
    if rows.violation(trial[:n]) <= max(rows.violation(z[:n]), 1e-10) and \
            value <= search.best + 1e-10 * max(1.0, abs(search.best)):
        search.x, search.best = trial[:n], value
        work.notes["whole_units"] = int(near.sum())


def _tangent_lp(work: _Work, lp: Runner, cost: np.ndarray) -> SolveResult | str:
    """Solve a tangent LP with ``cost``: its result, or why the balance loop stops (a string)."""
    lp.set_cost(cost)
    try:
        return work.solve_lp()
    except SolverTimeLimit:
        return "time limit"
    except SolverError as exc:
        work.notes["stopped_by"] = "solver"
        return f"tangent LP failed: {exc}"


def _trace(work: _Work, search: _Search) -> None:
    work.notes.setdefault("balance_trace", []).append(
        [round(time.perf_counter() - work.started, 3), float(f"{search.gap():.3g}")])


def _basis_face_solve(face: BasisFace, cost: np.ndarray, groups: list[tuple[np.ndarray, float]], s: np.ndarray,
                      rowmask: np.ndarray, z_cur: np.ndarray, limit: float) -> BasisSolution:
    """The face problem with the bounds of the basic variables near their bound as rows
    (``rowmask``, grown in place). A basic variable left out that the answer puts outside its
    bounds joins the rows; the answer is then cut back on the segment from the current plan
    ``z_cur`` (feasible, so every point of the segment is) when that keeps at least 30% of the
    step, else the face is solved again."""
    started = time.perf_counter()
    lo, hi, bidx = face.lo[face.bidx], face.hi[face.bidx], face.bidx
    sol = face.solve(cost, groups, s, rowmask, limit)
    for _ in range(4):
        if not sol.ok:
            break
        zb = sol.z[bidx]
        with np.errstate(invalid="ignore"):
            bad = ~rowmask & ((np.isfinite(lo) & (zb < lo - 1e-9 * np.maximum(1.0, np.abs(np.where(np.isfinite(lo), lo, 0))))) |
                              (np.isfinite(hi) & (zb > hi + 1e-9 * np.maximum(1.0, np.abs(np.where(np.isfinite(hi), hi, 0))))))
        if not bad.any():
            break
        rowmask |= bad
        before, after = face.slack(z_cur)[bad], face.slack(sol.z)[bad]
        t = float(np.min(before / np.maximum(before - after, 1e-300)))
        log.debug("basis face: %d basic bounds outside the face's rows crossed (slack before %.2g..%.2g), "
                  "feasible share of the step %.3f; rows now %d", int(bad.sum()), float(np.min(before)),
                  float(np.max(before)), t, int(rowmask.sum()))
        if t >= BASIS_PARTIAL_STEP:
            sol.z = z_cur + (1.0 - 1e-6) * t * (sol.z - z_cur)
            break
        spent = time.perf_counter() - started
        sol = face.solve(cost, groups, s, rowmask, limit - spent)
    sol.seconds = time.perf_counter() - started
    return sol


def _price(face: BasisFace, cost: np.ndarray, groups: list[tuple[np.ndarray, float]], sol: BasisSolution,
           in_s: np.ndarray, tol: float, endgame: bool = False) -> None:
    """Grow and shrink the superbasic set ``in_s`` (in place) by the face's reduced gradients;
    in the ``endgame`` blocked columns enter as well and none leave."""
    r = face.reduced_gradient(cost, groups, sol)
    at_lo, at_hi = face.at_bounds(face.z_ref, 1e-9)
    movable = ~face.isb & (face.lo < face.hi) & ~in_s
    improving = np.flatnonzero(movable & ((at_lo & (r < -tol)) | (at_hi & (r > tol))))
    improving = improving[np.argsort(-np.abs(r[improving]))]
    b_lo, b_hi = face.at_bounds(sol.z, 1e-7)
    b_lo, b_hi = b_lo[face.bidx], b_hi[face.bidx]
    if endgame:
        in_s[improving[:BASIS_PRICE_MAX]] = True
        return
    added = 0
    for start in range(0, min(len(improving), 2 * BASIS_PRICE_MAX), BASIS_PRICE_MAX // 2):
        tried = improving[start:start + BASIS_PRICE_MAX // 2]
        free_to_move = tried[~face.blocked(tried, at_lo[tried], b_lo, b_hi)][:BASIS_PRICE_MAX - added]
        in_s[free_to_move] = True
        added += len(free_to_move)
        if added >= BASIS_PRICE_MAX:
            break
    # superbasics the face holds at B0's bound, with a reduced gradient that keeps them there
    z, zr = sol.z, face.z_ref
    near = np.abs(z - zr) <= 1e-7 * np.maximum(1.0, np.abs(zr))
    held = in_s & near & ((at_lo & (r > tol)) | (at_hi & (r < -tol)))
    in_s[held] = False


def _face_loop(work: _Work, weights: dict[str, float], search: _Search) -> str | None:
    """The exact method for the balance term (docs/planning.md): rounds of

    1. the tangent LP at the current plan x (each norm replaced by its tangent <u, d> with
       u = d(x)/||d(x)||, which under-estimates it): HiGHS proves its optimum, a lower bound;
    2. the face: columns the tangent LP holds at a bound with a clear reduced cost (and that
       x holds at the same bound) are fixed there; x stays in the face;
    3. Clarabel solves the exact problem (the norms as second-order cones) on that face, and
       its answer is put onto the rows exactly (``conic.polish``): the next plan, whose true
       cost is an upper bound.

    Returns None when the gap target is met, else why it stopped."""
    om, opts = work.om, work.options
    lp = work.lp
    jb = weights["balance"]
    groups = [(g.cols, jb * g.scale) for g in om.norms]
    c_lin = work.linear_cost(weights)
    rows = work.constraint_rows()
    tau = 1e-4 * max(1.0, float(np.max(np.abs(c_lin), initial=0.0)))
    x = search.x[: work.ncols]
    mu: list[np.ndarray] | None = None
    stalled = 0
    reduced_ok = True
    per_iteration = 0.0
    lp.set_option("simplex_strategy", 4)  # primal simplex: a new cost keeps the basis primal feasible
    try:
        while True:
            if work.remaining() <= 0:
                return "time limit"
            work.notes["balance_rounds"] += 1
            before = (search.best, search.lower)
            cost = c_lin.copy()
            for k, (cols, w) in enumerate(groups):
                d = x[cols]
                norm = float(np.linalg.norm(d))
                if norm > 1e-12 * max(1.0, float(np.max(np.abs(d), initial=0.0))):
                    work.remember_cut(k, d / norm)
                if mu is not None:  # the face's multipliers: right also where a deviation vector is 0
                    cost[cols] += mu[k]
                    work.remember_cut(k, mu[k] / w)
                elif norm > 1e-12 * max(1.0, float(np.max(np.abs(d), initial=0.0))):
                    cost[cols] += w * d / norm
            res = _tangent_lp(work, lp, cost)
            if isinstance(res, str):
                return res
            search.lower = max(search.lower, _relaxation_bound(res.objective))
            search.offer(res.x, _weighted_value(om, weights, res.x))
            if search.gap_met(opts.gap_rel):
                _trace(work, search)
                return None
            face = None
            # Clarabel checks its clock between iterations: stop it one iteration early
            limit = work.remaining() - per_iteration
            if reduced_ok:
                sb = superbasics(lp, rows, groups, x, tau)
                if len(sb.s) <= REDUCED_FACE_MAX:
                    face = solve_reduced_face(lp, rows, c_lin, groups, sb, time_limit=limit)
                    work.notes["reduced_faces"] = work.notes.get("reduced_faces", 0) + 1
            if face is None:
                fixed, at = _face(lp, rows, x, tau)
                face = solve_face(rows, c_lin, groups, fixed, at, time_limit=limit, threads=opts.threads)
            per_iteration = face.seconds / max(1, face.iterations)
            work.notes["conic_solves"] += 1
            work.notes["conic_seconds"] += face.seconds
            work.notes["conic_iterations"] += face.iterations
            work.notes["face_columns"] = face.columns
            if face.x is None:
                if face.status == "MaxTime" or work.remaining() <= 0:
                    return "time limit"
                work.notes["stopped_by"] = "solver"
                return f"conic solver: {face.status}"
            x_raw = np.clip(face.x, rows.lb, rows.ub)
            xp, violation = _plan_from(work, lp, rows, groups, x_raw, time.perf_counter() + max(1.0, 2 * res.seconds))
            work.notes["plan_violation"] = float(f"{violation:.2g}")
            if violation <= PLAN_TOLERANCE:
                search.offer(xp, _weighted_value(om, weights, xp))
            else:
                work.notes["polish_rejected"] = work.notes.get("polish_rejected", 0) + 1
            if violation > 1e-4:  # a stopped interior-point run's point: no direction worth taking
                if face.status == "MaxTime" or work.remaining() <= 0:
                    return "time limit"
                work.notes["stopped_by"] = "solver"
                return f"conic solver: {face.status}"
            # a point a hair off the rows is no plan, but its direction gives the next tangent LP
            x = xp
            mu = face.mu
            _trace(work, search)
            log.debug("face round %d: bound %.10g, plan %.10g, gap %.2e, face %d columns, %s in %d iterations, "
                      "%.2fs; violation %.1e", work.notes["balance_rounds"], search.lower, search.best, search.gap(),
                      face.columns, face.status, face.iterations, face.seconds, violation)
            tiny = 1e-12 * max(1.0, abs(search.best))
            progress = search.best < before[0] - tiny or search.lower > before[1] + tiny
            stalled = 0 if progress else stalled + 1
            # a reduced face holds the basis; without progress the next round takes the whole face
            reduced_ok = progress
            if stalled >= 2:
                return "no progress"
    finally:
        lp.set_option("simplex_strategy", 1)


def _plan_from(work: _Work, lp: Runner, rows: Rows, groups: list[tuple[np.ndarray, float]], x: np.ndarray,
               until: float) -> tuple[np.ndarray, float]:
    """A plan (rows and bounds met to PLAN_TOLERANCE) from the interior-point answer x, and its
    violation; when none is found, the least violated point and its violation.

    Tried in turn: x polished onto the rows with the tangent LP's basis, x itself (an interior
    point meets the bounds, the rows to Clarabel's tolerance), the polish with basis exchanges (small models: each exchange pass costs a basis inverse row per bad value), and
    an LP next to x (small models). HiGHS's basis is restored afterwards, so the next tangent LP
    warm-starts from the tangent LP's own optimum."""
    basis = lp.highs.getBasis()
    small = rows.ncols + rows.nrows <= 50_000
    try:
        best = polish(lp, rows, x, exchanges=0)
        worst = rows.violation(best)
        for exchanges in ((-1, 5) if small else (-1,)):
            if worst <= PLAN_TOLERANCE:
                return best, worst
            xp = x if exchanges < 0 else polish(lp, rows, x, exchanges=exchanges)
            v = rows.violation(xp)
            if v < worst:
                best, worst = xp, v
        if worst <= PLAN_TOLERANCE:
            return best, worst
        if small and worst <= 1e-4:
            repaired = _repair(work, groups, best, until)
            if repaired is not None:
                work.notes["plan_repairs"] = work.notes.get("plan_repairs", 0) + 1
                return repaired, rows.violation(repaired)
        return best, worst
    finally:
        lp.highs.setBasis(basis)


def _repair(work: _Work, groups: list[tuple[np.ndarray, float]], x: np.ndarray, until: float) -> np.ndarray | None:
    """A vertex plan next to a point a hair off the rows: the LP (the tangent cost it holds) with
    every deviation column boxed within 1e-7 (relative) of x's, so the plan's balance is x's
    to that precision. None when HiGHS cannot solve it by ``until`` (on large models this LP
    is slow: it is a last resort after the polish)."""
    lp = work.lp
    rows = work.constraint_rows()
    cols = np.concatenate([c for c, _ in groups])
    d = x[cols]
    eps = 1e-7 * np.maximum(1.0, np.abs(d))
    lp.fix_cols(cols, np.maximum(d - eps, rows.lb[cols]), np.minimum(d + eps, rows.ub[cols]))
    try:
        res = work.solve_lp(until)
    except SolverError:
        return None
    finally:
        lp.fix_cols(cols, rows.lb[cols], rows.ub[cols])
    x = res.x[: work.ncols]
    return x if rows.violation(x) <= PLAN_TOLERANCE else None


def _relaxation_bound(value: float) -> float:
    """The lower bound an LP relaxation of the balance term proves: HiGHS's optimum less a margin
    of 1e-9 (relative) for the solver's tolerances, so a gap target below what double precision
    resolves is never declared met by rounding."""
    return value - 1e-9 * max(1.0, abs(value))


def _face(lp: Runner, rows: Rows, x: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """The columns to fix for the face problem and their values: nonbasic in the LP's last
    solve with |reduced cost| > tau and at the same bound in x."""
    status = lp.column_status()
    _, _, rc, _ = lp.solution()
    lb, ub = rows.lb, rows.ub
    tol = 1e-9 * np.maximum(1.0, np.abs(np.where(np.isfinite(lb), lb, 0.0)))
    tol_u = 1e-9 * np.maximum(1.0, np.abs(np.where(np.isfinite(ub), ub, 0.0)))
    with np.errstate(invalid="ignore"):
        at_lo = (status == NONBASIC_LOWER) & np.isfinite(lb) & (np.abs(x - lb) <= tol)
        at_up = (status == NONBASIC_UPPER) & np.isfinite(ub) & (np.abs(x - ub) <= tol_u)
    fixed = (at_lo | at_up) & (np.abs(rc) > tau)
    at = np.where(at_lo, lb, np.where(at_up, ub, 0.0))
    return fixed, at


def _iterated_qp(work: _Work, weights: dict[str, float], search: _Search, extra: dict[str, Any]) -> str | None:
    """The iterated QP. Returns None when the gap target is met, else why it stopped."""
    om, opts = work.om, work.options
    jb = weights["balance"]
    try:
        qp = work.qp_runner()
        work.add_cuts(search.x)
    except SolverError as exc:
        return f"QP rejected: {exc}"
    c_qp = work.linear_cost(weights)
    master_cost = work.master_cost(weights)
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
            # a cycling QP must leave time for the exact method
            x = qp.solve(residual_tol=1e-6, time_limit=work.remaining() / 2).x[: work.ncols]
        except SolverError as exc:
            return f"QP failed: {exc}"
        before = (search.best, search.lower)
        search.offer(x, _weighted_value(om, weights, x))
        work.add_cuts(x)
        try:
            master = work.master_runner()
            master.set_cost(master_cost)
            res = work.solve_master()
        except SolverError as exc:
            return f"LP master failed: {exc}"
        search.lower = max(search.lower, _relaxation_bound(res.objective))
        search.offer(res.x[: work.ncols], _weighted_value(om, weights, res.x))
        work.add_cuts(res.x)
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
    try:
        master = work.master_runner()
        master.set_cost(work.master_cost(weights))
    except SolverError as exc:
        work.notes["stopped_by"] = "solver"
        work.notes["cutting_planes_stopped"] = str(exc)
        return 0
    x = search.x
    while not search.gap_met(opts.gap_rel) and time.perf_counter() < until:
        rounds += 1
        # in-out separation: cut at a point between the best plan and the master's point (a
        # convex combination, so also feasible); when it brings no progress fall back to x
        sep = alpha * search.x + (1 - alpha) * x
        search.offer(sep, _weighted_value(om, weights, sep))
        work.add_cuts(sep)
        try:
            res = work.solve_master(until)
        except SolverTimeLimit:
            break
        except SolverError as exc:
            work.notes["stopped_by"] = "solver"
            work.notes["cutting_planes_stopped"] = str(exc)
            break
        previous = search.lower
        x = res.x[: work.ncols]
        search.lower = max(search.lower, _relaxation_bound(res.objective))
        search.offer(x, _weighted_value(om, weights, x))
        improved = search.lower > previous + 1e-12 * max(1.0, abs(search.lower))
        alpha = min(0.9, alpha + 0.1) if improved else max(0.0, alpha - 0.25)
    return rounds


def _bound_row(work: _Work, name: str, bound: float) -> None:
    c = work.om.linear[name]
    nz = np.flatnonzero(c)
    work.add_row(nz, c[nz], -INF, bound)


def _hold_balance(work: _Work, x: np.ndarray, value: float) -> float:
    """Keep the balance objective at its optimum for the later stages (docs/planning.md).

    Every optimal plan of a sum of norms has each deviation vector on one ray (if two optima
    had deviation vectors d, d' of one series that are not positive multiples of each other,
    their midpoint would be strictly better). So the later stages keep each series' deviation
    vector on the ray of the stage's plan, d_g = a_g * u_g with a_g >= 0, and the sum of
    scale_g * a_g at most the optimum plus the stage tolerance: linear rows, so the later
    stages are linear programs. Returns the balance bound enforced."""
    bound = value + _stage_tolerance(value)
    scales, alphas = [], []
    slack = 0.0
    for g in work.om.norms:
        d = x[g.cols]
        norm = float(np.linalg.norm(d))
        if norm <= 1e-12:
            for j in g.cols:
                work.add_row(np.array([j]), np.array([1.0]), 0.0, 0.0)
            continue
        a = work.add_col(0.0, INF)
        u = d / norm
        # a direction component HiGHS would drop as zero (|u_j| <= 1e-9) becomes a small box
        # |d_j| <= eps instead of the row d_j = u_j * a, which HiGHS would read as d_j = 0 and
        # which left a later stage's LP numerically infeasible; ||d|| <= a + sqrt(k) * eps
        tiny = np.abs(u) <= _TINY_DIRECTION
        eps = 2.0 * _TINY_DIRECTION * norm
        for j, uj, small in zip(g.cols, u, tiny):
            if small:
                work.add_row(np.array([j]), np.array([1.0]), -eps, eps)
            else:
                work.add_row(np.array([j, a]), np.array([1.0, -float(uj)]), 0.0, 0.0)
        slack += g.scale * math.sqrt(int(tiny.sum())) * eps
        scales.append(g.scale)
        alphas.append(a)
    if alphas:
        work.add_row(np.array(alphas), np.array(scales), -INF, bound - slack)
    return bound


_TINY_DIRECTION = 1e-9  # HiGHS drops matrix entries of at most this size


def _tolerance(value: float) -> float:
    return 1e-9 * max(1.0, abs(value))


def _stage_tolerance(value: float) -> float:
    """How far a later priority stage may move the balance objective above its optimum."""
    return 1e-7 * max(1.0, abs(value))


def _differs_on_deviation_columns_only(work: _Work, lp: Runner, weights: dict[str, float]) -> bool:
    """Whether ``lp``'s cost equals the linear cost of ``weights`` outside the deviation columns."""
    held = lp.bounds()[4][: work.ncols]
    linear = work.linear_cost(weights)
    mask = np.ones(work.ncols, dtype=bool)
    for g in work.om.norms:
        mask[g.cols] = False
    return len(held) == len(linear) and bool(np.array_equal(held[mask], linear[mask]))


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
    # a secondary goal gets a tenth of the time the plan took (at least a second)
    now = time.perf_counter()
    until = now + max(1.0, TIE_BREAK_SHARE * (now - work.started))
    first = float(work.notes.get("first_lp_seconds", 0.0))
    if jb > 0 and TIE_BREAK_HELD_FACTOR * first > until - now:
        # holding every deviation vector makes the tie-break LP take several times as long as
        # the balance-free LP (4.5 s against 0.8 s at 1,000 items): it would run out of its
        # budget, so it is not started
        out.stats["tie_break"] = f"skipped (its time budget, {until - now:.2g} s, is too short for this model)"
        return out
    try:
        if jb > 0:
            for g in om.norms:
                d = out.x[g.cols]
                eps = 1e-9 * np.maximum(1.0, np.abs(d))
                lp.fix_cols(g.cols, d - eps, d + eps)
            # the LP keeps the cost it holds (the last tangent LP's: the linear cost plus terms
            # on deviation columns only, constant once those are held), so its optimal basis
            # stays dual feasible and the dual simplex only repairs the held bounds; the
            # optimal face over the other columns is the linear cost's
            if not _differs_on_deviation_columns_only(work, lp, out.weights):
                lp.set_cost(work.linear_cost(out.weights))
            work.solve_lp(until)
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
        res = work.solve_lp(until)
    except SolverTimeLimit:
        out.stats["tie_break"] = "skipped (its time budget ran out)"
        return out
    except SolverError as exc:
        out.stats["tie_break"] = f"skipped ({exc})"
        return out
    x = res.x[: work.ncols]
    value = _weighted_value(om, out.weights, x)
    ok = value <= out.objective + 1e-7 * max(1.0, abs(out.objective))
    if ok and balance_bound is not None:
        ok = om.balance(x[:n0]) <= balance_bound * (1 + 1e-6) + 1e-7
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
            stage = _minimise(work, {name: 1.0})
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
            o = _minimise(work, {name: 1.0})
            v = o.values[name]
            if name == "balance":
                bound = _hold_balance(work, o.x, v)
            else:
                _bound_row(work, name, v + _tolerance(v))
        out = _minimise(work, {first: wa, second: wb})
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
