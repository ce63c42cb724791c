"""Process management at scale on PostgreSQL, through the service layer.

python -m bench process [--pg-admin-url URL] [--items 1300] [--reports 10000] [--threads 8]
                        [--replan-items 380] [--periods 8] [--keep]

Creates its own databases on the server (and drops them at the end unless --keep):

1. release: a generated plant (lpms.simulation.plants.generated_plant, products without opening
   stock) is imported, planned, approved and released with a fence of 2 periods -- about 1,000
   work orders in one ``release_work_orders`` call (target < 2 s);
2. kit rate: ``kit_report`` over the released kitting work orders (target < 1 s), after the
   components were received and the planner's statistics gathered (``ANALYZE``, as autovacuum
   does within a minute of a bulk import);
3. completion reports: 10,000 ``report_completion`` calls from 8 threads, each with its own
   unit of work, on the released work orders (each order's operations in sequence, so every
   report is accepted; components received first) -- reports/s (target >= 500) and latency
   percentiles; SQL statements per report counted on the driver's cursors;
4. re-plan: a plant of about 200 intervals is planned (balance cost 0, then 5), approved and
   released; scrap and downtime are reported, then ``detect_fluctuations`` and ``replan``
   (approve and release included) run end to end (target < 5 s);
5. nothing changed: the same plant re-planned twice right after its release (units moved).

Prints a markdown table (one run).
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text

from lpms.bootstrap import Database, fluctuation_thresholds, replan_policy
from lpms.db import migrate
from lpms.db.session import make_engine, session_factory
from lpms.domain.enums import ItemKind
from lpms.domain.values import Costs
from lpms.planning.solver import SolverOptions
from lpms.settings import Settings
from lpms.simulation.plants import SimPlant, generated_plant

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ACTOR = "bench"
START = dt.date(2027, 1, 4)  # a Monday: period 1
NOW = dt.datetime(2027, 1, 4, 8, 0, tzinfo=dt.UTC)  # inside period 1
FENCE = 2


@contextmanager
def temp_database(admin_url: str, keep: bool = False) -> Iterator[str]:
    """A new, migrated PostgreSQL database, dropped afterwards."""
    name = f"lpms_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        migrate.upgrade(url)
        yield url
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    return ",".join(header) + "\n" + "".join(",".join(str(c) for c in row) + "\n" for row in rows)


def plant_texts(plant: SimPlant, periods: int) -> dict[str, str]:
    """The plant as the CSV files of an import; products start without stock, so that every
    interval produces from period 1."""
    def start(t: int) -> dt.date:
        return START + dt.timedelta(weeks=t)

    stock = {c: q for c, q in plant.on_hand.items() if plant.item(c).kind is not ItemKind.PRODUCT and q > 0}
    return {
        "items": _csv(["code", "kind", "unit", "lead_time_periods", "stocked", "safety_stock"],
                      [[i.code, i.kind.value, i.unit, i.lead_time, str(i.stocked).lower(), i.safety_stock]
                       for i in plant.items]),
        "work_centers": _csv(["code"], [[w] for w in plant.work_centers]),
        "routings": _csv(["item", "sequence", "work_center", "run_min", "setup_min"],
                         [[o.item, o.sequence, o.work_center, o.run_min, o.setup_min] for o in plant.operations]),
        "bom": _csv(["parent", "child", "qty_per"], [[e.parent, e.child, e.qty] for e in plant.bom]),
        "calendar": _csv(["period", "bucket", "start_date", "end_date"],
                         [[t + 1, "week", start(t), start(t) + dt.timedelta(days=6)] for t in range(periods)]),
        "capacity": _csv(["work_center", "period", "regular_min", "overtime_min"],
                         [[w, t + 1, plant.regular(w, t), plant.overtime(w, t)]
                          for w in plant.work_centers for t in range(periods)]),
        "forecasts": _csv(["item", "start_date", "end_date", "quantity"],
                          [[p, start(t), start(t) + dt.timedelta(days=6), plant.base_forecast[p]]
                           for p in plant.products for t in range(periods)]),
        "stock": _csv(["item", "on_hand"], [[c, q] for c, q in sorted(stock.items())]),
    }


# tables whose size the benchmark's runs do not change (the plant, the released work)
STATIC_TABLES = ("items", "work_centers", "bom_lines", "operations", "stock", "work_orders",
                 "work_order_operations", "work_order_components")


def analyze(url: str) -> None:
    """Gather the planner's statistics (``ANALYZE``) of the tables the setup filled and the runs
    do not grow, as autovacuum does within a minute of a bulk import: without them PostgreSQL
    plans the report's joins for the empty tables it last saw (a sequential scan of every item,
    twice per report). The ledger tables (stock moves, reports, audit rows) are left to the
    planner's defaults: statistics taken now would describe the almost empty tables they are
    before the run (a plan that scans them whole) instead of the large ones of a plant in use."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE " + ", ".join(STATIC_TABLES)))
    finally:
        engine.dispose()


