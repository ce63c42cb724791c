"""The exact balance method against an independent reference, its bound, its clock, its fallbacks.

The reference is the whole plan written from docs/scenario-format.md in item terms (as
``test_reference_model`` does) with the standard deviations as exact Euclidean norms, handed
to cvxpy and solved in one piece by an interior-point conic solver: another formulation (items,
not intervals; no deviation columns, no faces, no tangent LPs) and another route. LPMS's plan
must cost what the reference's optimum costs (1e-6 relative), and LPMS's stored lower bound must
not exceed it.
"""
from __future__ import annotations

import math
import time
import warnings
from typing import Any

import cvxpy
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bench.plan_scale import generate_plant
from lpms.domain.values import Costs
from lpms.planning import balance_basis, conic, optimize
from lpms.planning.network_plan import NetworkInfeasible, NetworkPlanInput, plan_priority, plan_weighted
from lpms.planning.scenario import parse_network
from lpms.planning.single import SingleItemScenario
from lpms.planning.single import plan_weighted as plan_single
from lpms.planning.solver import SolverError, SolverOptions
from tests.plan_invariants import assert_plan_honest
from tests.unit.test_reference_model import Reference, network

cp: Any = cvxpy  # cvxpy's atoms (sum, norm) are exported dynamically: untyped here

# ---------------------------------------------------------------- random networks with a balance cost


@st.composite
def balanced_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """Small networks, 4-8 periods, every work center with a balance cost (J > 0)."""
    T = draw(st.integers(4, 8))
    wcs = [f"W{k + 1}" for k in range(draw(st.integers(1, 3)))]
    mats = [f"M{k + 1}" for k in range(draw(st.integers(1, 2)))]
    parts = [f"C{k + 1}" for k in range(draw(st.integers(1, 3)))]
    prods = [f"P{k + 1}" for k in range(draw(st.integers(1, 2)))]
    items: list[dict[str, Any]] = [{"code": m, "kind": "material", "lead_time": draw(st.integers(0, 1)),
                                    "on_hand": draw(st.sampled_from([0, 20, 60]))} for m in mats]
    for c in parts:
        items.append({"code": c, "kind": draw(st.sampled_from(["part", "assembly"])), "lead_time": draw(st.integers(0, 1)),
                      "stocked": draw(st.booleans())})
    items += [{"code": p, "kind": "product", "on_hand": draw(st.sampled_from([0, 5]))} for p in prods]
    bom = []
    for level, c in enumerate(parts):
        for child in sorted(set(draw(st.lists(st.sampled_from(mats + parts[:level]), min_size=1, max_size=2)))):
            bom.append({"parent": c, "child": child, "qty": draw(st.sampled_from([1, 2]))})
    for p in prods:
        for child in sorted(set(draw(st.lists(st.sampled_from(mats + parts), min_size=1, max_size=2)))):
            bom.append({"parent": p, "child": child, "qty": draw(st.sampled_from([1, 2]))})
    routings = [{"item": m, "work_center": draw(st.sampled_from(wcs)), "sequence": 10,
                 "run_min": draw(st.sampled_from([0.5, 1, 2]))} for m in parts + prods]
    work_centers = [{"code": w, "regular_min": [draw(st.sampled_from([20, 40, 60])) for _ in range(T)],
                     "overtime_min": draw(st.sampled_from([10, 30]))} for w in wcs]
    demand = {p: {"forecast": [draw(st.integers(0, 12)) for _ in range(T)], "offset_rule": "forecast_only"}
              for p in prods}
    costs = {"late": draw(st.sampled_from([10, 100])), "inventory": draw(st.sampled_from([0.5, 1, 2])),
             "overtime": draw(st.sampled_from([0, 0.5, 3])), "balance": draw(st.sampled_from([1, 5, 20]))}
    wc_costs = {w: {"balance": draw(st.sampled_from([0.5, 2]))} for w in draw(st.lists(st.sampled_from(wcs),
                                                                                      max_size=1, unique=True))}
    return {"periods": T, "items": items, "bom": bom, "routings": routings, "work_centers": work_centers,
            "demand": demand, "costs": costs, "item_costs": {}, "work_center_costs": wc_costs,
            "balance_on": draw(st.sampled_from(["work_centers", "work_centers", "intervals", "both"])),
            "allow_backlog_past_horizon": draw(st.booleans())}


