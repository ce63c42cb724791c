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
    return 0


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
