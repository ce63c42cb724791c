"""The balance term on the face of one fixed simplex basis (reduced-gradient form, column generation).

The plan LP without the balance term is solved first; HiGHS's optimal basis ``B0`` of that LP
is then held fixed in a HiGHS instance of its own (the *anchor*). Every plan considered is
written in the coordinates of ``B0``: the variables outside the basis are at the bound ``B0``
puts them at, except the *superbasic* set ``S``, which may move; the basic variables follow,
``z_B = z0_B - W (y - y0)`` with ``W = B0^-1 M_S`` (one basis solve per superbasic, kept).
On that face the exact problem (linear cost plus the norms) has only ``|S|`` variables, and
Clarabel solves it in that size; the basic variables' bounds are its linear rows (only those
near their bound, the others checked after the solve).

``S`` is grown by column generation, as in MINOS's pricing, with the face's own multipliers:
``pi = B0^-T (g_B + lambda_B)`` from the gradient ``g`` (linear cost, norm multipliers) and
the multipliers ``lambda_B`` of the basic variables held at a bound; a variable outside ``S``
whose reduced gradient ``g_j - M_j . pi`` improves the objective, and whose move no basic
variable at its bound blocks, enters ``S``; one that the face holds at ``B0``'s bound with a
reduced gradient keeping it there leaves. The moves of each tangent LP's vertex away from
``B0`` enter as well (the LPs are HiGHS's, warm-started from ``B0``, and their optima are the
certified lower bounds; ``optimize`` runs the rounds).

Nothing here knows about plans; no clock except the solvers' time limits.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from lpms.planning import conic
from lpms.planning.conic import Rows, _multipliers
from lpms.planning.solver import Runner

Groups = list[tuple[np.ndarray, float]]
# a basis face whose conic matrix has more nonzeros than this is factored by faer, else QDLDL
BASIS_DENSE_NNZ = 40_000


class TriangularBasis:
    """B^-1 for many right-hand sides at once, for a basis that is block triangular up to a
    permutation: the balance-free LP's basis is (at 1,000 items 52,458 of its 52,644 strongly
    connected blocks are single columns, the largest has 165; 102 levels). The rows are matched
    to columns (a structural diagonal), the blocks ordered by level (a block depends only on
    lower levels), and ``solve`` sweeps the levels once for all right-hand sides with sparse
    products: 0.04 ms a column against 5-10 ms for one HiGHS basis solve at 5,000 items."""

    def __init__(self, b: sp.csr_matrix, max_block: int = 500) -> None:
        from scipy.sparse.csgraph import connected_components, maximum_bipartite_matching

        b = sp.csr_matrix(b)
        m = b.shape[0]
        match = np.asarray(maximum_bipartite_matching(b, perm_type="column"))
        if np.any(match < 0):
            raise ValueError("the basis is structurally singular")
        bp = b[:, match].tocsr()  # bp[i, i] != 0
        pattern = sp.csr_matrix((np.ones(bp.nnz), bp.indices, bp.indptr), shape=(m, m))
        ncomp, labels = connected_components(pattern, directed=True, connection="strong")
        if int(np.max(np.bincount(labels), initial=0)) > max_block:
            raise ValueError("the basis has a large irreducible block")
        r, c = pattern.nonzero()
        off = labels[r] != labels[c]
        cond = sp.csr_matrix((np.ones(int(off.sum())), (labels[r[off]], labels[c[off]])), shape=(ncomp, ncomp))
        cond.sum_duplicates()
        owner = np.repeat(np.arange(ncomp), np.diff(cond.indptr))
        level = np.zeros(ncomp, dtype=np.int64)
        for _ in range(ncomp + 1):  # longest path to a block without dependencies
            deeper = np.zeros(ncomp, dtype=np.int64)
            np.maximum.at(deeper, owner, level[cond.indices] + 1)
            if np.array_equal(deeper, level):
                break
            level = deeper
        row_level = level[labels]
        order = np.lexsort((labels, row_level))
        t = bp[order][:, order].tocsr()
        bounds = np.searchsorted(row_level[order], np.arange(int(row_level.max(initial=0)) + 2))
        ordered_labels = labels[order]
        self.levels: list[tuple[int, int, sp.csr_matrix, sp.csr_matrix]] = []
        for lo_, hi_ in zip(bounds[:-1], bounds[1:]):
            s_, e_ = int(lo_), int(hi_)
            diag = t[s_:e_, s_:e_]
            if diag.nnz == e_ - s_ and not (sp.triu(diag, 1).nnz or sp.tril(diag, -1).nnz):
                inverse = sp.diags(1.0 / diag.diagonal(), format="csr")
            else:  # singletons and irreducible blocks: each block inverted (small, dense)
                inverse = sp.lil_matrix((e_ - s_, e_ - s_))
                lab = ordered_labels[s_:e_]
                starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
                dense = diag.toarray()
                for a_, b_ in zip(starts, np.r_[starts[1:], e_ - s_]):
                    inverse[a_:b_, a_:b_] = np.linalg.inv(dense[a_:b_, a_:b_])
                inverse = inverse.tocsr()
            self.levels.append((s_, e_, inverse, t[s_:e_, :s_].tocsr()))
        # solve order -> basis position: row order[q] of bp is basis position match[order[q]]
        self.position = match[order]
        self.order = order
        self.m = m

    def solve_vector(self, r: np.ndarray) -> np.ndarray:
        """x = B^-1 r for one dense right-hand side (entries in basis-position order)."""
        rp = np.asarray(r, dtype=float)[self.order]
        x = np.zeros(self.m)
        for s_, e_, inverse, lower in self.levels:
            y = rp[s_:e_] - lower @ x[:s_] if s_ and lower.nnz else rp[s_:e_]
            x[s_:e_] = inverse @ y
        out = np.empty(self.m)
        out[self.position] = x
        return out

    def solve(self, r: sp.spmatrix) -> sp.csr_matrix:
        """X = B^-1 R (rows: basis positions) for a sparse R (rows: the basis matrix's rows)."""
        rp = sp.csr_matrix(r)[self.order]
        k = rp.shape[1]
        x = sp.csr_matrix((0, k))
        for s_, e_, inverse, lower in self.levels:
            y = rp[s_:e_]
            if s_ and lower.nnz:
                y = y - lower @ x
            xl = inverse @ y
            x = sp.vstack([x, xl], format="csr") if s_ else sp.csr_matrix(xl)
        out = sp.csr_matrix((self.m, k))
        inv = np.empty(self.m, dtype=np.int64)
        inv[self.position] = np.arange(self.m)
        out = x[inv]
        out.eliminate_zeros()
        return sp.csr_matrix(out)


@dataclass
class BasisSolution:
    z: np.ndarray  # every variable: columns, then logicals (s = -A x); basics solved from the basis
    mu: list[np.ndarray]  # each norm's multiplier (||mu_g|| <= w_g)
    lam: np.ndarray  # per basis position: multiplier of the basic variable's bound (upper - lower)
    status: str
    iterations: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status in ("Solved", "AlmostSolved")


@dataclass
class BasisFace:
    """A fixed simplex basis held by ``runner`` (never re-solved) and the columns W_j = B^-1 M_j
    computed so far. ``z_ref`` is the basis's vertex (columns, then logicals)."""

    runner: Runner
    rows: Rows
    z_ref: np.ndarray
    bidx: np.ndarray = field(init=False)  # variable at each basis position
    isb: np.ndarray = field(init=False)
    lo: np.ndarray = field(init=False)
    hi: np.ndarray = field(init=False)
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, init=False)
    basis_solves: int = field(default=0, init=False)
    triangular: TriangularBasis | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        n, m = self.rows.ncols, self.rows.nrows
        basic = self.runner.basic_variables()
        self.bidx = np.where(basic >= 0, basic, n + (-basic - 1))
        self.isb = np.zeros(n + m, dtype=bool)
        self.isb[self.bidx] = True
        self.lo = np.concatenate([self.rows.lb, -self.rows.hi])
        self.hi = np.concatenate([self.rows.ub, -self.rows.lo])
        try:
            tri = TriangularBasis(self.columns_of(self.bidx))
        except (ValueError, np.linalg.LinAlgError):
            tri = None
        if tri is not None:
            # checked against HiGHS's factorisation on one column; any doubt: HiGHS alone
            nb = np.flatnonzero(~self.isb)
            if len(nb):
                j = int(nb[len(nb) // 2])
                mine = tri.solve(self.columns_of(np.array([j]))).toarray().ravel()
                ref = self.runner.basis_solve(self.columns_of(np.array([j])).toarray().ravel())
                if not np.allclose(mine, ref, rtol=1e-9, atol=1e-9 * max(1.0, float(np.max(np.abs(ref), initial=0.0)))):
                    tri = None
        self.triangular = tri

    def columns_of(self, js: np.ndarray) -> sp.csc_matrix:
        """The columns of [A I] for the variables js."""
        n, m = self.n, self.m
        js = np.asarray(js, dtype=np.int64)
        a = self.rows.a
        struct = js[js < n]
        logic = js[js >= n] - n
        parts = sp.hstack([a[:, struct], sp.csc_matrix((np.ones(len(logic)), (logic, np.arange(len(logic)))),
                                                       shape=(m, len(logic)))], format="csc")
        back = np.empty(len(js), dtype=np.int64)
        back[np.flatnonzero(js < n)] = np.arange(len(struct))
        back[np.flatnonzero(js >= n)] = len(struct) + np.arange(len(logic))
        return sp.csc_matrix(parts[:, back])

    def fill(self, js: np.ndarray) -> None:
        """Compute and keep W_j for the variables js not yet computed (one sweep for all)."""
        missing = np.array([int(j) for j in js if int(j) not in self.cache], dtype=np.int64)
        if len(missing) == 0 or self.triangular is None:
            return
        w = sp.csc_matrix(self.triangular.solve(self.columns_of(missing)))
        for k, j in enumerate(missing):
            lo_, hi_ = w.indptr[k], w.indptr[k + 1]
            vals = w.data[lo_:hi_]
            keep = np.abs(vals) > 1e-13
            self.cache[int(j)] = (w.indices[lo_:hi_][keep].copy(), vals[keep].copy())
        self.basis_solves += len(missing)

    @property
    def n(self) -> int:
        return self.rows.ncols

    @property
    def m(self) -> int:
        return self.rows.nrows

    def at_bounds(self, z: np.ndarray, rel: float) -> tuple[np.ndarray, np.ndarray]:
        """Which variables of z sit at their lower / upper bound (within ``rel`` of max(1, |bound|))."""
        lo, hi = self.lo, self.hi
        with np.errstate(invalid="ignore"):
            at_lo = np.isfinite(lo) & (z - lo <= rel * np.maximum(1.0, np.abs(np.where(np.isfinite(lo), lo, 0.0))))
            at_hi = np.isfinite(hi) & (hi - z <= rel * np.maximum(1.0, np.abs(np.where(np.isfinite(hi), hi, 0.0))))
        return at_lo, at_hi

    def moved(self, x: np.ndarray) -> np.ndarray:
        """Nonbasic variables that the plan x holds away from a bound (they must be superbasic
        for x to be on the face)."""
        z = np.concatenate([x, -(self.rows.csr @ x)])
        at_lo, at_hi = self.at_bounds(z, 1e-9)
        return np.asarray(~self.isb & (self.lo < self.hi) & ~at_lo & ~at_hi)

    def column(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """W_j = B^-1 M_j as (positions, values), M_j the column of [A I] of variable j."""
        got = self.cache.get(j)
        if got is None:
            m, n, a = self.m, self.n, self.rows.a
            rhs = np.zeros(m)
            if j < n:
                rhs[a.indices[a.indptr[j]:a.indptr[j + 1]]] = a.data[a.indptr[j]:a.indptr[j + 1]]
            else:
                rhs[j - n] = 1.0
            w = self.runner.basis_solve(rhs)
            nz = np.flatnonzero(np.abs(w) > 1e-13)
            got = (nz, w[nz])
            self.cache[j] = got
            self.basis_solves += 1
        return got

    def matrix(self, s: np.ndarray) -> sp.csc_matrix:
        """W = B^-1 M_S (basis positions x superbasics)."""
        self.fill(s)
        cols = [self.column(int(j)) for j in s]
        k = len(cols)
        if k == 0:
            return sp.csc_matrix((self.m, 0))
        lengths = np.array([len(c[0]) for c in cols], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        return sp.csc_matrix((np.concatenate([c[1] for c in cols]), np.concatenate([c[0] for c in cols]), indptr),
                             shape=(self.m, k))

    def basics(self, z: np.ndarray) -> np.ndarray:
        """z with its basic part solved from the rows ([A I] z = 0) for its nonbasic part."""
        n = self.n
        out = z.copy()
        zn = np.where(self.isb, 0.0, z)
        rhs = -(self.rows.csr @ zn[:n] + zn[n:])
        if self.triangular is not None:
            out[self.bidx] = self.triangular.solve_vector(rhs)
        else:
            out[self.bidx] = self.runner.basis_solve(rhs)
        return out

    def slack(self, z: np.ndarray) -> np.ndarray:
        """Per basis position: the distance of the basic variable to its nearer bound (inf if free)."""
        zb, lo, hi = z[self.bidx], self.lo[self.bidx], self.hi[self.bidx]
        with np.errstate(invalid="ignore"):
            return np.minimum(np.where(np.isfinite(lo), zb - lo, np.inf), np.where(np.isfinite(hi), hi - zb, np.inf))

    def solve(self, cost: np.ndarray, groups: Groups, s: np.ndarray, rowmask: np.ndarray,
              time_limit: float, tol_feas: float = 1e-10, threads: int = 1) -> BasisSolution:
        """Minimise cost.x + sum_g w_g ||x[G_g]|| over the face: the superbasics ``s`` free
        within their bounds, the other nonbasic variables at z_ref, the basic ones following;
        the bounds of the basic variables at the positions in ``rowmask`` are rows (Clarabel)."""
        import clarabel

        t0 = time.perf_counter()
        n, m = self.n, self.m
        lo, hi, bidx, z0 = self.lo, self.hi, self.bidx, self.z_ref
        k, ng = len(s), len(groups)
        w = self.matrix(s).tocsr()
        zb0 = z0[bidx] + w @ z0[s]  # z_B = zb0 - W y
        cz = np.concatenate([cost, np.zeros(m)])
        q = np.concatenate([cz[s] - w.T @ cz[bidx], [wg for _, wg in groups]])
        eye = sp.identity(k, format="csr")
        fu, fl = np.isfinite(hi[s]), np.isfinite(lo[s])
        live = (np.diff(w.indptr) > 0) & rowmask
        bu = np.flatnonzero(live & np.isfinite(hi[bidx]))
        bl = np.flatnonzero(live & np.isfinite(lo[bidx]))
        lin = sp.vstack([eye[fu], -eye[fl], -w[bu], w[bl]], format="csr")
        b_lin = np.concatenate([hi[s][fu], -lo[s][fl], hi[bidx][bu] - zb0[bu], zb0[bl] - lo[bidx][bl]])
        lin = sp.hstack([lin, sp.csr_matrix((lin.shape[0], ng))], format="csr")
        pos = np.full(n + m, -1, dtype=np.int64)
        pos[bidx] = np.arange(m)
        spos = np.full(n + m, -1, dtype=np.int64)
        spos[s] = np.arange(k)
        blocks: list[Any] = []
        b_soc: list[np.ndarray] = []
        for g, (cols, _) in enumerate(groups):
            # cone g: s = b - A v = (t_g, d_g); a basic d is zb0 - W y, a superbasic one y, else fixed
            blocks.append(sp.csr_matrix(([-1.0], ([0], [k + g])), shape=(1, k + ng)))
            p = pos[cols]
            is_basic = p >= 0
            sel = sp.csr_matrix((np.ones(int(is_basic.sum())), (np.flatnonzero(is_basic), p[is_basic])),
                                shape=(len(cols), m))
            rows_d = sel @ w
            sup = spos[cols]
            is_sup = sup >= 0
            if np.any(is_sup):
                rows_d = rows_d + sp.csr_matrix((-np.ones(int(is_sup.sum())), (np.flatnonzero(is_sup), sup[is_sup])),
                                                shape=(len(cols), k))
            blocks.append(sp.hstack([rows_d, sp.csr_matrix((len(cols), ng))], format="csr"))
            b_soc += [np.zeros(1), np.where(is_basic, zb0[np.maximum(p, 0)], np.where(is_sup, 0.0, z0[cols]))]
        a_all = sp.vstack([lin, *blocks], format="csc")
        b_all = np.concatenate([b_lin, *b_soc])
        cones: list[Any] = [clarabel.NonnegativeConeT(lin.shape[0])]
        cones += [clarabel.SecondOrderConeT(len(cols) + 1) for cols, _ in groups]
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        settings.tol_feas = tol_feas
        # faer's supernodal factor wins once the face's rows of W are dense enough (1,000 items:
        # 0.3 s against 1.0 s for QDLDL at 80k nonzeros; 0.15 s against 0.08 s at 25k)
        dense = a_all.nnz > min(conic.DENSE_FACE_NNZ, BASIS_DENSE_NNZ)
        settings.direct_solve_method = "faer" if dense else "qdldl"
        settings.time_limit = max(0.0, float(time_limit))
        settings.max_threads = int(threads)
        sol = clarabel.DefaultSolver(sp.csc_matrix((k + ng, k + ng)), q, a_all, b_all, cones, settings).solve()
        status = str(sol.status).split(".")[-1]
        z = z0.copy()
        lam = np.zeros(m)
        mu: list[np.ndarray] = []
        if len(sol.x) == k + ng:
            z[s] = np.clip(np.asarray(sol.x)[:k], lo[s], hi[s])
            z = self.basics(z)
            dual = np.asarray(sol.z)
            nf = int(fu.sum()) + int(fl.sum())
            lam[bu] += dual[nf:nf + len(bu)]
            lam[bl] -= dual[nf + len(bu):lin.shape[0]]
            mu = _multipliers(dual[lin.shape[0]:], groups)
        return BasisSolution(z, mu, lam, status, int(sol.iterations), time.perf_counter() - t0)

    def reduced_gradient(self, cost: np.ndarray, groups: Groups, sol: BasisSolution) -> np.ndarray:
        """g_j - M_j . pi for every variable, pi = B^-T (g_B + lambda_B): the face's pricing."""
        g = np.concatenate([cost, np.zeros(self.m)])
        for (cols, _), mg in zip(groups, sol.mu):
            g[cols] += mg
        pi = self.runner.basis_transpose_solve(g[self.bidx] + sol.lam)
        return np.asarray(g - np.concatenate([self.rows.csr.T @ pi, pi]))

    def blocked(self, js: np.ndarray, up: np.ndarray, at_lo_b: np.ndarray, at_hi_b: np.ndarray) -> np.ndarray:
        """For each variable js[i]: whether a basic variable at its bound stops it from moving up
        (up[i]) or down at once."""
        if len(js) == 0:
            return np.zeros(0, dtype=bool)
        w = self.matrix(js)
        sign = np.repeat(np.where(up, -1.0, 1.0), np.diff(w.indptr))
        dz = sign * w.data  # change of z_B per unit move
        big = np.maximum.reduceat(np.abs(w.data), w.indptr[:-1]) if w.nnz else np.zeros(len(js))
        big = np.where(np.diff(w.indptr) > 0, big, 1.0)
        eps = 1e-9 * np.maximum(1.0, np.repeat(big, np.diff(w.indptr)))
        hit = (at_lo_b[w.indices] & (dz < -eps)) | (at_hi_b[w.indices] & (dz > eps))
        counts = np.add.reduceat(hit.astype(np.int64), w.indptr[:-1]) if w.nnz else np.zeros(len(js), dtype=np.int64)
        return np.asarray(np.where(np.diff(w.indptr) > 0, counts > 0, False))

    def to_bounds(self, s: np.ndarray, z: np.ndarray, near: float = 0.0, passes: int = 4,
                  fixed: np.ndarray | None = None) -> np.ndarray:
        """Move the superbasics (least change) until every basic variable is within its bounds:
        an interior-point answer leaves basic variables that sit at a bound a hair outside (1e-8
        of a bound of 260 is too much for a later priority stage that holds this plan's
        values with tight rows). Every basic variable outside by more than 1e-12 (relative), and
        in the first pass every one the superbasics move that is outside at all, is put 1e-10
        inside (least-norm step of the free superbasics).

        With ``near`` > 0 the answer is also purified: superbasics within ``near`` (relative) of
        a bound are put on it, and basic variables within ``near`` inside a bound are moved onto
        it -- an interior point approaches the bounds active at the optimum without reaching
        them (a plan quantity 1.3e-6 short of 5 units). Returns the last point (the caller
        checks it and its cost)."""
        lo, hi, bidx = self.lo[self.bidx], self.hi[self.bidx], self.bidx
        with np.errstate(invalid="ignore"):
            scale_lo = np.maximum(1.0, np.abs(np.where(np.isfinite(lo), lo, 0.0)))
            scale_hi = np.maximum(1.0, np.abs(np.where(np.isfinite(hi), hi, 0.0)))
            width = np.where(np.isfinite(hi - lo), hi - lo, np.inf)
        inward_lo = lo + np.minimum(1e-10 * scale_lo, width / 2)
        inward_hi = hi - np.minimum(1e-10 * scale_hi, width / 2)
        held = np.zeros(self.m, dtype=bool)
        target = np.zeros(self.m)
        pinned = np.zeros(len(s), dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool).copy()
        if near > 0 and len(s):
            ys, slo, shi = z[s], self.lo[s], self.hi[s]
            with np.errstate(invalid="ignore"):
                to_lo = np.isfinite(slo) & (ys - slo <= near * np.maximum(1.0, np.abs(np.where(np.isfinite(slo), slo, 0))))
                to_hi = ~to_lo & np.isfinite(shi) & (shi - ys <= near * np.maximum(1.0, np.abs(np.where(np.isfinite(shi), shi, 0))))
            if (to_lo | to_hi).any():
                z = z.copy()
                z[s[to_lo]] = slo[to_lo]
                z[s[to_hi]] = shi[to_hi]
                pinned |= to_lo | to_hi
                z = self.basics(z)
        w = None
        for _ in range(passes):
            zb = z[bidx]
            below = np.isfinite(lo) & (zb < lo - 1e-12 * scale_lo)
            above = np.isfinite(hi) & (zb > hi + 1e-12 * scale_hi)
            first = w is None
            if first and not near and (not (below | above).any() or len(s) == 0):
                break
            if not first and not (below | above).any():
                break
            if first:
                w = self.matrix(s).tocsr()
                live = np.diff(w.indptr) > 0
                # the first pass takes every basic variable the superbasics move that is beyond a
                # bound at all (the step for the others would push it further out), and when
                # purifying every one near a bound (its target is the bound itself)
                below |= live & np.isfinite(lo) & (zb < lo)
                above |= live & np.isfinite(hi) & (zb > hi)
                if near:
                    on_lo = live & ~below & ~above & np.isfinite(lo) & (zb - lo <= near * scale_lo)
                    on_hi = live & ~below & ~above & ~on_lo & np.isfinite(hi) & (hi - zb <= near * scale_hi)
                    target[on_lo] = lo[on_lo]
                    target[on_hi] = hi[on_hi]
                    held |= on_lo | on_hi
            bad = below | above
            target[below] = inward_lo[below]
            target[above] = inward_hi[above]
            held |= bad
            rows_v = np.flatnonzero(held)
            y = z[s]
            room = np.minimum(y - self.lo[s], self.hi[s] - y)
            free = np.flatnonzero(~pinned & (room > 1e-9 * np.maximum(1.0, np.abs(y))))
            if len(free) == 0 or len(rows_v) == 0:
                break
            assert w is not None
            step = _least_norm(w[rows_v][:, free], zb[rows_v] - target[rows_v])
            z = z.copy()
            z[s[free]] = np.clip(y[free] + step, self.lo[s[free]], self.hi[s[free]])
            z = self.basics(z)
        return z

    def newton(self, cost: np.ndarray, groups: Groups, s: np.ndarray, z: np.ndarray, steps: int = 2) -> np.ndarray:
        """Newton steps on the face's exact objective in the free superbasics, with the basic
        variables at a bound held there (the active set of z): the reduced Hessian
        sum_g w_g D_g^T (I - u_g u_g^T) D_g / ||d_g|| (D_g the deviation columns' rows of the
        face) is applied, never factored, by projected conjugate gradients in the null space of
        the held rows; directions without curvature are not moved. The steps are cut where
        another bound is reached and kept only if the objective falls. From an interior-point
        answer this converges in one or two steps to the face's optimum to machine precision
        (MINOS's superbasic Newton step)."""
        n, m = self.n, self.m
        lo, hi, bidx = self.lo, self.hi, self.bidx
        if len(s) == 0:
            return z
        y = z[s]
        with np.errstate(invalid="ignore"):
            room = np.minimum(y - lo[s], hi[s] - y)
        free = np.flatnonzero(room > 1e-9 * np.maximum(1.0, np.abs(y)))
        if len(free) == 0:
            return z
        sf = s[free]
        w = self.matrix(sf).tocsr()
        zb = z[bidx]
        blo, bhi = lo[bidx], hi[bidx]
        with np.errstate(invalid="ignore"):
            at = (np.isfinite(blo) & (zb - blo <= 1e-9 * np.maximum(1.0, np.abs(np.where(np.isfinite(blo), blo, 0))))) | \
                 (np.isfinite(bhi) & (bhi - zb <= 1e-9 * np.maximum(1.0, np.abs(np.where(np.isfinite(bhi), bhi, 0)))))
        live = np.diff(w.indptr) > 0
        active = np.flatnonzero(at & live)
        pos = np.full(n + m, -1, dtype=np.int64)
        pos[bidx] = np.arange(m)
        spos = np.full(n + m, -1, dtype=np.int64)
        spos[sf] = np.arange(len(sf))
        dmat = []
        for cols, _ in groups:
            d = np.zeros((len(cols), len(sf)))
            p = pos[cols]
            b = np.flatnonzero(p >= 0)
            if len(b):
                d[b] = -w[p[b]].toarray()
            q_ = spos[cols]
            f = np.flatnonzero(q_ >= 0)
            d[f, q_[f]] = 1.0
            dmat.append(d)
        cz = np.concatenate([cost, np.zeros(m)])
        lin = cz[sf] - w.T @ cz[bidx]
        # a flat load profile (d_g = 0) is a kink of the norm: it is held flat, as an active bound
        flat = [float(np.linalg.norm(z[cols])) <= 1e-9 * max(1.0, float(np.max(np.abs(z[cols]), initial=0.0)))
                for cols, _ in groups]
        amat = sp.vstack([w[active], *(sp.csr_matrix(d) for d, is_flat in zip(dmat, flat) if is_flat)], format="csr")
        kf = len(sf)
        if amat.shape[0]:
            import scipy.sparse.linalg as spla

            gram = (amat @ amat.T).tocsc()
            ridge = 1e-12 * max(1.0, float(np.max(gram.diagonal(), initial=0.0)))
            try:
                factor = spla.splu(gram + sp.identity(gram.shape[0], format="csc") * ridge)
            except RuntimeError:
                return z

            def project(v: np.ndarray) -> np.ndarray:
                return np.asarray(v - amat.T @ factor.solve(amat @ v))
        else:
            def project(v: np.ndarray) -> np.ndarray:
                return v

        def value(zz: np.ndarray) -> float:
            return float(cz @ zz) + sum(wg * float(np.linalg.norm(zz[cols])) for cols, wg in groups)

        current = value(z)
        for _ in range(steps):
            grad = lin.copy()
            terms: list[tuple[float, np.ndarray, np.ndarray]] = []
            for (cols, wg), d, is_flat in zip(groups, dmat, flat):
                if is_flat:
                    continue
                dv = z[cols]
                norm = float(np.linalg.norm(dv))
                if norm <= 1e-12:  # the series sits at its mean: no gradient or curvature to use there
                    continue
                du = d.T @ (dv / norm)
                grad += wg * du
                terms.append((wg / norm, d, du))

            def hmul(v: np.ndarray, terms: list[tuple[float, np.ndarray, np.ndarray]] = terms) -> np.ndarray:
                out = np.zeros(kf)
                for c, d, du in terms:
                    out += c * (d.T @ (d @ v) - du * float(du @ v))
                return out

            dy = _projected_cg(hmul, project, grad, max(50, min(kf, 200)))
            if not np.all(np.isfinite(dy)) or not np.any(dy):
                return z
            # the step's largest share that keeps every bound (superbasics, basic variables)
            dzb = -(w @ dy)
            t = 1.0
            yf = z[sf]
            with np.errstate(divide="ignore", invalid="ignore"):
                for val, step, low, high, held in ((yf, dy, lo[sf], hi[sf], None), (zb, dzb, blo, bhi, active)):
                    up = (step > 0) & np.isfinite(high)
                    dn = (step < 0) & np.isfinite(low)
                    if held is not None:
                        up[held] = False
                        dn[held] = False
                    t = min(t, float(np.min((high[up] - val[up]) / step[up], initial=1.0)),
                            float(np.min((low[dn] - val[dn]) / step[dn], initial=1.0)))
            t = max(0.0, t)
            if t <= 0.0:
                return z
            trial = z.copy()
            trial[sf] = np.clip(yf + t * dy, lo[sf], hi[sf])
            trial = self.basics(trial)
            tv = value(trial)
            if not tv < current:
                return z
            z, current = trial, tv
            zb = z[bidx]
        return z

def _projected_cg(hmul: Any, project: Any, grad: np.ndarray, iterations: int) -> np.ndarray:
    """min grad.p + p.H p / 2 over the null space of the held rows (``project``), by conjugate
    gradients with the residual projected each iteration; stops on a relative residual of
    1e-12 or a direction without curvature."""
    x = np.zeros(len(grad))
    r = project(-grad)
    rr = float(r @ r)
    if rr == 0.0:
        return x
    start = rr
    p = r.copy()
    scale = 0.0
    for _ in range(iterations):
        hp = hmul(p)
        php = float(p @ hp)
        pp = float(p @ p)
        scale = max(scale, php / pp if pp else 0.0)
        if php <= 1e-12 * scale * pp:
            break
        alpha = rr / php
        x += alpha * p
        r = project(r - alpha * hp)
        new = float(r @ r)
        if new <= 1e-24 * start:
            break
        p = r + (new / rr) * p
        rr = new
    return x


def _least_norm(jac: sp.csr_matrix, r: np.ndarray) -> np.ndarray:
    """The least-norm solution of jac @ step = r (a sparse system with few rows): step =
    jac^T u with (jac jac^T + ridge) u = r, the ridge (1e-13 of the largest diagonal entry)
    keeping dependent rows solvable."""
    import scipy.sparse.linalg as spla

    gram = (jac @ jac.T).tocsc()
    diag = gram.diagonal()
    ridge = 1e-13 * max(1.0, float(np.max(diag, initial=0.0)))
    gram = gram + sp.identity(gram.shape[0], format="csc") * ridge
    u = spla.splu(gram).solve(r)
    return np.asarray(jac.T @ u)
