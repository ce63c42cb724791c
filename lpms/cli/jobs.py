"""`lpms jobs run|list|run-once|request|runs`: the scheduled jobs process (docs/jobs.md)."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from lpms.cli._common import Parser, actor, now_of, settings_of

EXIT_SKIPPED = 4  # the job is running elsewhere: "busy", like any unavailable resource


def _clock_of(args: argparse.Namespace) -> Any:
    """--as-of pins the services' now for every run of this process; else bootstrap.clock."""
    pinned = getattr(args, "as_of", None)
    return (lambda: pinned) if pinned is not None else None


def _trim(text: str, width: int = 70) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= width else line[:width - 1] + "\u2026"


def cmd_list(args: argparse.Namespace) -> int:
    from jobs.definitions import default_registry
    from jobs.runner import next_fire_times
    from lpms.bootstrap import open_database
    from lpms.services.jobs import job_run_dict, last_job_runs

    settings = settings_of(args)
    registry = default_registry()
    now = now_of(args)
    upcoming = next_fire_times(settings, registry, now)
    with open_database(settings) as db:
        last = last_job_runs(db.uow())
    rows: list[dict[str, Any]] = []
    for job_id, spec in registry.items():
        nxt = upcoming[job_id]
        rows.append({"job": job_id, "description": spec.description, "schedule": spec.schedule(settings),
                     "next_fire_time": nxt.isoformat() if nxt else None,
                     "last_run": job_run_dict(last[job_id]) if job_id in last else None})
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    from lpms.formats.render import Cell, Table

    table: list[list[Cell]] = [[r["job"], r["schedule"], (r["next_fire_time"] or "-")[:16].replace("T", " "),
              _last_text(r["last_run"])] for r in rows]
    print(Table(["job", "schedule", "next (UTC)", "last run"], table, labels=4, blank_zero=False).render())
    return 0


def _last_text(run: dict[str, Any] | None) -> str:
    if run is None:
        return "never"
    return f"{run['status']} {run['fire_time'][:16].replace('T', ' ')}: {_trim(run['message'], 50)}"


def cmd_runs(args: argparse.Namespace) -> int:
    from lpms.bootstrap import open_database
    from lpms.services.jobs import check_job_id, job_run_dict, list_job_runs

    if args.job is not None:
        check_job_id(args.job)
    with open_database(settings_of(args)) as db:
        runs = list_job_runs(db.uow(), job_id=args.job, limit=args.limit)
    if args.format == "json":
        print(json.dumps([job_run_dict(r) for r in runs], indent=2))
        return 0
    from lpms.formats.render import Cell, Table

    rows: list[list[Cell]] = [[r.id, r.job_id, r.fire_time.isoformat()[:19].replace("T", " "), r.trigger.value, r.status.value,
             r.runner, _trim(r.message, 60)] for r in runs]
    print(Table(["run", "job", "fire time (UTC)", "trigger", "status", "runner", "message"], rows, labels=7,
                blank_zero=False).render() if rows else "no job runs recorded")
    return 0


def cmd_run_once(args: argparse.Namespace) -> int:
    from jobs.runner import JobRunner
    from lpms.bootstrap import open_database
    from lpms.domain.errors import LpmsError
    from lpms.services.jobs import check_job_id

    check_job_id(args.name)
    settings = settings_of(args)
    with open_database(settings) as db:
        outcome = JobRunner(db, settings, clock_fn=_clock_of(args)).run_once(args.name)
    if args.format == "json":
        print(json.dumps({"job": outcome.job_id, "run": outcome.run_id, "fire_time": outcome.fire_time.isoformat(),
                          "status": outcome.status, "message": outcome.message}, indent=2))
    else:
        print(f"{outcome.job_id}: {outcome.status} (run {outcome.run_id}): {outcome.message}")
    if outcome.status == "succeeded":
        return 0
    if outcome.status == "skipped":
        return EXIT_SKIPPED
    from lpms.cli import EXIT_CODES

    error = outcome.error
    return EXIT_CODES.get(error.category, 1) if isinstance(error, LpmsError) else 1