def open_db(url: str, pool: int = 5) -> Database:
    engine = make_engine(url, pool_size=pool, max_overflow=pool)
    return Database(url, engine, session_factory(engine))


def setup_plant(db: Database, plant: SimPlant, periods: int, costs: Costs, options: SolverOptions) -> int:
    """Import, plan, approve: the approved run's id."""
    from lpms.domain.enums import PlanRunStatus
    from lpms.services.csv_io import import_texts
    from lpms.services.plan_runs import PlanRequest, run_plan
    from lpms.services.release import approve_plan_run

    import_texts(db.uow(), plant_texts(plant, periods), actor=ACTOR, now=NOW)
    result = run_plan(db.uow(), PlanRequest(costs=costs), options=options, actor=ACTOR, now=NOW)
    if result.status is not PlanRunStatus.SUCCEEDED:
        raise SystemExit(f"the benchmark plant could not be planned: {result.status.value}: {result.message}")
    approve_plan_run(db.uow(), result.run_id, actor=ACTOR, now=NOW)
    return result.run_id


class StatementCounter:
    """Counts SQL statements sent through psycopg cursors (all threads; SQLAlchemy's and the
    report path's own; BEGIN and COMMIT are not counted) while the block runs."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    @contextmanager
    def counting(self) -> Iterator[None]:
        import psycopg

        original = psycopg.Cursor.execute
        counter = self

        def execute(cur: Any, *args: Any, **kwargs: Any) -> Any:
            with counter._lock:
                counter.count += 1
            return original(cur, *args, **kwargs)

        psycopg.Cursor.execute = execute  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            psycopg.Cursor.execute = original  # type: ignore[method-assign]


def receive_components(db: Database, work_orders: list[Any]) -> None:
    from lpms.services.stock import receive_stock

    items = sorted({c.item for wo in work_orders for c in wo.components})
    for item in items:
        receive_stock(db.uow(), item, 1e9, actor=ACTOR, now=NOW, reference="bench")


def add_history(url: str, work_orders: list[Any], moves: int) -> None:
    """``moves`` old stock moves on the component items (adjustments of +1 and -1 in pairs per
    item: on-hand and the balances do not change), as a ledger that has run for a long time."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            ids = [r[0] for r in conn.execute(text(
                "SELECT id FROM items WHERE code = ANY(:codes) ORDER BY id"),
                {"codes": sorted({c.item for wo in work_orders for c in wo.components})})]
            conn.execute(text(
                "INSERT INTO stock_moves (item_id, kind, quantity, reference, reason, posted_by, posted_at) "
                "SELECT (:ids)[1 + (g / 2) % :n], 'adjustment', CASE WHEN g % 2 = 0 THEN 1 ELSE -1 END, '', "
                "'bench history', 'bench', :at FROM generate_series(0, :moves - 1) AS g"),
                {"ids": ids, "n": len(ids), "moves": moves - moves % 2, "at": NOW - dt.timedelta(days=365)})
    finally:
        engine.dispose()


