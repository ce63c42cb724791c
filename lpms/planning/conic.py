"""The balance term solved exactly as a second-order cone program on a face of the plan LP.

The balance objective is ``min c.x + sum_g w_g ||x[G_g]||`` over the plan's rows and bounds
(``G_g`` are the deviation columns of one series). :func:`solve_face` hands the problem, with
some columns fixed at their bounds (the *face*), to Clarabel, an interior-point conic solver;
:func:`polish` moves the interior-point answer onto the rows exactly, using a simplex basis
of HiGHS, so the plan returned satisfies every row and bound to solver precision.

This module knows nothing of plans; ``optimize`` decides which face to solve and certifies
the result with HiGHS (docs/planning.md, "The balance term").
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from lpms.planning.solver import Runner

log = logging.getLogger(__name__)


@dataclass
class Rows:
    """The constraint rows ``lo <= A x <= hi`` and column bounds ``lb <= x <= ub`` as scipy
    matrices (CSC), for the conic solver and the polish step."""

    a: sp.csc_matrix
    lo: np.ndarray
    hi: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    csr: sp.csr_matrix = field(init=False)

    def __post_init__(self) -> None:
        self.csr = self.a.tocsr()

    @property
    def nrows(self) -> int:
        return int(self.a.shape[0])

    @property
    def ncols(self) -> int:
        return int(self.a.shape[1])

    def violation(self, x: np.ndarray) -> float:
        """Largest row or bound violation of x, relative: a bound's violation to max(1, |bound|),
        a row's to max(1, |bound|, sum_j |a_ij x_j|) (the size of the row's terms)."""
        r = self.csr @ x
        terms = abs(self.csr) @ np.abs(x)
        worst = 0.0
        for v, lo, hi, size in ((r, self.lo, self.hi, terms), (x, self.lb, self.ub, np.zeros(len(x)))):
            with np.errstate(invalid="ignore"):
                below = np.where(np.isfinite(lo), (lo - v) / np.maximum(np.maximum(1.0, np.abs(lo)), size), 0.0)
                above = np.where(np.isfinite(hi), (v - hi) / np.maximum(np.maximum(1.0, np.abs(hi)), size), 0.0)
            worst = max(worst, float(np.max(below, initial=0.0)), float(np.max(above, initial=0.0)))
        return worst


@dataclass
class FaceResult:
    x: np.ndarray | None  # the face's optimum (all columns), None when Clarabel did not solve it
    # per group the multiplier mu of its norm (||mu|| <= w, w ||d|| >= mu.d): the tangent of the
    # norm that the face's dual says is right, also where d = 0
    mu: list[np.ndarray] | None
    status: str
    iterations: int
    seconds: float
    columns: int  # free columns of the face


def solve_face(rows: Rows, cost: np.ndarray, groups: list[tuple[np.ndarray, float]], fixed: np.ndarray,
               x_fixed: np.ndarray, time_limit: float, threads: int = 1) -> FaceResult:
    """Minimise ``cost.x + sum w ||x[cols]||`` over the rows with the columns in ``fixed`` held at
    ``x_fixed`` (Clarabel). ``groups`` are (columns, weight) pairs. The point is returned
    whenever Clarabel has one; a stopped run's point (status other than ``Solved``) is often
    far from the rows, which the caller's check after :func:`polish` finds."""
    import clarabel

    t0 = time.perf_counter()
    n = rows.ncols
    free = np.flatnonzero(~fixed)
    pos = np.full(n, -1, dtype=np.int64)
    pos[free] = np.arange(len(free))
    xf = np.where(fixed, x_fixed, 0.0)
    shift = rows.csr @ xf
    a_free = rows.a[:, free]
    lo, hi = rows.lo - shift, rows.hi - shift
    # rows left without a free column are constants (the face keeps them satisfied)
    live = np.diff(a_free.tocsr().indptr) > 0
    eq = live & (lo == hi)
    up = live & (lo != hi) & np.isfinite(hi)
    dn = live & (lo != hi) & np.isfinite(lo)
    lb, ub = rows.lb[free], rows.ub[free]
    cu, cl = np.flatnonzero(np.isfinite(ub)), np.flatnonzero(np.isfinite(lb))
    nf, ng = len(free), len(groups)
    eye = sp.identity(nf, format="csr")
    blocks = [a_free[eq], a_free[up], -a_free[dn], eye[cu], -eye[cl]]
    rhs = [lo[eq], hi[up], -lo[dn], ub[cu], -lb[cl]]
    a_lin = sp.hstack([sp.vstack(blocks, format="csr"), sp.csr_matrix((sum(b.shape[0] for b in blocks), ng))])
    cones: list[Any] = [clarabel.ZeroConeT(int(eq.sum())), clarabel.NonnegativeConeT(a_lin.shape[0] - int(eq.sum()))]
    # s = b - A x = (t_k, x[cols]) in the second-order cone: rows -t_k and -x_j; a fixed
    # column's entry is the constant b = x_j
    soc_r: list[int] = []
    soc_c: list[int] = []
    soc_b: list[float] = []
    row = 0
    for k, (cols, _) in enumerate(groups):
        soc_r.append(row)
        soc_c.append(nf + k)
        soc_b.append(0.0)
        for j in cols:
            row += 1
            if pos[j] >= 0:
                soc_r.append(row)
                soc_c.append(int(pos[j]))
            soc_b.append(float(xf[j]) if pos[j] < 0 else 0.0)
        row += 1
        cones.append(clarabel.SecondOrderConeT(len(cols) + 1))
    a_soc = sp.csr_matrix((-np.ones(len(soc_r)), (soc_r, soc_c)), shape=(row, nf + ng))
    a_all = sp.vstack([a_lin, a_soc], format="csc")
    b_all = np.concatenate([*rhs, np.asarray(soc_b)])
    q = np.concatenate([cost[free], [w for _, w in groups]])
    p = sp.csc_matrix((nf + ng, nf + ng))
    s = clarabel.DefaultSettings()
    s.verbose = False
    s.tol_feas = 1e-10
    s.max_threads = int(threads)
    s.direct_solve_method = "faer" if nf > 10000 else "qdldl"
    s.time_limit = max(0.0, float(time_limit))
    solver = clarabel.DefaultSolver(p, q, a_all, b_all, cones, s)
    sol = solver.solve()
    status = str(sol.status).split(".")[-1]
    x = None
    mu = None
    if status in ("Solved", "AlmostSolved", "InsufficientProgress", "MaxIterations", "MaxTime") and len(sol.x) == nf + ng:
        # the caller polishes and checks the point: an unfinished run's point is often no plan
        x = xf.copy()
        x[free] = np.asarray(sol.x)[:nf]
        z = np.asarray(sol.z)[a_lin.shape[0]:]
        mu = []
        row = 0
        for cols, w in groups:
            m_g = -z[row + 1: row + 1 + len(cols)]
            norm = float(np.linalg.norm(m_g))
            mu.append(m_g * (w / norm) if norm > w else m_g)
            row += len(cols) + 1
    return FaceResult(x, mu, status, int(sol.iterations), time.perf_counter() - t0, nf)


