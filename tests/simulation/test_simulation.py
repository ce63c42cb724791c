"""Closed-loop simulation (lpms.simulation): hand-computed worlds, common random numbers, the MRP
explosion, the floor's invariants, and the LPMS policy on the real services."""
from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pytest

from lpms.domain.enums import ItemKind
from lpms.planning.network import BomEdge, OperationSpec
from lpms.simulation.mrp import MrpPolicy, PlannedOrder, explode
from lpms.simulation.plants import SimItem, SimPlant, load_plant
from lpms.simulation.runner import RunConfig, measures, run_one, simulate, summarise
from lpms.simulation.world import (
    VARIABILITY,
    InvariantViolation,
    Job,
    Operation,
    World,
    make_scenario,
)


def two_item_plant(on_hand_m: float = 20.0) -> SimPlant:
    """P (product, 1 min per unit on WC, 100 min a period) made from one M (bought, lead time 1)."""
    items = (SimItem("P", ItemKind.PRODUCT, 0), SimItem("M", ItemKind.MATERIAL, 1))
    return SimPlant("two", items, (BomEdge("P", "M", 1.0),), (OperationSpec("P", 10, "WC", 1.0),), ("WC",),
                    {"WC": (100.0,)}, {"WC": (0.0,)}, {"P": 10.0}, {"M": on_hand_m})


def test_deterministic_two_item_world_mrp_by_hand() -> None:
    # no randomness: 10 P due every period. MRP (lead times as given): P is made in its due
    # period from M; M (20 on hand) covers periods 1-2, then 10 are bought each period one
    # period ahead. Every line ships on time; at period ends P is 0 and M is 10, 0, 0, ...
    plant = two_item_plant()
    sc = make_scenario(plant, VARIABILITY["none"], 8, 4, seed=3)
    assert all(o.quantity == 10 for o in sc.orders)
    world = simulate(plant, sc, MrpPolicy(plant, 0, horizon=4))
    m, series = measures(world, MrpPolicy(plant, 0).stats, warmup=0)
    assert m["on_time"] == 1.0 and m["fill_rate"] == 1.0
    assert [r.inventory_units for r in world.records] == [10.0] + [0.0] * 7
    assert [p.quantity for p in world.purchases] == [10.0] * 7  # periods 2..8 (ordered in 1..7)
    assert all(p.arrival == p.ordered + 1 for p in world.purchases)
    assert m["overtime_min"] == 0 and m["expedites"] == 0
    # padded by one period: P is made a period early and M bought two ahead: 10 more units of
    # each are held (P 10 at every period end from period 1 on)
    world1 = simulate(plant, sc, MrpPolicy(plant, 1, horizon=4))
    assert [world1.records[t].inventory_units for t in range(2, 7)] == [20.0] * 5
    assert measures(world1, MrpPolicy(plant, 1).stats, warmup=0)[0]["on_time"] == 1.0


def test_deterministic_two_item_world_lpms_by_hand() -> None:
    # the same world under LPMS without a purchase safety lead time: the plan makes 10 P in every
    # period from M bought just in time; every line ships on time, no P is left at period ends
    # and M runs down to 0 and stays there
    plant = two_item_plant()
    result = run_one(RunConfig("two", periods=6, warmup=0, horizon=4, variability="none", seed=3, policy="lpms",
                               fence=2, purchase_safety_lead=0), plant=plant, keep_world=True)
    world = result.world
    assert world is not None
    assert result.measures["on_time"] == 1.0
    assert [r.inventory_units for r in world.records][2:] == [0.0] * 4
    assert [j.quantity for j in world.jobs] == [10.0] * 7  # one work order a period; the fence of 2
    assert result.stats.services["work_orders"] == 7  # releases period 7 in period 6


def test_two_item_world_lpms_with_a_purchase_safety_lead_time_by_hand() -> None:
    # the default: purchases are planned to arrive one period before their need, so each
    # period's 10 M arrive a period early and 10 M are held at every period end (P still 0)
    plant = two_item_plant()
    result = run_one(RunConfig("two", periods=6, warmup=0, horizon=4, variability="none", seed=3, policy="lpms"),
                     plant=plant, keep_world=True)
    world = result.world
    assert world is not None
    assert result.measures["on_time"] == 1.0
    assert [r.inventory_units for r in world.records] == [10.0] * 6
    assert world.stock["M"] == 10.0 and world.stock["P"] == 0.0
    assert all(p.quantity == 10.0 and p.arrival == p.ordered + 1 for p in world.purchases)
    assert [p.ordered for p in world.purchases] == [0, 1, 2, 3, 4, 5]  # for periods 2..7, one ahead of need