def socp_reference(data: dict[str, Any]) -> tuple[str, float | None]:
    """cvxpy's status and the optimum of the documented model with exact norms (Clarabel on
    the whole model); no value when it is infeasible."""
    ref = Reference(data)
    net, T = ref.net, ref.net.T
    items = {it["code"]: it for it in data["items"]}
    p = {m: cp.Variable(T, nonneg=True) for m in net.head_of}
    cons: list[Any] = []
    for c, parent in net.chain_parent.items():
        cons.append(p[c] == net.children[parent][c] * p[parent])
    for h, lead in net.chain_lead.items():
        if lead > 0:
            cons.append(p[h][max(0, T - lead):] == 0)
    buy = {m: cp.Variable(T, nonneg=True) for m in net.buffers if net.kind[m] == "material"}
    for m, v in buy.items():
        if net.lead[m] > 0:
            cons.append(v[:min(net.lead[m], T)] == 0)
    inv = {b: cp.Variable(T, nonneg=True) for b in net.buffers}
    back = {b: cp.Variable(T, nonneg=True) for b in ref.demand}
    short = {}
    for b in net.buffers:
        ss = float(items[b].get("safety_stock", 0))
        if b not in ref.demand and ss > 0:
            short[b] = cp.Variable(T, nonneg=True)
            cons.append(inv[b] + short[b] >= ss)
    receipts = data.get("receipts", {})
    for b in net.buffers:
        users = [(m, q) for m in net.head_of for c, q in net.children[m].items() if c == b]
        for t in range(T):
            flow: Any = sum((-q * p[m][t] for m, q in users), start=0.0)
            if b in net.chain_lead and t - net.chain_lead[b] >= 0:
                flow = flow + p[b][t - net.chain_lead[b]]
            if b in buy:
                flow = flow + buy[b][t]
            rhs = -(ref.demand[b][t] if b in ref.demand else 0.0) + float(receipts.get(b, [0] * T)[t])
            if t == 0 and b not in ref.demand:
                rhs += float(items[b].get("on_hand", 0))
            pos = inv[b][t] - (back[b][t] if b in back else 0)
            prev = 0 if t == 0 else inv[b][t - 1] - (back[b][t - 1] if b in back else 0)
            cons.append(pos == prev + flow + rhs)
        if b in ref.demand:
            cons.append(inv[b][T - 1] == 0)
            if not data["allow_backlog_past_horizon"]:
                cons.append(back[b][T - 1] == 0)
    objective: Any = 0.0
    for wc in data["work_centers"]:
        w = wc["code"]
        ot = cp.Variable(T, nonneg=True)
        cons.append(ot <= wc["overtime_min"])
        load = sum((net.minutes[m].get(w, 0) * p[m] for m in net.head_of), start=cp.Constant(np.zeros(T)))
        cons.append(load - ot <= np.asarray(wc["regular_min"], dtype=float))
        objective = objective + ref.wc_cost(w, "overtime") * cp.sum(ot)
        if data["balance_on"] in ("work_centers", "both") and ref.wc_cost(w, "balance") > 0:
            objective = objective + ref.wc_cost(w, "balance") / math.sqrt(T - 1) * cp.norm(load - cp.sum(load) / T, 2)
    if data["balance_on"] in ("intervals", "both") and float(ref.costs["balance"]) > 0:
        for h in sorted(set(net.head_of.values())):
            objective = objective + float(ref.costs["balance"]) / math.sqrt(T - 1) * cp.norm(p[h] - cp.sum(p[h]) / T, 2)
    for b, v in [*back.items(), *short.items()]:
        objective = objective + ref.item_cost(b, "late") * cp.sum(v)
    for b, v in inv.items():
        objective = objective + ref.item_cost(b, "inventory") * cp.sum(v)
    problem = cp.Problem(cp.Minimize(objective), cons)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cvxpy warns on an inaccurate answer: the status says it
        try:
            problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-9, tol_gap_rel=1e-9, tol_feas=1e-9)
        except cvxpy.error.SolverError:  # the reference's solver gave up: it proves nothing
            return "solver error", None
    if problem.status == cp.INFEASIBLE:
        return problem.status, None
    return problem.status, float(problem.value)


