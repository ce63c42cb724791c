"""Completion reports over HTTP: the production server (granian, ``lpms serve``) on PostgreSQL.

python -m bench http_reports [--pg-admin-url URL] [--items 300] [--reports 6000] [--clients 16]
                             [--processes 2] [--threads 8] [--keep]

1. A PostgreSQL database of its own (dropped at the end unless --keep): a generated plant
   (lpms.simulation.plants.generated_plant) imported, planned, approved and released with a
   fence of 2 periods; components received; a supervisor with one API token per client; the
   planner's statistics gathered (``ANALYZE``, as autovacuum does within a minute).
2. ``lpms serve`` in a subprocess (``--processes`` granian workers of ``--threads`` threads),
   waited for on /healthz.
3. ``--clients`` concurrent clients (threads, one keep-alive connection each) POST
   /api/v1/reports/completions with ``Authorization: Bearer``; each report is sent twice under
   the same ``Idempotency-Key`` (a resend after a lost answer): the first must answer 201, the
   second 200 with ``replayed: true``. Each work order belongs to one client, which reports its
   operations round-robin in sequence, so every report is accepted.
4. Afterwards, in the database: one completion report row per key, and every operation's good
   quantity equals the sum of its distinct reports and what the clients sent (0 lost, 0 double
   counted).

Prints a markdown table with the machine's load (``uptime``) during the run. Targets: >= 300
reports/s, p95 < 100 ms, 0 lost or double-counted.
"""
from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import text

from bench.process import ADMIN_URL, FENCE, NOW, analyze, open_db, receive_components, setup_plant, temp_database
from lpms.domain.values import Costs
from lpms.planning.solver import SolverOptions
from lpms.simulation.plants import generated_plant

ACTOR = "bench"
PATH = "/api/v1/reports/completions"

