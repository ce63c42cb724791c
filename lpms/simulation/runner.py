"""Runs: one (plant, variability, seed, policy) simulation, its measures, and experiments of many
seeds in parallel processes with per-policy means, 95% confidence intervals and paired
differences (docs/simulation.md)."""
from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol, TextIO

from lpms.domain.errors import InvalidInput
from lpms.simulation.mrp import MrpPolicy, PolicyStats
from lpms.simulation.plants import SimPlant, load_plant
from lpms.simulation.world import VARIABILITY, PeriodLog, Scenario, World, make_scenario

MRP_PADDINGS = (0, 1, 2)
POLICIES = ("mrp", "lpms", "lpms-static")
TIE_ON_TIME = 0.001  # on-time rates closer than this are a tie (then lower inventory wins)


class Policy(Protocol):
    name: str

    def start(self, world: World) -> None: ...

    def plan(self, world: World, t: int) -> None: ...

    def observe(self, world: World, log: PeriodLog) -> None: ...

    def close(self) -> PolicyStats: ...


@dataclass(frozen=True)
class RunConfig:
    plant: str
    periods: int = 52
    warmup: int = 8
    horizon: int = 12
    variability: str = "normal"
    seed: int = 1
    policy: str = "mrp+0"  # mrp+0, mrp+1, mrp+2, lpms, lpms-static
    fence: int = 2  # LPMS: release fence in periods (the re-plan at t decides t+1; t was released at t-1)
    purchase_safety_lead: int = 1  # LPMS: purchases planned to arrive this many periods before their need
    safety_z: float = 2.0  # LPMS: safety stocks of z measured standard deviations (products: demand error; materials: use)
    safety_window: int = 13  # LPMS: periods the safety stock review measures over
    min_interval_lead: int = 1  # LPMS: an interval feeding another takes at least this many periods (plan parameter)


@dataclass
class RunResult:
    config: RunConfig
    measures: dict[str, float]
    series: dict[str, list[float]]
    stats: PolicyStats
    seconds: float
    world: World | None = field(default=None, repr=False)


def expand_policies(names: Iterable[str]) -> list[str]:
    """``mrp`` is the three paddings; ``lpms`` and ``lpms-static`` themselves."""
    out: list[str] = []
    for name in names:
        name = name.strip()
        if name == "mrp":
            out += [f"mrp+{p}" for p in MRP_PADDINGS]
        elif name.startswith("mrp+") and name[4:].isdigit() or name in ("lpms", "lpms-static"):
            out.append(name)
        else:
            raise InvalidInput(f"policy {name!r}: expected mrp, mrp+N, lpms or lpms-static")
    return list(dict.fromkeys(out))


def make_policy(name: str, plant: SimPlant, horizon: int, workdir: Path | None, *, fence: int = 2,
                purchase_safety_lead: int = 1, safety_z: float = 2.0, safety_window: int = 13,
                min_interval_lead: int = 1) -> Policy:
    if name.startswith("mrp+"):
        return MrpPolicy(plant, int(name[4:]), horizon)
    from lpms.simulation.lpms_policy import LpmsPolicy

    return LpmsPolicy(plant, horizon=horizon, static=name == "lpms-static", workdir=workdir, fence=fence,
                      purchase_safety_lead=purchase_safety_lead, safety_z=safety_z, safety_window=safety_window,
                      min_interval_lead=min_interval_lead)


def simulate(plant: SimPlant, scenario: Scenario, policy: Policy,
             on_period: Callable[[World, int], None] | None = None) -> World:
    """Run the closed loop: arrivals, the policy's decisions, the floor, shipments, the policy's
    reports; the world checks its invariants every period."""
    world = World(plant, scenario)
    policy.start(world)
    for t in range(scenario.periods):
        log = world.begin_period(t)
        policy.plan(world, t)
        world.execute(t)
        world.ship(t)
        policy.observe(world, log)
        world.end_period(t)
        if on_period is not None:
            on_period(world, t)
    return world


