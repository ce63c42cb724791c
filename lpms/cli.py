"""The `lpms` command line. Thin: parse arguments, call one service, print the result."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from lpms.cli_plan import ScenarioFileError
from lpms.domain.errors import BomCycleError, LpmsError, ValidationFailed
from lpms.planning.network import NetworkError
from lpms.planning.scenario import ScenarioError
from lpms import __version__
from lpms.settings import Settings, SettingsError, load_settings

DEMO_DIR = Path(__file__).resolve().parent / "data" / "demo"


class UsageError(Exception):
    """A wrong argument: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(database_url=getattr(args, "database_url", None))


def _uow(settings: Settings):  # type: ignore[no-untyped-def]
    from lpms.db.session import UnitOfWork, make_engine, session_factory

    engine = make_engine(settings.resolved_database_url)
    return UnitOfWork(session_factory(engine)), engine


def with_database(args: argparse.Namespace, use: Callable[..., object]) -> object:
    """Open the migrated database named by the settings, call ``use(uow, settings)``, close it."""
    settings = _settings(args)
    _require_head(settings)
    uow, engine = _uow(settings)
    try:
        return use(uow, settings)
    finally:
        engine.dispose()


def _require_head(settings: Settings) -> None:
    from lpms.db import migrate
    from lpms.db.session import make_engine

    engine = make_engine(settings.resolved_database_url)
    try:
        current = migrate.current_revision(engine)
    finally:
        engine.dispose()
    head = migrate.head_revision()
    if current != head:
        raise LpmsError(
            f"database {settings.resolved_database_url} is at revision {current or 'none'}, "
            f"not {head}: run 'lpms db upgrade' first"
        )


def cmd_db(args: argparse.Namespace) -> int:
    from lpms.db import migrate
    from lpms.db.session import make_engine

    settings = _settings(args)
    url = settings.resolved_database_url
    if args.db_command == "upgrade":
        migrate.upgrade(url, args.revision)
        print(f"database {url} upgraded to {args.revision}")
    elif args.db_command == "downgrade":
        migrate.downgrade(url, args.revision)
        print(f"database {url} downgraded to {args.revision}")
    elif args.db_command == "check":
        migrate.check(url)
        print("models and migrations agree")
    else:
        engine = make_engine(url)
        try:
            print(f"{url}: revision {migrate.current_revision(engine) or 'none'} (head {migrate.head_revision()})")
        finally:
            engine.dispose()
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from lpms.services.csv_io import import_dir

    result = with_database(args, lambda uow, _s: import_dir(uow, Path(args.directory)))
    print(f"imported {args.directory}: {result.summary()}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from lpms.services.csv_io import export_dir

    paths = with_database(args, lambda uow, _s: export_dir(uow, Path(args.directory)))
    print(f"exported {len(paths)} files to {args.directory}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from lpms.db import migrate
    from lpms.services.csv_io import import_dir
    from lpms.services.demo import demo_summary

    settings = _settings(args)
    url = settings.resolved_database_url
    if args.reset and url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        if path.exists():
            path.unlink()
            print(f"removed {path}")
    migrate.upgrade(url)
    print(f"database {url} migrated to head ({migrate.head_revision()})")
    uow, engine = _uow(settings)
    try:
        for name in ("paper", "plant"):
            result = import_dir(uow, DEMO_DIR / name)
            print(f"loaded demo data '{name}': {result.summary()}")
        print(demo_summary(uow))
        if not args.no_plan:
            from lpms.services.planning import run_demo_plans

            for line in run_demo_plans(uow, settings):
                print(line)
    finally:
        engine.dispose()
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

    from lpms import cli_plan

    cli_plan.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(f"lpms: settings: {exc}", file=sys.stderr)
        return 2
    except ValidationFailed as exc:
        print(f"lpms: {exc}", file=sys.stderr)
        return 2
    except (ScenarioError, ScenarioFileError, NetworkError, BomCycleError) as exc:
        print(f"lpms: scenario: {exc}", file=sys.stderr)
        return 2
    except LpmsError as exc:
        print(f"lpms: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
