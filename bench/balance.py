"""The balance term at scale: the exact method against a whole-model reference, in one run.

python -m bench balance [--items 100,1000,5000] [--reference 100,1000] [--time-limit 600]
                        [--skip-demo] [--skip-single]

One row per case, each measured in a forked child (its peak RSS is the case's alone):

* single item, 365 periods, J = 1000 (``bench horizon``'s scenario);
* the demo plant (lpms/data/demo/plant, imported into a temporary SQLite database), all 24
  priority orders of the four objectives: the slowest order and the sum;
* generated plants (``bench plan_scale``'s generator: 52 periods, 20 work centers, J = 5 on
  every work center) of the given sizes, weighted mode.

Columns: rows and columns of the plan model, end-to-end seconds (input to extracted plan),
the certified gap (``solver.gap_rel``), balance rounds (tangent LP + face; in brackets the
faces of the balance-free LP's basis, ``solver.basis_faces``, and the superbasics of the last),
peak RSS, and the seconds at which the certified gap first reached 1e-4 and 1e-6. The header
gives the machine's load average before the run (other work on a shared machine slows every
case; the figures are wall-clock seconds). For the plants in ``--reference``, the same model (the plan LP's rows and bounds, the
standard deviations as norms) is handed whole to cvxpy and solved by Clarabel: the relative
difference of the two objectives and the time ratio (reference / LPMS).
"""
from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.plan_horizon import scenario as single_scenario
from bench.plan_scale import generate_plant
from lpms.domain.values import Costs
from lpms.planning.network_plan import NetworkPlanInput, build_network_model, plan_priority, plan_weighted
from lpms.planning.single import plan_weighted as plan_single
from lpms.planning.solver import SolverOptions

ORDERS = list(itertools.permutations(["balance", "late", "inventory", "overtime"]))


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reached(trace: list[list[float]], target: float) -> float | None:
    for seconds, gap in trace:
        if gap <= target:
            return seconds
    return None


def plant(items: int) -> NetworkPlanInput:
    inp = generate_plant(items, 52)
    return NetworkPlanInput(**{**inp.__dict__, "costs": Costs(late=100, inventory=1, overtime=0.5, balance=5)})


def demo_plant() -> NetworkPlanInput:
    """The shipped demo plant through the CSV importer into a temporary SQLite database."""
    from lpms.bootstrap import open_database
    from lpms.db import migrate
    from lpms.planning.snapshot import build_plan_input
    from lpms.services.csv_io import import_dir
    from lpms.services.demo import DEMO_DIR
    from lpms.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        migrate.upgrade(url)
        with open_database(load_settings(database_url=url)) as db:
            import_dir(db.uow(), DEMO_DIR / "plant", actor="bench", now=dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC))
            uow = db.uow()
            with uow:
                rows = uow.planning.load_rows()
    return build_plan_input(rows, Costs()).plan_input


def _case_single(options: SolverOptions) -> dict[str, Any]:
    t0 = time.perf_counter()
    plan = plan_single(single_scenario(365, 1000.0), options)
    s = plan.solver
    return {"case": "single item, 365 periods, J=1000", "items": 1, "rows": "-", "columns": "-",
            "seconds": time.perf_counter() - t0, "gap": s["gap_rel"], "status": s["status"],
            "rounds": s.get("balance_rounds", 0), "reduced": _faces(s), "rss": _rss(),
            "trace": s.get("balance_trace", [])}


def _faces(s: dict[str, Any]) -> str:
    """Basis faces and the last one's superbasics, e.g. ``5, S=894``."""
    faces = s.get("basis_faces", 0)
    return f"{faces}, S={s['superbasics']}" if faces else "0"


def _case_demo(options: SolverOptions) -> dict[str, Any]:
    inp = demo_plant()
    slowest, total, worst_gap, rounds, statuses = 0.0, 0.0, 0.0, 0, set()
    model = build_network_model(inp, with_balance=True).om.model
    for order in ORDERS:
        t0 = time.perf_counter()
        plan = plan_priority(inp, list(order), options)
        dt_ = time.perf_counter() - t0
        slowest, total = max(slowest, dt_), total + dt_
        worst_gap = max(worst_gap, plan.solver["gap_rel"], *(s["gap_rel"] for s in plan.solver["stages"]))
        rounds += plan.solver.get("balance_rounds", 0)
        statuses.add(plan.solver["status"])
    return {"case": f"demo plant, 24 priority orders (sum {total:.2f} s)", "items": len(inp.snapshot.items),
            "rows": model.nrows, "columns": model.ncols, "seconds": slowest, "gap": worst_gap,
            "status": ",".join(sorted(statuses)), "rounds": rounds, "reduced": "-", "rss": _rss(), "trace": []}


def _case_plant(items: int, options: SolverOptions) -> dict[str, Any]:
    inp = plant(items)
    t0 = time.perf_counter()
    plan = plan_weighted(inp, options)
    s = plan.solver
    return {"case": f"plant, {items} items", "items": items, "rows": s["rows"], "columns": s["columns"],
            "seconds": time.perf_counter() - t0, "gap": s["gap_rel"], "status": s["status"],
            "rounds": s.get("balance_rounds", 0), "reduced": _faces(s), "rss": _rss(),
            "trace": s.get("balance_trace", []), "objective": s["objective"], "bound": s["lower_bound"]}


