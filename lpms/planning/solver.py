"""A sparse LP/QP model builder handed to HiGHS (highspy) in bulk.

Columns and rows are added in blocks of numpy arrays with readable names built from ids,
so a model of 300k columns builds in well under a second and an infeasibility can be
explained by name. The whole matrix goes to HiGHS in one ``passModel`` call (DESIGN.md
section 6: PuLP's row-by-row hand-over costs seconds at that size).
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np

from lpms.domain.errors import Infeasible, SolverFailed

INF = highspy.kHighsInf
# HiGHS basis status codes as plain integers (``Runner.column_status``)
NONBASIC_LOWER = int(highspy.HighsBasisStatus.kLower)
BASIC = int(highspy.HighsBasisStatus.kBasic)
NONBASIC_UPPER = int(highspy.HighsBasisStatus.kUpper)
# model statuses after which a solve is repeated from scratch before it counts as a failure
_TROUBLE = (highspy.HighsModelStatus.kUnknown, highspy.HighsModelStatus.kSolveError)


_banner_lock = threading.Lock()
_banner_shown = False


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance.

    HiGHS 1.16 prints its banner ("Running HiGHS ...") from C++ on the process's first
    ``Highs()``, before any option can be set. LPMS's stdout belongs to its own output
    (``--format json`` must be pure JSON), so the first construction runs with file
    descriptors 1 and 2 pointed at /dev/null; later ones print nothing.
    """
    global _banner_shown
    with _banner_lock:
        if _banner_shown:
            h = highspy.Highs()
        else:
            h = _construct_muted()
            _banner_shown = True
    h.setOptionValue("output_flag", False)
    return h


def _construct_muted() -> highspy.Highs:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    saved: list[tuple[int, int]] = []
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return highspy.Highs()
    try:
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
                os.dup2(devnull, fd)
            except OSError:
                pass
        h = highspy.Highs()
        _c_flush()
        return h
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def _c_flush() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


class SolverError(SolverFailed):
    """HiGHS did not return a proven optimum (time limit, numerical trouble, ...)."""


class SolverInfeasible(SolverError, Infeasible):
    """HiGHS proved the model infeasible."""


class SolverTimeLimit(SolverError):
    """A solve reached its time (or iteration) limit before HiGHS proved an optimum."""


@dataclass(frozen=True)
class SolverOptions:
    time_limit_s: float = 300.0
    threads: int = 1
    method: str = "choose"  # HiGHS "solver" option: choose | simplex | ipm
    gap_rel: float = 1e-6  # target relative gap of the balance (standard-deviation) term
    max_iterations: int = 100
    # HiGHS's QP solver is reliable on small models only (on the 31-item demo plant, 1,368
    # columns, one QP solve took 30 s; at a 100-item network it fails or stalls): above this size
    # the balance term goes straight to the face SOCP (docs/planning.md)
    qp_max_columns: int = 200
    # budget for the cutting planes that follow the exact method when it stops short of the gap
    # target (solver trouble, or a target below what double precision resolves)
    balance_time_limit_s: float = 60.0
    # a QP solve that needs more simplex iterations than this per column is cycling: the balance
    # term then falls back to the face SOCP (HiGHS's QP solver can cycle on degenerate models)
    qp_iterations_per_column: int = 50


class Grid:
    """Names ``prefix[label,period]`` for a block of labels x periods, built only when needed
    (a 300k-column model spends a tenth of a second on name strings otherwise)."""

    def __init__(self, prefix: str, labels: Sequence[str], periods: int) -> None:
        self.prefix, self.labels, self.periods = prefix, labels, periods

    def __len__(self) -> int:
        return len(self.labels) * self.periods

    def materialize(self) -> list[str]:
        return [f"{self.prefix}[{c},{t + 1}]" for c in self.labels for t in range(self.periods)]


def _names(blocks: list[Sequence[str] | Grid]) -> list[str]:
    out: list[str] = []
    for b in blocks:
        out.extend(b.materialize() if isinstance(b, Grid) else b)
    return out


