"""The LPMS policy: the real LPMS services on a throwaway SQLite database drive the simulated floor.

At the start: the plant is imported through the CSV importer (items, BOM, routings, work
centers, a weekly calendar covering the run plus the horizon with the plant's capacity pattern,
the forecast per period, the orders known, the opening stock).

Every period, at its start (Monday 06:00 plant time, UTC):

1. purchases that arrived are received (``receive_stock``); new, changed and cancelled customer
   orders are imported (``import_texts``, as an ERP interface would);
2. detection (``detect_fluctuations``) and the re-plan: the weekly rolling re-plan, and one on
   a triggering fluctuation (``replan``, minimal change, auto-approved and released to the
   fence). Until ``lpms.services.replan`` exists the re-plan is a plan run from the database
   (``run_plan``) that is approved (``approve_plan_run``) -- an interim that plans from the
   forecast and the opening stock, not from the real state (stated in the run's notes);
3. ``release_work_orders`` with the fence; every new work order becomes a job on the floor
   (its operations and kit as released);
4. materials are bought lot-for-lot for the approved plan's interval starts (inside the fence:
   the released work orders' kits) at the suppliers' nominal lead times.

At the end of the period (Sunday 18:00): every operation's good and scrap units are reported
(``report_completion``, which backflushes the kit and books the output), downtime from
breakdowns (``report_downtime``), shipments (``ship_order``); a work order the floor finished
short (scrap) is short-closed (``close_work_order``). The ledger's on-hand then equals the
world's stock (checked when ``check_ledger`` is set).

The static variant plans once (period 1) and only releases from that plan afterwards.
"""
from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import event

from lpms.bootstrap import Database
from lpms.db import migrate
from lpms.db.session import make_engine, session_factory
from lpms.domain.enums import ItemKind, WorkOrderStatus
from lpms.domain.errors import Infeasible, InternalError, LpmsError
from lpms.domain.values import Costs
from lpms.planning.network import build_graph, divide
from lpms.planning.solver import SolverOptions
from lpms.simulation.mrp import PolicyStats
from lpms.simulation.plants import SimPlant
from lpms.simulation.world import EPS, Job, Operation, PeriodLog, World

ACTOR = "simulation"
PLAN_COSTS = Costs(late=100.0, inventory=1.0, overtime=0.5)


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue()


def _rms(errors: list[float]) -> float:
    """Root-mean-square of the errors (about zero: a bias counts too); 0 for fewer than 3."""
    if len(errors) < 3:
        return 0.0
    return math.sqrt(sum(e * e for e in errors) / len(errors))