def measures(world: World, stats: PolicyStats, warmup: int) -> tuple[dict[str, float], dict[str, list[float]]]:
    """The run's measures over the periods after the warm-up, and per-period series."""
    T = world.scenario.periods
    window = range(warmup, T)
    lines = [o for o in world.orders if o.due in window and not o.cancelled(o.due)]
    on_time = sum(1 for o in lines if world.completed_at.get(o.number, T + 1) <= o.due)
    ordered = sum(o.quantity_at(o.due) for o in lines)
    by_due = sum(min(world.shipped_by_due.get(o.number, 0.0), o.quantity_at(o.due)) for o in lines)
    recs = [r for r in world.records if r.period in window]
    n = max(len(recs), 1)
    kit = [ok for t, ok in world.kit_checks if t in window]
    levels = sorted({lv for r in recs for lv in r.value_by_level})
    late_jobs = sum(1 for j in world.jobs if j.late_counted and j.due in window)
    m: dict[str, float] = {
        "on_time": on_time / len(lines) if lines else float("nan"),
        "fill_rate": by_due / ordered if ordered else float("nan"),
        "order_lines": float(len(lines)),
        "inventory_units_avg": sum(r.inventory_units for r in recs) / n,
        "inventory_units_peak": max((r.inventory_units for r in recs), default=0.0),
        "inventory_value_avg": sum(r.inventory_value for r in recs) / n,
        "inventory_value_peak": max((r.inventory_value for r in recs), default=0.0),
        "overtime_min": sum(r.overtime_min for r in recs),
        "kit_rate": sum(kit) / len(kit) if kit else float("nan"),
        "nervousness": sum(stats.nervousness) / len(stats.nervousness) if stats.nervousness else 0.0,
        "replans": float(stats.replans),
        "wip_units_avg": sum(r.wip_units for r in recs) / n,
        "wip_value_avg": sum(r.wip_value for r in recs) / n,
        "expedites": float(late_jobs),
        "backlog_units_avg": sum(r.backlog_units for r in recs) / n,
        "jobs_released": float(sum(1 for j in world.jobs if j.start in window)),
    }
    for lv in levels:
        m[f"inventory_value_level{lv}_avg"] = sum(r.value_by_level.get(lv, 0.0) for r in recs) / n
    series = {
        "on_time": [r.lines_on_time / r.lines_due if r.lines_due else float("nan") for r in world.records],
        "inventory_value": [r.inventory_value for r in world.records],
        "backlog_units": [r.backlog_units for r in world.records],
    }
    return m, series


def run_one(config: RunConfig, plant: SimPlant | None = None, keep_world: bool = False,
            workdir: Path | None = None) -> RunResult:
    plant = plant or load_plant(config.plant)
    if config.variability not in VARIABILITY:
        raise InvalidInput(f"variability {config.variability!r}: expected one of {', '.join(VARIABILITY)}")
    started = time.perf_counter()
    scenario = make_scenario(plant, VARIABILITY[config.variability], config.periods, config.horizon, config.seed)
    with tempfile.TemporaryDirectory(prefix="lpms-sim-", dir=workdir or _fast_tmp()) as tmp:
        policy = make_policy(config.policy, plant, config.horizon, Path(tmp), fence=config.fence,
                             purchase_safety_lead=config.purchase_safety_lead, safety_z=config.safety_z,
                             safety_window=config.safety_window, min_interval_lead=config.min_interval_lead)
        world = simulate(plant, scenario, policy)
        stats = policy.close()
    m, series = measures(world, stats, config.warmup)
    return RunResult(config, m, series, stats, time.perf_counter() - started, world if keep_world else None)


def _fast_tmp() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _run_task(config: RunConfig) -> RunResult:
    return run_one(config)


def run_experiment(configs: Sequence[RunConfig], jobs: int = 1,
                   progress: Callable[[int, int, RunResult], None] | None = None) -> list[RunResult]:
    """Run every configuration (``jobs`` parallel processes); results in the configurations' order."""
    results: dict[int, RunResult] = {}
    if jobs <= 1:
        for k, c in enumerate(configs):
            results[k] = _run_task(c)
            if progress:
                progress(len(results), len(configs), results[k])
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("fork")) as pool:
            futures = {pool.submit(_run_task, c): k for k, c in enumerate(configs)}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                if progress:
                    progress(len(results), len(configs), results[futures[fut]])
    return [results[k] for k in range(len(configs))]


