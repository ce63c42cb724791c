"""The `lpms` command line. Thin: parse arguments, call one service, print the result."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from lpms import __version__
from lpms.domain.errors import LpmsError
from lpms.settings import Settings, load_settings

DEMO_DIR = Path(__file__).resolve().parent / "data" / "demo"


class UsageError(Exception):
    """A wrong argument: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(database_url=getattr(args, "database_url", None))


def with_database(args: argparse.Namespace, use: Callable[..., object]) -> object:
    """Open the migrated database named by the settings, call ``use(uow, settings)``, close it."""
    from lpms.bootstrap import open_database

    settings = _settings(args)
    with open_database(settings) as database:
        return use(database.uow(), settings)


def cmd_db(args: argparse.Namespace) -> int:
    from lpms.bootstrap import open_database, safe_url
    from lpms.db import migrate

    settings = _settings(args)
    url = settings.resolved_database_url
    shown = safe_url(url)
    if args.db_command == "upgrade":
        open_database(settings, create=True, require_head=False).dispose()  # reachable? (one line if not)
        migrate.upgrade(url, args.revision)
        print(f"database {shown} upgraded to {args.revision}")
    elif args.db_command == "downgrade":
        open_database(settings, require_head=False).dispose()
        migrate.downgrade(url, args.revision)
        print(f"database {shown} downgraded to {args.revision}")
    elif args.db_command == "check":
        open_database(settings, require_head=False).dispose()
        migrate.check(url)
        print("models and migrations agree")
    else:
        with open_database(settings, require_head=False) as database:
            current = migrate.current_revision(database.engine)
        print(f"{shown}: revision {current or 'none'} (head {migrate.head_revision()})")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from lpms.services.csv_io import import_dir

    result = with_database(args, lambda uow, _s: import_dir(uow, Path(args.directory)))
    print(f"imported {args.directory}: {result.summary()}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from lpms.services.csv_io import export_dir

    paths = with_database(args, lambda uow, _s: export_dir(uow, Path(args.directory), overwrite=args.overwrite))
    print(f"exported {len(paths)} files to {args.directory}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from lpms.bootstrap import open_database, safe_url, sqlite_path
    from lpms.db import migrate
    from lpms.services.csv_io import import_dir
    from lpms.services.demo import demo_summary

    settings = _settings(args)
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
    with open_database(settings) as database:
        uow = database.uow()
        for name in ("paper", "plant"):
            result = import_dir(uow, DEMO_DIR / name)
            print(f"loaded demo data '{name}': {result.summary()}")
        print(demo_summary(uow))
        if not args.no_plan:
            from lpms.services.planning import run_demo_plans

            for line in run_demo_plans(uow, settings):
                print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lpms", description="LPMS: lean production management -- balanced, capacity-feasible plans and shop-floor control.")
    parser.add_argument("--version", action="version", version=f"lpms {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", help="database URL (default: settings; SQLite file under instance/)")

    def add(name: str, help_text: str, func: Callable[[argparse.Namespace], int], db: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common] if db else [])
        p.set_defaults(func=func)
        return p

    p = add("demo", "Create the database (SQLite under instance/ by default), migrate it, load the demo data and plan it.", cmd_demo)
    p.add_argument("--reset", action="store_true", help="delete the SQLite demo database first")
    p.add_argument("--no-plan", action="store_true", help="load the data but do not run the planner")

    p = add("db", "Database migrations (Alembic).", cmd_db, db=False)
    dbsub = p.add_subparsers(dest="db_command", metavar="ACTION", parser_class=_Parser)
    dbsub.required = True
    up = dbsub.add_parser("upgrade", help="migrate up (default: to head)", description="Migrate the database up.", parents=[common])
    up.add_argument("revision", nargs="?", default="head")
    down = dbsub.add_parser("downgrade", help="migrate down (default: to base, i.e. drop everything)", description="Migrate the database down.", parents=[common])
    down.add_argument("revision", nargs="?", default="base")
    dbsub.add_parser("current", help="show the current revision", description="Show the database's revision.", parents=[common])
    dbsub.add_parser("check", help="fail if models and migrations disagree", description="Run alembic check.", parents=[common])

    p = add("import", "Import CSV files from DIR (all or nothing; see docs/csv-formats.md).", cmd_import)
    p.add_argument("directory", metavar="DIR")
    p = add("export", "Export all master data, demand and stock as CSV files into DIR.", cmd_export)
    p.add_argument("directory", metavar="DIR")
    p.add_argument("--overwrite", action="store_true", help="replace CSV files already in DIR")

    from lpms import cli_plan

    cli_plan.register(sub)
    return parser


# The one place that maps an error category (lpms.domain.errors) to an exit status.
EXIT_CODES = {
    "invalid_input": 2,
    "not_found": 2,
    "conflict": 2,
    "infeasible": 3,
    "unavailable": 4,
    "internal": 1,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure becomes one line on stderr and an exit status (EXIT_CODES)."""
    parser = build_parser()
    settings: Settings | None = None
    try:
        args = parser.parse_args(argv)
        try:
            settings = _settings(args)
        except LpmsError:
            settings = None
        from lpms.bootstrap import configure_logging

        if settings is not None:
            configure_logging(settings)
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("lpms: interrupted", file=sys.stderr)
        return 130
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except LpmsError as exc:
        print(f"lpms: {exc}", file=sys.stderr)
        return EXIT_CODES.get(exc.category, 1)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback reaches a user
        return _unexpected(exc, settings)


def _unexpected(exc: Exception, settings: Settings | None) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from lpms.bootstrap import translate_db_error, write_crash_log

    if isinstance(exc, SQLAlchemyError):
        err = translate_db_error(exc, settings.resolved_database_url if settings else "")
        print(f"lpms: {err}", file=sys.stderr)
        return EXIT_CODES[err.category]
    import traceback

    path = write_crash_log(settings, "".join(traceback.format_exception(exc)))
    print(f"lpms: internal error ({type(exc).__name__}: {exc}); details in {path}", file=sys.stderr)
    return EXIT_CODES["internal"]


if __name__ == "__main__":
    raise SystemExit(main())
