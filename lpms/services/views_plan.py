"""Read-only views of plan runs for the planner and management screens and the API: a run's
plan (production per interval and item, work-center load against capacity, buffers, the
levelled sequence per period) with its tables and chart series, two runs compared (the
re-plan diff, ``lpms.services.replan.plan_diff``, with the objectives side by side and the
changes per item), the Pareto points of two objectives, and fluctuation events in words.

Nothing here writes or reads the clock; each function owns its short read transactions.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from lpms.db import models as m
from lpms.db.replan_repo import DiffRow
from lpms.db.repositories import PlanRunRecord
from lpms.db.session import SqlAlchemyUnitOfWork
from lpms.domain.enums import JobRequestStatus, Objective, PlanRunStatus
from lpms.domain.errors import InvalidInput
from lpms.services import fluctuations, jobs, replan
from lpms.services.views import levelled_lots

OBJECTIVES = tuple(o.value for o in Objective)
WITH_PLAN = (PlanRunStatus.SUCCEEDED, PlanRunStatus.APPROVED, PlanRunStatus.SUPERSEDED)
ACTIVE = (PlanRunStatus.QUEUED.value, PlanRunStatus.RUNNING.value)


def run_dict(r: PlanRunRecord) -> dict[str, Any]:
    """A run for screens and the API: objectives are the solver's values by name; ``message``
    is the first line of the run's message, ``notes`` the rest."""
    lines = r.message.split("\n")
    return {"id": r.id, "status": r.status.value, "mode": r.mode.value, "parameters": r.parameters,
            "objectives": (r.objectives or {}).get("values", {}), "message": lines[0], "notes": lines[1:],
            "created_by": r.created_by, "created_at": r.created_at, "started_at": r.started_at,
            "finished_at": r.finished_at}


def plan_runs(uow: SqlAlchemyUnitOfWork, limit: int = 200) -> list[dict[str, Any]]:
    """The newest runs first."""
    with uow:
        ids = list(uow.session.scalars(select(m.PlanRun.id).order_by(m.PlanRun.id.desc()).limit(limit)))
        return [run_dict(uow.plan_runs.get(i)) for i in ids]


def plan_run(uow: SqlAlchemyUnitOfWork, run_id: int) -> dict[str, Any]:
    """One run. Raises NotFound."""
    with uow:
        return run_dict(uow.plan_runs.get(run_id))


def is_active(run: dict[str, Any]) -> bool:
    """Queued or running: the jobs process has not finished it yet."""
    return run["status"] in ACTIVE


# --- one run's plan ----------------------------------------------------------------------


@dataclass
class PlanView:
    run: dict[str, Any]
    periods: list[int]
    # (interval, item) -> production per period
    production: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    inventory: dict[str, list[float]] = field(default_factory=dict)  # stocked items
    backlog: dict[str, list[float]] = field(default_factory=dict)
    # work center -> series per period: load, regular, overtime (used), cap_regular, cap_overtime,
    # cap_total (regular + overtime capacity)
    load: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    safety: dict[str, float] = field(default_factory=dict)
    # period -> {"lots": levelled lots, "units": whole units, "mix": {head item: units}}
    levelled: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [f"P{t}" for t in self.periods]


LOAD_SERIES = ("load", "regular", "overtime", "cap_regular", "cap_overtime", "cap_total")


def interval_head(interval: str) -> str:
    """The head item of an interval (its code is ``I:<head>``, lpms.planning.network)."""
    return interval.removeprefix("I:")


