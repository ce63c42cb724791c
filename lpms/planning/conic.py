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

from lpms.planning.solver import NONBASIC_LOWER, NONBASIC_UPPER, Runner

log = logging.getLogger(__name__)

# a reduced face whose conic matrix has more nonzeros than this is factored by faer, else QDLDL
DENSE_FACE_NNZ = 150_000


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
        mu = _multipliers(np.asarray(sol.z)[a_lin.shape[0]:], groups)
    return FaceResult(x, mu, status, int(sol.iterations), time.perf_counter() - t0, nf)


@dataclass
class Superbasics:
    """The face in the coordinates of a simplex basis: the superbasic variables S (outside the
    basis but free to move) and how the basic ones follow them."""

    s: np.ndarray  # indices into z = (columns, logicals); a logical is HiGHS's s = -row activity
    z0: np.ndarray  # the point the face is taken around (every variable)
    basic: np.ndarray  # z index of the basic variable at each basis position


def superbasics(runner: Runner, rows: Rows, groups: list[tuple[np.ndarray, float]], x: np.ndarray,
                tau: float) -> Superbasics:
    """The superbasic set of the face around x for the basis and reduced costs of ``runner``'s
    last solve: every variable outside the basis that x holds off the bound the basis puts it
    at, and every one with |reduced cost| <= tau whose move changes a deviation column (tested
    with one transposed solve against a random combination of the deviation rows)."""
    n, m = rows.ncols, rows.nrows
    lo = np.concatenate([rows.lb, -rows.hi])  # z = (x, s) with s = -A x: HiGHS's logicals
    hi = np.concatenate([rows.ub, -rows.lo])
    z0 = np.concatenate([x, -(rows.csr @ x)])
    basic_list = runner.basic_variables()
    bidx = np.where(basic_list >= 0, basic_list, n + (-basic_list - 1))
    status = np.concatenate([runner.column_status(), runner.row_status()])
    _, _, rc, rd = runner.solution()
    reduced = np.concatenate([rc, rd])
    isb = np.zeros(n + m, dtype=bool)
    isb[bidx] = True
    # the bound the basis puts a nonbasic variable at (a logical's lower status means the row
    # activity at its lower bound, so s at its upper one)
    logical = np.arange(n + m) >= n
    s_lo = np.maximum(1.0, np.abs(np.where(np.isfinite(lo), lo, 0.0)))
    s_hi = np.maximum(1.0, np.abs(np.where(np.isfinite(hi), hi, 0.0)))
    with np.errstate(invalid="ignore"):
        at_lo = np.isfinite(lo) & (np.abs(z0 - lo) <= 1e-9 * s_lo)
        at_hi = np.isfinite(hi) & (np.abs(z0 - hi) <= 1e-9 * s_hi)
    lower = status == NONBASIC_LOWER
    upper = status == NONBASIC_UPPER
    at_status = np.where(logical, (lower & at_hi) | (upper & at_lo), (lower & at_lo) | (upper & at_hi))
    movable = ~isb & (lo < hi)
    pos = np.full(n + m, -1, dtype=np.int64)
    pos[bidx] = np.arange(m)
    dcols = np.concatenate([c for c, _ in groups])
    xi = np.random.default_rng(0).standard_normal(len(dcols))
    e = np.zeros(m)
    basic_d = pos[dcols] >= 0
    e[pos[dcols][basic_d]] = xi[basic_d]
    rho = runner.basis_transpose_solve(e)
    gamma = np.abs(np.concatenate([rows.csr.T @ rho, rho]))
    gamma[dcols[~basic_d]] = 1.0  # a nonbasic deviation column moves itself
    touches = gamma > 1e-9 * max(1.0, float(np.max(gamma, initial=0.0)))
    s = np.flatnonzero(movable & (~at_status | ((np.abs(reduced) <= tau) & touches)))
    return Superbasics(s, z0, bidx)