def _optional(module: str, name: str) -> Any:
    """A service another part of LPMS provides, or None while it does not exist yet."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


class LpmsPolicy:
    def __init__(self, plant: SimPlant, *, horizon: int = 12, static: bool = False, workdir: Path | None = None,
                 fence: int = 2, check_ledger: bool = False, solver_threads: int = 1,
                 purchase_safety_lead: int = 1, rolling_calendar: bool = True, safety_z: float = 2.0,
                 safety_window: int = 13, min_interval_lead: int = 1) -> None:
        self.plant = plant
        self.min_interval_lead = min_interval_lead
        self.horizon = horizon
        self.static = static
        self.fence = fence
        self.safety_lead = purchase_safety_lead
        self.rolling = rolling_calendar
        self.safety_z = safety_z
        self.safety_window = safety_window
        self.product_safety = {p: plant.item(p).safety_stock for p in plant.products}  # as LPMS holds them
        self.material_safety: dict[str, float] = {}
        self.consumed: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))  # material -> period -> units
        self.bought_for: dict[str, dict[int, float]] = defaultdict(dict)  # material -> period -> need when bought
        self._calendar_end = 0
        self.check_ledger = check_ledger
        self.name = "lpms-static" if static else "lpms"
        self.workdir = workdir
        self.stats = PolicyStats()
        self.options = SolverOptions(time_limit_s=120.0, threads=solver_threads)
        self.division = divide(build_graph(plant.snapshot()))
        self.inputs = {iv.code: iv.inputs for iv in self.division.intervals}
        self.materials = {i.code for i in plant.items if i.kind is ItemKind.MATERIAL}
        self.db: Database | None = None
        self.known_wos: set[str] = set()
        self.jobs: dict[str, Job] = {}
        self.seq_of: dict[str, list[int]] = {}
        self.replan = _optional("lpms.services.replan", "replan")
        self.detect = _optional("lpms.services.fluctuations", "detect_fluctuations")
        self._previous: dict[tuple[str, int], float] | None = None
        self._period_count = 0
        self._report_n = 0
        self.counts: dict[str, int] = defaultdict(int)

    # --- time ------------------------------------------------------------------------

    def period_start(self, t: int) -> dt.date:
        return self.plant.start_date + dt.timedelta(days=self.plant.period_days * t)

    def morning(self, t: int) -> dt.datetime:
        return dt.datetime.combine(self.period_start(t), dt.time(6, 0), tzinfo=dt.UTC)

    def evening(self, t: int) -> dt.datetime:
        day = self.period_start(t) + dt.timedelta(days=self.plant.period_days - 1)
        return dt.datetime.combine(day, dt.time(18, 0), tzinfo=dt.UTC)

    def due_date(self, period: int) -> dt.date:
        return self.period_start(period) + dt.timedelta(days=min(4, self.plant.period_days - 1))

    # --- set-up ----------------------------------------------------------------------

    def start(self, world: World) -> None:
        if self.workdir is None:
            raise InternalError("the LPMS policy needs a work directory for its database")
        url = f"sqlite:///{self.workdir / 'simulation.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)

        @event.listens_for(engine, "connect")
        def _fast(dbapi_connection: Any, _record: Any) -> None:  # a throwaway database: no fsync
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA journal_mode=MEMORY")
            cursor.close()

        self.db = Database(url, engine, session_factory(engine))
        from lpms.services.csv_io import import_texts

        plant, sc = self.plant, world.scenario
        # a rolling calendar, as the plant keeps it (``extend_calendar`` every period): the horizon
        # and the current period, and at least two rounds of the capacity pattern so that the
        # extension finds it; forecasts are imported as periods are added
        pattern = max([len(v) for v in plant.regular_min.values()] + [len(v) for v in plant.overtime_min.values()]
                      + [1])
        n = min(sc.periods + sc.horizon, max(self.horizon + 1, 2 * pattern)) if self.rolling else \
            sc.periods + sc.horizon
        self._calendar_end = n
        texts = {
            "items": self._items_csv(),
            "work_centers": _csv(["code"], [[w] for w in plant.work_centers]),
            "routings": _csv(["item", "sequence", "work_center", "run_min", "setup_min"],
                             [[o.item, o.sequence, o.work_center, o.run_min, o.setup_min] for o in plant.operations]),
            "bom": _csv(["parent", "child", "qty_per"], [[e.parent, e.child, e.qty] for e in plant.bom]),
            "calendar": _csv(["period", "bucket", "start_date", "end_date"],
                             [[t + 1, "week" if plant.period_days == 7 else "day", self.period_start(t),
                               self.period_start(t) + dt.timedelta(days=plant.period_days - 1)] for t in range(n)]),
            "capacity": _csv(["work_center", "period", "regular_min", "overtime_min"],
                             [[w, t + 1, plant.regular(w, t), plant.overtime(w, t)]
                              for w in plant.work_centers for t in range(n)]),
            "forecasts": self._forecasts(world, range(n)),
            "stock": _csv(["item", "on_hand"], [[c, q] for c, q in sorted(plant.on_hand.items()) if q > 0]),
        }
        import_texts(self.db.uow(), texts, actor=ACTOR, now=self.morning(0))

    def _items_csv(self, codes: set[str] | None = None) -> str:
        """The items (all, or ``codes``) as items.csv, products with the safety stock LPMS holds now."""
        return _csv(["code", "kind", "unit", "lead_time_periods", "stocked", "safety_stock", "offset_rule",
                     "backward_window", "forward_window"],
                    [[i.code, i.kind.value, i.unit, i.lead_time, str(i.stocked).lower(),
                      self.product_safety.get(i.code, i.safety_stock), i.offset_rule.value,
                      "" if i.backward_window is None else i.backward_window,
                      "" if i.forward_window is None else i.forward_window]
                     for i in self.plant.items if codes is None or i.code in codes])

    def _review_safety_stocks(self, world: World, t: int, now: dt.datetime) -> None:
        """The planner's safety stock review at the start of period ``t``: ``safety_z`` times the
        root-mean-square error, over the last ``safety_window`` periods (at least 3 measured), of
        what was decided against what happened (0: off):

        - an end product: its demand per period (due in the period, as ordered by then) against
          the forecast; never less than the item's own safety stock; a change is imported into
          LPMS (``items.csv``), whose plans then net to it;
        - a material: its consumption per period against the need the buyer bought for when it
          ordered for that period (plan changes after the purchase, scrap, kits waiting); the buyer
          keeps that much on hand beyond the plan's need (a kit short of a few units of one
          material blocks its whole work order for a period). LPMS's plan is not told: for it the
          buffer is stock on hand it may use."""
        if self.safety_z <= 0 or t < 3:
            return
        assert self.db is not None
        window = range(max(0, t - self.safety_window), t)
        sc = world.scenario
        demand: dict[tuple[str, int], float] = defaultdict(float)
        for o in world.orders:
            if o.due in window and not o.cancelled(o.due):
                demand[(o.item, o.due)] += o.quantity_at(o.due)
        changed = set()
        for p in self.plant.products:
            errors = [demand[(p, d)] - float(sc.forecast[p][d]) for d in window]
            level = max(self.plant.item(p).safety_stock, self._whole(p, self.safety_z * _rms(errors)))
            if abs(level - self.product_safety[p]) >= 1.0 - 1e-9 or (not self.plant.item(p).whole_units
                                                                     and level != self.product_safety[p]):
                self.product_safety[p] = level
                changed.add(p)
        if changed:
            from lpms.services.csv_io import import_texts

            import_texts(self.db.uow(), {"items": self._items_csv(changed)}, actor=ACTOR, now=now)
            self.counts["safety_stock_updates"] += 1
        for m in self.materials:
            used, bought = self.consumed.get(m, {}), self.bought_for.get(m, {})
            errors = [used.get(d, 0.0) - bought[d] for d in window if d in bought]
            self.material_safety[m] = self._whole(m, self.safety_z * _rms(errors))

    def _whole(self, code: str, q: float) -> float:
        return float(math.ceil(q - 1e-9)) if self.plant.item(code).whole_units else round(q, 3)

    def _forecasts(self, world: World, periods: range) -> str:
        sc, days = world.scenario, self.plant.period_days
        return _csv(["item", "start_date", "end_date", "quantity"],
                    [[p, self.period_start(t), self.period_start(t) + dt.timedelta(days=days - 1),
                      round(float(sc.forecast[p][t]), 3)]
                     for p in self.plant.products for t in periods if t < len(sc.forecast[p]) and sc.forecast[p][t] > 0])

    def _roll_calendar(self, world: World, now: dt.datetime) -> None:
        """The rolling horizon: ``extend_calendar`` keeps ``horizon`` periods ahead (repeating the
        capacity pattern); the forecast of the periods added is imported."""
        assert self.db is not None
        from lpms.services.calendar import extend_calendar
        from lpms.services.csv_io import import_texts

        ext = extend_calendar(self.db.uow(), horizon_periods=self.horizon, timezone="UTC", actor=ACTOR, now=now)
        if ext.added:
            added = range(self._calendar_end, ext.last.seq)
            self._calendar_end = ext.last.seq
            text = self._forecasts(world, added)
            if text.count("\n") > 1:
                import_texts(self.db.uow(), {"forecasts": text}, actor=ACTOR, now=now)
            self.counts["calendar_extensions"] += 1

    # --- the period ------------------------------------------------------------------

    def plan(self, world: World, t: int) -> None:
        assert self.db is not None
        from lpms.services.release import approve_plan_run, release_work_orders
        from lpms.services.stock import receive_stock

        now = self.morning(t)
        log = world.logs[-1]
        if self.rolling:
            self._roll_calendar(world, now)
        for pur, qty in log.receipts:
            receive_stock(self.db.uow(), pur.item, qty, actor=ACTOR, now=now, reference=pur.key)
            self.counts["receipts"] += 1
        self._import_orders(world, t, now)
        self._review_safety_stocks(world, t, now)
        if not self.static or t == 0:
            self._replan(world, t, now, "weekly rolling re-plan" if t else "first plan")
        result = release_work_orders(self.db.uow(), fence_periods=self.fence, actor=ACTOR, now=now)
        del approve_plan_run  # approval happens inside _replan
        self.counts["releases"] += 1
        self._take_new_work_orders(world)
        self._buy(world, t)
        del result

    def _import_orders(self, world: World, t: int, now: dt.datetime) -> None:
        from lpms.services.csv_io import import_texts

        rows = []
        for o in world.orders:
            if o.known(t) and (o.arrival == t or (t == 0 and o.arrival < 0)):
                status = "cancelled" if o.cancelled(t) else "open"
                rows.append([o.number, "customer", o.item, o.quantity_at(t), self.due_date(o.due), 0, status])
            elif o.known(t) and o.arrival < t:
                if o.cancelled_at == t or any(p == t for p, _q in o.changes):
                    rows.append([o.number, "customer", o.item, o.quantity_at(t), self.due_date(o.due), 0,
                                 "cancelled" if o.cancelled(t) else "open"])
        if rows:
            import_texts(self.db.uow(), {"orders": _csv(["number", "customer", "item", "quantity", "due_date",  # type: ignore[union-attr]
                                                          "priority", "status"], rows)}, actor=ACTOR, now=now)
            self.counts["order_imports"] += 1

    def _cancel_kit_short(self, world: World, t: int, now: dt.datetime) -> bool:
        """Cancel released, unstarted work orders due to start by now whose kit is not on hand."""
        assert self.db is not None
        from lpms.services.work_orders import cancel_work_order

        cancelled = False
        for job in sorted(world.open_jobs(), key=lambda j: (j.start, j.key)):
            if job.key not in self.jobs or job.started_at is not None or job.start > t:
                continue
            if all(world.available(c) + EPS >= q * job.quantity for c, q in job.kit.items()):
                continue
            cancel_work_order(self.db.uow(), job.key, actor=ACTOR, now=now, reason="kit short: re-planned")
            world.cancel(job, t)
            self.counts["kit_short_cancels"] += 1
            cancelled = True
        return cancelled

    def _replan(self, world: World, t: int, now: dt.datetime, reason: str) -> None:
        assert self.db is not None
        from lpms.services.release import approve_plan_run

        if self.detect is not None and t > 0:
            from lpms.bootstrap import fluctuation_thresholds
            from lpms.settings import Settings

            detection = self.detect(self.db.uow(), thresholds=fluctuation_thresholds(Settings()), actor=ACTOR,
                                    now=now)
            self.counts["detections"] += 1
            if detection.triggers_replan:
                reason = "fluctuation: " + "; ".join(f.kind for f in detection.findings if f.triggers_replan)[:200]
                self.counts["fluctuation_replans"] += 1
        if self.replan is not None and t > 0:
            from lpms.bootstrap import replan_policy
            from lpms.settings import Settings

            settings = Settings(release_fence_periods=self.fence)
            try:
                res = self.replan(self.db.uow(), reason=reason, policy=replan_policy(settings),
                                  options=self.options, actor=ACTOR, now=now)
            except Infeasible as exc:  # recorded; the previous approved plan stays in force
                self.counts["replans_infeasible"] += 1
                if self.counts["replans_infeasible"] <= 3:
                    self.stats.notes.append(f"period {t + 1}: {str(exc)[:300]}")
                # the planner's move: cancel the released work orders that wait for a kit that is
                # not there (they return to the plan after the fence), then re-plan once more
                if not self._cancel_kit_short(world, t, now):
                    return
                try:
                    res = self.replan(self.db.uow(), reason=reason + " (after cancelling kit-short work orders)",
                                      policy=replan_policy(settings), options=self.options, actor=ACTOR, now=now)
                except Infeasible:
                    self.counts["replans_infeasible_after_cancel"] += 1
                    return
            except LpmsError as exc:  # the run is recorded as failed; the approved plan stays in force
                self.counts["replans_failed"] += 1
                if self.counts["replans_failed"] <= 3:
                    self.stats.notes.append(f"period {t + 1}: re-plan failed: {type(exc).__name__}: {str(exc)[:300]}")
                return
            self.stats.replans += 1
            self.stats.nervousness.append(float(getattr(res, "units_moved", 0.0)))
            return
        from lpms.services.plan_runs import PlanRequest, run_plan

        run = run_plan(self.db.uow(), PlanRequest(costs=PLAN_COSTS, allow_backlog_past_horizon=True,
                                                       min_interval_lead=self.min_interval_lead),
                       options=self.options, actor=ACTOR, now=now)
        if run.plan is None:
            self.stats.notes.append(f"period {t + 1}: plan run {run.run_id} {run.status.value}: {run.message[:200]}")
            return
        approve_plan_run(self.db.uow(), run.run_id, actor=ACTOR, now=now)
        self.stats.replans += 1
        if t > 0 and not any(n.startswith("interim") for n in self.stats.notes):
            self.stats.notes.append("interim re-plan: lpms.services.replan is not available, so every re-plan is a "
                                    "plan run from the forecast and the opening stock, not from the real state")
        current = self._approved_output(t)
        if self._previous is not None:
            keys = set(current) | set(self._previous)
            self.stats.nervousness.append(sum(abs(current.get(k, 0.0) - self._previous.get(k, 0.0)) for k in keys))
        self._previous = current

    def _approved_output(self, t: int) -> dict[tuple[str, int], float]:
        """Head units per interval and period of the approved plan outside the fence (within the horizon)."""
        assert self.db is not None
        with self.db.uow() as uow:
            approved = uow.work_orders.approved_run_ids()
            if not approved:
                return {}
            periods = range(t + self.fence + 1, t + self.horizon + 1)  # 1-based period numbers
            return {(o.interval, o.period): o.quantity for o in uow.work_orders.interval_output(approved[-1], periods)}

    def _take_new_work_orders(self, world: World) -> None:
        assert self.db is not None
        from lpms.services.work_orders import list_work_orders

        for wo in list_work_orders(self.db.uow(), status=WorkOrderStatus.RELEASED):
            if wo.number in self.known_wos:
                continue
            self.known_wos.add(wo.number)
            ops = tuple(Operation(op.work_center, op.run_min, op.setup_min) for op in wo.operations)
            job = Job(wo.number, wo.item, wo.quantity, ops, {c.item: c.qty_per for c in wo.components},
                      wo.start_period - 1, wo.due_period - 1, self.plant.item(wo.item).whole_units)
            self.jobs[wo.number] = job
            self.seq_of[wo.number] = [op.seq for op in wo.operations]
            world.release(job)
            self.counts["work_orders"] += 1

    def _buy(self, world: World, t: int) -> None:
        """Lot-for-lot purchases of materials for the approved plan: released work orders' kits
        (not yet started) in their start period, the plan's interval starts after the fence."""
        H = self.horizon
        need: dict[str, list[float]] = {m: [0.0] * H for m in self.materials}
        early = self.safety_lead  # a purchase is planned to arrive this many periods before its need
        for job in world.open_jobs():
            if job.key in self.jobs and job.started_at is None:
                k = min(max(job.start - t - early, 0), H - 1)
                for c, q in job.kit.items():
                    if c in need:
                        need[c][k] += q * job.quantity
        released_until = t + self.fence  # 0-based periods < this are released as work orders
        assert self.db is not None
        with self.db.uow() as uow:
            approved = uow.work_orders.approved_run_ids()
            outputs = uow.work_orders.interval_output(approved[-1], range(released_until + 1, t + H + 1)) \
                if approved else []
        for out in outputs:
            k = max(out.period - 1 - t - early, 0)
            if k < H:
                for c, q in self.inputs.get(out.interval, {}).items():
                    if c in need:
                        need[c][k] += q * out.quantity
        arriving: dict[str, list[float]] = {m: [0.0] * H for m in self.materials}
        for pur in world.open_purchases():
            arriving[pur.item][min(max(pur.planned - t, 0), H - 1)] += pur.quantity
        orders: dict[tuple[str, dt.date], float] = defaultdict(float)
        for m in sorted(self.materials):
            spec = self.plant.item(m)
            proj = world.stock[m] - world.reserved[m]
            keep = self.material_safety.get(m, 0.0)
            if spec.lead_time < H:  # what this purchase is for: the need lead time (+ safety lead) ahead
                self.bought_for[m][t + spec.lead_time + early] = need[m][spec.lead_time]
            for k in range(H):
                proj += arriving[m][k] - need[m][k]
                if proj < keep - 1e-9:
                    q = keep - proj
                    if spec.whole_units:
                        q = float(math.ceil(q - 1e-9))
                    proj += q
                    if k - spec.lead_time <= 0:
                        world.purchase(m, q, t, spec.lead_time)
                        orders[(m, self.due_date(t + spec.lead_time))] += q
                        self.counts["purchases"] += 1
        self._schedule_receipts(orders, t)

    def _schedule_receipts(self, orders: dict[tuple[str, dt.date], float], t: int) -> None:
        """Tell LPMS about the purchases placed: scheduled receipts (added to what is still open
        for the same item and date), which ``receive_stock`` takes off when they arrive."""
        if not orders:
            return
        assert self.db is not None
        from sqlalchemy import select

        from lpms.db import models as mdl
        from lpms.services.csv_io import import_texts

        with self.db.uow() as uow:
            open_rows = {(code, due): qty for code, due, qty in uow.session.execute(
                select(mdl.Item.code, mdl.ScheduledReceipt.due_date, mdl.ScheduledReceipt.quantity)
                .join(mdl.Item, mdl.Item.id == mdl.ScheduledReceipt.item_id)).tuples()}
        rows = [[item, due, round(open_rows.get((item, due), 0.0) + q, 6)] for (item, due), q in sorted(orders.items())]
        import_texts(self.db.uow(), {"receipts": _csv(["item", "due_date", "quantity"], rows)}, actor=ACTOR,
                     now=self.morning(t))

    def observe(self, world: World, log: PeriodLog) -> None:
        assert self.db is not None
        from lpms.services.reports import report_completion, report_downtime
        from lpms.services.stock import ship_order
        from lpms.services.work_orders import close_work_order

        t = log.period
        now = self.evening(t)
        for ev in log.operations:
            if ev.job not in self.jobs or (ev.good <= EPS and ev.scrap <= EPS):
                continue
            if ev.op_index == 0:  # the first operation issues the kit
                for c, q in self.jobs[ev.job].kit.items():
                    if c in self.materials:
                        self.consumed[c][t] += q * (ev.good + ev.scrap)
            self._report_n += 1
            seq = self.seq_of[ev.job][ev.op_index]
            report_completion(self.db.uow(), ev.job, seq, ev.good, ev.scrap, client_key=f"sim-{self._report_n}",
                              actor=ACTOR, now=now)
            self.counts["completion_reports"] += 1
        for wc, minutes in sorted(log.downtime.items()):
            report_downtime(self.db.uow(), wc, round(minutes, 6), "breakdown", client_key=f"down-{t + 1}-{wc}",
                            actor=ACTOR, now=now)
            self.counts["downtime_reports"] += 1
        for job in log.finished:
            if job.key in self.jobs and job.good[-1] < job.quantity - EPS:
                close_work_order(self.db.uow(), job.key, reason=f"short by {job.quantity - job.good[-1]:g}: scrap",
                                 actor=ACTOR, now=now)
                self.counts["short_closes"] += 1
        for order, qty in log.shipments:
            ship_order(self.db.uow(), order.number, qty, actor=ACTOR, now=now)
            self.counts["shipments"] += 1
        if self.check_ledger:
            self.verify_ledger(world)

    def verify_ledger(self, world: World) -> None:
        """The ledger's on-hand equals the simulated stock (the services booked every move)."""
        assert self.db is not None
        from lpms.services.stock import stock_levels

        levels = {lv.item: lv.on_hand for lv in stock_levels(self.db.uow())}
        for item, q in world.stock.items():
            if abs(levels.get(item, 0.0) - q) > 1e-6 * max(1.0, abs(q)):
                raise InternalError(f"period {world.t + 1}: ledger on-hand of {item} is {levels.get(item, 0.0):g}, "
                                    f"the floor holds {q:g}")

    def database_counts(self) -> dict[str, int]:
        """Rows in the simulation database: plan runs, work orders, completion reports, stock moves."""
        assert self.db is not None
        from sqlalchemy import func, select

        from lpms.db import models as m

        with self.db.uow() as uow:
            s = uow.session
            return {name: int(s.scalar(select(func.count()).select_from(model)) or 0)
                    for name, model in (("plan_runs", m.PlanRun), ("work_orders", m.WorkOrder),
                                        ("completion_reports", m.CompletionReport), ("stock_moves", m.StockMove),
                                        ("downtime_reports", m.DowntimeReport))}

    def close(self) -> PolicyStats:
        if self.db is not None:
            self.stats.services = {**self.database_counts(), **{f"calls_{k}": v for k, v in self.counts.items()}}
            self.db.dispose()
        return self.stats