def _case_reference(items: int) -> dict[str, Any]:
    """The same plan model whole, in cvxpy, solved by Clarabel: its objective and seconds."""
    import cvxpy
    import scipy.sparse as sp

    cp: Any = cvxpy  # its atoms are exported dynamically: untyped here

    nm = build_network_model(plant(items), with_balance=True)
    om = nm.om_costs
    m = om.model
    t0 = time.perf_counter()
    a = sp.csc_matrix((m.value, m.index, m.start), shape=(m.nrows, m.ncols))
    x = cp.Variable(m.ncols)
    cons = []
    eq = m.lo == m.hi
    cons.append(a[eq] @ x == m.lo[eq])
    up, lo = ~eq & np.isfinite(m.hi), ~eq & np.isfinite(m.lo)
    cons += [a[up] @ x <= m.hi[up], a[lo] @ x >= m.lo[lo]]
    cu, cl = np.flatnonzero(np.isfinite(m.ub)), np.flatnonzero(np.isfinite(m.lb))
    cons += [x[cu] <= m.ub[cu], x[cl] >= m.lb[cl]]
    cost = np.sum(list(om.linear.values()), axis=0)
    objective = cost @ x + sum(g.scale * cp.norm(x[g.cols], 2) for g in om.norms)
    problem = cp.Problem(cp.Minimize(objective), cons)
    problem.solve(solver=cp.CLARABEL, tol_feas=1e-9, direct_solve_method="faer")
    seconds = time.perf_counter() - t0
    xv = np.asarray(x.value, dtype=float)
    value = float(cost @ xv) + sum(g.scale * float(np.linalg.norm(xv[g.cols])) for g in om.norms)
    return {"status": problem.status, "seconds": seconds, "objective": value, "rss": _rss()}


def _child(target: Any, args: tuple[Any, ...], queue: Any) -> None:
    try:
        queue.put(target(*args))
    except Exception as exc:  # noqa: BLE001 - a case that fails is reported, the others still run
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def _run(ctx: Any, target: Any, *args: Any) -> dict[str, Any]:
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(target, args, queue))
    proc.start()
    row: dict[str, Any] = queue.get()
    proc.join()
    return row


def _n(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) else str(v)


def _fmt_s(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def main(argv: list[str]) -> int:
    import multiprocessing as mp

    parser = argparse.ArgumentParser(prog="python -m bench balance")
    parser.add_argument("--items", default="100,1000,5000")
    parser.add_argument("--reference", default="100,1000", help="plant sizes also solved whole through cvxpy")
    parser.add_argument("--time-limit", type=float, default=600.0, help="solver_time_limit_s for every case")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-single", action="store_true")
    args = parser.parse_args(argv)
    ctx = mp.get_context("fork")
    options = SolverOptions(threads=1, time_limit_s=args.time_limit)
    refs = {int(v) for v in args.reference.split(",") if v}
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# bench balance: {platform.processor() or platform.machine()}, {mp.cpu_count()} cores, Python "
          f"{platform.python_version()}, time limit {args.time_limit:g} s, 1 solver thread, one run; "
          f"load average before the run {load}")
    print("| case | items | rows | columns | seconds | status | certified gap | rounds (basis faces) | peak RSS MiB "
          "| s to 1e-4 | s to 1e-6 | reference s | reference RSS MiB | objective rel. diff | time ratio |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    cases: list[tuple[Any, tuple[Any, ...], int | None]] = []
    if not args.skip_single:
        cases.append((_case_single, (options,), None))
    if not args.skip_demo:
        cases.append((_case_demo, (options,), None))
    cases += [(_case_plant, (int(n), options), int(n)) for n in args.items.split(",") if n]
    for target, targs, items in cases:
        row = _run(ctx, target, *targs)
        if "error" in row:
            print(f"| {target.__name__} {targs[0]} | failed: {row['error']} |", flush=True)
            continue
        ref = "| - | - | - | -"
        if items is not None and items in refs:
            r = _run(ctx, _case_reference, items)
            if "error" in r:
                ref = f"| failed: {r['error']} | - | - | -"
            else:
                diff = (row["objective"] - r["objective"]) / max(1.0, abs(r["objective"]))
                ref = (f"| {_fmt_s(r['seconds'])} ({r['status']}) | {r['rss']:.0f} | {diff:+.1e} "
                       f"| {r['seconds'] / row['seconds']:.1f}")
        trace = row["trace"]
        gap = row["gap"]
        to4 = _reached(trace, 1e-4) if trace else (row["seconds"] if gap <= 1e-4 else None)
        to6 = _reached(trace, 1e-6) if trace else (row["seconds"] if gap <= 1e-6 else None)
        print(f"| {row['case']} | {_n(row['items'])} | {_n(row['rows'])} | {_n(row['columns'])} "
              f"| {_fmt_s(row['seconds'])} | {row['status']} | {gap:.1e} | {row['rounds']} ({row['reduced']}) "
              f"| {row['rss']:.0f} | {_fmt_s(to4)} | {_fmt_s(to6)} {ref} |", flush=True)
    return 0
