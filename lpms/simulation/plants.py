"""Plants for the simulation: the demo plant (lpms/data/demo/plant), generated plants of 50 and
200 items (3-4 BOM levels, common parts, kitting points, 6-20 work centers) and scenario files.

A ``SimPlant`` is pure data: items, BOM, routings, work centers with a capacity pattern that
repeats (regular and overtime minutes per period), a base forecast per end product (units per
period) and the opening stock. Item values (for inventory value) are rolled up the BOM:
a purchased unit is worth 1, a made unit its components plus 0.1 per run minute.
"""
from __future__ import annotations

import csv
import datetime as dt
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from lpms.domain.enums import ItemKind, OffsetRule
from lpms.domain.errors import InvalidInput
from lpms.planning.network import BomEdge, ItemSpec, NetworkSnapshot, OperationSpec, build_graph, divide
from lpms.planning.network_plan import minutes_per_unit

DEMO_PLANT_DIR = Path(__file__).resolve().parents[1] / "data" / "demo" / "plant"
PLANT_NAMES = ("demo", "gen50", "gen200")
LABOUR_VALUE_PER_MIN = 0.1
CONTINUOUS_UNITS = frozenset({"kg", "g", "t", "l", "m", "m2", "m3"})


@dataclass(frozen=True)
class SimItem:
    code: str
    kind: ItemKind
    lead_time: int = 0  # periods (purchased: the supplier's nominal lead time)
    stocked: bool = False
    safety_stock: float = 0.0
    unit: str = "pcs"
    offset_rule: OffsetRule = OffsetRule.BACKWARD
    backward_window: int | None = None
    forward_window: int | None = None

    @property
    def whole_units(self) -> bool:
        """Counted in pieces (quantities are whole numbers)."""
        return self.unit.strip().lower() not in CONTINUOUS_UNITS


@dataclass(frozen=True)
class SimPlant:
    name: str
    items: tuple[SimItem, ...]
    bom: tuple[BomEdge, ...]
    operations: tuple[OperationSpec, ...]
    work_centers: tuple[str, ...]
    regular_min: dict[str, tuple[float, ...]]  # capacity pattern, repeated over the calendar
    overtime_min: dict[str, tuple[float, ...]]
    base_forecast: dict[str, float]  # end product -> mean units per period
    on_hand: dict[str, float] = field(default_factory=dict)
    period_days: int = 7
    start_date: dt.date = dt.date(2027, 1, 4)  # a Monday

    def item(self, code: str) -> SimItem:
        return self._items[code]

    @property
    def _items(self) -> dict[str, SimItem]:
        return {i.code: i for i in self.items}

    @property
    def products(self) -> list[str]:
        return sorted(i.code for i in self.items if i.kind is ItemKind.PRODUCT)

    def snapshot(self) -> NetworkSnapshot:
        return NetworkSnapshot(tuple(ItemSpec(i.code, i.kind, i.lead_time, i.stocked) for i in self.items),
                               self.bom, self.operations, self.work_centers)

    def regular(self, wc: str, t: int) -> float:
        pattern = self.regular_min[wc]
        return pattern[t % len(pattern)]

    def overtime(self, wc: str, t: int) -> float:
        pattern = self.overtime_min[wc]
        return pattern[t % len(pattern)]

    def components(self) -> dict[str, list[tuple[str, float]]]:
        out: dict[str, list[tuple[str, float]]] = {i.code: [] for i in self.items}
        for e in self.bom:
            out[e.parent].append((e.child, e.qty))
        return out

    def routing(self, item: str) -> list[OperationSpec]:
        return sorted((o for o in self.operations if o.item == item), key=lambda o: o.sequence)

    def levels(self) -> dict[str, int]:
        """Low-level code: 0 for end products, else one more than the deepest parent."""
        parents: dict[str, list[str]] = {i.code: [] for i in self.items}
        for e in self.bom:
            parents[e.child].append(e.parent)
        memo: dict[str, int] = {}

        def level(code: str) -> int:
            if code not in memo:
                memo[code] = 1 + max((level(p) for p in parents[code]), default=-1)
            return memo[code]

        return {c: level(c) for c in parents}

    def values(self) -> dict[str, float]:
        """Value of one unit of each item (rolled up: purchased 1, made = components + labour)."""
        comps = self.components()
        memo: dict[str, float] = {}

        def value(code: str) -> float:
            if code not in memo:
                run = sum(o.run_min for o in self.routing(code))
                memo[code] = (1.0 if not comps[code] and self.item(code).kind is ItemKind.MATERIAL else
                              sum(q * value(c) for c, q in comps[code]) + LABOUR_VALUE_PER_MIN * run)
            return memo[code]

        return {i.code: round(value(i.code), 6) for i in self.items}

    def utilisation(self) -> dict[str, float]:
        """Average regular-capacity utilisation per work center at the base forecast."""
        need = minutes_per_unit(divide(build_graph(self.snapshot())))
        load = {w: 0.0 for w in self.work_centers}
        for p, rate in self.base_forecast.items():
            for w, m in need.get(p, {}).items():
                load[w] += m * rate
        return {w: load[w] / (sum(self.regular_min[w]) / len(self.regular_min[w]) or 1.0) for w in self.work_centers}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _opt_int(text: str | None) -> int | None:
    return int(text) if text not in (None, "") else None


