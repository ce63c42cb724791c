"""`lpms simulate`: closed-loop simulation, LPMS against MRP (docs/simulation.md)."""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any


def _positive(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _whole(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (0 or more)")
    return int(text)


def cmd_simulate(args: argparse.Namespace) -> int:
    from lpms.domain.errors import InvalidInput
    from lpms.simulation.plants import load_plant
    from lpms.simulation.report import markdown_table, write_report_html, write_runs_csv, write_summary_json
    from lpms.simulation.runner import RunConfig, expand_policies, progress_line, run_experiment, summarise

    policies = expand_policies(args.policy.split(","))
    if args.warmup >= args.periods:
        raise InvalidInput(f"--warmup {args.warmup} leaves no period of the {args.periods} to measure")
    load_plant(args.plant)  # a bad plant fails here, before any process starts
    configs = [RunConfig(args.plant, args.periods, args.warmup, args.horizon, args.variability, seed, policy,
                         min_interval_lead=args.min_interval_lead)
               for seed in range(1, args.seeds + 1) for policy in policies]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = run_experiment(configs, jobs=args.jobs,
                             progress=None if args.quiet else (lambda d, n, r: progress_line(d, n, r, started)))
    summary = summarise(results)
    command = "lpms simulate " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if sys.argv[1:2] == ["simulate"] \
        else (f"lpms simulate --plant {args.plant} --periods {args.periods} --seeds {args.seeds} --policy "
              f"{args.policy} --variability {args.variability} --warmup {args.warmup}")
    write_runs_csv(out / "runs.csv", results)
    write_summary_json(out / "summary.json", summary, command)
    write_report_html(out / "report.html", results, summary, command)
    print(markdown_table(summary))
    print(f"\n{len(results)} runs in {time.perf_counter() - started:.0f} s; best MRP: {summary['best_mrp']}; "
          f"wrote {out / 'report.html'}, {out / 'runs.csv'}, {out / 'summary.json'}")
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `lpms simulate`."""
    p = sub.add_parser(
        "simulate", help="Closed-loop simulation: LPMS against MRP on the same demand and disturbances.",
        description="Simulate a plant period by period under each policy on identical demand and disturbances "
                    "(common random numbers): MRP (lot-for-lot, planned lead times padded by 0, 1 and 2 periods) "
                    "and LPMS (the real services on a throwaway SQLite database per run). Writes report.html, "
                    "runs.csv and summary.json into --out (docs/simulation.md).")
    p.add_argument("--plant", default="demo", help="demo, gen50, gen200 (genN) or a multi-item scenario file "
                                                   "(default: demo)")
    p.add_argument("--periods", type=_positive, default=52, help="periods simulated (default: 52)")
    p.add_argument("--seeds", type=_positive, default=20, help="seeds 1..N (default: 20)")
    p.add_argument("--policy", default="mrp,lpms", help="comma-separated: mrp (the three paddings), mrp+N, lpms, "
                                                        "lpms-static (default: mrp,lpms)")
    p.add_argument("--variability", choices=["normal", "high", "none"], default="normal",
                   help="demand and disturbance level (default: normal)")
    p.add_argument("--warmup", type=_whole, default=8, help="first periods left out of the measures (default: 8)")
    p.add_argument("--horizon", type=_positive, default=12, help="planning horizon in periods (default: 12)")
    p.add_argument("--jobs", type=_positive, default=1, help="parallel processes (default: 1)")
    p.add_argument("--min-interval-lead", type=_whole, default=1, metavar="N",
                   help="LPMS plans: an interval feeding another takes at least N periods (default: 1)")
    p.add_argument("--out", default="simulation-out", help="output folder (default: simulation-out)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_simulate)
