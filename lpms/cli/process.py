"""`lpms progress`, `lpms kit`, `lpms fluctuations`: the measures and fluctuation detection
(docs/process.md, "Measures" and "Fluctuation detection")."""
from __future__ import annotations

import argparse
import json
from typing import Any

from lpms.cli._common import actor, now_of, with_database


def _window(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of periods (1 or more)")
    return int(text)


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


def cmd_progress(args: argparse.Namespace) -> int:
    from lpms.formats.render import Table
    from lpms.services.progress import progress_dict, progress_report

    now = now_of(args)
    p: Any = with_database(args, lambda uow, s: progress_report(uow, now=now, timezone=s.timezone))
    if args.format == "json":
        print(json.dumps(progress_dict(p), indent=2))
        return 0
    r = p.report
    print(f"progress to {now.isoformat()} (period {p.current_period}, {r.elapsed:.0%} passed); "
          f"on-time completion {_pct(r.on_time_rate)} ({r.on_time.on_time} of {r.on_time.counted} decided)")
    if not r.intervals and not r.work_centers:
        print("nothing planned or reported yet (approve and release a plan run first)")
        return 0
    print(Table(["interval", "item", "planned", "actual", "gap"],
                [[row.interval, row.item, row.planned, row.actual, row.gap] for row in r.intervals],
                labels=2, blank_zero=False).render())
    print(Table(["work center", "planned min", "actual min", "gap min"],
                [[row.work_center, row.planned, row.actual, row.gap] for row in r.work_centers],
                labels=1, blank_zero=False).render())
    return 0


def cmd_kit(args: argparse.Namespace) -> int:
    from lpms.formats.render import Table
    from lpms.services.progress import kit_dict, kit_report

    now = now_of(args)
    k: Any = with_database(args, lambda uow, s: kit_report(uow, now=now, window=args.window, timezone=s.timezone))
    if args.format == "json":
        print(json.dumps(kit_dict(k), indent=2))
        return 0
    r = k.report
    print(f"kit rate {_pct(r.rate)}: {r.kitted} of {len(r.orders)} kitting work order(s) due in period(s) "
          f"{r.as_of_period}-{r.last_period} have every component")
    if r.orders:
        rows = []
        for o in r.orders:
            short = ", ".join(f"{c.item} {c.available:g}/{c.required:g}" for c in o.short)
            done = "never (not within the horizon)" if o.complete_period is None else \
                f"{k.period_date(o.complete_period)} (P{o.complete_period})"
            rows.append([o.number, o.item, o.start_period, f"{o.coverage:.1%}", short or "-", done])
        print(Table(["work order", "item", "start", "coverage", "short (available/required)", "kit complete"], rows,
                    labels=6, blank_zero=False).render())
    if k.history:
        print("recorded: " + ", ".join(f"P{h.period} {_pct(h.rate)}" for h in k.history))
    return 0


def cmd_fluctuations(args: argparse.Namespace) -> int:
    from lpms.services.fluctuations import (
        detect_fluctuations,
        detection_dict,
        fluctuation_dict,
        list_fluctuations,
    )

    if args.list:
        events: Any = with_database(args, lambda uow, _s: list_fluctuations(uow, limit=args.limit))
        if args.format == "json":
            print(json.dumps([fluctuation_dict(e) for e in events], indent=2))
            return 0
        if not events:
            print("no fluctuations recorded")
            return 0
        for e in events:
            print(f"{e.detected_at:%Y-%m-%d %H:%M} check {e.check_id}: {_line(e)}")
        return 0
    from lpms.bootstrap import fluctuation_thresholds

    now = now_of(args)
    d: Any = with_database(args, lambda uow, s: detect_fluctuations(
        uow, thresholds=fluctuation_thresholds(s), actor=actor(), now=now, timezone=s.timezone))
    if args.format == "json":
        print(json.dumps(detection_dict(d), indent=2))
        return 0
    print(f"check {d.check_id} at {now.isoformat()} (period {d.current_period}, plan run "
          f"{d.plan_run_id if d.plan_run_id is not None else 'none approved'}): {len(d.findings)} finding(s)"
          + ("; a re-plan is called for" if d.triggers_replan else ""))
    if d.baseline_recorded:
        print(f"  demand baseline of plan run {d.plan_run_id} recorded now (demand changes are found from now on)")
    for f in d.findings:
        print(f"  {_line(f)}")
    return 0


def _line(f: Any) -> str:
    from lpms.services.fluctuations import describe

    return describe(f) + (" [re-plan]" if f.triggers_replan else "")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `lpms progress`, `lpms kit` and `lpms fluctuations`."""
    p = sub.add_parser("progress", parents=[common], help="Progress vs plan to date and the on-time rate.",
                       description="Cumulative planned vs actual good output to date per interval, item and work "
                                   "center (gap = planned - actual) and the on-time completion rate (docs/measures.md).")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    p.set_defaults(func=cmd_progress)
    k = sub.add_parser("kit", parents=[common], help="The complete-assembly (kit) rate and its history.",
                       description="The share of kitting work orders due to start in the window whose every "
                                   "component is available at planned start (components allocated by planned start, "
                                   "then priority), each order's coverage, short components and projected "
                                   "kit-complete date, and the rates recorded at earlier period starts.")
    k.add_argument("--window", type=_window, default=1, metavar="N",
                   help="periods from the current one (default 1)")
    k.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    k.set_defaults(func=cmd_kit)
    f = sub.add_parser("fluctuations", parents=[common], help="Detect fluctuations now, or list stored ones.",
                       description="Run fluctuation detection now (behind plan, kit rate, buffers, demand changes "
                                   "since the approved plan, downtime, scrap; thresholds are settings) and print the "
                                   "findings, which are stored; --list prints the stored findings instead.")
    f.add_argument("--list", action="store_true", help="print stored findings, newest first")
    f.add_argument("--limit", type=_window, default=100, metavar="N", help="--list: at most N (default 100)")
    f.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    f.set_defaults(func=cmd_fluctuations)
