"""`lpms plan approve`, `lpms release`, `lpms work-orders [cancel|close]`: from the approved plan
to work orders on the shop floor (docs/process.md, "Work orders")."""
from __future__ import annotations

import argparse
import json
from typing import Any

from lpms.cli._common import UsageError, actor, now_of, settings_of, with_database
from lpms.domain.enums import WorkOrderStatus


def _count(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of periods (0 or more)")
    return int(text)


def _run_id(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a plan run number")
    return int(text)


def cmd_approve(args: argparse.Namespace) -> int:
    from lpms.services.release import approve_plan_run

    now = now_of(args)
    result: Any = with_database(args, lambda uow, _s: approve_plan_run(uow, args.run, actor=actor(), now=now))
    superseded = ", ".join(str(r) for r in result.superseded)
    print(f"plan run {result.run_id} approved" + (f" (superseded: {superseded})" if superseded else ""))
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from lpms.services.release import release_work_orders
    from lpms.services.work_orders import work_order_dict

    settings = settings_of(args)
    fence = settings.release_fence_periods if args.fence is None else args.fence
    now = now_of(args)
    result: Any = with_database(args, lambda uow, s: release_work_orders(
        uow, fence_periods=fence, actor=actor(), now=now, timezone=s.timezone))
    if args.format == "json":
        print(json.dumps({"plan_run": result.run_id, "current_period": result.current_period,
                          "fence": list(result.fence), "released": list(result.released),
                          "frozen": list(result.frozen), "beyond_plan": list(result.beyond_plan),
                          "work_orders": [work_order_dict(wo) for wo in result.work_orders]}, indent=2))
        return 0
    periods = ", ".join(str(p) for p in result.fence) or "none"
    print(f"plan run {result.run_id}, current period {result.current_period}, fence {fence} period(s): {periods}")
    if result.released:
        print(f"released period(s) {', '.join(str(p) for p in result.released)}: "
              f"{len(result.work_orders)} work order(s)")
    else:
        print("nothing new to release")
    if result.frozen:
        print(f"already released (frozen): period(s) {', '.join(str(p) for p in result.frozen)}")
    if result.beyond_plan:
        print(f"not in the approved plan (re-plan to cover them): period(s) "
              f"{', '.join(str(p) for p in result.beyond_plan)}")
    if result.work_orders:
        print(_table(result.work_orders))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from lpms.services.work_orders import list_work_orders, work_order_dict

    status = WorkOrderStatus(args.status) if args.status else None
    orders: Any = with_database(args, lambda uow, _s: list_work_orders(uow, status=status,
                                                                       work_center=args.work_center))
    if args.format == "json":
        print(json.dumps([work_order_dict(wo) for wo in orders], indent=2))
        return 0
    if not orders:
        print("no work orders" + (" match" if status or args.work_center else ""))
        return 0
    print(_table(orders))
    return 0


def cmd_work_orders(args: argparse.Namespace) -> int:
    if args.action is None:
        if args.number is not None or args.reason is not None:
            raise UsageError("lpms work-orders: a NUMBER or --reason goes with cancel or close")
        return cmd_list(args)
    if args.number is None:
        raise UsageError(f"lpms work-orders {args.action}: the work order NUMBER is required")
    if args.work_center is not None or args.status is not None or args.format != "table":
        raise UsageError(f"lpms work-orders {args.action}: --work-center, --status and --format are for the list")
    return cmd_cancel(args) if args.action == "cancel" else cmd_close(args)


def cmd_cancel(args: argparse.Namespace) -> int:
    from lpms.services.work_orders import cancel_work_order

    now = now_of(args)
    wo: Any = with_database(args, lambda uow, _s: cancel_work_order(uow, args.number, actor=actor(), now=now,
                                                                    reason=args.reason or ""))
    print(f"work order {wo.number} cancelled ({wo.quantity:g} {wo.item} of period {wo.start_period} go back to the "
          f"plan at the next re-plan)")
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    from lpms.services.work_orders import close_work_order

    now = now_of(args)
    wo: Any = with_database(args, lambda uow, _s: close_work_order(uow, args.number, reason=args.reason or "",
                                                                   actor=actor(), now=now))
    short = max(wo.quantity - wo.good, 0.0)
    print(f"work order {wo.number} closed: {wo.good:g} of {wo.quantity:g} {wo.item} good, {wo.scrap:g} scrap"
          + (f", {short:g} short" if short > 1e-9 else ""))
    return 0


def _table(orders: Any) -> str:
    from lpms.formats.render import Table

    rows: list[list[Any]] = []
    for wo in orders:
        ops = ", ".join(f"{op.seq} {op.work_center} {op.good:g}" + (f"+{op.scrap:g}s" if op.scrap else "")
                        for op in wo.operations)
        rows.append([wo.number, wo.item, wo.interval, wo.status.value, ops, wo.start_period, wo.due_period,
                     wo.quantity, wo.good, wo.scrap])
    return Table(["work order", "item", "interval", "status", "operations (good+scrap)", "start", "due", "quantity",
                  "good", "scrap"], rows, labels=5, blank_zero=False).render()


def register_approve(psub: Any, common: argparse.ArgumentParser) -> None:
    """`lpms plan approve RUN` (added to the `plan` group)."""
    p = psub.add_parser("approve", parents=[common], help="approve a succeeded plan run for release",
                        description="Approve a succeeded plan run; the run approved before becomes superseded. "
                                    "'lpms release' releases the approved run.")
    p.add_argument("run", type=_run_id, metavar="RUN", help="the plan run's number")
    p.set_defaults(func=cmd_approve)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `lpms release` and `lpms work-orders [cancel|close NUMBER]`."""
    rel = sub.add_parser(
        "release", parents=[common], help="Release the approved plan inside the fence as work orders.",
        description="Create work orders for the approved plan's production in the periods of the release fence "
                    "(the current period and the ones after it) that were never released: one per interval and "
                    "period, with its operations and kit. Released periods are frozen; releasing again creates "
                    "nothing for them.")
    rel.add_argument("--fence", type=_count, metavar="N",
                     help="periods to release from the current one (default: setting release_fence_periods)")
    rel.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    rel.set_defaults(func=cmd_release)

    wo = sub.add_parser(
        "work-orders", parents=[common], help="List work orders; cancel or short-close one.",
        description="List work orders by planned start (JSON shape: docs/process.md), or 'cancel NUMBER' (an "
                    "order nobody has reported on; its quantity returns to the plan at the next re-plan) or "
                    "'close NUMBER' (a completed order, or short-close one in progress: --reason required).")
    wo.add_argument("action", nargs="?", choices=["cancel", "close"], metavar="cancel|close",
                    help="cancel or close the work order NUMBER (default: list)")
    wo.add_argument("number", nargs="?", metavar="NUMBER", help="the work order to cancel or close")
    wo.add_argument("--reason", metavar="TEXT", help="why it is cancelled or closed (required to short-close)")
    wo.add_argument("--work-center", metavar="WC", help="list: only orders with an operation on this work center")
    wo.add_argument("--status", choices=[s.value for s in WorkOrderStatus], help="list: only orders in this status")
    wo.add_argument("--format", choices=["table", "json"], default="table", help="list: output format (default: table)")
    wo.set_defaults(func=cmd_work_orders)