def demo_plant(directory: Path = DEMO_PLANT_DIR) -> SimPlant:
    """The shipped demo plant (an LCD module plant): its items, BOM, routings, the 12-period
    capacity pattern, its opening stock; the base forecast is the mean weekly forecast (for an
    orders-only product, the mean weekly order quantity)."""
    items = tuple(SimItem(r["code"], ItemKind(r["kind"]), int(r["lead_time_periods"] or 0),
                          r["stocked"].strip().lower() == "true", float(r["safety_stock"] or 0), r["unit"] or "pcs",
                          OffsetRule(r["offset_rule"] or "backward"), _opt_int(r.get("backward_window")),
                          _opt_int(r.get("forward_window")))
                  for r in _rows(directory / "items.csv"))
    bom = tuple(BomEdge(r["parent"], r["child"], float(r["qty_per"])) for r in _rows(directory / "bom.csv"))
    ops = tuple(OperationSpec(r["item"], int(r["sequence"]), r["work_center"], float(r["run_min"]),
                              float(r["setup_min"] or 0)) for r in _rows(directory / "routings.csv"))
    wcs = tuple(r["code"] for r in _rows(directory / "work_centers.csv"))
    cal = _rows(directory / "calendar.csv")
    n = len(cal)
    regular = {w: [0.0] * n for w in wcs}
    overtime = {w: [0.0] * n for w in wcs}
    for r in _rows(directory / "capacity.csv"):
        regular[r["work_center"]][int(r["period"]) - 1] = float(r["regular_min"])
        overtime[r["work_center"]][int(r["period"]) - 1] = float(r["overtime_min"] or 0)
    start = dt.date.fromisoformat(cal[0]["start_date"])
    end = dt.date.fromisoformat(cal[-1]["end_date"])
    weeks = ((end - start).days + 1) / 7
    base: dict[str, float] = {}
    for r in _rows(directory / "forecasts.csv"):
        base[r["item"]] = base.get(r["item"], 0.0) + float(r["quantity"]) / weeks
    products = [i.code for i in items if i.kind is ItemKind.PRODUCT]
    for r in _rows(directory / "orders.csv"):
        if r["item"] in products and r["item"] not in {f["item"] for f in _rows(directory / "forecasts.csv")}:
            base[r["item"] + "#orders"] = base.get(r["item"] + "#orders", 0.0) + float(r["quantity"]) / weeks
    for p in products:
        if p not in base and p + "#orders" in base:
            base[p] = base[p + "#orders"]
    base = {p: round(base.get(p, 0.0), 3) for p in products}
    on_hand = {r["item"]: float(r["on_hand"]) for r in _rows(directory / "stock.csv")}
    return SimPlant("demo", items, bom, ops, wcs, {w: tuple(v) for w, v in regular.items()},
                    {w: tuple(v) for w, v in overtime.items()}, base, on_hand, 7, start)