def test_mrp_explosion_three_levels_by_hand() -> None:
    # A (product) <- 2 B (lead time 1) <- 3 C (bought, lead time 2); A needs 10 in period 3 and
    # 5 in period 5; on hand B 5, C 10.
    items = (SimItem("A", ItemKind.PRODUCT, 0), SimItem("B", ItemKind.ASSEMBLY, 1), SimItem("C", ItemKind.MATERIAL, 2))
    plant = SimPlant("abc", items, (BomEdge("A", "B", 2.0), BomEdge("B", "C", 3.0)),
                     (OperationSpec("A", 10, "W", 1.0), OperationSpec("B", 10, "W", 1.0)), ("W",), {"W": (1.0,)},
                     {"W": (0.0,)}, {"A": 3.0})
    ex = explode(plant, {"A": [0, 0, 10, 0, 5]}, {"B": 5.0, "C": 10.0}, {}, {"A": 0, "B": 1, "C": 2}, 5)
    assert ex.gross["B"] == [0, 0, 20, 0, 10]
    assert ex.gross["C"] == [0, 45, 0, 30, 0]
    assert sorted(ex.orders, key=lambda o: (o.item, o.due)) == [
        PlannedOrder("A", 2, 2, 10), PlannedOrder("A", 4, 4, 5),
        PlannedOrder("B", 1, 2, 15), PlannedOrder("B", 3, 4, 10),
        PlannedOrder("C", 0, 1, 35), PlannedOrder("C", 1, 3, 30)]
    # a safety stock of 4 on B and a scheduled receipt of 6 B in period 3
    ex2 = explode(plant, {"A": [0, 0, 10, 0, 5]}, {"B": 5.0, "C": 10.0}, {"B": [0, 0, 6, 0, 0]},
                  {"A": 0, "B": 1, "C": 2}, 5, safety={"B": 4.0})
    b = [o for o in ex2.orders if o.item == "B"]
    assert b == [PlannedOrder("B", 1, 2, 13), PlannedOrder("B", 3, 4, 10)]
    assert ex2.projected["B"] == [5, 5, 4, 4, 4]


def test_common_random_numbers() -> None:
    plant = load_plant("demo")
    a = make_scenario(plant, VARIABILITY["high"], 20, 12, seed=5)
    b = make_scenario(plant, VARIABILITY["high"], 20, 12, seed=5)
    c = make_scenario(plant, VARIABILITY["high"], 20, 12, seed=6)
    assert a.orders == b.orders and a.orders != c.orders
    for field in ("capacity_loss", "scrap_rate", "supplier_delay", "short_frac"):
        x, y = getattr(a, field), getattr(b, field)
        assert all(np.array_equal(x[k], y[k]) for k in x)
    # the policies see the same scenario: running one does not change what the other meets
    w0 = simulate(plant, a, MrpPolicy(plant, 0))
    w2 = simulate(plant, a, MrpPolicy(plant, 2))
    assert [o.number for o in w0.orders] == [o.number for o in w2.orders]
    assert [w0.capacity(w, 7) for w in plant.work_centers] == [w2.capacity(w, 7) for w in plant.work_centers]
    assert a.orders == b.orders  # not consumed
    # and the same run twice gives the same measures
    r1 = run_one(RunConfig("demo", periods=20, warmup=4, variability="high", seed=5, policy="mrp+1"))
    r2 = run_one(RunConfig("demo", periods=20, warmup=4, variability="high", seed=5, policy="mrp+1"))
    assert r1.measures == r2.measures