# LPMS certifies its plan to this gap here, so that its plan and the reference's optimum (itself
# accurate to about 1e-9) can be held to 1e-6 of each other without a borderline case
GAP = 1e-7


def check_against_reference(data: dict[str, Any]) -> None:
    inp, _gross, _net = parse_network(data)
    status, reference = socp_reference(data)
    assume(status in (cp.OPTIMAL, cp.INFEASIBLE))  # an inaccurate reference proves nothing: another example
    try:
        plan = plan_weighted(inp, SolverOptions(gap_rel=GAP))
    except NetworkInfeasible:
        assert reference is None, "LPMS says infeasible, the reference found a plan"
        return
    assert reference is not None, "the reference is infeasible, LPMS returned a plan"
    assert_plan_honest(plan, inp, gap_target=GAP)
    assert plan.solver["status"] == "optimal"
    total = plan.costs["total"]
    scale = max(1.0, abs(total))
    assert total == pytest.approx(Reference(data).price(plan), rel=1e-7, abs=1e-6)
    assert abs(total - reference) <= 1e-6 * scale, (total, reference)
    assert plan.solver["lower_bound"] <= reference + 1e-7 * scale, "the stored bound is above the optimum"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(balanced_scenarios())
def test_balanced_plans_cost_the_socp_reference_optimum(data: dict[str, Any]) -> None:
    check_against_reference(data)


def test_the_reference_sees_the_same_network_as_lpms() -> None:
    # a guard for the reference itself: with no balance cost it must equal LPMS's LP optimum
    data = {"periods": 4, "items": [{"code": "P", "kind": "product"}, {"code": "M", "kind": "material", "on_hand": 5}],
            "bom": [{"parent": "P", "child": "M", "qty": 2}], "routings": [{"item": "P", "work_center": "W", "run_min": 1}],
            "work_centers": [{"code": "W", "regular_min": [5, 5, 20, 5], "overtime_min": 5}],
            "demand": {"P": {"forecast": [0, 8, 8, 2], "offset_rule": "forecast_only"}},
            "costs": {"late": 100, "inventory": 1, "overtime": 2, "balance": 0}, "item_costs": {},
            "work_center_costs": {}, "balance_on": "work_centers", "allow_backlog_past_horizon": True}
    inp, _gross, _net = parse_network(data)
    assert network(data).buffers == ["M", "P"]
    status, reference = socp_reference(data)
    assert status == cp.OPTIMAL and reference is not None
    assert plan_weighted(inp).costs["total"] == pytest.approx(reference, rel=1e-7, abs=1e-6)


# ---------------------------------------------------------------- faces: whole and reduced agree


def plant(items: int, periods: int = 12, balance: float = 5.0) -> NetworkPlanInput:
    inp = generate_plant(items, periods, n_wc=4)
    return NetworkPlanInput(**{**inp.__dict__, "costs": Costs(late=100, inventory=1, overtime=0.5, balance=balance)})


