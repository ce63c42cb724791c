"""`lpms db ...`: Alembic migrations."""
from __future__ import annotations

import argparse
from typing import Any

from lpms.cli._common import Parser, settings_of


def cmd_db(args: argparse.Namespace) -> int:
    from lpms.bootstrap import open_database, safe_url
    from lpms.db import migrate

    settings = settings_of(args)
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


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("db", help="Database migrations (Alembic).", description="Database migrations (Alembic).")
    p.set_defaults(func=cmd_db)
    dbsub = p.add_subparsers(dest="db_command", metavar="ACTION", parser_class=Parser)
    dbsub.required = True
    up = dbsub.add_parser("upgrade", help="migrate up (default: to head); creates the database if missing",
                          description="Migrate the database up; creates a SQLite file if missing.", parents=[common])
    up.add_argument("revision", nargs="?", default="head")
    down = dbsub.add_parser("downgrade", help="migrate down (default: to base, i.e. drop everything)",
                            description="Migrate the database down.", parents=[common])
    down.add_argument("revision", nargs="?", default="base")
    dbsub.add_parser("current", help="show the current revision", description="Show the database's revision.",
                     parents=[common])
    dbsub.add_parser("check", help="fail if models and migrations disagree", description="Run alembic check.",
                     parents=[common])