def generated_plant(n_items: int, n_wc: int | None = None, seed: int = 7, utilisation: float = 0.85) -> SimPlant:
    """A generated multi-variety plant (adapted from bench/plan_scale.py's generator): 10%
    products, 20% assemblies, 30% parts, 40% materials; 3-4 BOM levels with common parts and
    kitting points; 1-2 operations per made item; regular capacity sized so that the base
    forecast loads every work center to about ``utilisation``, overtime 25% of regular.
    Products carry a safety stock of half a period's forecast."""
    rng = random.Random(seed)
    n_wc = n_wc if n_wc is not None else max(6, min(20, n_items // 12))
    n_prod = max(2, n_items // 10)
    n_asm = max(2, n_items // 5)
    n_part = max(2, int(n_items * 0.3))
    n_mat = max(2, n_items - n_prod - n_asm - n_part)
    prods = [f"P{i:03d}" for i in range(n_prod)]
    asms = [f"A{i:03d}" for i in range(n_asm)]
    parts = [f"C{i:03d}" for i in range(n_part)]
    mats = [f"M{i:03d}" for i in range(n_mat)]
    wcs = tuple(f"WC{i:02d}" for i in range(n_wc))
    base = {p: float(round(rng.uniform(10, 60))) for p in prods}
    items = ([SimItem(c, ItemKind.PRODUCT, 0, safety_stock=round(base[c] / 2)) for c in prods]
             + [SimItem(c, ItemKind.ASSEMBLY, rng.choice([0, 1])) for c in asms]
             + [SimItem(c, ItemKind.PART, rng.choice([0, 1]), stocked=rng.random() < 0.15) for c in parts]
             + [SimItem(c, ItemKind.MATERIAL, rng.choice([1, 2, 3])) for c in mats])
    bom: dict[tuple[str, str], float] = {}
    for p in prods:  # level 1: assemblies, sometimes a part directly
        for c in rng.sample(asms, rng.randint(1, 3)) + rng.sample(parts, rng.randint(0, 1)):
            bom[(p, c)] = float(rng.randint(1, 2))
    for a in asms:  # level 2: parts and materials
        for c in rng.sample(parts, rng.randint(1, 2)) + rng.sample(mats, rng.randint(0, 2)):
            bom[(a, c)] = float(rng.randint(1, 3))
    for c in parts:  # level 3: materials
        for mm in rng.sample(mats, rng.randint(1, 2)):
            bom[(c, mm)] = float(rng.randint(1, 4))
    ops = []
    for code in prods + asms + parts:
        for k, w in enumerate(rng.sample(wcs, rng.randint(1, 2))):
            ops.append(OperationSpec(code, 10 * (k + 1), w, round(rng.uniform(0.5, 4.0), 2),
                                     float(rng.choice([0, 15, 30]))))
    # every assembly, part and material is used: one nobody names goes into a random user one level up
    for level_items, users in ((asms, prods), (parts, asms), (mats, parts)):
        used = {c for (_p, c) in bom}
        for c in level_items:
            if c not in used:
                bom[(rng.choice(users), c)] = float(rng.randint(1, 2))
    plant = SimPlant(f"gen{n_items}", tuple(items), tuple(BomEdge(p, c, q) for (p, c), q in bom.items()),
                     tuple(ops), wcs, {w: (1.0,) for w in wcs}, {w: (0.0,) for w in wcs}, base, {})
    need = minutes_per_unit(divide(build_graph(plant.snapshot())))
    load = {w: 0.0 for w in wcs}
    for p, rate in base.items():
        for w, m in need.get(p, {}).items():
            load[w] += m * rate
    regular: dict[str, tuple[float, ...]] = {w: (float(math.ceil(load[w] / utilisation / 60) * 60) or 60.0,)
                                            for w in wcs}
    overtime: dict[str, tuple[float, ...]] = {w: (float(round(regular[w][0] * 0.25)),) for w in wcs}
    levels = plant.levels()
    # opening stock: about two periods of demand on the products and one on the made items below
    on_hand = {}
    per_unit = _requirements(plant, base)
    for i in items:
        if i.kind is ItemKind.PRODUCT:
            on_hand[i.code] = float(round(2 * base[i.code]))
        elif levels[i.code] >= 1 and per_unit.get(i.code, 0) > 0:
            on_hand[i.code] = float(math.ceil(per_unit[i.code] * (2 if i.kind is ItemKind.MATERIAL else 1)))
    return SimPlant(plant.name, plant.items, plant.bom, plant.operations, wcs, regular, overtime, base, on_hand)


def _requirements(plant: SimPlant, rates: dict[str, float]) -> dict[str, float]:
    """Units of every item needed per period at the given end-product rates (exploded)."""
    comps = plant.components()
    levels = plant.levels()
    need = {i.code: 0.0 for i in plant.items}
    for p, r in rates.items():
        need[p] += r
    for code in sorted(need, key=lambda c: levels[c]):
        for c, q in comps[code]:
            need[c] += need[code] * q
    return need


def scenario_plant(path: Path) -> SimPlant:
    """A plant from a multi-item scenario file (docs/scenario-format.md): items, BOM, routings,
    work centers with their capacity; the base forecast is each product's mean forecast."""
    from lpms.formats.scenario_files import load_scenario_file

    data = load_scenario_file(path)
    if not isinstance(data, dict) or "items" not in data:
        raise InvalidInput(f"{path}: not a multi-item scenario (no 'items' key)")
    try:
        periods = int(data["periods"])

        def series(value: object) -> tuple[float, ...]:
            if isinstance(value, list):
                return tuple(float(v) for v in value)
            return (float(value),) * periods  # type: ignore[arg-type]

        items = tuple(SimItem(i["code"], ItemKind(i["kind"]), int(i.get("lead_time", 0)), bool(i.get("stocked", False)),
                              float(i.get("safety_stock", 0)), str(i.get("unit", "pcs")),
                              OffsetRule(data.get("demand", {}).get(i["code"], {}).get("offset_rule", "backward")))
                      for i in data["items"])
        bom = tuple(BomEdge(b["parent"], b["child"], float(b["qty"])) for b in data.get("bom", []))
        ops = tuple(OperationSpec(r["item"], int(r.get("sequence", 10)), r["work_center"], float(r["run_min"]),
                                  float(r.get("setup_min", 0))) for r in data.get("routings", []))
        wcs = tuple(w["code"] for w in data["work_centers"])
        regular = {w["code"]: series(w["regular_min"]) for w in data["work_centers"]}
        overtime = {w["code"]: series(w.get("overtime_min", 0)) for w in data["work_centers"]}
        base = {}
        for code, d in data.get("demand", {}).items():
            f = series(d.get("forecast", 0))
            orders = sum(float(o["quantity"]) for o in d.get("orders", []))
            base[code] = round(max(sum(f), orders) / periods, 3)
        on_hand = {i["code"]: float(i["on_hand"]) for i in data["items"] if i.get("on_hand")}
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"{path}: cannot be simulated: {exc}") from None
    plant = SimPlant(path.stem, items, bom, ops, wcs, regular, overtime, base, on_hand)
    build_graph(plant.snapshot())  # validates (raises NetworkError naming every problem)
    if not plant.products or not any(base.get(p, 0) > 0 for p in plant.products):
        raise InvalidInput(f"{path}: no end product has demand to simulate")
    return plant


def load_plant(name: str) -> SimPlant:
    """``demo``, ``gen50``, ``gen200`` (``genN`` for any N >= 20) or the path of a scenario file."""
    if name == "demo":
        return demo_plant()
    if name.startswith("gen") and name[3:].isdigit():
        n = int(name[3:])
        if n < 20:
            raise InvalidInput(f"plant {name}: a generated plant needs at least 20 items")
        return generated_plant(n)
    path = Path(name)
    if path.is_file():
        return scenario_plant(path)
    raise InvalidInput(f"plant {name!r}: not demo, gen50, gen200 (genN) or an existing scenario file")