def solve_reduced_face(runner: Runner, rows: Rows, cost: np.ndarray, groups: list[tuple[np.ndarray, float]],
                       sb: Superbasics, time_limit: float) -> FaceResult:
    """The face problem in the superbasic coordinates of ``runner``'s basis (reduced-gradient
    form): z_B = z0_B - W (y - y0) with W = B^-1 M_S (one basis solve per superbasic), so only
    the superbasics y are variables; the basic variables' bounds and the deviation columns
    become rows of W. Clarabel's work then grows with the number of superbasics (the free
    directions of the face) rather than with the plan's rows. The point returned satisfies the
    rows exactly (its basic part is solved from the basis)."""
    import clarabel

    t0 = time.perf_counter()
    n, m = rows.ncols, rows.nrows
    lo = np.concatenate([rows.lb, -rows.hi])
    hi = np.concatenate([rows.ub, -rows.lo])
    S, z0, bidx = sb.s, sb.z0, sb.basic
    k, ng = len(S), len(groups)
    a = rows.a
    cols_w: list[np.ndarray] = []
    vals_w: list[np.ndarray] = []
    for j in S:
        rhs = np.zeros(m)
        if j < n:
            rhs[a.indices[a.indptr[j]:a.indptr[j + 1]]] = a.data[a.indptr[j]:a.indptr[j + 1]]
        else:
            rhs[j - n] = 1.0
        w = runner.basis_solve(rhs)
        nz = np.flatnonzero(np.abs(w) > 1e-13)
        cols_w.append(nz)
        vals_w.append(w[nz])
    lengths = np.array([len(c) for c in cols_w], dtype=np.int64)
    wmat = sp.csr_matrix((np.concatenate(vals_w) if k else np.zeros(0),
                          (np.concatenate(cols_w) if k else np.zeros(0, dtype=np.int64),
                           np.repeat(np.arange(k), lengths))), shape=(m, k))
    y0 = z0[S]
    zb0 = z0[bidx] + wmat @ y0  # z_B = zb0 - W y
    cz = np.concatenate([cost, np.zeros(m)])
    q = np.concatenate([cz[S] - wmat.T @ cz[bidx], [w for _, w in groups]])
    eye = sp.identity(k, format="csr")
    fu, fl = np.isfinite(hi[S]), np.isfinite(lo[S])
    live = np.diff(wmat.indptr) > 0
    bu = live & np.isfinite(hi[bidx])
    bl = live & np.isfinite(lo[bidx])
    lin = sp.vstack([eye[fu], -eye[fl], -wmat[bu], wmat[bl]], format="csr")
    b_lin = np.concatenate([hi[S][fu], -lo[S][fl], hi[bidx][bu] - zb0[bu], zb0[bl] - lo[bidx][bl]])
    lin = sp.hstack([lin, sp.csr_matrix((lin.shape[0], ng))], format="csr")
    # cones: s = b - A v = (t_g, d_g); a basic d is zb0 - W y, a superbasic one y, else fixed
    pos = np.full(n + m, -1, dtype=np.int64)
    pos[bidx] = np.arange(m)
    spos = np.full(n + m, -1, dtype=np.int64)
    spos[S] = np.arange(k)
    blocks: list[sp.csr_matrix] = []
    b_soc: list[np.ndarray] = []
    for g, (cols, _) in enumerate(groups):
        t_row = sp.csr_matrix(([-1.0], ([0], [k + g])), shape=(1, k + ng))
        p = pos[cols]
        rows_d = sp.csr_matrix((len(cols), k))
        is_basic = p >= 0
        if np.any(is_basic):
            picked = wmat[p[is_basic]]
            rows_d = sp.lil_matrix((len(cols), k))
            rows_d[np.flatnonzero(is_basic)] = picked
            rows_d = rows_d.tocsr()
        sup = spos[cols]
        is_sup = sup >= 0
        if np.any(is_sup):
            rows_d = rows_d + sp.csr_matrix((-np.ones(int(is_sup.sum())), (np.flatnonzero(is_sup), sup[is_sup])),
                                            shape=(len(cols), k))
        blocks += [t_row, sp.hstack([rows_d, sp.csr_matrix((len(cols), ng))], format="csr")]
        bd = np.where(is_basic, zb0[np.maximum(p, 0)], np.where(is_sup, 0.0, z0[cols]))
        b_soc += [np.zeros(1), bd]
    soc = sp.vstack(blocks, format="csr")
    a_all = sp.vstack([lin, soc], format="csc")
    b_all = np.concatenate([b_lin, *b_soc])
    cones: list[Any] = [clarabel.NonnegativeConeT(lin.shape[0])]
    cones += [clarabel.SecondOrderConeT(len(cols) + 1) for cols, _ in groups]
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_feas = 1e-10
    # the basic variables' rows of W are dense when the superbasics move long chains of basic
    # ones: faer's supernodal factor is then 1.2-1.7x faster than QDLDL, on sparse ones
    # 4-6x slower (bench/RESULTS.md, "Exact balance at scale")
    settings.direct_solve_method = "faer" if a_all.nnz > DENSE_FACE_NNZ else "qdldl"
    settings.time_limit = max(0.0, float(time_limit))
    settings.max_threads = 1
    sol = clarabel.DefaultSolver(sp.csc_matrix((k + ng, k + ng)), q, a_all, b_all, cones, settings).solve()
    status = str(sol.status).split(".")[-1]
    x = None
    mu = None
    if len(sol.x) == k + ng:
        z = z0.copy()
        z[S] = np.clip(np.asarray(sol.x)[:k], lo[S], hi[S])
        nonbasic = np.ones(n + m, dtype=bool)
        nonbasic[bidx] = False
        zn = np.where(nonbasic, z, 0.0)
        z[bidx] = runner.basis_solve(-(rows.csr @ zn[:n] + zn[n:]))
        x = z[:n]
        mu = _multipliers(np.asarray(sol.z)[lin.shape[0]:], groups)
    return FaceResult(x, mu, status, int(sol.iterations), time.perf_counter() - t0, k)


def _multipliers(z: np.ndarray, groups: list[tuple[np.ndarray, float]]) -> list[np.ndarray]:
    """Each norm's multiplier from the cone duals (s = (t, d), dual (w, -mu)), scaled into the
    ball of radius w so that w ||d|| >= mu.d holds exactly."""
    mu = []
    row = 0
    for cols, w in groups:
        m_g = -z[row + 1: row + 1 + len(cols)]
        norm = float(np.linalg.norm(m_g))
        mu.append(m_g * (w / norm) if norm > w else m_g)
        row += len(cols) + 1
    return mu


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