class LinearModel:
    """Columns with bounds and names, rows with bounds and names, coefficients in COO blocks."""

    def __init__(self) -> None:
        self._col_names: list[Sequence[str] | Grid] = []
        self._row_names: list[Sequence[str] | Grid] = []
        self._lb: list[np.ndarray] = []
        self._ub: list[np.ndarray] = []
        self._lo: list[np.ndarray] = []
        self._hi: list[np.ndarray] = []
        self._r: list[np.ndarray] = []
        self._c: list[np.ndarray] = []
        self._v: list[np.ndarray] = []
        self.ncols = 0
        self.nrows = 0

    def add_cols(self, names: Sequence[str] | Grid, lb: float | np.ndarray = 0.0, ub: float | np.ndarray = INF) -> np.ndarray:
        k = len(names)
        idx = np.arange(self.ncols, self.ncols + k, dtype=np.int64)
        self._col_names.append(names)
        self._lb.append(np.broadcast_to(np.asarray(lb, dtype=float), (k,)).copy())
        self._ub.append(np.broadcast_to(np.asarray(ub, dtype=float), (k,)).copy())
        self.ncols += k
        return idx

    def add_rows(self, names: Sequence[str] | Grid, lo: float | np.ndarray, hi: float | np.ndarray) -> np.ndarray:
        k = len(names)
        idx = np.arange(self.nrows, self.nrows + k, dtype=np.int64)
        self._row_names.append(names)
        self._lo.append(np.broadcast_to(np.asarray(lo, dtype=float), (k,)).copy())
        self._hi.append(np.broadcast_to(np.asarray(hi, dtype=float), (k,)).copy())
        self.nrows += k
        return idx

    def add_coefs(self, rows: np.ndarray | int, cols: np.ndarray | int, vals: np.ndarray | float) -> None:
        r, c, v = np.broadcast_arrays(np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64),
                                      np.asarray(vals, dtype=float))
        self._r.append(r.ravel().copy())
        self._c.append(c.ravel().copy())
        self._v.append(v.ravel().copy())

    def compile(self) -> CompiledModel:
        def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

        r, c, v = cat(self._r, np.int64), cat(self._c, np.int64), cat(self._v, float)
        keep = v != 0.0
        r, c, v = r[keep], c[keep], v[keep]
        order = np.lexsort((r, c))
        r, c, v = r[order], c[order], v[order]
        start = np.zeros(self.ncols + 1, dtype=np.int64)
        np.cumsum(np.bincount(c, minlength=self.ncols), out=start[1:])
        return CompiledModel(
            lb=cat(self._lb, float), ub=cat(self._ub, float), lo=cat(self._lo, float), hi=cat(self._hi, float),
            start=start, index=r, value=v, col_name_blocks=list(self._col_names), row_name_blocks=list(self._row_names),
        )


@dataclass
class CompiledModel:
    lb: np.ndarray
    ub: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray
    col_name_blocks: list[Sequence[str] | Grid]
    row_name_blocks: list[Sequence[str] | Grid]

    @property
    def col_names(self) -> list[str]:
        return _names(self.col_name_blocks)

    @property
    def row_names(self) -> list[str]:
        return _names(self.row_name_blocks)

    @property
    def ncols(self) -> int:
        return len(self.lb)

    @property
    def nrows(self) -> int:
        return len(self.lo)

    def to_highs_lp(self, cost: np.ndarray | None = None, names: bool = False) -> highspy.HighsLp:
        lp = highspy.HighsLp()
        lp.num_col_ = self.ncols
        lp.num_row_ = self.nrows
        lp.col_cost_ = np.zeros(self.ncols) if cost is None else np.asarray(cost, dtype=float)
        lp.col_lower_ = self.lb
        lp.col_upper_ = self.ub
        lp.row_lower_ = self.lo
        lp.row_upper_ = self.hi
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = self.start.astype(np.int32)
        lp.a_matrix_.index_ = self.index.astype(np.int32)
        lp.a_matrix_.value_ = self.value
        if names:
            lp.col_names_ = self.col_names
            lp.row_names_ = self.row_names
        return lp

    def write_mps(self, path: str, cost: np.ndarray | None = None) -> None:
        h = new_highs()
        h.passModel(self.to_highs_lp(cost, names=True))
        h.writeModel(path)