def plan_view(uow: SqlAlchemyUnitOfWork, run_id: int, *, levelled: bool = True) -> PlanView:
    """A run's plan by period. Raises NotFound."""
    with uow:
        run = run_dict(uow.plan_runs.get(run_id))
        s = uow.session
        lines = s.execute(select(m.PlanLine.period_seq, m.PlanLine.interval_code, m.PlanLine.production,
                                 m.PlanLine.inventory, m.PlanLine.backlog, m.Item.code)
                          .join(m.Item, m.Item.id == m.PlanLine.item_id)
                          .where(m.PlanLine.plan_run_id == run_id)).tuples().all()
        loads = s.execute(select(m.PlanLoad.period_seq, m.PlanLoad.load_min, m.PlanLoad.regular_min,
                                 m.PlanLoad.overtime_min, m.WorkCenter.code).join(m.WorkCenter)
                          .where(m.PlanLoad.plan_run_id == run_id)).tuples().all()
        cap_rows = s.execute(select(m.WorkCenter.code, m.Period.seq, m.Capacity.regular_min, m.Capacity.overtime_min)
                             .join(m.WorkCenter, m.WorkCenter.id == m.Capacity.work_center_id)
                             .join(m.Period, m.Period.id == m.Capacity.period_id)).tuples().all()
        safety = dict(s.execute(select(m.Item.code, m.Item.safety_stock).where(m.Item.stocked.is_(True))).tuples().all())
    n = max([ln[0] for ln in lines] + [ld[0] for ld in loads] + [0])
    view = PlanView(run, list(range(1, n + 1)), safety=safety)
    for seq, interval, production, inventory, backlog, code in lines:
        t = seq - 1
        if interval and production:
            view.production.setdefault((interval, code), [0.0] * n)[t] = production
        if code in safety:
            view.inventory.setdefault(code, [0.0] * n)[t] = inventory
        if backlog:
            view.backlog.setdefault(code, [0.0] * n)[t] = backlog
    cap = {(wc, seq): (reg, ot) for wc, seq, reg, ot in cap_rows}
    for seq, load_min, regular_min, overtime_min, wc in loads:
        t = seq - 1
        row = view.load.setdefault(wc, {k: [0.0] * n for k in LOAD_SERIES})
        row["load"][t], row["regular"][t], row["overtime"][t] = load_min, regular_min, overtime_min
        reg, ot = cap.get((wc, seq), (0.0, 0.0))
        row["cap_regular"][t], row["cap_overtime"][t], row["cap_total"][t] = reg, ot, reg + ot
    view.production = dict(sorted(view.production.items()))
    view.load = dict(sorted(view.load.items()))
    view.inventory = dict(sorted(view.inventory.items()))
    if levelled:
        heads = _interval_heads(view)
        for t in view.periods:
            mix = {heads[iv]: float(round(q[t - 1])) for (iv, item), q in view.production.items()
                   if heads.get(iv) == item and q[t - 1] >= 0.5}  # levelling sequences whole units
            if mix:
                view.levelled[t] = {"lots": levelled_lots(mix), "units": round(sum(mix.values())),
                                    "mix": {k: round(v) for k, v in sorted(mix.items())}}
    return view


def _interval_heads(view: PlanView) -> dict[str, str]:
    """Interval code -> its head item: ``I:<head>`` when that item is a member, else the member
    whose production is largest."""
    members: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for (iv, item), q in view.production.items():
        members[iv].append((item, sum(q)))
    heads = {}
    for iv, rows in members.items():
        named = [item for item, _ in rows if item == interval_head(iv)]
        heads[iv] = named[0] if named else max(rows, key=lambda r: (r[1], r[0]))[0]
    return heads


def plan_table(view: PlanView, what: str) -> tuple[list[str], list[list[Any]]]:
    """The numbers behind a run's page as a table (header, rows) for its CSV download:
    ``load`` (work center, period, load and capacity), ``buffers`` (stocked items' inventory
    and safety stock) or ``plan`` (production per interval, item and period)."""
    if what == "load":
        return (["work_center", "period", "load_min", "regular_min", "overtime_min", "capacity_regular_min",
                 "capacity_overtime_min"],
                [[wc, t, row["load"][t - 1], row["regular"][t - 1], row["overtime"][t - 1], row["cap_regular"][t - 1],
                  row["cap_overtime"][t - 1]] for wc, row in view.load.items() for t in view.periods])
    if what == "buffers":
        return (["item", "period", "inventory", "safety_stock"],
                [[item, t, inv[t - 1], view.safety.get(item, 0.0)] for item, inv in view.inventory.items()
                 for t in view.periods])
    if what == "plan":
        return (["interval", "item", "period", "production"],
                [[iv, item, t, q[t - 1]] for (iv, item), q in view.production.items() for t in view.periods])
    raise InvalidInput(f"table {what!r}: one of load, buffers, plan")