def test_floor_invariants_kit_and_capacity() -> None:
    plant = two_item_plant(on_hand_m=5.0)
    sc = make_scenario(plant, VARIABILITY["none"], 3, 2, seed=1)
    world = World(plant, sc)
    world.begin_period(0)
    short = world.release(Job("J1", "P", 8, (Operation("WC", 1.0),), {"M": 1.0}, 0, 0))
    world.execute(0)
    assert short.started_at is None and short.processed == [0.0]  # no start without the complete kit
    world.stock["M"] += 200
    big = world.release(Job("J2", "P", 150, (Operation("WC", 1.0),), {"M": 1.0}, 0, 0))
    world.begin_period(1)
    world.execute(1)
    # 100 minutes a period: J1 (due first) makes 8, J2 92; the rest waits for the next period
    assert short.good == [8.0] and big.good == [92.0]
    assert world.stock["M"] == 205 - 8 - 92
    with pytest.raises(InvariantViolation):
        world._issue(Job("J3", "P", 1, (Operation("WC", 1.0),), {"M": 1.0}, 0, 0), 1)


@pytest.mark.parametrize("plant_name,variability", [("demo", "high"), ("gen50", "high")])
def test_invariants_hold_every_period(plant_name: str, variability: str) -> None:
    # the world checks stock >= 0, kit before start and capacity every period (raises otherwise);
    # here they are also checked from the outside on a harsh run
    plant = load_plant(plant_name)
    sc = make_scenario(plant, VARIABILITY[variability], 26, 12, seed=2)

    def check(world: World, t: int) -> None:
        assert min(world.stock.values()) >= -1e-6
        log = world.logs[-1]
        assert log.overtime_min <= sum(plant.overtime(w, t) for w in plant.work_centers) + 1e-6
        for job in world.jobs:
            if any(job.processed):
                assert job.started_at is not None and job.started_at >= job.start

    for padding in (0, 2):
        simulate(plant, sc, MrpPolicy(plant, padding), on_period=check)


