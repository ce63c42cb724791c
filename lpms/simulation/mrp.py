"""The MRP baseline (what an ERP does): master schedule from the same demand and offset rules,
lot-for-lot multi-level explosion with fixed planned lead times and safety stocks, infinite
capacity, orders released at their planned start, rescheduling messages ignored.

``explode`` is the textbook explosion (pure, tested against a hand computation); ``MrpPolicy``
runs it every period on the world's state and releases what is due to start.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lpms.domain.enums import ItemKind, OffsetRule
from lpms.planning.demand import OrderLine, gross_demand
from lpms.simulation.plants import SimPlant
from lpms.simulation.world import EPS, Job, Operation, PeriodLog, World


@dataclass(frozen=True)
class PlannedOrder:
    item: str
    release: int  # window index the order must start (0: now; a negative start is released now, late)
    due: int  # window index it is needed
    quantity: float


@dataclass
class Explosion:
    gross: dict[str, list[float]]
    net: dict[str, list[float]]
    projected: dict[str, list[float]]
    orders: list[PlannedOrder]


def explode(plant: SimPlant, external: Mapping[str, Sequence[float]], on_hand: Mapping[str, float],
            receipts: Mapping[str, Sequence[float]], lead: Mapping[str, int], horizon: int,
            safety: Mapping[str, float] | None = None) -> Explosion:
    """Lot-for-lot multi-level explosion over ``horizon`` periods (index 0 = now).

    Items in low-level-code order; an item's gross requirement is its external demand plus
    every parent's planned order releases times the quantity per. Projected on hand =
    previous + scheduled receipts - gross; when it would fall below the safety stock a
    planned order covers exactly the gap (rounded up to whole units for items counted in
    pieces), due in that period and released ``lead`` periods earlier (at 0 when that is in
    the past: released now, late).
    """
    levels = plant.levels()
    comps = plant.components()
    safety = safety or {}
    gross = {i.code: [0.0] * horizon for i in plant.items}
    net = {i.code: [0.0] * horizon for i in plant.items}
    projected = {i.code: [0.0] * horizon for i in plant.items}
    for item, series in external.items():
        for p in range(horizon):
            gross[item][p] += float(series[p]) if p < len(series) else 0.0
    orders: list[PlannedOrder] = []
    for code in sorted(gross, key=lambda c: (levels[c], c)):
        spec = plant.item(code)
        ss = float(safety.get(code, 0.0))
        proj = float(on_hand.get(code, 0.0))
        rec = receipts.get(code, ())
        for p in range(horizon):
            proj += (float(rec[p]) if p < len(rec) else 0.0) - gross[code][p]
            if proj < ss - 1e-9:
                q = ss - proj
                if spec.whole_units:
                    q = float(math.ceil(q - 1e-9))
                net[code][p] = q
                proj += q
                release = max(p - int(lead.get(code, 0)), 0)
                orders.append(PlannedOrder(code, release, p, q))
                for child, qty in comps[code]:
                    gross[child][release] += q * qty
            projected[code][p] = proj
    return Explosion(gross, net, projected, orders)


@dataclass
class PolicyStats:
    replans: int = 0
    nervousness: list[float] = field(default_factory=list)  # units changed per re-plan
    notes: list[str] = field(default_factory=list)
    services: dict[str, int] = field(default_factory=dict)  # LPMS: rows its database holds at the end


def product_gross(plant: SimPlant, world: World, t: int, horizon: int) -> dict[str, list[float]]:
    """Each product's gross requirement over the window: forecast and the known open orders
    (what is left to ship; overdue orders count now) under the product's offset rule."""
    out = {}
    for p in plant.products:
        spec = plant.item(p)
        fc = world.scenario.forecast[p]
        forecast = [float(fc[t + k]) if t + k < len(fc) else 0.0 for k in range(horizon)]
        lines = [OrderLine(max(o.due - t, 0), o.quantity_at(t) - world.shipped[o.number])
                 for o in sorted(world.visible_orders(t), key=lambda o: (o.due, o.number))
                 if o.item == p and o.due < t + horizon]
        rule = spec.offset_rule
        out[p] = gross_demand(forecast, lines, rule, spec.backward_window, spec.forward_window) \
            if rule is not OffsetRule.ORDERS_ONLY or lines else [0.0] * horizon
    return out


def item_job(plant: SimPlant, item: str, quantity: float, start: int, due: int, key: str) -> Job:
    """A released production order of one item: its own routing, its BOM components as the kit."""
    ops = tuple(Operation(o.work_center, o.run_min, o.setup_min) for o in plant.routing(item))
    kit = {c: q for c, q in plant.components()[item]}
    return Job(key, item, quantity, ops, kit, start, due, plant.item(item).whole_units)


class MrpPolicy:
    """Lot-for-lot MRP with planned lead times padded by ``padding`` periods (all items)."""

    def __init__(self, plant: SimPlant, padding: int = 0, horizon: int = 12) -> None:
        self.plant = plant
        self.padding = padding
        self.horizon = horizon
        self.name = f"mrp+{padding}"
        self.stats = PolicyStats()
        self._last: dict[tuple[str, int], float] | None = None
        self._last_t = 0
        self._n = 0

    def start(self, world: World) -> None:
        pass

    def plan(self, world: World, t: int) -> None:
        plant, H = self.plant, self.horizon
        lead = {i.code: i.lead_time + self.padding for i in plant.items}
        on_hand = {c: world.stock[c] - world.reserved[c] for c in (i.code for i in plant.items)}
        receipts: dict[str, list[float]] = {i.code: [0.0] * H for i in plant.items}
        for job in world.open_jobs():
            if job.started_at is None:  # released, not started: its kit is allocated to it
                for c, q in job.kit.items():
                    on_hand[c] -= q * job.quantity
            k = min(max(job.due - t, 0), H - 1)
            receipts[job.item][k] += job.remaining_output()
        for pur in world.open_purchases():
            k = min(max(pur.planned - t, 0), H - 1)
            receipts[pur.item][k] += pur.quantity
        safety = {i.code: i.safety_stock for i in plant.items if i.safety_stock > 0}
        result = explode(plant, product_gross(plant, world, t, H), on_hand, receipts, lead, H, safety)
        planned: dict[tuple[str, int], float] = {}
        for po in result.orders:
            if po.release == 0:
                self._release(world, t, po, lead[po.item])
            else:
                planned[(po.item, t + po.release)] = planned.get((po.item, t + po.release), 0.0) + po.quantity
        if self._last is not None:
            keys = {k for k in set(planned) | set(self._last) if t < k[1] < self._last_t + H}
            self.stats.nervousness.append(sum(abs(planned.get(k, 0.0) - self._last.get(k, 0.0)) for k in keys))
        self._last, self._last_t = planned, t
        self.stats.replans += 1

    def _release(self, world: World, t: int, po: PlannedOrder, lead: int) -> None:
        if po.quantity <= EPS:
            return
        if self.plant.item(po.item).kind is ItemKind.MATERIAL:
            world.purchase(po.item, po.quantity, t, lead)
            return
        self._n += 1
        world.release(item_job(self.plant, po.item, po.quantity, t, t + po.due, f"MO-{t + 1:03d}-{self._n:05d}"))

    def observe(self, world: World, log: PeriodLog) -> None:
        pass

    def close(self) -> PolicyStats:
        return self.stats
