"""`lpms import`, `lpms export`, `lpms demo`: data in and out."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lpms.cli._common import actor, now_of, settings_of, with_database


def cmd_import(args: argparse.Namespace) -> int:
    from lpms.services.csv_io import import_dir

    result: Any = with_database(args, lambda uow, _s: import_dir(uow, Path(args.directory), actor=actor(),
                                                                 now=now_of(args)))
    print(f"imported {args.directory}: {result.summary()}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from lpms.services.csv_io import export_dir

    paths: Any = with_database(args, lambda uow, _s: export_dir(uow, Path(args.directory), overwrite=args.overwrite))
    print(f"exported {len(paths)} files to {args.directory}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from lpms.bootstrap import open_database, safe_url, sqlite_path
    from lpms.db import migrate
    from lpms.services.demo import DEMO_TODAY_PERIOD, database_counts, load_demo

    settings = settings_of(args)
    url = settings.resolved_database_url
    if args.reset:
        path = sqlite_path(url)
        if path is not None:
            if path.exists():
                path.unlink()
                print(f"removed {path}")
        else:
            open_database(settings, require_head=False).dispose()
            migrate.downgrade(url, "base")
            print(f"emptied {safe_url(url)} (all tables dropped)")
    open_database(settings, create=True, require_head=False).dispose()
    migrate.upgrade(url)
    print(f"database {safe_url(url)} migrated to head ({migrate.head_revision()})")
    now = now_of(args)
    with open_database(settings) as database:
        setup = load_demo(database.uow(), actor="demo", now=now, timezone=settings.timezone,
                          horizon_periods=settings.horizon_periods)
        for load in setup.loads:
            print(f"loaded demo data '{load.name}': {load.result.summary()}")
        placed = setup.calendar
        how = ("kept where an earlier load put it" if placed.kept
               else f"moved {placed.shift_weeks:+d} weeks from the shipped files so that today is in period {DEMO_TODAY_PERIOD}")
        print(f"demo calendar {how}: period 1 starts {placed.first_start}")
        print(setup.extension.summary())
        counts = database_counts(database.uow())
        print("database holds: " + ", ".join(f"{n} {label}" for label, n in counts.items()))
        if not args.no_plan:
            from lpms.cli.plan import print_demo_plan

            print_demo_plan(database, settings, now)
            print_demo_floor(database, settings, now)
    return 0


def print_demo_floor(database: Any, settings: Any, now: Any) -> None:
    """Run the demo's shop floor up to today, detect fluctuations, re-plan, and summarise it in a
    few lines (docs/process.md, "The demo's shop floor")."""
    from lpms.bootstrap import fluctuation_thresholds
    from lpms.domain.enums import PlanRunStatus
    from lpms.services.demo import simulate_demo_floor
    from lpms.services.fluctuations import describe, detect_fluctuations
    from lpms.services.progress import build_daily_report

    with database.uow() as uow:
        run_id = uow.plan_runs.latest_id()
        status = None if run_id is None else uow.plan_runs.get(run_id).status
    if run_id is None or status is not PlanRunStatus.SUCCEEDED:
        return
    floor = simulate_demo_floor(database.uow(), run_id, fence_periods=settings.release_fence_periods, actor="demo",
                                now=now, timezone=settings.timezone)
    if floor.skipped:
        print(f"shop floor already running ({floor.work_orders} work orders): no reports simulated; see 'lpms progress'")
        return
    periods = f"{min(floor.released)}-{max(floor.released)}" if floor.released else "none"
    print(f"shop floor: plan run {run_id} approved, periods {periods} released ({floor.work_orders} work orders), "
          f"{floor.reports} completion and {floor.downtime} downtime reports, {floor.receipts} purchases received "
          f"before today (period {floor.current_period})")
    if floor.held:
        item, units, number = floor.held
        print(f"  quality hold on {units:g} {item}: the kit of {number} is incomplete")
    report = build_daily_report(database.uow(), now=now, timezone=settings.timezone)
    items = report.progress.report.items
    planned, actual = sum(r.planned for r in items), sum(r.actual for r in items)
    kit, on_time = report.kit.report, report.on_time
    rate = "n/a" if kit.rate is None else f"{kit.rate:.0%}"
    on_time_rate = "n/a" if on_time.rate is None else f"{on_time.rate:.0%}"
    print(f"progress to date: {actual:g} of {planned:.0f} planned units made (gap {planned - actual:.0f}); "
          f"on time {on_time_rate} ({on_time.on_time} of {on_time.counted}); kit rate {rate} "
          f"({kit.kitted} of {len(kit.orders)} kits complete this period)")
    for order in [o for o in kit.orders if o.short][:2]:
        print(f"  incomplete kit: {order.number} ({order.item}) short "
              + ", ".join(f"{c.item} {c.available:g} of {c.required:g}" for c in order.short))
    found = detect_fluctuations(database.uow(), thresholds=fluctuation_thresholds(settings), actor="demo", now=now,
                                timezone=settings.timezone)
    kinds: dict[str, int] = {}
    for f in found.findings:
        kinds[f.kind.value.replace("_", " ")] = kinds.get(f.kind.value.replace("_", " "), 0) + 1
    print(f"detected {len(found.findings)} fluctuation(s): " + (", ".join(f"{n} {k}" for k, n in kinds.items())
                                                                or "none")
          + ("; a re-plan is called for" if found.triggers_replan else ""))
    for f in found.findings[:3]:
        print(f"  {describe(f)}")
    print_demo_replan(database, settings, now, found.triggers_replan)


def print_demo_replan(database: Any, settings: Any, now: Any, called_for: bool) -> None:
    """Re-plan from where the demo plant stands (lpms.services.replan) and say what changed."""
    try:
        from lpms.services import replan as replanning
    except ImportError:  # REPLAN-HOOK: the re-planning service (issue 11 item 7) is not in this build yet
        print("re-plan: not available in this build (lpms.services.replan is missing)")
        return
    from lpms.bootstrap import replan_policy, solver_options
    from lpms.domain.errors import LpmsError

    try:
        result = replanning.replan(database.uow(), reason="demo: " + ("fluctuations" if called_for else "nightly"),
                                   policy=replan_policy(settings), options=solver_options(settings), actor="demo",
                                   now=now)
    except LpmsError as exc:
        print(f"re-plan failed, the approved plan stays in force: {exc}")
        return
    print(f"re-plan: run {result.run_id} {result.status.value} ({result.message.splitlines()[0]}), "
          f"{result.units_moved:g} units moved in {len(result.rows)} interval-periods against run "
          f"{result.previous_run_id}" + (f"; {result.released} work order(s) released" if result.approved else ""))


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("demo", parents=[common],
                       help="Create the database, load the demo data and plan it.",
                       description="Create the database (SQLite under instance/ by default), migrate it, "
                                   "load the demo data and plan it.")
    p.add_argument("--reset", action="store_true", help="empty the database first (SQLite: delete the file)")
    p.add_argument("--no-plan", action="store_true", help="load the data but do not run the planner")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("import", parents=[common],
                       help="Import CSV files from DIR (all or nothing; see docs/csv-formats.md).",
                       description="Import CSV files from DIR (all or nothing; see docs/csv-formats.md).")
    p.add_argument("directory", metavar="DIR")
    p.set_defaults(func=cmd_import)
    p = sub.add_parser("export", parents=[common],
                       help="Export all master data, demand and stock as CSV files into DIR.",
                       description="Export all master data, demand and stock as CSV files into DIR.")
    p.add_argument("directory", metavar="DIR")
    p.add_argument("--overwrite", action="store_true", help="replace CSV files already in DIR")
    p.set_defaults(func=cmd_export)
