"""Network plan at scale on generated plants, against pure HiGHS on the same LP.

python -m bench plan_scale [--items 100,1000,5000] [--periods 52] [--balance 0,5]

For each plant: intervals found, LP rows / columns / nonzeros, model build time (division
and matrix), solver time, end-to-end time (input to extracted plan), peak memory, and the
time highspy alone needs for the same LP (written as MPS by this model, read back by a fresh
Highs, same options), with the ratio -- measured in one run.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time

import highspy
import numpy as np

from lpms.domain.enums import ItemKind as K
from lpms.domain.values import Costs
from lpms.planning.network import BomEdge, ItemSpec, NetworkSnapshot, OperationSpec, build_graph, divide
from lpms.planning.network_plan import NetworkPlanInput, build_network_model, minutes_per_unit, plan_weighted
from lpms.planning.solver import SolverOptions, new_highs


def generate_plant(n_items: int, periods: int = 52, n_wc: int = 20, seed: int = 7) -> NetworkPlanInput:
    """A multi-variety plant: 10% products, 20% assemblies, 30% parts, 40% materials; 3-4 BOM
    levels with common parts; 1-2 operations per made item; capacity sized to ~85% load."""
    rng = random.Random(seed)
    n_prod = max(2, n_items // 10)
    n_asm = max(2, n_items // 5)
    n_part = max(2, int(n_items * 0.3))
    n_mat = max(2, n_items - n_prod - n_asm - n_part)
    prods = [f"P{i:05d}" for i in range(n_prod)]
    asms = [f"A{i:05d}" for i in range(n_asm)]
    parts = [f"C{i:05d}" for i in range(n_part)]
    mats = [f"M{i:05d}" for i in range(n_mat)]
    wcs = [f"WC{i:02d}" for i in range(n_wc)]
    items = ([ItemSpec(c, K.PRODUCT, 0) for c in prods] + [ItemSpec(c, K.ASSEMBLY, rng.choice([0, 1])) for c in asms]
             + [ItemSpec(c, K.PART, rng.choice([0, 1]), stocked=rng.random() < 0.1) for c in parts]
             + [ItemSpec(c, K.MATERIAL, rng.choice([1, 2, 3])) for c in mats])
    bom: dict[tuple[str, str], float] = {}
    for p in prods:  # level 1: assemblies, sometimes a part directly
        for c in rng.sample(asms, rng.randint(1, 3)) + rng.sample(parts, rng.randint(0, 1)):
            bom[(p, c)] = float(rng.randint(1, 2))
    for a in asms:  # level 2: parts and materials
        for c in rng.sample(parts, rng.randint(1, 2)) + rng.sample(mats, rng.randint(0, 2)):
            bom[(a, c)] = float(rng.randint(1, 3))
    for c in parts:  # level 3: materials
        for mm in rng.sample(mats, rng.randint(1, 2)):
            bom[(c, mm)] = float(rng.randint(1, 4))
    ops = []
    for code in prods + asms + parts:
        for k, w in enumerate(rng.sample(wcs, rng.randint(1, 2))):
            ops.append(OperationSpec(code, 10 * (k + 1), w, round(rng.uniform(0.5, 4.0), 2)))
    snap = NetworkSnapshot(tuple(items), tuple(BomEdge(p, c, q) for (p, c), q in bom.items()), tuple(ops), tuple(wcs))
    demand = {}
    for p in prods:
        base = rng.uniform(5, 40)
        demand[p] = tuple(float(max(0, round(base * (1 + 0.5 * np.sin(2 * np.pi * (t + rng.random() * 52) / 52))
                                             + rng.gauss(0, base * 0.2)))) for t in range(periods))
    division = divide(build_graph(snap))
    per_unit = minutes_per_unit(division)
    load = {w: 0.0 for w in wcs}
    for p, d in demand.items():
        for w, mins in per_unit[p].items():
            load[w] += mins * sum(d)
    usable = max(1, periods - 6)
    regular = {w: (round(load[w] / usable / 0.85 + 60, 0),) * periods for w in wcs}
    overtime = {w: (round(regular[w][0] * 0.25, 0),) * periods for w in wcs}
    on_hand = {c: float(rng.randint(50, 400)) for c in mats + parts + asms if rng.random() < 0.5}
    return NetworkPlanInput(snapshot=snap, periods=periods, demand=demand, regular_min=regular, overtime_min=overtime,
                            on_hand=on_hand, costs=Costs(late=100, inventory=1, overtime=0.5))


def pure_highs_seconds(inp: NetworkPlanInput, options: SolverOptions) -> tuple[float, float, float]:
    """Write the same LP as MPS, let a fresh highspy read and solve it; (read s, run s, objective)."""
    nm = build_network_model(inp, with_balance=False)
    # the weighted mode's objective: the costs, overrides applied
    cost = np.sum(list(nm.om_costs.linear.values()), axis=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "plan.mps")
        nm.om.model.write_mps(path, cost)
        h = new_highs()
        h.setOptionValue("threads", options.threads)
        t0 = time.perf_counter()
        h.readModel(path)
        t1 = time.perf_counter()
        h.run()
        t2 = time.perf_counter()
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal, h.modelStatusToString(h.getModelStatus())
        return t1 - t0, t2 - t1, h.getInfo().objective_function_value


def _case(n: int, periods: int, j: float, queue) -> None:  # type: ignore[no-untyped-def]
    """One measurement in a forked child, so its peak RSS belongs to this case alone."""
    options = SolverOptions(threads=1)
    inp0 = generate_plant(n, periods)
    inp = NetworkPlanInput(**{**inp0.__dict__, "costs": Costs(late=100, inventory=1, overtime=0.5, balance=j)})
    t0 = time.perf_counter()
    plan = plan_weighted(inp, options)
    total = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row = {"n": n, "j": j, "plan": plan.solver, "intervals": len(plan.intervals), "total": total, "rss": rss,
           "cost": plan.costs["total"]}
    if j == 0:
        read_s, run_s, obj = pure_highs_seconds(inp, options)
        assert abs(obj - plan.costs["total"]) <= 1e-6 * max(1.0, abs(obj)), (obj, plan.costs["total"])
        row.update(read_s=read_s, run_s=run_s)
    queue.put(row)


def main(argv: list[str]) -> int:
    import multiprocessing as mp

    parser = argparse.ArgumentParser(prog="python -m bench plan_scale")
    parser.add_argument("--items", default="100,1000,5000")
    parser.add_argument("--periods", type=int, default=52)
    parser.add_argument("--balance", default="0,5", help="balance cost(s) J per work center to run")
    args = parser.parse_args(argv)
    ctx = mp.get_context("fork")
    print(f"{'items':>6} {'J':>3} {'intervals':>9} {'rows':>8} {'cols':>8} {'nnz':>9} {'build s':>8} {'solve s':>8} "
          f"{'total s':>8} {'peak RSS MiB':>12} {'HiGHS read s':>12} {'HiGHS run s':>11} {'ratio':>6} {'QP':>3} {'gap':>8}")
    for n in (int(x) for x in args.items.split(",")):
        for j in (float(x) for x in args.balance.split(",")):
            queue = ctx.Queue()
            proc = ctx.Process(target=_case, args=(n, args.periods, j, queue))
            proc.start()
            row = queue.get()
            proc.join()
            s = row["plan"]
            solve = s["lp_seconds"] + s["qp_seconds"]
            if "run_s" in row:
                highs = f"{row['read_s']:>12.3f} {row['run_s']:>11.3f} {row['total'] / row['run_s']:>6.2f}"
            else:
                highs = f"{'-':>12} {'-':>11} {'-':>6}"
            print(f"{n:>6} {j:>3g} {row['intervals']:>9} {s['rows']:>8} {s['columns']:>8} {s['nonzeros']:>9} "
                  f"{s['build_seconds']:>8.3f} {solve:>8.3f} {row['total']:>8.3f} {row['rss']:>12.0f} {highs} "
                  f"{s['qp_solves']:>3} {s['gap_rel']:>8.1e}", flush=True)
    return 0
