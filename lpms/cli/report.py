"""`lpms report completion|correction|downtime`: shop-floor reports (docs/process.md, "Reports")."""
from __future__ import annotations

import argparse
import uuid
from typing import Any

from lpms.cli._common import Parser, actor, now_of, with_database


def _seq(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an operation number (10, 20, ...)")
    return int(text)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def cmd_completion(args: argparse.Namespace) -> int:
    from lpms.services.reports import report_completion

    now = now_of(args)
    result: Any = with_database(args, lambda uow, s: report_completion(
        uow, args.work_order, args.operation, args.good, args.scrap, client_key=args.key, actor=actor(), now=now,
        reported_by=args.by, tolerance=s.over_completion_tolerance, allow_negative_stock=s.allow_negative_stock))
    _print_completion(result)
    return 0


def cmd_correction(args: argparse.Namespace) -> int:
    from lpms.services.reports import correct_completion

    now = now_of(args)
    result: Any = with_database(args, lambda uow, s: correct_completion(
        uow, args.report, client_key=args.key, actor=actor(), now=now, reason=args.reason or "", reported_by=args.by,
        allow_negative_stock=s.allow_negative_stock))
    _print_completion(result)
    return 0


def _print_completion(result: Any) -> None:
    r, wo = result.report, result.work_order
    what = f"correction {r.client_key} of report {r.corrects_key}" if r.corrects_id is not None else \
        f"report {r.client_key}"
    head = "already recorded: " if result.replayed else ""
    print(f"{head}{what}: work order {wo.number} operation {r.operation_seq}: {r.good:+g} good, {r.scrap:+g} scrap")
    moves = [f"{item} {-qty:+g}" for item, qty in result.issued] + (
        [f"{wo.item} {result.output:+g}"] if result.output else [])
    if moves:
        print(f"  stock: {', '.join(moves)}")
    print(f"  work order {wo.number}: {wo.good:g} of {wo.quantity:g} good, {wo.scrap:g} scrap, {wo.status.value}")


def cmd_downtime(args: argparse.Namespace) -> int:
    from lpms.services.reports import report_downtime

    now = now_of(args)
    key = args.key or f"downtime-{uuid.uuid4().hex}"
    result: Any = with_database(args, lambda uow, s: report_downtime(
        uow, args.work_center, args.minutes, args.reason, client_key=key, actor=actor(), now=now,
        work_order=args.work_order, reported_by=args.by, timezone=s.timezone))
    r = result.report
    head = "already recorded: " if result.replayed else ""
    line = (f"{head}downtime {r.client_key}: {r.work_center} lost {r.minutes:g} min in period {r.period_seq} "
            f"({r.reason}); {result.lost_min:g} min lost there this period")
    if result.capacity_min is not None:
        line += f", {result.remaining_min:g} of {result.capacity_min:g} min capacity remain"
    print(line)
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `lpms report completion`, `lpms report correction` and `lpms report downtime`."""
    rep = sub.add_parser("report", help="Shop-floor reports: completion, corrections, downtime.",
                         description="Shop-floor reports: completion (good and scrap units of one operation of a "
                                     "work order), corrections, downtime. Idempotent by --key: the same key again "
                                     "returns the first report; the same key with other values is refused.")
    rsub = rep.add_subparsers(dest="report_command", metavar="KIND", parser_class=Parser)
    rsub.required = True
    comp = rsub.add_parser(
        "completion", parents=[common], help="report good and scrap units of one operation",
        description="Report good and scrap units (work-order units) of one operation. The first operation "
                    "backflushes the work order's components; the last one puts its good units into the item's "
                    "buffer. Refused (exit 2) with a reason: more than the previous operation delivered, more "
                    "good units than the order's quantity plus the over-completion tolerance, a component short.")
    comp.add_argument("work_order", metavar="WORK_ORDER")
    comp.add_argument("--operation", type=_seq, required=True, metavar="SEQ", help="the operation (10, 20, ...)")
    comp.add_argument("--good", type=_number, required=True, metavar="N", help="good units")
    comp.add_argument("--scrap", type=_number, default=0.0, metavar="N", help="scrapped units (default 0)")
    comp.add_argument("--key", required=True, metavar="KEY",
                      help="the report's unique key (a retry sends the same key: it counts once)")
    comp.add_argument("--by", metavar="NAME", help="who reports (default: the login name)")
    comp.set_defaults(func=cmd_completion)
    corr = rsub.add_parser(
        "correction", parents=[common], help="reverse a completion report",
        description="Reverse one completion report with a correction event (negated quantities, referencing it): "
                    "components it took return to stock, output it made is taken back. Then report the right "
                    "quantities as a new report.")
    corr.add_argument("report", metavar="REPORT_KEY", help="the key of the report to reverse")
    corr.add_argument("--key", required=True, metavar="KEY", help="the correction's own unique key")
    corr.add_argument("--reason", metavar="TEXT", help="why")
    corr.add_argument("--by", metavar="NAME", help="who corrects (default: the login name)")
    corr.set_defaults(func=cmd_correction)
    down = rsub.add_parser("downtime", parents=[common], help="report lost minutes of a work center",
                           description="Report minutes a work center lost; they reduce its capacity in the current "
                                       "period.")
    down.add_argument("work_center", metavar="WORK_CENTER")
    down.add_argument("--minutes", type=_number, required=True, metavar="N")
    down.add_argument("--reason", required=True, metavar="TEXT")
    down.add_argument("--key", metavar="KEY", help="the report's unique key (default: a new one)")
    down.add_argument("--work-order", metavar="NUMBER", help="the work order that was running, if any")
    down.add_argument("--by", metavar="NAME", help="who reports (default: the login name)")
    down.set_defaults(func=cmd_downtime)