def test_basis_faces_and_the_face_socp_reach_the_same_certified_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first method (faces of the balance-free LP's basis) against the face SOCP it falls
    back to, on the same plant: one certified optimum."""
    inp = plant(40)
    basis = plan_weighted(inp)
    assert_plan_honest(basis, inp)
    assert basis.solver["balance_method"] == "basis faces"
    assert basis.solver["basis_faces"] >= 1 and basis.solver["status"] == "optimal"
    monkeypatch.setattr(optimize, "BASIS_FACES", False)
    faces = plan_weighted(inp)
    assert_plan_honest(faces, inp)
    assert faces.solver["balance_method"] == "face SOCP" and "basis_faces" not in faces.solver
    assert faces.solver["status"] == "optimal"
    assert basis.costs["total"] == pytest.approx(faces.costs["total"], rel=2e-6)
    assert basis.solver["lower_bound"] <= faces.costs["total"] + 1e-9 * faces.costs["total"]
    assert faces.solver["lower_bound"] <= basis.costs["total"] + 1e-9 * basis.costs["total"]


def test_the_triangular_basis_solves_like_highs() -> None:
    """BasisFace computes W = B^-1 M_S by a level sweep of the block-triangular basis; its
    columns and its dense solve must be HiGHS's basis solves."""
    from lpms.planning.network_plan import build_network_model
    from lpms.planning.solver import BASIC, Runner

    inp = plant(60, periods=12)
    om = build_network_model(inp, with_balance=True).om_costs
    work = optimize._Work(om, SolverOptions())
    work.lp.set_cost(work.linear_cost({"late": 1.0, "inventory": 1.0, "overtime": 1.0}))
    x = work.solve_lp().x
    anchor = Runner(om.model, work.options)
    anchor.highs.setBasis(work.lp.highs.getBasis())
    rows = work.constraint_rows()
    face = balance_basis.BasisFace(anchor, rows, np.concatenate([x, -(rows.csr @ x)]))
    assert face.triangular is not None
    nonbasic = np.flatnonzero(np.concatenate([anchor.column_status(), anchor.row_status()]) != BASIC)
    picked = nonbasic[:: max(1, len(nonbasic) // 40)]
    w = face.matrix(picked).toarray()
    for k, j in enumerate(picked):
        reference = anchor.basis_solve(face.columns_of(np.array([j])).toarray().ravel())
        assert w[:, k] == pytest.approx(reference, rel=1e-9, abs=1e-9)
    rhs = np.random.default_rng(3).standard_normal(rows.nrows)
    assert face.triangular.solve_vector(rhs) == pytest.approx(anchor.basis_solve(rhs), rel=1e-9, abs=1e-9)


def test_a_basis_face_loop_that_stops_short_hands_over_to_the_face_socp(monkeypatch: pytest.MonkeyPatch) -> None:
    inp = plant(40)
    reference = plan_weighted(inp)
    real = balance_basis.BasisFace.solve
    calls = {"n": 0}

    def failing_after_one(self: Any, *args: Any, **kw: Any) -> Any:
        calls["n"] += 1
        sol = real(self, *args, **kw)
        if calls["n"] > 1:
            sol.status = "NumericalError"
        return sol

    monkeypatch.setattr(balance_basis.BasisFace, "solve", failing_after_one)
    plan = plan_weighted(inp)
    assert_plan_honest(plan, inp)
    assert plan.solver["balance_method"].startswith("basis faces (conic solver: NumericalError), then face SOCP")
    assert plan.solver["status"] == "optimal"
    assert plan.costs["total"] == pytest.approx(reference.costs["total"], rel=2e-6)


def test_whole_and_reduced_faces_reach_the_same_certified_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optimize, "BASIS_FACES", False)
    inp = plant(40)
    reduced = plan_weighted(inp)
    assert_plan_honest(reduced, inp)
    assert reduced.solver["reduced_faces"] >= 1
    monkeypatch.setattr(optimize, "REDUCED_FACE_MAX", 0)
    whole = plan_weighted(inp)
    assert_plan_honest(whole, inp)
    assert "reduced_faces" not in whole.solver
    assert reduced.solver["status"] == whole.solver["status"] == "optimal"
    assert reduced.costs["total"] == pytest.approx(whole.costs["total"], rel=2e-6)
    assert reduced.solver["lower_bound"] <= whole.costs["total"] + 1e-9 * whole.costs["total"]
    assert whole.solver["lower_bound"] <= reduced.costs["total"] + 1e-9 * reduced.costs["total"]


@pytest.mark.parametrize("basis_faces", [True, False])
def test_reduced_faces_factored_by_faer_agree_with_qdldl(monkeypatch: pytest.MonkeyPatch, basis_faces: bool) -> None:
    """Dense reduced faces (basis faces and the face SOCP's) go to faer (conic.DENSE_FACE_NNZ);
    forced on a small plant, the certified optimum is the one QDLDL's faces reach."""
    monkeypatch.setattr(optimize, "BASIS_FACES", basis_faces)
    inp = plant(40)
    sparse = plan_weighted(inp)
    monkeypatch.setattr(conic, "DENSE_FACE_NNZ", 0)
    dense = plan_weighted(inp)
    assert_plan_honest(dense, inp)
    assert dense.solver["basis_faces" if basis_faces else "reduced_faces"] >= 1
    assert sparse.solver["status"] == dense.solver["status"] == "optimal"
    assert dense.costs["total"] == pytest.approx(sparse.costs["total"], rel=2e-6)
    assert dense.solver["lower_bound"] <= sparse.costs["total"] + 1e-9 * sparse.costs["total"]


def test_the_tie_break_after_the_balance_term_keeps_the_objective() -> None:
    """With a balance cost the tie-break holds the deviation columns and keeps the tangent LP's
    cost (dual feasible basis); it runs to its end and changes neither the objective nor the bound."""
    inp = plant(40)
    plan = plan_weighted(inp)
    assert_plan_honest(plan, inp)
    assert plan.solver["status"] == "optimal"
    assert plan.solver["tie_break"] == "latest production"
    assert plan.solver["lower_bound"] <= plan.costs["total"]


# ---------------------------------------------------------------- the clock and failing solvers


def test_a_time_limit_too_short_says_so_with_a_true_bound() -> None:
    inp = plant(500, periods=52)
    exact = plan_weighted(inp)
    assert_plan_honest(exact, inp)
    assert exact.solver["status"] == "optimal"
    # enough for the balance-free LP (a first plan), a quarter of what the balance term took
    first, total = exact.solver["first_lp_seconds"], exact.solver["seconds"]
    limit = first + 0.25 * (total - first)
    assert total > 3 * first, "the plant is too small to cut its run short"
    started = time.perf_counter()
    cut = plan_weighted(inp, SolverOptions(time_limit_s=limit))
    assert time.perf_counter() - started < limit + 1.0
    assert_plan_honest(cut, inp)
    assert cut.solver["status"] == "time limit" and cut.solver["gap_rel"] > 1e-6
    assert cut.solver["lower_bound"] <= exact.costs["total"] <= cut.costs["total"] + 1e-6 * exact.costs["total"]


def paper_with_balance() -> SingleItemScenario:
    return SingleItemScenario(forecast=(150.0,) * 6 + (250.0,) * 6, regular_capacity=(200.0,) * 6 + (100.0, 100.0) + (200.0,) * 4,
                              overtime_capacity=(150.0,) * 6 + (0.0, 0.0) + (150.0,) * 4,
                              costs=Costs(late=100, balance=20, inventory=1, overtime=5))


def test_a_failing_qp_on_a_single_item_falls_back_to_the_exact_method(monkeypatch: pytest.MonkeyPatch) -> None:
    scn = paper_with_balance()
    reference = plan_single(scn)
    assert_plan_honest(reference, scn)
    assert reference.solver["qp_solves"] >= 1  # small enough for the QP route
    real = optimize._Work.qp_runner

    def failing(self: Any) -> Any:
        runner = real(self)

        def unbounded(*args: Any, **kw: Any) -> Any:
            raise SolverError("HiGHS stopped without a proven optimum: Unbounded")

        runner.solve = unbounded  # type: ignore[method-assign]
        return runner

    monkeypatch.setattr(optimize._Work, "qp_runner", failing)
    plan = plan_single(scn)
    assert_plan_honest(plan, scn)
    assert plan.solver["balance_method"].startswith("iterated QP (QP failed: HiGHS stopped without a proven optimum: "
                                                    "Unbounded), then basis faces")
    assert plan.solver["status"] == "optimal"
    assert plan.costs["total"] == pytest.approx(reference.costs["total"], rel=1e-6)


def test_a_failing_conic_solver_leaves_an_honest_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    inp = plant(30)

    def numerical_error(*args: Any, **kw: Any) -> conic.FaceResult:
        return conic.FaceResult(None, None, "NumericalError", 0, 0.0, 0)

    def basis_error(self: Any, *args: Any, **kw: Any) -> Any:
        return balance_basis.BasisSolution(self.z_ref, [], np.zeros(self.m), "NumericalError", 0, 0.0)

    monkeypatch.setattr(optimize, "solve_face", numerical_error)
    monkeypatch.setattr(optimize, "solve_reduced_face", numerical_error)
    monkeypatch.setattr(balance_basis.BasisFace, "solve", basis_error)
    plan = plan_weighted(inp, SolverOptions(time_limit_s=3, balance_time_limit_s=1))
    assert_plan_honest(plan, inp)
    assert plan.solver["balance_method"] == ("basis faces (conic solver: NumericalError), then face SOCP (conic solver: "
                                             "NumericalError), then cutting planes")


# ---------------------------------------------------------------- priority with balance anywhere


@pytest.mark.parametrize("order", [["balance", "late", "inventory", "overtime"], ["late", "balance", "overtime"],
                                   ["overtime", "inventory", "balance", "late"], ["late", "inventory", "overtime", "balance"]])
def test_balance_at_any_priority_position_is_certified(order: list[str]) -> None:
    inp = plant(30)
    plan = plan_priority(inp, order)
    assert_plan_honest(plan, inp)
    assert plan.solver["status"] == "optimal"
    stages = {s["objective"]: s for s in plan.solver["stages"]}
    assert stages["balance"]["status"] == "optimal" and stages["balance"]["gap_rel"] <= 1e-6
    # later stages keep the balance stage's value within its tolerance
    held = stages["balance"]["optimum"]
    assert plan.objectives["balance"] <= held * (1 + 1e-6) + 1e-6


# ---------------------------------------------------------------- numerical trouble


class _TroubledHighs:
    """A HiGHS whose first run ends in "Unknown" (numerical trouble), as seen from a warm basis."""

    def __init__(self, highs: Any) -> None:
        self._highs, self.runs, self.cleared = highs, 0, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._highs, name)

    def run(self) -> Any:
        self.runs += 1
        return self._highs.run()

    def clearSolver(self) -> Any:
        self.cleared += 1
        return self._highs.clearSolver()

    def getModelStatus(self) -> Any:
        import highspy
        return highspy.HighsModelStatus.kUnknown if self.runs == 1 else self._highs.getModelStatus()


def test_a_solve_in_numerical_trouble_is_repeated_from_scratch() -> None:
    from lpms.planning.solver import LinearModel, Runner
    lm = LinearModel()
    cols = lm.add_cols(["x", "y"], 0.0, 10.0)
    row = lm.add_rows(["r"], 3.0, math.inf)
    lm.add_coefs(row, cols, np.array([1.0, 2.0]))
    runner = Runner(lm.compile(), SolverOptions(time_limit_s=5))
    runner.set_cost(np.array([1.0, 1.0]))
    troubled = _TroubledHighs(runner.highs)
    runner.highs = troubled  # type: ignore[assignment]
    res = runner.solve()
    assert troubled.runs == 2 and troubled.cleared == 1 and runner.retries == 1
    assert res.objective == pytest.approx(1.5)

