"""The simulated world: demand, disturbances and the shop floor (pure, seeded).

Common random numbers: everything random is drawn in advance by ``make_scenario`` from one
numpy ``Generator`` per purpose (demand, order changes, breakdowns, scrap, suppliers), each
from ``SeedSequence([seed, purpose])``. A policy's decisions never consume random numbers, so
every policy meets exactly the same customer orders, breakdowns, scrap rates and supplier
delays for the same seed.

The floor (``World.execute``) works a period as follows: capacity per work center is regular
then overtime minutes less the period's breakdown loss; released jobs are worked in due-date
order (then planned start, then release order), each job's operations in sequence (units flow
on within the period); regular minutes first, overtime only for work due in this period or
late. A job starts only when its complete kit (every component for its whole quantity) is on
hand and not reserved for another started job; its first operation then issues the
components as it processes units (backflush). Scrap per operation is the work center's scrap
rate of the period (deterministic rounding with a carried remainder). Good output of the last
operation goes into stock at once (several passes per period let a parent use a component
made earlier in the same period). Shipments happen at the end of the period from stock, in
due-date order, never before an order's due period.

Invariants checked every period (``InvariantViolation``): no stock below zero (no shipment or
issue without stock), no operation processed on a job that has not started with its complete
kit, no work center using more than its capacity (regular, and overtime up to the limit).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from lpms.domain.enums import ItemKind
from lpms.simulation.plants import SimPlant

EPS = 1e-9
MAX_PASSES = 6


class InvariantViolation(AssertionError):
    """The simulated floor broke a physical rule: a bug in the simulation, never a result."""


@dataclass(frozen=True)
class Variability:
    name: str
    forecast_error: float = 0.15  # coefficient of variation of real demand around the forecast
    order_lead: tuple[int, int] = (1, 6)  # periods an order arrives before its due period
    split_prob: float = 0.5  # a period's demand comes as two orders instead of one
    change_prob: float = 0.10  # an order's quantity changes before it is due
    change_size: float = 0.3  # by up to this fraction
    cancel_prob: float = 0.03
    seasonality: float = 0.2  # amplitude of the yearly seasonal swing of the forecast
    scrap_rate: float = 0.02  # mean scrap fraction per operation
    breakdown_prob: float = 0.05  # per work center and period
    breakdown_loss: tuple[float, float] = (0.2, 0.5)  # share of the period's capacity lost
    delay_prob: float = 0.10  # a purchase arrives late
    max_delay: int = 1  # by 1..max_delay periods
    short_prob: float = 0.05  # a purchase arrives short; the rest follows a period later
    short_frac: tuple[float, float] = (0.1, 0.3)


VARIABILITY = {
    "normal": Variability("normal"),
    "high": Variability("high", forecast_error=0.35, change_prob=0.2, change_size=0.5, cancel_prob=0.06,
                        scrap_rate=0.04, breakdown_prob=0.12, breakdown_loss=(0.3, 0.7), delay_prob=0.25,
                        max_delay=2, short_prob=0.12, short_frac=(0.1, 0.5)),
    "none": Variability("none", forecast_error=0.0, split_prob=0.0, change_prob=0.0, cancel_prob=0.0,
                        seasonality=0.0, scrap_rate=0.0, breakdown_prob=0.0, delay_prob=0.0, short_prob=0.0),
}


@dataclass
class CustomerOrder:
    number: str
    item: str
    due: int  # period index (0-based)
    quantity: float  # as first ordered
    arrival: int  # period the order becomes known (may be < 0: known from the start)
    changes: tuple[tuple[int, float], ...] = ()  # (period, new quantity), known from that period on
    cancelled_at: int | None = None

    def quantity_at(self, t: int) -> float:
        q = self.quantity
        for period, new in self.changes:
            if period <= t:
                q = new
        return q

    def known(self, t: int) -> bool:
        return self.arrival <= t

    def cancelled(self, t: int) -> bool:
        return self.cancelled_at is not None and self.cancelled_at <= t


@dataclass(frozen=True)
class Scenario:
    """Everything random, drawn in advance for one seed (the same for every policy)."""

    seed: int
    variability: Variability
    periods: int  # simulated periods
    horizon: int  # further periods of forecast and orders visible to planning
    forecast: dict[str, np.ndarray]  # product -> forecast per period (periods + horizon)
    orders: tuple[CustomerOrder, ...]
    capacity_loss: dict[str, np.ndarray]  # work center -> share of capacity lost per period
    scrap_rate: dict[str, np.ndarray]  # work center -> scrap fraction per period
    supplier_delay: dict[str, np.ndarray]  # material -> extra periods for a purchase placed in the period
    short_frac: dict[str, np.ndarray]  # material -> share delivered a period late


PURPOSES = ("demand", "changes", "breakdowns", "scrap", "suppliers")


def streams(seed: int) -> dict[str, np.random.Generator]:
    """One generator per purpose, independent of each other and of the policy."""
    return {p: np.random.default_rng(np.random.SeedSequence([seed, k])) for k, p in enumerate(PURPOSES)}


def forecast_series(plant: SimPlant, length: int, seasonality: float) -> dict[str, np.ndarray]:
    """Base forecast with a yearly (52-period) seasonal swing, each product at its own phase."""
    t = np.arange(length)
    out = {}
    for k, p in enumerate(plant.products):
        phase = 13 * k  # products peak at different times of the year
        out[p] = plant.base_forecast.get(p, 0.0) * (1 + seasonality * np.sin(2 * np.pi * (t + phase) / 52))
    return out


def make_scenario(plant: SimPlant, variability: Variability, periods: int, horizon: int, seed: int) -> Scenario:
    rng = streams(seed)
    n = periods + horizon
    forecast = {p: np.round(f, 3) for p, f in forecast_series(plant, n, variability.seasonality).items()}
    orders: list[CustomerOrder] = []
    d_rng, c_rng = rng["demand"], rng["changes"]
    lo, hi = variability.order_lead
    for p in plant.products:
        whole = plant.item(p).whole_units
        for due in range(n):
            # draws in a fixed pattern per (product, period), so the stream never depends on values
            err, split, share, lead1, lead2 = d_rng.standard_normal(), d_rng.random(), d_rng.uniform(0.3, 0.7), \
                d_rng.integers(lo, hi + 1), d_rng.integers(lo, hi + 1)
            real = max(0.0, float(forecast[p][due]) * (1 + variability.forecast_error * float(err)))
            parts = [real * share, real * (1 - share)] if split < variability.split_prob else [real]
            for j, (q, lead) in enumerate(zip(parts, (lead1, lead2))):
                q = float(round(q)) if whole else round(q, 3)
                if q <= 0:
                    continue
                arrival = due - int(lead)
                change, cancel, when, size, when2 = c_rng.random(), c_rng.random(), c_rng.random(), \
                    c_rng.uniform(-1, 1), c_rng.random()
                window = list(range(max(arrival, 0), due))  # periods between arrival and due
                changes: tuple[tuple[int, float], ...] = ()
                cancelled = None
                if window and cancel < variability.cancel_prob:
                    cancelled = window[int(when2 * len(window))]
                elif window and change < variability.change_prob:
                    new = q * (1 + variability.change_size * size)
                    new = float(max(1, round(new))) if whole else round(max(new, 0.001), 3)
                    changes = ((window[int(when * len(window))], new),)
                orders.append(CustomerOrder(f"SO-{p}-{due + 1:03d}-{j + 1}", p, due, q, arrival, changes, cancelled))
    b_rng, s_rng, u_rng = rng["breakdowns"], rng["scrap"], rng["suppliers"]
    loss, scrap = {}, {}
    for w in plant.work_centers:
        hit = b_rng.random(n) < variability.breakdown_prob
        lost_share = b_rng.uniform(*variability.breakdown_loss, n)
        loss[w] = np.where(hit, lost_share, 0.0)
        noise = s_rng.gamma(4.0, 0.25, n)  # mean 1
        scrap[w] = np.clip(variability.scrap_rate * noise, 0.0, 0.5)
    delay, short = {}, {}
    for i in plant.items:
        if i.kind is ItemKind.MATERIAL:
            late = u_rng.random(n) < variability.delay_prob
            by = u_rng.integers(1, variability.max_delay + 1, n)
            delay[i.code] = np.where(late, by, 0).astype(int)
            sh = u_rng.random(n) < variability.short_prob
            frac = u_rng.uniform(*variability.short_frac, n)
            short[i.code] = np.where(sh, frac, 0.0)
    return Scenario(seed, variability, periods, horizon, forecast, tuple(orders), loss, scrap, delay, short)


@dataclass(frozen=True)
class Operation:
    work_center: str
    run_min: float  # per unit of the job's item
    setup_min: float = 0.0


@dataclass
class Job:
    """Released production: ``quantity`` of ``item`` through ``operations``, consuming ``kit``
    (component -> quantity per unit) at the first operation."""

    key: str
    item: str
    quantity: float
    operations: tuple[Operation, ...]
    kit: dict[str, float]
    start: int  # planned start period (the job may not start earlier)
    due: int  # due period
    whole: bool = True
    started_at: int | None = None
    processed: list[float] = field(default_factory=list)  # good + scrap per operation
    good: list[float] = field(default_factory=list)
    scrap: list[float] = field(default_factory=list)
    setup_done: list[bool] = field(default_factory=list)
    reserved: dict[str, float] = field(default_factory=dict)  # kit not yet issued
    finished_at: int | None = None
    kit_checked: bool = False  # the kit was looked at in the planned start period (kit rate)
    kit_complete: bool = False
    late_counted: bool = False
    cancelled: bool = False

    def __post_init__(self) -> None:
        n = len(self.operations)
        self.processed = [0.0] * n
        self.good = [0.0] * n
        self.scrap = [0.0] * n
        self.setup_done = [False] * n

    @property
    def kitting(self) -> bool:
        return len(self.kit) >= 2

    @property
    def done(self) -> bool:
        return self.finished_at is not None

    def remaining_output(self) -> float:
        """Head units still expected (the quantity less what was delivered or scrapped on the way)."""
        return max(self.quantity - self.good[-1] - sum(self.scrap), 0.0)


@dataclass
class Purchase:
    key: str
    item: str
    quantity: float
    ordered: int
    planned: int  # period the buyer expects it
    arrival: int  # period it really arrives
    received: bool = False


@dataclass(frozen=True)
class OperationLog:
    job: str
    op_index: int
    good: float
    scrap: float


@dataclass
class PeriodLog:
    """What happened in one period (what a policy reports to its systems)."""

    period: int
    receipts: list[tuple[Purchase, float]] = field(default_factory=list)
    operations: list[OperationLog] = field(default_factory=list)  # in the order they happened
    finished: list[Job] = field(default_factory=list)
    downtime: dict[str, float] = field(default_factory=dict)  # work center -> minutes lost
    shipments: list[tuple[CustomerOrder, float]] = field(default_factory=list)
    overtime_min: float = 0.0


@dataclass
class PeriodRecord:
    period: int
    inventory_units: float
    inventory_value: float
    value_by_level: dict[int, float]
    wip_units: float
    wip_value: float
    overtime_min: float
    lines_due: int
    lines_on_time: int
    backlog_units: float


class World:
    """The shop floor, the stock and the customers for one run."""

    def __init__(self, plant: SimPlant, scenario: Scenario) -> None:
        self.plant = plant
        self.scenario = scenario
        self.stock: dict[str, float] = defaultdict(float, {k: float(v) for k, v in plant.on_hand.items()})
        self.jobs: list[Job] = []
        self.purchases: list[Purchase] = []
        self.orders = list(scenario.orders)
        self.shipped: dict[str, float] = defaultdict(float)
        self.completed_at: dict[str, int] = {}  # order -> period its line was shipped complete
        self.shipped_by_due: dict[str, float] = {}
        self._scrap_carry: dict[str, float] = defaultdict(float)
        self.values = plant.values()
        self.levels = plant.levels()
        self.whole = {i.code: i.whole_units for i in plant.items}
        self.records: list[PeriodRecord] = []
        self.logs: list[PeriodLog] = []
        self.kit_checks: list[tuple[int, bool]] = []  # (planned start, complete) of kitting jobs
        self.expedites = 0
        self.t = 0
        self._purchase_n = 0
        self.reserved: dict[str, float] = defaultdict(float)  # kit of started jobs not yet issued

    # --- what planners may see --------------------------------------------------------

    def visible_orders(self, t: int) -> list[CustomerOrder]:
        """Orders known at ``t``, not cancelled, with something left to ship."""
        return [o for o in self.orders if o.known(t) and not o.cancelled(t)
                and o.quantity_at(t) - self.shipped[o.number] > EPS]

    def open_jobs(self) -> list[Job]:
        return [j for j in self.jobs if not j.done]

    def open_purchases(self) -> list[Purchase]:
        return [p for p in self.purchases if not p.received]

    def available(self, item: str) -> float:
        """On hand less what started jobs have reserved."""
        return self.stock[item] - self.reserved[item]

    # --- decisions ---------------------------------------------------------------------

    def release(self, job: Job) -> Job:
        if job.quantity <= EPS:
            raise InvariantViolation(f"job {job.key} released for {job.quantity}")
        self.jobs.append(job)
        return job

    def cancel(self, job: Job, t: int) -> None:
        """Take back a released job that has not started (the planner cancelled its work order)."""
        if job.started_at is not None:
            raise InvariantViolation(f"job {job.key} has started: it cannot be cancelled")
        job.cancelled = True
        job.finished_at = t

    def purchase(self, item: str, quantity: float, t: int, planned_lead: int) -> list[Purchase]:
        """Order ``quantity`` of a material now; the supplier's nominal lead time plus the drawn
        delay says when it arrives, a short delivery sends the rest a period later."""
        spec = self.plant.item(item)
        delay = int(self.scenario.supplier_delay[item][t]) if t < len(self.scenario.supplier_delay[item]) else 0
        short = float(self.scenario.short_frac[item][t]) if t < len(self.scenario.short_frac[item]) else 0.0
        arrival = t + spec.lead_time + delay
        first = quantity * (1 - short)
        if spec.whole_units:
            first = float(math.floor(first))
        self._purchase_n += 1
        key = f"PO-{t + 1:03d}-{self._purchase_n:05d}"
        out = []
        if first > EPS:
            out.append(Purchase(key, item, first, t, t + planned_lead, arrival))
        if quantity - first > EPS:
            out.append(Purchase(key + "B", item, quantity - first, t, t + planned_lead, arrival + 1))
        self.purchases.extend(out)
        return out

    # --- a period ----------------------------------------------------------------------

    def begin_period(self, t: int) -> PeriodLog:
        """Purchases due now arrive."""
        self.t = t
        log = PeriodLog(t)
        for p in self.purchases:
            if not p.received and p.arrival <= t:
                p.received = True
                self.stock[p.item] += p.quantity
                log.receipts.append((p, p.quantity))
        self.logs.append(log)
        return log

    def capacity(self, wc: str, t: int) -> tuple[float, float]:
        """Regular and overtime minutes really available in period ``t`` (breakdowns removed)."""
        lost = float(self.scenario.capacity_loss[wc][t]) if t < len(self.scenario.capacity_loss[wc]) else 0.0
        return self.plant.regular(wc, t) * (1 - lost), self.plant.overtime(wc, t) * (1 - lost)

    def _scrap(self, wc: str, t: int, n: float, whole: bool) -> float:
        rate = float(self.scenario.scrap_rate[wc][t]) if t < len(self.scenario.scrap_rate[wc]) else 0.0
        if rate <= 0:
            return 0.0
        if not whole:
            return n * rate
        self._scrap_carry[wc] += n * rate
        s = math.floor(self._scrap_carry[wc] + EPS)
        s = min(s, int(n))
        self._scrap_carry[wc] -= s
        return float(s)

    def execute(self, t: int) -> PeriodLog:
        log = self.logs[-1]
        reg_cap, ot_cap, reg_left, ot_left = {}, {}, {}, {}
        for w in self.plant.work_centers:
            reg_cap[w], ot_cap[w] = self.capacity(w, t)
            reg_left[w], ot_left[w] = reg_cap[w], ot_cap[w]
            lost = self.plant.regular(w, t) + self.plant.overtime(w, t) - reg_cap[w] - ot_cap[w]
            if lost > EPS:
                log.downtime[w] = lost
        order = sorted((j for j in self.jobs if not j.done and j.start <= t), key=lambda j: (j.due, j.start))
        for _ in range(MAX_PASSES):
            progress = False
            for job in order:
                if job.done:
                    continue
                if job.started_at is None and not self._try_start(job, t):
                    continue
                for k, op in enumerate(job.operations):
                    avail = job.quantity - job.processed[0] if k == 0 else job.good[k - 1] - job.processed[k]
                    if avail <= EPS:
                        continue
                    w = op.work_center
                    use_ot = job.due <= t
                    cap = reg_left[w] + (ot_left[w] if use_ot else 0.0)
                    setup = op.setup_min if not job.setup_done[k] else 0.0
                    if cap - setup <= EPS and (op.run_min > 0 or setup > 0):
                        continue
                    n = avail if op.run_min <= 0 else min(avail, (cap - setup) / op.run_min)
                    if job.whole:
                        n = float(math.floor(n + 1e-7))
                    if n <= EPS:
                        continue
                    minutes = setup + n * op.run_min
                    from_reg = min(minutes, reg_left[w])
                    reg_left[w] -= from_reg
                    ot_left[w] -= minutes - from_reg
                    job.setup_done[k] = True
                    scrap = self._scrap(w, t, n, job.whole)
                    if k == 0:
                        self._issue(job, n)
                    job.processed[k] += n
                    job.good[k] += n - scrap
                    job.scrap[k] += scrap
                    log.operations.append(OperationLog(job.key, k, n - scrap, scrap))
                    if k == len(job.operations) - 1 and n - scrap > EPS:
                        self.stock[job.item] += n - scrap
                    progress = True
                if self._finished(job):
                    job.finished_at = t
                    log.finished.append(job)
            if not progress:
                break
        for w in self.plant.work_centers:
            if reg_left[w] < -1e-6 or ot_left[w] < -1e-6:
                raise InvariantViolation(f"period {t + 1}: work center {w} used more than its capacity "
                                         f"(regular left {reg_left[w]:.3f}, overtime left {ot_left[w]:.3f})")
            log.overtime_min += ot_cap[w] - ot_left[w]
        for job in self.jobs:
            if not job.done and job.due < t and not job.late_counted:
                job.late_counted = True
                self.expedites += 1
        return log

    def _try_start(self, job: Job, t: int) -> bool:
        need = {c: q * job.quantity for c, q in job.kit.items()}
        complete = all(self.available(c) + EPS * max(1.0, n) >= n for c, n in need.items())
        if job.kitting and not job.kit_checked:
            job.kit_checked = True
            job.kit_complete = complete
            self.kit_checks.append((t, complete))
        if not complete:
            return False
        job.started_at = t
        job.reserved = dict(need)
        for c, n in need.items():
            self.reserved[c] += n
        return True

    def _issue(self, job: Job, units: float) -> None:
        if job.started_at is None:
            raise InvariantViolation(f"job {job.key}: an operation ran before the job started with its complete kit")
        for c, q in job.kit.items():
            take = q * units
            if take > job.reserved.get(c, 0.0) + 1e-6 * max(1.0, take):
                raise InvariantViolation(f"job {job.key}: issues {take:g} {c}, more than its kit "
                                         f"({job.reserved.get(c, 0.0):g} left)")
            left = max(job.reserved.get(c, 0.0) - take, 0.0)
            self.reserved[c] -= job.reserved.get(c, 0.0) - left
            job.reserved[c] = left
            self.stock[c] -= take
            if self.stock[c] < -1e-6:
                raise InvariantViolation(f"job {job.key}: stock of {c} below zero ({self.stock[c]:g})")

    @staticmethod
    def _finished(job: Job) -> bool:
        if job.processed[0] < job.quantity - 1e-7:
            return False
        return all(job.processed[k] >= job.good[k - 1] - 1e-7 for k in range(1, len(job.operations)))

    def ship(self, t: int) -> PeriodLog:
        """End of period: ship due and overdue orders from stock, earliest due first."""
        log = self.logs[-1]
        due = sorted((o for o in self.visible_orders(t) if o.due <= t), key=lambda o: (o.due, o.arrival, o.number))
        for o in due:
            left = o.quantity_at(t) - self.shipped[o.number]
            qty = min(left, self.stock[o.item])
            if self.whole[o.item]:
                qty = float(math.floor(qty + 1e-9))
            if qty <= EPS:
                continue
            self.stock[o.item] -= qty
            self.shipped[o.number] += qty
            log.shipments.append((o, qty))
            if self.shipped[o.number] >= o.quantity_at(t) - EPS:
                self.completed_at[o.number] = t
        for o in self.orders:
            if o.due == t and not o.cancelled(t):
                self.shipped_by_due[o.number] = self.shipped[o.number]
        return log

    def end_period(self, t: int) -> PeriodRecord:
        for item, q in self.stock.items():
            if q < -1e-6:
                raise InvariantViolation(f"period {t + 1}: stock of {item} is {q:g}")
        for j in self.jobs:
            if not j.done and j.started_at is None and any(j.processed):
                raise InvariantViolation(f"job {j.key}: processed without its kit")
        value_by_level: dict[int, float] = defaultdict(float)
        units = 0.0
        for item, q in self.stock.items():
            units += q
            value_by_level[self.levels[item]] += q * self.values[item]
        wip_units = sum(j.remaining_output() for j in self.jobs if not j.done and j.started_at is not None)
        wip_value = sum(j.remaining_output() * self.values[j.item] for j in self.jobs
                        if not j.done and j.started_at is not None)
        due_now = [o for o in self.orders if o.due == t and not o.cancelled(t)]
        on_time = sum(1 for o in due_now if o.number in self.completed_at)
        backlog = sum(o.quantity_at(t) - self.shipped[o.number] for o in self.orders
                      if o.due <= t and not o.cancelled(t) and o.number not in self.completed_at)
        rec = PeriodRecord(t, units, sum(value_by_level.values()), dict(value_by_level), wip_units, wip_value,
                           self.logs[-1].overtime_min, len(due_now), on_time, backlog)
        self.records.append(rec)
        return rec