def cmd_request(args: argparse.Namespace) -> int:
    from lpms.bootstrap import open_database
    from lpms.services.jobs import request_job

    settings = settings_of(args)
    now = now_of(args)
    with open_database(settings) as db:
        request_id = request_job(db.uow(), args.name, actor=actor(), now=now)
    if args.format == "json":
        print(json.dumps({"request": request_id, "job": args.name, "status": "pending"}))
    else:
        print(f"job request {request_id}: {args.name} queued; a running jobs process ('lpms jobs run') "
              f"runs it within a few seconds")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from jobs.runner import JobRunner
    from lpms.bootstrap import open_database, safe_url

    settings = settings_of(args)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    with open_database(settings) as db:
        runner = JobRunner(db, settings, clock_fn=_clock_of(args))
        for spec in runner.registry.values():  # a bad schedule setting stops here, exit 2
            spec.trigger(settings)
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            runner.start()
            print(f"lpms jobs: runner {runner.runner_id} on {safe_url(db.url)}, "
                  f"{len(runner.registry)} jobs ({runner.locks.kind} per job); Ctrl-C or SIGTERM stops", flush=True)
            for spec in runner.registry.values():
                print(f"  {spec.id}: {spec.schedule(settings)}", flush=True)
            while not stop.wait(0.5):
                pass
            print("lpms jobs: stopping (running jobs finish first)", file=sys.stderr, flush=True)
        finally:
            runner.stop(wait=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    print("lpms jobs: stopped", flush=True)
    return 0


def _limit(text: str) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= 10_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to 10000")
    return int(text)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `lpms jobs run|list|run-once|request|runs`."""
    from lpms.services.jobs import JOB_IDS

    jobs = sub.add_parser("jobs", help="Scheduled jobs: run the jobs process, list jobs, run or request one.",
                          description="Scheduled jobs (docs/jobs.md): " + ", ".join(JOB_IDS) + ". One runner at a "
                                      "time per job across processes (PostgreSQL advisory lock, SQLite lease); "
                                      "every run is recorded.")
    jsub = jobs.add_subparsers(dest="jobs_command", metavar="ACTION", parser_class=Parser)
    jsub.required = True
    run = jsub.add_parser("run", parents=[common], help="run the scheduler in the foreground (Ctrl-C stops it)",
                          description="Run the jobs process in the foreground: fire each job on its schedule and "
                                      "run job requests within a few seconds. Ctrl-C or SIGTERM stops it cleanly "
                                      "(running jobs finish first). --as-of pins the services' now for every run.")
    run.set_defaults(func=cmd_run)
    lst = jsub.add_parser("list", parents=[common], help="the jobs, their schedules, next fire and last run",
                          description="List the jobs with their schedule, next fire time (after --as-of, default "
                                      "now) and their last run that was not skipped.")
    lst.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    lst.set_defaults(func=cmd_list)
    once = jsub.add_parser("run-once", parents=[common], help="run one job now in this process",
                           description="Run one job now, in this process, recorded like a scheduled run (trigger "
                                       "manual). Exit 0 when it succeeded, 4 when it is running elsewhere (skipped), "
                                       "else the exit status of its error.")
    once.add_argument("name", metavar="NAME", choices=JOB_IDS, help="the job: " + ", ".join(JOB_IDS))
    once.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    once.set_defaults(func=cmd_run_once)
    req = jsub.add_parser("request", parents=[common], help="ask the jobs process to run a job now",
                          description="Queue a job request (what the web's 'run now' does): a running jobs process "
                                      "picks it up within a few seconds and runs the job once.")
    req.add_argument("name", metavar="NAME", choices=JOB_IDS, help="the job: " + ", ".join(JOB_IDS))
    req.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    req.set_defaults(func=cmd_request)
    runs = jsub.add_parser("runs", parents=[common], help="the recorded job runs, newest first",
                           description="List recorded job runs, newest first, skipped ones included.")
    runs.add_argument("--job", metavar="NAME", help="only this job's runs")
    runs.add_argument("--limit", type=_limit, default=50, metavar="N", help="at most N runs (default 50)")
    runs.add_argument("--format", choices=["table", "json"], default="table", help="output format (default: table)")
    runs.set_defaults(func=cmd_runs)