class ProgressBar:
    """A tqdm progress bar on stderr over an experiment's runs (stdout stays for the results):
    call it with ``(done, total, result)`` after each run; it closes itself at the last run."""

    def __init__(self, total: int, *, file: TextIO | None = None, disable: bool = False) -> None:
        from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs in requirements.lock

        self.total = total
        self.bar = tqdm(total=total, unit="run", desc="simulate", file=file if file is not None else sys.stderr,
                        disable=disable, dynamic_ncols=True, leave=True, mininterval=0, miniters=1)

    def __call__(self, done: int, total: int, result: RunResult) -> None:
        c = result.config
        self.bar.set_postfix_str(f"last: seed {c.seed} {c.policy}", refresh=False)
        self.bar.update(done - self.bar.n)
        if done >= self.total:
            self.close()

    def close(self) -> None:
        self.bar.close()


_bars: dict[float, ProgressBar] = {}


def progress_line(done: int, total: int, result: RunResult, started: float) -> None:
    """The experiment's progress bar on stderr (tqdm), one per experiment (``started`` tells
    experiments apart); closed after its last run."""
    bar = _bars.get(started)
    if bar is None:
        bar = _bars[started] = ProgressBar(total)
    bar(done, total, result)
    if done >= total:
        _bars.pop(started, None)


# --- statistics ------------------------------------------------------------------------

def mean_ci(values: Sequence[float]) -> dict[str, float]:
    """Mean and 95% confidence interval (Student t) of the finite values."""
    xs = [v for v in values if not math.isnan(v)]
    n = len(xs)
    if n == 0:
        return {"mean": float("nan"), "lo": float("nan"), "hi": float("nan"), "n": 0}
    mean = sum(xs) / n
    if n == 1:
        return {"mean": mean, "lo": float("nan"), "hi": float("nan"), "n": 1}
    from scipy.stats import t as student

    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = float(student.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "n": n}


KEY_MEASURES = ("on_time", "fill_rate", "inventory_value_avg", "inventory_units_avg", "inventory_value_peak",
                "overtime_min", "kit_rate", "nervousness", "wip_units_avg", "expedites", "backlog_units_avg")


def summarise(results: Sequence[RunResult]) -> dict[str, Any]:
    """Per policy: mean and 95% CI of every measure; the best MRP padding (highest on-time rate,
    a tie within 0.001 goes to the lower average inventory value); paired differences (same
    seed) of every other policy against that best MRP."""
    by_policy: dict[str, dict[int, RunResult]] = {}
    for r in results:
        by_policy.setdefault(r.config.policy, {})[r.config.seed] = r
    names = sorted({k for r in results for k in r.measures})
    policies = {p: {k: mean_ci([r.measures.get(k, float("nan")) for r in runs.values()]) for k in names}
                for p, runs in by_policy.items()}
    mrps = [p for p in by_policy if p.startswith("mrp+")]
    best = None
    if mrps:
        best = mrps[0]
        for p in mrps[1:]:
            a, b = policies[p]["on_time"]["mean"], policies[best]["on_time"]["mean"]
            if a > b + TIE_ON_TIME or (abs(a - b) <= TIE_ON_TIME and policies[p]["inventory_value_avg"]["mean"]
                                       < policies[best]["inventory_value_avg"]["mean"]):
                best = p
    paired: dict[str, dict[str, dict[str, float]]] = {}
    if best is not None:
        for p, runs in by_policy.items():
            if p.startswith("mrp+"):
                continue
            seeds = sorted(set(runs) & set(by_policy[best]))
            diff: dict[str, dict[str, float]] = {}
            for k in names:
                d = [runs[s].measures.get(k, float("nan")) - by_policy[best][s].measures.get(k, float("nan"))
                     for s in seeds]
                diff[k] = mean_ci(d)
                base = policies[best][k]["mean"]
                diff[k]["relative"] = diff[k]["mean"] / base if base and not math.isnan(base) else float("nan")
            paired[f"{p} - {best}"] = diff
    first = results[0].config if results else None
    return {"config": None if first is None else {"plant": first.plant, "periods": first.periods,
                                                   "warmup": first.warmup, "horizon": first.horizon,
                                                   "variability": first.variability,
                                                   "seeds": sorted({r.config.seed for r in results})},
            "policies": policies, "best_mrp": best, "paired": paired}
