"""The `lpms` command line: an outer ring like web/ and jobs/. Thin: parse arguments, call one
service, print the result. One module per command group; errors map to exit codes here only."""
from __future__ import annotations

import sys
from collections.abc import Sequence

from lpms import __version__
from lpms.cli._common import Parser, UsageError, database_options, settings_of
from lpms.domain.errors import LpmsError
from lpms.settings import Settings

# The one place that maps an error category (lpms.domain.errors) to an exit status.
EXIT_CODES = {
    "invalid_input": 2,
    "not_found": 2,
    "conflict": 2,
    "infeasible": 3,
    "unavailable": 4,
    "internal": 1,
}


def build_parser() -> Parser:
    from lpms.cli import (
        calendar,
        data,
        db,
        jobs,
        network,
        plan,
        process,
        replan,
        report,
        simulate,
        stock,
        web,
        work_orders,
    )

    parser = Parser(prog="lpms", description="LPMS: lean production management -- balanced, capacity-feasible "
                                             "plans and shop-floor control.")
    parser.add_argument("--version", action="version", version=f"lpms {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    common = database_options()
    data.register(sub, common)
    db.register(sub, common)
    plan.register(sub, common)
    network.register(sub, common)
    calendar.register(sub, common)
    work_orders.register(sub, common)
    report.register(sub, common)
    stock.register(sub, common)
    process.register(sub, common)
    replan.register(sub, common)
    jobs.register(sub, common)
    web.register(sub, common)
    simulate.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure becomes one line on stderr and an exit status (EXIT_CODES)."""
    parser = build_parser()
    settings: Settings | None = None
    try:
        try:
            args = parser.parse_args(argv)
        except UsageError as exc:
            given = list(sys.argv[1:] if argv is None else argv)
            if "argument COMMAND: invalid choice" in str(exc) and given and given[0] in ("--database-url", "--as-of"):
                raise UsageError(f"{exc} ({given[0]} goes after the command: lpms COMMAND {given[0]} ...)") from None
            raise
        try:
            settings = settings_of(args)
        except LpmsError:
            settings = None
        if settings is not None:
            from lpms.bootstrap import configure_logging

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
    import traceback

    from sqlalchemy.exc import SQLAlchemyError

    from lpms.bootstrap import translate_db_error, write_crash_log

    if isinstance(exc, SQLAlchemyError):
        err = translate_db_error(exc, settings.resolved_database_url if settings else "")
        print(f"lpms: {err}", file=sys.stderr)
        return EXIT_CODES[err.category]
    path = write_crash_log(settings, "".join(traceback.format_exception(exc)))
    print(f"lpms: internal error ({type(exc).__name__}: {exc}); details in {path}", file=sys.stderr)
    return EXIT_CODES["internal"]
