"""`lpms replan`: re-plan from the plant's real state with minimal change (docs/replan.md)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lpms.cli._common import actor, now_of, with_database

LARGEST = 10  # changes printed


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _print(result: Any, fmt: str) -> None:
    from lpms.services.replan import replan_dict

    if fmt == "json":
        print(json.dumps(replan_dict(result, largest=LARGEST), indent=2))
        return
    print(f"plan run {result.run_id}: {result.status.value} (re-plan {result.replan_id}, reason: {result.reason})")
    print(f"planned from period {result.first_period}; frozen (released) period(s): "
          f"{', '.join(str(p) for p in result.frozen_periods) or 'none'}")
    first, *rest = result.message.splitlines() or [""]
    print(f"solver: {first}" if result.plan is not None else f"why: {first}")
    for note in result.notes:
        print(f"note: {note}")
    if result.plan is None:
        return
    if result.previous_run_id is None:
        print("no approved plan before it: nothing to compare with")
    else:
        print(f"against approved run {result.previous_run_id}: {_fmt(result.units_moved)} units moved "
              f"outside the fence")
    if result.approved:
        print(f"approved; released {result.released} work order(s)")
    else:
        print(f"waiting for approval: lpms plan approve {result.run_id}")
    if result.diff is not None and result.diff.changed:
        rows = result.diff.largest(LARGEST)
        print(f"largest changes ({len(rows)} of {len(result.diff.changed)}):")
        width = max(len("interval"), *(len(r.interval) for r in rows))
        print(f"  {'interval':<{width}}  period        old        new     change")
        for r in rows:
            print(f"  {r.interval:<{width}}  {r.period:>6}  {_fmt(r.old):>9}  {_fmt(r.new):>9}  {r.change:>+9.6g}"
                  + ("  (frozen)" if r.frozen else ""))


def cmd_replan(args: argparse.Namespace) -> int:
    from lpms.bootstrap import replan_policy, solver_options
    from lpms.services.replan import ReplanInfeasible, replan

    now = now_of(args)
    reason = args.reason if args.reason is not None else "manual"
    try:
        result: Any = with_database(args, lambda uow, s: replan(
            uow, reason=reason, policy=replan_policy(s), options=solver_options(s), actor=actor(), now=now))
    except ReplanInfeasible as exc:
        _print(exc.result, args.format)
        print(f"lpms: {exc}", file=sys.stderr)
        return 3
    _print(result, args.format)
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `lpms replan`."""
    p = sub.add_parser(
        "replan", parents=[common], help="Re-plan from the current period with minimal change.",
        description="Plan again from the current period with the plant's real state: on-hand from the stock "
                    "ledger, the released work orders' remaining quantities fixed in the frozen periods, downtime "
                    "off the capacity, and a penalty (setting nervousness_cost) per unit changed against the "
                    "approved plan outside the fence. Prints the new run, the units moved and the largest "
                    "changes; with replan_auto_approve (default) the run is approved and released to the fence. "
                    "An infeasible re-plan is recorded, leaves the approved plan in force and exits 3.")
    p.add_argument("--reason", metavar="TEXT", help="what triggered the re-plan, kept with the run (default: manual)")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    p.set_defaults(func=cmd_replan)