def on_hand_reads(url: str, work_orders: list[Any], rounds: int = 3) -> tuple[float, float]:
    """Mean ms to read the on-hand of one work order's components: by summing their moves (the
    read before ``stock_balances``) and from the balances (the read now)."""
    engine = create_engine(url)
    summed = "SELECT i.id, (SELECT sum(v.quantity) FROM stock_moves v WHERE v.item_id = i.id) FROM items i " \
             "WHERE i.code = ANY(:codes)"
    kept = "SELECT i.id, (SELECT b.moved FROM stock_balances b WHERE b.item_id = i.id) FROM items i " \
           "WHERE i.code = ANY(:codes)"
    sets = [sorted(c.item for c in wo.components) for wo in work_orders if wo.components][:200]
    out = []
    try:
        with engine.connect() as conn:
            for sql in (summed, kept):
                for c in sets[:20]:
                    conn.execute(text(sql), {"codes": c}).all()
                t0 = time.perf_counter()
                for _ in range(rounds):
                    for c in sets:
                        conn.execute(text(sql), {"codes": c}).all()
                out.append((time.perf_counter() - t0) * 1000 / (rounds * max(len(sets), 1)))
    finally:
        engine.dispose()
    return out[0], out[1]


def post_reports(db: Database, work_orders: list[Any], n_reports: int, threads: int) -> dict[str, Any]:
    """``n_reports`` completion reports from ``threads`` threads; each work order belongs to one
    thread, which reports its operations round-robin in sequence (each report is accepted)."""
    from lpms.services.reports import report_completion

    per_wo = math.ceil(n_reports / len(work_orders))
    plan: list[list[tuple[str, int, float, str]]] = [[] for _ in range(threads)]
    k = 0
    for round_ in range(per_wo):
        for i, wo in enumerate(work_orders):
            if k >= n_reports:
                break
            ops = wo.operations
            op = ops[round_ % len(ops)]
            plan[i % threads].append((wo.number, op.seq, wo.quantity / (2 * per_wo), f"bench-{k}"))
            k += 1
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    barrier = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        barrier.wait()
        lat = latencies[t]
        for number, seq, good, key in plan[t]:
            t0 = time.perf_counter()
            try:
                report_completion(db.uow(), number, seq, good, 0.0, client_key=key, actor=ACTOR, now=NOW)
            except Exception as exc:  # noqa: BLE001 - counted and shown; the benchmark goes on
                errors.append(f"{type(exc).__name__}: {exc}")
            lat.append(time.perf_counter() - t0)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    barrier.wait()
    t0 = time.perf_counter()
    for th in pool:
        th.join()
    wall = time.perf_counter() - t0
    all_lat = sorted(x for lat in latencies for x in lat)
    q = statistics.quantiles(all_lat, n=100)
    return {"reports": len(all_lat), "errors": errors, "wall_s": wall, "rate": len(all_lat) / wall,
            "p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000, "p99_ms": q[98] * 1000}


def _replan_plant(items: int, options: SolverOptions) -> tuple[SimPlant, int, Settings]:
    """The re-plan cases' generated plant, its number of intervals and the settings to run it with."""
    from lpms.planning.network import build_graph, divide

    plant = generated_plant(items)
    intervals = len(divide(build_graph(plant.snapshot())).intervals)
    return plant, intervals, Settings(solver_time_limit_s=options.time_limit_s, solver_threads=options.threads)


def replan_case(admin_url: str, items: int, periods: int, balance: float, keep: bool,
                options: SolverOptions) -> dict[str, Any]:
    """Plan, approve and release a plant; report scrap and downtime; then time detection and
    re-plan (with its approval and release) end to end."""
    from lpms.services.fluctuations import detect_fluctuations
    from lpms.services.release import release_work_orders
    from lpms.services.replan import replan
    from lpms.services.reports import report_completion, report_downtime

    plant, intervals, settings = _replan_plant(items, options)
    with temp_database(admin_url, keep) as url:
        db = open_db(url)
        try:
            t0 = time.perf_counter()
            setup_plant(db, plant, periods, Costs(late=100, inventory=1, overtime=1, balance=balance), options)
            plan_s = time.perf_counter() - t0
            released = release_work_orders(db.uow(), fence_periods=FENCE, actor=ACTOR, now=NOW)
            wos = list(released.work_orders)
            # only the kits the reports below draw (half of each of the first 20 orders), so that
            # the re-plan reacts to the scrap and the downtime, not to a flood of stock
            from lpms.services.stock import receive_stock
            need: dict[str, float] = {}
            for wo in wos[:20]:
                for c in wo.components:
                    need[c.item] = need.get(c.item, 0.0) + 0.5 * wo.quantity * c.qty_per
            for item, qty in sorted(need.items()):
                receive_stock(db.uow(), item, qty, actor=ACTOR, now=NOW, reference="bench")
            later = NOW + dt.timedelta(days=3)
            for i, wo in enumerate(wos[:20]):  # the first operation scraps a fifth of the order
                report_completion(db.uow(), wo.number, wo.operations[0].seq, wo.quantity * 0.3, wo.quantity * 0.2,
                                  client_key=f"scrap-{i}", actor=ACTOR, now=later)
            report_downtime(db.uow(), plant.work_centers[0], 600, "breakdown", client_key="down-1", actor=ACTOR,
                            now=later)
            t0 = time.perf_counter()
            detection = detect_fluctuations(db.uow(), thresholds=fluctuation_thresholds(settings), actor=ACTOR,
                                            now=later)
            detect_s = time.perf_counter() - t0
            result = replan(db.uow(), reason="bench: fluctuation", policy=replan_policy(settings), options=options,
                            actor=ACTOR, now=later)
            total_s = time.perf_counter() - t0
        finally:
            db.dispose()
    return {"items": items, "intervals": intervals, "balance": balance, "plan_s": plan_s,
            "findings": len(detection.findings), "triggers": detection.triggers_replan, "detect_s": detect_s,
            "replan_s": total_s - detect_s, "total_s": total_s, "status": result.status.value,
            "units_moved": result.units_moved, "released": result.released, "message": result.message}


def nothing_changed_case(admin_url: str, items: int, periods: int, keep: bool,
                         options: SolverOptions) -> dict[str, Any]:
    """Plan, approve and release; then re-plan twice at the same moment with nothing changed:
    the units each re-plan moves (the first makes up what whole-unit rounding of the released
    work orders took; the second should move nothing)."""
    from lpms.services.release import release_work_orders
    from lpms.services.replan import replan

    plant, intervals, settings = _replan_plant(items, options)
    with temp_database(admin_url, keep) as url:
        db = open_db(url)
        try:
            setup_plant(db, plant, periods, Costs(late=100, inventory=1, overtime=1), options)
            release_work_orders(db.uow(), fence_periods=FENCE, actor=ACTOR, now=NOW)
            moved = [replan(db.uow(), reason="bench: nothing changed", policy=replan_policy(settings),
                            options=options, actor=ACTOR, now=NOW).units_moved for _ in range(2)]
        finally:
            db.dispose()
    return {"items": items, "intervals": intervals, "moved": moved}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench process", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-admin-url", default=ADMIN_URL, help=f"PostgreSQL server (default {ADMIN_URL})")
    parser.add_argument("--items", type=int, default=1300,
                        help="items of the release/report plant (default 1300: about 1,000 work orders to release)")
    parser.add_argument("--reports", type=int, default=10_000, help="completion reports (default 10000)")
    parser.add_argument("--threads", type=int, default=8, help="reporting threads (default 8)")
    parser.add_argument("--replan-items", type=int, default=380, help="items of the re-plan plant (~200 intervals)")
    parser.add_argument("--periods", type=int, default=8, help="calendar periods (default 8)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="solver time limit, s (default 120)")
    parser.add_argument("--skip-replan", action="store_true", help="leave out the re-plan cases")
    parser.add_argument("--no-analyze", action="store_true",
                        help="do not gather the planner's statistics after the setup (ANALYZE)")
    parser.add_argument("--history", type=int, default=0,
                        help="old stock moves on the component items before the reports (default 0)")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args(argv)
    options = SolverOptions(time_limit_s=args.time_limit, threads=1)
    rows: list[tuple[str, str, str, str]] = []

    from lpms.services.progress import kit_report
    from lpms.services.release import release_work_orders

    with temp_database(args.pg_admin_url, args.keep) as url:
        db = open_db(url, pool=max(5, args.threads))
        try:
            plant = generated_plant(args.items)
            t0 = time.perf_counter()
            setup_plant(db, plant, args.periods, Costs(late=100, inventory=1, overtime=1), options)
            print(f"plant of {args.items} items imported and planned in {time.perf_counter() - t0:.1f} s", flush=True)
            t0 = time.perf_counter()
            released = release_work_orders(db.uow(), fence_periods=FENCE, actor=ACTOR, now=NOW)
            release_s = time.perf_counter() - t0
            wos = list(released.work_orders)
            rows.append(("release", f"{len(wos):,} work orders ({sum(len(w.operations) for w in wos):,} operations), "
                         f"fence {FENCE}", f"{release_s:.3f} s", "< 2 s " + ("met" if release_s < 2 else "**missed**")))
            receive_components(db, wos)
            if args.history:
                t0 = time.perf_counter()
                add_history(url, wos, args.history)
                print(f"{args.history:,} stock moves of history added in {time.perf_counter() - t0:.1f} s", flush=True)
            if not args.no_analyze:
                analyze(url)
            t0 = time.perf_counter()
            kit = kit_report(db.uow(), now=NOW, window=FENCE)
            kit_s = time.perf_counter() - t0
            rate = "none" if kit.rate is None else f"{kit.rate:.3f}"
            rows.append(("kit rate", f"{len(kit.report.orders):,} kitting work orders ({kit.report.kitted:,} "
                         f"kitted), window {FENCE}, rate {rate}", f"{kit_s:.3f} s",
                         "< 1 s " + ("met" if kit_s < 1 else "**missed**")))
            counter = StatementCounter()
            with counter.counting():
                rep = post_reports(db, wos, args.reports, args.threads)
            per_report = counter.count / max(rep["reports"], 1)
            rows.append(("completion reports",
                         f"{rep['reports']:,} reports, {args.threads} threads, {len(rep['errors'])} rejected; "
                         f"{per_report:.1f} SQL statements per report (BEGIN, COMMIT not counted)",
                         f"{rep['rate']:,.0f} reports/s ({rep['wall_s']:.1f} s); latency p50 {rep['p50_ms']:.1f} ms, "
                         f"p95 {rep['p95_ms']:.1f} ms, p99 {rep['p99_ms']:.1f} ms",
                         ">= 500/s " + ("met" if rep["rate"] >= 500 else "**missed**")))
            if rep["errors"]:
                print("first rejected reports:", *rep["errors"][:5], sep="\n  ")
            summed_ms, kept_ms = on_hand_reads(url, wos)
            with db.engine.connect() as conn:
                ledger = int(conn.execute(text("SELECT count(*) FROM stock_moves")).scalar() or 0)
            rows.append(("on-hand of a work order's components", f"{ledger:,} stock moves in the ledger "
                         f"({args.history:,} of history)", f"{kept_ms:.3f} ms from the balances; "
                         f"{summed_ms:.3f} ms summing the moves (the read before)", ""))
        finally:
            db.dispose()
    if not args.skip_replan:
        for balance in (0.0, 5.0):
            r = replan_case(args.pg_admin_url, args.replan_items, args.periods, balance, args.keep, options)
            rows.append((f"re-plan, balance {balance:g}",
                         f"{r['intervals']} intervals ({r['items']} items); {r['findings']} findings"
                         f"{' (re-plan triggered)' if r['triggers'] else ''}; {r['status']}, "
                         f"{r['units_moved']:.6g} units moved, {r['released']} work orders released",
                         f"{r['total_s']:.2f} s (detect {r['detect_s']:.2f} s, re-plan {r['replan_s']:.2f} s; "
                         f"first plan {r['plan_s']:.1f} s)",
                         "< 5 s " + ("met" if r["total_s"] < 5 else "**missed**")))
        r = nothing_changed_case(args.pg_admin_url, args.replan_items, args.periods, args.keep, options)
        rows.append(("re-plan, nothing changed", f"{r['intervals']} intervals ({r['items']} items), right after the "
                     f"release; work orders in whole units", f"{r['moved'][0]:.6g} units moved, then "
                     f"{r['moved'][1]:.6g} by a second re-plan", "0 (whole-unit rounding of the work orders aside)"))
    print()
    print("| case | size | measured | target |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0