@dataclass
class SolveResult:
    x: np.ndarray
    objective: float
    iterations: int
    seconds: float


@dataclass
class Runner:
    """One HiGHS instance over a compiled model, extra columns and rows added as needed."""

    model: CompiledModel
    options: SolverOptions
    extra_cols: int = 0
    highs: highspy.Highs = field(init=False)
    solves: int = field(default=0, init=False)
    seconds: float = field(default=0.0, init=False)
    iterations: int = field(default=0, init=False)
    accepted_with_residual: int = field(default=0, init=False)
    retries: int = field(default=0, init=False)  # solves repeated after numerical trouble

    def __post_init__(self) -> None:
        h = new_highs()
        h.setOptionValue("threads", int(self.options.threads))
        h.setOptionValue("time_limit", float(self.options.time_limit_s))
        # HiGHS's default proximal regularisation (1e-7) leaves QP answers visibly inexact on
        # flat objectives (plan quantities off by 5e-5); 1e-10 gives exact answers here.
        h.setOptionValue("qp_regularization_value", 1e-10)
        if self.options.method != "choose":
            h.setOptionValue("solver", self.options.method)
        status = h.passModel(self.model.to_highs_lp())
        if status == highspy.HighsStatus.kError:
            raise SolverError("HiGHS rejected the model")
        self.highs = h
        self.ncols = self.model.ncols

    def add_cols(self, count: int, lb: float = 0.0, ub: float = INF) -> np.ndarray:
        self.highs.addCols(count, np.zeros(count), np.full(count, lb), np.full(count, ub), 0,
                           np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
        idx = np.arange(self.ncols, self.ncols + count)
        self.ncols += count
        return idx

    def add_row(self, cols: np.ndarray, vals: np.ndarray, lo: float, hi: float) -> None:
        cols = np.asarray(cols, dtype=np.int32)
        self.highs.addRow(float(lo), float(hi), len(cols), cols, np.asarray(vals, dtype=float))

    def set_cost(self, cost: np.ndarray) -> None:
        self.highs.changeColsCost(self.ncols, np.arange(self.ncols, dtype=np.int32), np.asarray(cost, dtype=float))

    def set_diagonal_hessian(self, diag: np.ndarray) -> None:
        """Objective gains 0.5 * sum diag_j x_j^2 (diag has one entry per column, zeros allowed)."""
        nz = np.flatnonzero(diag)
        hess = highspy.HighsHessian()
        hess.dim_ = self.ncols
        hess.format_ = highspy.HessianFormat.kTriangular
        counts = np.zeros(self.ncols, dtype=np.int64)
        counts[nz] = 1
        start = np.zeros(self.ncols + 1, dtype=np.int32)
        np.cumsum(counts, out=start[1:])
        hess.start_ = start
        hess.index_ = nz.astype(np.int32)
        hess.value_ = np.asarray(diag, dtype=float)[nz]
        if self.highs.passHessian(hess) == highspy.HighsStatus.kError:
            raise SolverError("HiGHS rejected the quadratic term")

    def max_residual(self) -> float:
        """Largest bound violation of the current solution over rows and columns, relative to
        max(1, |bound|)."""
        lp = self.highs.getLp()
        sol = self.highs.getSolution()
        worst = 0.0
        for value, lo, hi in ((np.array(sol.row_value), np.array(lp.row_lower_), np.array(lp.row_upper_)),
                              (np.array(sol.col_value), np.array(lp.col_lower_), np.array(lp.col_upper_))):
            if len(value) == 0:
                continue
            with np.errstate(invalid="ignore"):
                below = np.where(np.isfinite(lo), (lo - value) / np.maximum(1.0, np.abs(lo)), 0.0)
                above = np.where(np.isfinite(hi), (value - hi) / np.maximum(1.0, np.abs(hi)), 0.0)
            worst = max(worst, float(np.max(below, initial=0.0)), float(np.max(above, initial=0.0)))
        return worst

    def set_option(self, name: str, value: bool | int | float | str) -> None:
        self.highs.setOptionValue(name, value)

    def solution(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Column values, row activities, reduced costs and row duals of the last solve."""
        sol = self.highs.getSolution()
        return (np.array(sol.col_value), np.array(sol.row_value), np.array(sol.col_dual), np.array(sol.row_dual))

    def column_status(self) -> np.ndarray:
        """The basis status of every column after the last solve (NONBASIC_LOWER, BASIC, ...)."""
        basis = self.highs.getBasis()
        return np.array([int(v) for v in basis.col_status], dtype=np.int64)

    def row_status(self) -> np.ndarray:
        """The basis status of every row's logical after the last solve (NONBASIC_LOWER: the row
        activity at its lower bound, ...)."""
        basis = self.highs.getBasis()
        return np.array([int(v) for v in basis.row_status], dtype=np.int64)

    def basic_variables(self) -> np.ndarray:
        """The basis of the last solve in HiGHS's order: a column index, or -1 - row for a row's
        logical variable."""
        _, basic = self.highs.getBasicVariables()  # type: ignore[attr-defined]  # missing from highspy's stubs
        return np.asarray(basic, dtype=np.int64)

    def basis_solve(self, rhs: np.ndarray) -> np.ndarray:
        """Solve B z = rhs with the basis matrix of the last solve (columns of [A I] in the
        order of ``basic_variables``; a logical's value is the negated row activity)."""
        _, z = self.highs.getBasisSolve(np.asarray(rhs, dtype=float))  # type: ignore[attr-defined]  # missing from highspy's stubs
        return np.asarray(z, dtype=float)

    def basis_transpose_solve(self, rhs: np.ndarray) -> np.ndarray:
        """Solve B^T y = rhs with the basis matrix of the last solve (``basis_solve``)."""
        _, y = self.highs.getBasisTransposeSolve(np.asarray(rhs, dtype=float))  # type: ignore[attr-defined]  # missing from highspy's stubs
        return np.asarray(y, dtype=float)

    def exchange(self, leaving: Sequence[tuple[int, bool]], entering: Sequence[int]) -> None:
        """Change the basis: each leaving variable (index into columns then rows, and whether it
        leaves at its upper bound) becomes nonbasic, each entering one basic. The new basis is
        factorised on the next solve or basis solve."""
        basis = self.highs.getBasis()
        cols, rows = list(basis.col_status), list(basis.row_status)
        n = len(cols)
        status = highspy.HighsBasisStatus
        for k, upper in leaving:
            s = status.kUpper if upper else status.kLower
            if k < n:
                cols[k] = s
            else:
                rows[k - n] = s
        for k in entering:
            if k < n:
                cols[k] = status.kBasic
            else:
                rows[k - n] = status.kBasic
        new = highspy.HighsBasis()
        new.col_status = cols
        new.row_status = rows
        new.valid = True
        if self.highs.setBasis(new) == highspy.HighsStatus.kError:
            raise SolverError("HiGHS rejected the basis")

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Column lower/upper bounds, row lower/upper bounds and column costs as HiGHS holds them."""
        lp = self.highs.getLp()
        return (np.array(lp.col_lower_), np.array(lp.col_upper_), np.array(lp.row_lower_), np.array(lp.row_upper_),
                np.array(lp.col_cost_))

    def fix_cols(self, cols: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        cols = np.asarray(cols, dtype=np.int32)
        if len(cols):
            self.highs.changeColsBounds(len(cols), cols, np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))

    def fix_rows(self, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int32)
        if len(rows):
            self.highs.changeRowsBounds(  # type: ignore[attr-defined]  # missing from highspy's stubs
                len(rows), rows, np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))

    def _run(self) -> None:
        try:
            ran = self.highs.run()
            if ran == highspy.HighsStatus.kError and self.highs.getModelStatus() == highspy.HighsModelStatus.kNotset:
                # HiGHS refuses to run when another user of HiGHS in this process (PuLP, say)
                # started its thread scheduler with another thread count: restart it once
                highspy.Highs.resetGlobalScheduler(True)
                self.highs.run()
        except Exception as exc:  # a solver exception must reach the user as an LpmsError
            raise SolverError(f"HiGHS failed: {type(exc).__name__}: {exc}") from exc

    def _has_hessian(self) -> bool:
        return int(self.highs.getModel().hessian_.dim_) > 0

    def solve(self, residual_tol: float | None = None, time_limit: float | None = None) -> SolveResult:
        """Run HiGHS. With ``residual_tol``, a point HiGHS's QP solver flags as "Solve error" only
        because of tiny primal residuals is accepted when our own check finds them below the
        tolerance (seen on degenerate QPs whose feasible set is nearly a single point).

        ``time_limit`` (seconds) caps this solve below the options' limit. Raises
        SolverInfeasible, SolverTimeLimit (time or iteration limit) or SolverError."""
        limit = float(self.options.time_limit_s) if time_limit is None else min(float(self.options.time_limit_s),
                                                                                 max(0.0, float(time_limit)))
        if limit <= 0.0:
            raise SolverTimeLimit("HiGHS was not started: the time limit is used up")
        # HiGHS's time limit counts the instance's cumulative run time: give each solve its own
        self.highs.setOptionValue("time_limit", float(self.highs.getRunTime() + limit))
        t0 = time.perf_counter()
        self._run()
        status = self.highs.getModelStatus()
        if status in _TROUBLE and not (residual_tol is not None and status == highspy.HighsModelStatus.kSolveError
                                       and self.max_residual() <= residual_tol):
            # numerical trouble from the warm basis (seen after rows with tiny coefficients were
            # added: "Unknown"): solve again from scratch with presolve, then with the interior
            # point method and crossover, before calling it a failure
            self.retries += 1
            self.highs.clearSolver()
            self._run()
            if self.highs.getModelStatus() in _TROUBLE and self.highs.getNumCol() and not self._has_hessian():
                self.retries += 1
                self.highs.clearSolver()
                before = self.highs.getOptionValue("solver")[1]
                self.highs.setOptionValue("solver", "ipm")
                try:
                    self._run()
                finally:
                    self.highs.setOptionValue("solver", before)
        dt = time.perf_counter() - t0
        self.seconds += dt
        self.solves += 1
        status = self.highs.getModelStatus()
        info = self.highs.getInfo()
        iters = sum(max(0, int(v)) for v in (info.simplex_iteration_count, info.ipm_iteration_count, info.qp_iteration_count))
        self.iterations += iters
        if status != highspy.HighsModelStatus.kOptimal:
            accepted = (residual_tol is not None and status == highspy.HighsModelStatus.kSolveError
                        and self.max_residual() <= residual_tol)
            if not accepted:
                text = self.highs.modelStatusToString(status)
                if status == highspy.HighsModelStatus.kInfeasible:
                    raise SolverInfeasible(f"HiGHS: {text}")
                if status in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kIterationLimit):
                    raise SolverTimeLimit(f"HiGHS stopped without a proven optimum: {text}")
                raise SolverError(f"HiGHS stopped without a proven optimum: {text}")
            self.accepted_with_residual += 1
        x = np.array(self.highs.getSolution().col_value)
        return SolveResult(x=x, objective=float(info.objective_function_value), iterations=iters, seconds=dt)