def test_lpms_policy_uses_the_real_services() -> None:
    plant = load_plant("demo")
    from lpms.simulation.lpms_policy import LpmsPolicy

    sc = make_scenario(plant, VARIABILITY["normal"], 6, 12, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        policy = LpmsPolicy(plant, workdir=Path(tmp), check_ledger=True)  # ledger == floor every period
        world = simulate(plant, sc, policy)
        stats = policy.close()
    assert stats.services["plan_runs"] >= 2
    assert stats.services["work_orders"] > 0 and stats.services["completion_reports"] > 0
    assert stats.services["stock_moves"] > stats.services["completion_reports"]
    assert stats.services["calls_shipments"] == sum(len(log.shipments) for log in world.logs)
    assert {j.key for j in world.jobs} <= {f"WO-P{p:02d}-{n:04d}" for p in range(1, 9) for n in range(1, 40)}


def test_summary_pairs_against_the_best_mrp() -> None:
    results = [run_one(RunConfig("demo", periods=14, warmup=2, seed=s, policy=p))
               for s in (1, 2) for p in ("mrp+0", "mrp+1")]
    fake = [dataclasses.replace(r, config=dataclasses.replace(r.config, policy="lpms")) for r in results
            if r.config.policy == "mrp+1"]
    summary = summarise(results + fake)
    assert summary["best_mrp"] == "mrp+1"  # higher on-time rate than padding 0 here
    diff = summary["paired"]["lpms - mrp+1"]["on_time"]
    assert diff["mean"] == 0 and diff["n"] == 2


def test_lpms_policy_keeps_a_rolling_calendar_and_learns_the_scrap_allowance() -> None:
    # gen50 (constant capacity) starts with the horizon and the current period; every period the
    # calendar is extended to keep 12 periods ahead and the added periods' forecast imported.
    # After the first finished work orders the re-plans plan with yields below 1 (scrap is 2%
    # per operation in the normal setting) and release more than the units the next step needs.
    plant = load_plant("gen50")
    from sqlalchemy import func, select

    from lpms.db import models as m
    from lpms.simulation.lpms_policy import LpmsPolicy

    sc = make_scenario(plant, VARIABILITY["normal"], 5, 12, seed=2)
    with tempfile.TemporaryDirectory() as tmp:
        policy = LpmsPolicy(plant, workdir=Path(tmp))
        world = simulate(plant, sc, policy)
        assert policy.db is not None
        with policy.db.uow() as uow:
            periods = uow.session.scalar(select(func.max(m.Period.seq)))
            last_forecast = uow.session.scalar(select(func.max(m.Forecast.end_date)))
            params = [r.parameters for r in uow.session.scalars(select(m.PlanRun).order_by(m.PlanRun.id))]
        stats = policy.close()
    assert periods == 5 + 12  # period 5 (the last simulated) and 12 after it
    assert last_forecast == policy.period_start(periods - 1) + dt.timedelta(days=6)
    assert stats.services["calls_calendar_extensions"] == 4
    yields = params[-1]["replan"]["yields"]
    assert yields and all(0.5 <= y < 1 for y in yields.values())
    # every plan keeps a period between levels (min_interval_lead 1): a work order of an interval
    # feeding another is due a period after its start at the earliest, an end product's in its own
    assert all(p.get("min_interval_lead") == 1 for p in params)
    products = set(plant.products)
    assert world.jobs and all(j.due >= j.start + 1 for j in world.jobs if j.item not in products)
    assert any(j.due == j.start for j in world.jobs if j.item in products)


def test_simulate_progress_bar_goes_to_stderr_and_quiet_turns_it_off(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from lpms.cli import main

    args = ["simulate", "--plant", "demo", "--periods", "3", "--warmup", "1", "--seeds", "2", "--policy", "mrp+0"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    out, err = capsys.readouterr()
    assert "2/2" in err and "run" in err  # tqdm: "simulate: 100%|...| 2/2 [...run/s, last: seed 2 mrp+0]"
    assert "\r" not in out and "2/2" not in out and out.startswith("| policy")  # stdout: the table only
    assert main([*args, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    out_q, err_q = capsys.readouterr()
    assert err_q == "" and out_q.startswith("| policy")
    assert (tmp_path / "b" / "summary.json").is_file()


def test_progress_bar_counts_runs_and_closes_itself() -> None:
    import io

    from lpms.simulation.runner import ProgressBar

    results = [run_one(RunConfig("demo", periods=3, warmup=1, seed=s, policy="mrp+0")) for s in (1, 2)]
    buf = io.StringIO()
    bar = ProgressBar(2, file=buf)
    assert not bar.bar.disable
    bar(1, 2, results[0])
    assert bar.bar.n == 1 and "1/2" in buf.getvalue()
    bar(2, 2, results[1])
    assert bar.bar.n == 2 and "2/2" in buf.getvalue() and "seed 2 mrp+0" in buf.getvalue()
    assert bar.bar.disable  # closed at the last run (tqdm disables a closed bar)


def test_lpms_safety_stock_review_sizes_buffers_from_measured_errors() -> None:
    # every period from the fourth on, the simulated planner sets each product's safety stock in
    # LPMS to 2 x the root-mean-square error of its demand against the forecast over the last 13
    # periods (never below the item's own), and the buyer keeps 2 x the RMS error of each
    # material's consumption against the need it bought for on hand; z = 0 switches it off
    import math

    from sqlalchemy import select

    from lpms.db import models as m
    from lpms.simulation.lpms_policy import LpmsPolicy

    plant = load_plant("demo")
    periods = 8
    sc = make_scenario(plant, VARIABILITY["normal"], periods, 12, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        policy = LpmsPolicy(plant, workdir=Path(tmp))
        world = simulate(plant, sc, policy)
        assert policy.db is not None
        with policy.db.uow() as uow:
            held = {code: float(q) for code, q in uow.session.execute(select(m.Item.code, m.Item.safety_stock)).all()}
        stats = policy.close()
    last = periods - 1  # the review at the start of the last period measured periods 0..last-1
    for p in plant.products:
        errors = [sum(o.quantity_at(d) for o in world.orders if o.item == p and o.due == d and not o.cancelled(d))
                  - float(sc.forecast[p][d]) for d in range(last)]
        rms = math.sqrt(sum(e * e for e in errors) / len(errors))
        expected = max(plant.item(p).safety_stock, float(math.ceil(2 * rms - 1e-9)))
        assert held[p] == pytest.approx(expected, abs=1.0)  # changes under one unit are not imported
        assert policy.product_safety[p] == held[p]
    assert any(held[p] > plant.item(p).safety_stock for p in plant.products)  # 15% forecast error is measured
    assert stats.services["calls_safety_stock_updates"] >= 1
    assert sum(1 for q in policy.material_safety.values() if q > 0) >= 3

    off = LpmsPolicy(plant, safety_z=0.0)
    assert off.product_safety == {p: plant.item(p).safety_stock for p in plant.products}
