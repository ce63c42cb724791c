"""`lpms calendar show` and `lpms calendar extend`: the plant calendar and its rolling horizon."""
from __future__ import annotations

import argparse
import json
from typing import Any

from lpms.cli._common import Parser, actor, now_of, settings_of, with_database


def _horizon(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of periods (0 or more)")
    return int(text)


def cmd_show(args: argparse.Namespace) -> int:
    from lpms.formats.render import Table
    from lpms.services.calendar import calendar_view

    settings = settings_of(args)
    now = now_of(args)
    view: Any = with_database(args, lambda uow, _s: calendar_view(uow, timezone=settings.timezone, now=now))
    if args.format == "json":
        print(json.dumps(view.to_dict(), indent=2))
        return 0
    if view.current_seq is not None:
        print(f"plant date {view.today} ({view.timezone}): current period {view.current_seq}")
    else:
        print(f"plant date {view.today} ({view.timezone}): no current period: {view.note}")
    if not view.periods:
        return 0
    rows: list[list[Any]] = [[v.period.seq, v.period.bucket.value, v.period.start.isoformat(),
                              v.period.end.isoformat(), v.regular_min, v.overtime_min,
                              "<- current" if v.current else ""] for v in view.periods]
    table = Table(["period", "bucket", "start", "end", "regular min", "overtime min", ""], rows, labels=4,
                  blank_zero=False)
    print(table.render())
    return 0


def cmd_extend(args: argparse.Namespace) -> int:
    from lpms.services.calendar import extend_calendar

    settings = settings_of(args)
    horizon = settings.horizon_periods if args.horizon is None else args.horizon
    now = now_of(args)
    result: Any = with_database(args, lambda uow, _s: extend_calendar(
        uow, horizon_periods=horizon, timezone=settings.timezone, actor=actor(), now=now))
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.summary())
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `lpms calendar show` and `lpms calendar extend`."""
    cal = sub.add_parser("calendar", help="The plant calendar: periods, the current period, the rolling horizon.",
                         description="The plant calendar: periods, the current period, the rolling horizon. "
                                     "Dates are plant-local (setting timezone); the current period is the one "
                                     "holding the plant date of --as-of (default: now).")
    csub = cal.add_subparsers(dest="calendar_command", metavar="ACTION", parser_class=Parser)
    csub.required = True
    show = csub.add_parser("show", parents=[common], help="list the periods with their capacity, the current one marked",
                           description="List the calendar's periods with their capacity (minutes summed over work "
                                       "centers), the current period marked: the one holding the plant date "
                                       "(setting timezone) of --as-of (default: now).")
    show.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    show.set_defaults(func=cmd_show)
    extend = csub.add_parser(
        "extend", parents=[common], help="append periods so that the planning horizon lies ahead of now",
        description="Append periods (same length, capacity pattern repeated per work center) until at least "
                    "the planning horizon's number of periods (setting horizon_periods) lies after the current "
                    "period. Running it again adds nothing.")
    extend.add_argument("--horizon", type=_horizon, metavar="N",
                        help="periods to keep after the current one (default: setting horizon_periods)")
    extend.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    extend.set_defaults(func=cmd_extend)