def polish(runner: Runner, rows: Rows, x: np.ndarray, snap: float = 1e-6, exchanges: int = 5) -> np.ndarray:
    """Put an almost-feasible point onto the rows exactly with the simplex basis held by ``runner``.

    The columns and row activities outside the basis keep x's values, clipped into their
    bounds and snapped onto a bound within ``snap`` (relative) of it: an interior-point answer
    approaches a bound without reaching it. The basic ones are then solved from the rows
    (HiGHS's basis factorisation: ``A x + s = 0`` with ``s`` the negated row activities).

    A basic value outside its bounds (a degenerate basic variable the interior point left a
    hair off its bound) leaves the basis at that bound, and a variable strictly inside its
    bounds with a clear entry in that row of the basis inverse enters instead (a pivot, as in
    crossover); then the basic values are solved again, up to ``exchanges`` times. What is
    left outside is clipped, which leaves row residuals of that size; the caller checks them."""
    n, m = rows.ncols, rows.nrows
    lo = np.concatenate([rows.lb, rows.lo])
    hi = np.concatenate([rows.ub, rows.hi])
    scale_lo = np.maximum(1.0, np.abs(np.where(np.isfinite(lo), lo, 0.0)))
    scale_hi = np.maximum(1.0, np.abs(np.where(np.isfinite(hi), hi, 0.0)))
    z0 = np.clip(np.concatenate([x, rows.csr @ x]), lo, hi)  # columns, then row activities
    with np.errstate(invalid="ignore"):
        near_lo = np.isfinite(lo) & (z0 - lo <= snap * scale_lo)
        near_hi = np.isfinite(hi) & (hi - z0 <= snap * scale_hi)
    z0 = np.where(near_lo, lo, np.where(near_hi, hi, z0))
    z = z0
    for attempt in range(exchanges + 1):
        basic = runner.basic_variables()
        bidx = np.where(basic >= 0, basic, n + (-basic - 1))
        nonbasic = np.ones(n + m, dtype=bool)
        nonbasic[bidx] = False
        zn = np.where(nonbasic, z0, 0.0)
        # A x_N - r_N + B z_B = 0 with HiGHS's logicals s = -r
        rhs = -(rows.csr @ zn[:n]) + zn[n:]
        zb = runner.basis_solve(rhs)
        z = zn.copy()
        z[bidx] = np.where(basic < 0, -zb, zb)
        below = (z[bidx] < lo[bidx] - 1e-9 * scale_lo[bidx])
        above = (z[bidx] > hi[bidx] + 1e-9 * scale_hi[bidx])
        bad = np.flatnonzero(below | above)
        log.debug("polish pass %d: %d basic values outside their bounds (worst %.1e)", attempt, len(bad),
                  float(np.max(np.maximum(lo[bidx] - z[bidx], z[bidx] - hi[bidx]), initial=0.0)))
        if len(bad) == 0 or attempt == exchanges or len(bad) > 2000:
            break
        # candidates to enter: nonbasic, strictly inside their bounds
        inside = nonbasic & (z0 > lo + snap * scale_lo) & (z0 < hi - snap * scale_hi)
        leaving: list[tuple[int, bool]] = []
        entering: list[int] = []
        touched = np.zeros(n + m, dtype=bool)  # in a pivot row taken in this pass
        for p in bad:
            e = np.zeros(m)
            e[p] = 1.0
            rho = runner.basis_transpose_solve(e)  # row p of B^-1
            alpha = np.concatenate([rows.csr.T @ rho, rho])  # that row of B^-1 [A I]
            # the exchanges of one pass must not interact (their block of B^-1 [A I] is diagonal)
            if entering and np.any(alpha[entering] != 0.0):
                continue
            score = np.where(inside & ~touched, np.abs(alpha), 0.0)
            q = int(np.argmax(score))
            if score[q] <= 1e-3 * max(1.0, float(np.max(np.abs(alpha)))):
                continue
            inside[q] = False
            touched |= alpha != 0.0
            leaving.append((int(bidx[p]), bool(above[p])))
            entering.append(q)
        if not entering:
            break
        for k, upper in leaving:  # the leaving variables now sit at their bounds
            z0[k] = hi[k] if upper else lo[k]
        runner.exchange(leaving, entering)
    return np.asarray(np.clip(z[:n], rows.lb, rows.ub))