def plan_run_detail(uow: SqlAlchemyUnitOfWork, run_id: int) -> dict[str, Any]:
    """A run with its plan for the API: ``{...run, plan: [{interval, item, period, production}]
    (cells with production), work_center_load: [{work_center, period, load, regular, overtime,
    cap_regular, cap_overtime, cap_total}]}``. Raises NotFound."""
    view = plan_view(uow, run_id, levelled=False)
    plan = [{"interval": iv, "item": item, "period": t, "production": q[t - 1]}
            for (iv, item), q in view.production.items() for t in view.periods if q[t - 1]]
    load = [{"work_center": wc, "period": t, **{k: v[t - 1] for k, v in row.items()}}
            for wc, row in view.load.items() for t in view.periods]
    return {**view.run, "plan": plan, "work_center_load": load}


# --- two runs compared -------------------------------------------------------------------


def _row(r: DiffRow) -> dict[str, Any]:
    return {"interval": r.interval, "item": interval_head(r.interval), "period": r.period, "old": r.old,
            "new": r.new, "change": r.change, "frozen": r.frozen}


def _diff_parts(diff: replan.PlanDiff, largest: int) -> dict[str, Any]:
    changed = {r.interval for r in diff.changed}
    grid: dict[str, dict[int, dict[str, Any]]] = {}
    for r in diff.rows:
        if r.interval in changed:
            grid.setdefault(r.interval, {})[r.period] = _row(r)
    return {"periods": list(range(diff.periods[0], diff.periods[1] + 1)) if diff.periods else [],
            "largest": [_row(r) for r in diff.largest(largest)], "grid": dict(sorted(grid.items()))}


def diff_view(uow: SqlAlchemyUnitOfWork, run_a: int, run_b: int, *, largest: int = 10) -> dict[str, Any]:
    """The re-plan diff of two runs (``replan.plan_diff``, docs/replan.md "The diff") for a page:
    ``{diff: plan_diff_dict, periods: [first..last], largest: [rows], grid: {interval: {period:
    row}}}`` (the grid holds the intervals with a change; rows also name the interval's head
    ``item``). Raises NotFound."""
    diff = replan.plan_diff(uow, run_a, run_b)
    return {"diff": replan.plan_diff_dict(diff), **_diff_parts(diff, largest)}


def compare_runs(uow: SqlAlchemyUnitOfWork, a: int, b: int, *, page: bool = False) -> dict[str, Any]:
    """Two runs side by side: ``{a, b: runs, objectives: [{objective, a, b, change}], items:
    [{interval, item, a, b, change, moved, periods_changed}], diff: plan_diff_dict}``; with
    ``page`` also the parts of ``diff_view`` (periods, largest, grid).

    The diff is the re-plan diff (``replan.plan_diff``): production of each interval's head item
    per period on the periods both runs plan, run b's frozen periods not counted as moved.
    ``items`` sums it per interval (its head item): total production in a and b over those
    periods, the net change and the units moved (sum of |change|), largest first; the items'
    ``moved`` add up to the diff's ``units_moved``. Raises NotFound."""
    run_a, run_b = plan_run(uow, a), plan_run(uow, b)
    diff = replan.plan_diff(uow, a, b)
    names = [o for o in OBJECTIVES if o in run_a["objectives"] or o in run_b["objectives"]]
    names += sorted((set(run_a["objectives"]) | set(run_b["objectives"])) - set(names))
    objectives = []
    for name in names:
        va, vb = run_a["objectives"].get(name), run_b["objectives"].get(name)
        change = None if va is None or vb is None else round(float(vb) - float(va), 6) + 0.0
        objectives.append({"objective": name, "a": va, "b": vb, "change": change})
    per: dict[str, dict[str, Any]] = {}
    for r in diff.rows:
        row = per.setdefault(r.interval, {"interval": r.interval, "item": interval_head(r.interval), "a": 0.0,
                                          "b": 0.0, "change": 0.0, "moved": 0.0, "periods_changed": 0})
        row["a"] += r.old
        row["b"] += r.new
        row["change"] += r.change
        if r.change:
            row["periods_changed"] += 1
            if not r.frozen:
                row["moved"] += abs(r.change)
    items = [{**row, **{k: round(row[k], 6) + 0.0 for k in ("a", "b", "change", "moved")}} for row in per.values()]
    items.sort(key=lambda row: (-row["moved"], -abs(row["change"]), row["interval"]))
    out = {"a": run_a, "b": run_b, "objectives": objectives, "items": items, "diff": replan.plan_diff_dict(diff)}
    return {**out, **_diff_parts(diff, 10)} if page else out