Report = tuple[str, int, float, str]  # work order, operation, good, key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, threads: int, processes: int = 1) -> subprocess.Popen[bytes]:
    """``lpms serve`` on the database (its own secret key; time pinned to the plan's period 1)."""
    env = dict(os.environ, LPMS_SECRET_KEY="bench-" + os.urandom(24).hex(), LPMS_AS_OF=NOW.isoformat(),
               LPMS_LOG_LEVEL="WARNING")
    cmd = [sys.executable, "-m", "lpms", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--threads", str(threads), "--processes", str(processes), "--database-url", url]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"lpms serve exited with status {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("lpms serve did not answer /healthz within 60 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def make_plan(work_orders: list[Any], n_reports: int, clients: int) -> list[list[Report]]:
    """Reports per client: each work order belongs to one client, operations round-robin in sequence."""
    per_wo = math.ceil(n_reports / len(work_orders))
    plan: list[list[Report]] = [[] for _ in range(clients)]
    k = 0
    for round_ in range(per_wo):
        for i, wo in enumerate(work_orders):
            if k >= n_reports:
                break
            op = wo.operations[round_ % len(wo.operations)]
            plan[i % clients].append((wo.number, op.seq, round(wo.quantity / (2 * per_wo), 3), f"http-{k}"))
            k += 1
    return plan


class LoadSampler(threading.Thread):
    """The 1-minute load average once a second while the clients run."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.samples.append(os.getloadavg()[0])


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(pid: int | None = None, comm_prefix: str | None = None) -> float:
    """CPU time (user + system) of one process (``pid``) or of every process whose name starts
    with ``comm_prefix`` (Linux /proc; 0.0 where it cannot be read)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    pids = [pid] if pid is not None else [int(p) for p in os.listdir("/proc") if p.isdigit()]
    for p in pids:
        try:
            if comm_prefix is not None:
                with open(f"/proc/{p}/comm") as f:
                    if not f.read().startswith(comm_prefix):
                        continue
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            continue
    return total / tick


def server_cpu(pid: int) -> float:
    """CPU time of the server process and its worker processes."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        children.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return cpu_seconds(pid) + sum(cpu_seconds(c) for c in children)


def post_reports(port: int, tokens: list[str], plan: list[list[Report]]) -> dict[str, Any]:
    clients = len(plan)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: list[dict[str, int]] = [defaultdict(int) for _ in range(clients)]
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def send(conn: http.client.HTTPConnection, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        conn.request("POST", PATH, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, (json.loads(data) if data else {})

    def work(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        auth = f"Bearer {tokens[c]}"
        barrier.wait()
        lat, st = latencies[c], statuses[c]
        for number, seq, good, key in plan[c]:
            body = json.dumps({"work_order": number, "operation": seq, "good": good, "scrap": 0}).encode()
            headers = {"Authorization": auth, "Idempotency-Key": key, "Content-Type": "application/json"}
            for attempt in ("first", "retry"):
                t0 = time.perf_counter()
                try:
                    status, out = send(conn, headers, body)
                except (OSError, http.client.HTTPException) as exc:
                    errors.append(f"{key} {attempt}: {type(exc).__name__}: {exc}")
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    continue
                lat.append(time.perf_counter() - t0)
                want = (201, False) if attempt == "first" else (200, True)
                got = (status, out.get("replayed"))
                st[f"{attempt} {status}"] += 1
                if got != want and len(errors) < 1000:
                    errors.append(f"{key} {attempt}: {status} {json.dumps(out)[:200]}")
        conn.close()

    pool = [threading.Thread(target=work, args=(c,)) for c in range(clients)]
    for th in pool:
        th.start()
    sampler = LoadSampler()
    sampler.start()
    barrier.wait()
    t0 = time.perf_counter()
    for th in pool:
        th.join()
    wall = time.perf_counter() - t0
    sampler.stop.set()
    all_lat = sorted(x for lat in latencies for x in lat)
    q = statistics.quantiles(all_lat, n=100)
    total: dict[str, int] = defaultdict(int)
    for st in statuses:
        for k, v in st.items():
            total[k] += v
    reports = sum(len(p) for p in plan)
    return {"reports": reports, "requests": len(all_lat), "wall_s": wall, "rate": reports / wall,
            "request_rate": len(all_lat) / wall, "p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000,
            "p99_ms": q[98] * 1000, "max_ms": all_lat[-1] * 1000, "statuses": dict(sorted(total.items())),
            "errors": errors, "load": sampler.samples}


def check_database(url: str, plan: list[list[Report]]) -> dict[str, Any]:
    """Lost and double-counted reports, from the database: report rows per key, and each
    operation's good against its distinct reports and against what the clients sent."""
    from sqlalchemy import create_engine

    sent: dict[tuple[str, int], float] = defaultdict(float)
    keys = set()
    for client in plan:
        for number, seq, good, key in client:
            sent[(number, seq)] += good
            keys.add(key)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT client_key, count(*) FROM completion_reports "
                                     "WHERE client_key LIKE 'http-%' GROUP BY client_key")).all()
            ops = conn.execute(text(
                "SELECT w.number, o.seq, o.good_qty, "
                "  (SELECT coalesce(sum(r.good_qty), 0) FROM completion_reports r "
                "   WHERE r.work_order_id = w.id AND r.operation_seq = o.seq) "
                "FROM work_order_operations o JOIN work_orders w ON w.id = o.work_order_id")).all()
    finally:
        engine.dispose()
    stored = {k: n for k, n in rows}
    lost = len(keys - set(stored))
    doubled = sum(1 for n in stored.values() if n > 1) + len(set(stored) - keys)
    mismatch = [(number, seq, good, total) for number, seq, good, total in ops if abs(good - total) > 1e-6]
    unsent = [(number, seq, good) for number, seq, good, _total in ops
              if abs(good - sent.get((number, seq), 0.0)) > 1e-6]
    return {"keys": len(keys), "rows": sum(stored.values()), "lost": lost, "doubled": doubled,
            "operations": len(ops), "good_not_sum_of_reports": len(mismatch), "good_not_what_was_sent": len(unsent),
            "examples": (mismatch + unsent)[:5]}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench http_reports", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-admin-url", default=ADMIN_URL, help=f"PostgreSQL server (default {ADMIN_URL})")
    parser.add_argument("--items", type=int, default=300, help="items of the generated plant (default 300)")
    parser.add_argument("--periods", type=int, default=8, help="calendar periods (default 8)")
    parser.add_argument("--reports", type=int, default=6000, help="distinct completion reports (default 6000)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients (default 16)")
    parser.add_argument("--threads", type=int, default=8, help="server threads per process (default 8)")
    parser.add_argument("--processes", type=int, default=2,
                        help="server worker processes (default 2, one per core)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="solver time limit, s (default 120)")
    parser.add_argument("--no-analyze", action="store_true",
                        help="do not gather the planner's statistics after the setup (ANALYZE)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)
    from lpms.services import users
    from lpms.services.release import release_work_orders

    options = SolverOptions(time_limit_s=args.time_limit, threads=1)
    with temp_database(args.pg_admin_url, args.keep) as url:
        db = open_db(url)
        try:
            t0 = time.perf_counter()
            setup_plant(db, generated_plant(args.items), args.periods, Costs(late=100, inventory=1, overtime=1),
                        options)
            released = release_work_orders(db.uow(), fence_periods=FENCE, actor=ACTOR, now=NOW)
            wos = list(released.work_orders)
            receive_components(db, wos)
            users.add_user(db.uow(), "bench-supervisor", "supervisor", "bench-password-1", actor=ACTOR, now=NOW)
            tokens = [users.create_token(db.uow(), "bench-supervisor", name=f"client {c}", actor=ACTOR,
                                         now=NOW).secret for c in range(args.clients)]
            print(f"plant of {args.items} items planned, {len(wos):,} work orders released in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
        finally:
            db.dispose()
        if not args.no_analyze:
            analyze(url)
        plan = make_plan(wos, args.reports, args.clients)
        port = free_port()
        server = start_server(url, port, args.threads, args.processes)
        try:
            before = uptime()
            cpu0 = (server_cpu(server.pid), time.process_time(), cpu_seconds(comm_prefix="postgres"))
            rep = post_reports(port, tokens, plan)
            cpu1 = (server_cpu(server.pid), time.process_time(), cpu_seconds(comm_prefix="postgres"))
            after = uptime()
        finally:
            stop_server(server)
        check = check_database(url, plan)
    load = rep["load"]
    load_text = (f"load average (1 min) during the run {min(load):.2f}-{max(load):.2f}" if load else "")
    ok_rate, ok_p95 = rep["rate"] >= 300, rep["p95_ms"] < 100
    ok_count = check["lost"] == 0 and check["doubled"] == 0 and not check["good_not_sum_of_reports"] \
        and not check["good_not_what_was_sent"] and not rep["errors"]
    server_kind = f"granian {args.processes} processes x {args.threads} threads"
    rows = [
        ("reports/s (distinct)", f"{rep['rate']:,.0f} ({rep['reports']:,} reports in {rep['wall_s']:.1f} s; "
         f"{rep['request_rate']:,.0f} requests/s with the retries)", ">= 300 " + ("met" if ok_rate else "**missed**")),
        ("latency per request", f"p50 {rep['p50_ms']:.1f} ms, p95 {rep['p95_ms']:.1f} ms, p99 {rep['p99_ms']:.1f} ms, "
         f"max {rep['max_ms']:.0f} ms", "p95 < 100 ms " + ("met" if ok_p95 else "**missed**")),
        ("answers", ", ".join(f"{k}: {v:,}" for k, v in rep["statuses"].items()) + f"; {len(rep['errors'])} unexpected",
         "first 201, retry 200 replayed"),
        ("database check", f"{check['keys']:,} keys, {check['rows']:,} report rows, {check['lost']} lost, "
         f"{check['doubled']} double-counted; {check['operations']:,} operations: {check['good_not_sum_of_reports']} "
         f"with good != sum of reports, {check['good_not_what_was_sent']} != what was sent",
         "0 lost or double-counted " + ("met" if ok_count else "**missed**")),
        ("CPU per request", "server {:.2f} ms, clients {:.2f} ms, PostgreSQL {:.2f} ms".format(
            *((b - a) * 1000 / max(rep["requests"], 1) for a, b in zip(cpu0, cpu1, strict=True))), ""),
        ("setup", f"{args.clients} clients, {server_kind}, {len(wos):,} work orders "
         f"({args.items}-item generated plant), PostgreSQL", ""),
        ("machine load", f"{load_text}; before: `{before.split('load average:')[-1].strip()}`, after: "
         f"`{after.split('load average:')[-1].strip()}` (2 cores, shared)", ""),
    ]
    print()
    print("| measure | measured | target |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if rep["errors"]:
        print("first unexpected answers:", *rep["errors"][:5], sep="\n  ")
    if check["examples"]:
        print("first mismatched operations:", *check["examples"], sep="\n  ")
    return 0 if ok_count else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