def pareto_points(uow: SqlAlchemyUnitOfWork, x: str, y: str) -> list[dict[str, Any]]:
    """Every run with a plan (succeeded, approved, superseded) as a point ``{id, x, y, status,
    front}`` of objectives x and y; ``front`` marks the runs no other run beats on both.
    Raises InvalidInput unless x and y are two different objectives."""
    if x not in OBJECTIVES or y not in OBJECTIVES or x == y:
        raise InvalidInput(f"Pareto chart: choose two different objectives of {', '.join(OBJECTIVES)}")
    with uow:
        runs = list(uow.session.scalars(select(m.PlanRun).where(m.PlanRun.status.in_(WITH_PLAN))
                                        .order_by(m.PlanRun.id)))
        points = []
        for r in runs:
            values = (r.objectives or {}).get("values", {})
            if x in values and y in values:
                points.append({"id": r.id, "x": float(values[x]), "y": float(values[y]), "status": r.status.value})
    xy = [(float(p["x"]), float(p["y"])) for p in points]
    for p, (px, py) in zip(points, xy):
        p["front"] = not any(qx <= px and qy <= py and (qx < px or qy < py) for qx, qy in xy)
    return points


# --- fluctuations and re-plans ------------------------------------------------------------


def fluctuation_events(uow: SqlAlchemyUnitOfWork, *, limit: int = 200) -> list[dict[str, Any]]:
    """Stored fluctuation events, newest first: ``fluctuation_dict`` plus ``text`` (in words)
    and ``at`` (when detected)."""
    return [{**fluctuations.fluctuation_dict(e), "text": fluctuations.describe(e), "at": e.detected_at}
            for e in fluctuations.list_fluctuations(uow, limit=limit)]


def replans(uow: SqlAlchemyUnitOfWork, *, limit: int = 50) -> list[dict[str, Any]]:
    """The latest re-plans, newest first: the ReplanRecord's fields plus its run's ``status``
    and ``message`` (first line; why a failed or infeasible re-plan has no plan)."""
    records = replan.list_replans(uow, limit=limit)
    with uow:
        runs = {r.plan_run_id: uow.plan_runs.get(r.plan_run_id) for r in records}
    return [{**dataclasses.asdict(r), "status": runs[r.plan_run_id].status.value,
             "message": runs[r.plan_run_id].message.split("\n")[0]} for r in records]


REPLAN_JOB = "rolling_replan"  # the job that re-plans from the plant's real state


def open_replan_requests(uow: SqlAlchemyUnitOfWork) -> list[Any]:
    """Requests to run the re-plan job that the jobs process has not finished (JobRequestRecord)."""
    return [r for r in jobs.list_job_requests(uow, limit=50)
            if r.job_id == REPLAN_JOB and r.status in (JobRequestStatus.PENDING, JobRequestStatus.RUNNING)]
