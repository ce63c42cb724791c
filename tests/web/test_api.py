"""The JSON API: shapes, roles, the error body, idempotent reports, and schemathesis fuzzing
against the generated OpenAPI document (no 5xx, responses match their schemas)."""
from __future__ import annotations

import uuid
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lpms.bootstrap import solver_options
from lpms.domain.values import Costs
from lpms.services import replan, work_orders
from lpms.services.plan_runs import PlanRequest, run_plan
from tests.web.conftest import NOW, Plant, api_headers


def _open_operation(plant: Plant) -> tuple[str, int]:
    for wo in work_orders.list_work_orders(plant.uow()):
        if wo.status.value in ("released", "in_progress") and not wo.components:
            return wo.number, wo.operations[0].seq
    raise AssertionError("no open work order without a kit")


def test_master_data_and_work_orders(plant: Plant) -> None:
    http = plant.app.test_client()
    h = api_headers(plant, "supervisor")
    items = http.get("/api/v1/items", headers=h).json
    assert {"code", "kind", "unit"} <= set(items[0])
    wos = http.get("/api/v1/work-orders?status=released", headers=h).json
    assert wos and all(w["status"] == "released" for w in wos)
    one = http.get(f"/api/v1/work-orders/{wos[0]['number']}", headers=h).json
    assert one["number"] == wos[0]["number"] and one["operations"]
    missing = http.get("/api/v1/work-orders/NOPE", headers=h)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    bad = http.get("/api/v1/work-orders?status=bogus", headers=h)
    assert bad.status_code == 422 and bad.json["error"]["code"] == "invalid_input" and bad.json["error"]["details"]


def test_completions_are_idempotent_by_header_or_field(plant: Plant) -> None:
    http = plant.app.test_client()
    number, seq = _open_operation(plant)
    key = f"api-{uuid.uuid4().hex}"
    body = {"work_order": number, "operation": seq, "good": 1, "scrap": 0}
    first = http.post("/api/v1/reports/completions", json=body, headers=api_headers(plant, "supervisor",
                                                                                      **{"Idempotency-Key": key}))
    assert first.status_code == 201, first.json
    again = http.post("/api/v1/reports/completions", json={**body, "client_key": key},
                      headers=api_headers(plant, "supervisor"))
    assert again.status_code == 200 and again.json["replayed"] and again.json["id"] == first.json["id"]
    both = http.post("/api/v1/reports/completions", json={**body, "client_key": key + "x"},
                     headers=api_headers(plant, "supervisor", **{"Idempotency-Key": key}))
    assert both.status_code == 400 and both.json["error"]["code"] == "invalid_input"
    other = http.post("/api/v1/reports/completions", json={**body, "good": 2, "client_key": key},
                      headers=api_headers(plant, "supervisor"))
    assert other.status_code == 409 and other.json["error"]["code"] == "conflict"
    over = http.post("/api/v1/reports/completions", json={**body, "good": 10**9, "client_key": key + "o"},
                     headers=api_headers(plant, "supervisor"))
    assert over.status_code == 400 and "over" in over.json["error"]["message"].lower() or over.status_code == 400
    wo = work_orders.get_work_order(plant.uow(), number)
    assert next(o for o in wo.operations if o.seq == seq).good >= 1
    planner = http.post("/api/v1/reports/completions", json=body, headers=api_headers(plant, "planner"))
    assert planner.status_code == 403 and planner.json["error"]["code"] == "forbidden"


def test_orders_capacity_plan_runs_and_release(plant: Plant) -> None:
    http = plant.app.test_client()
    h = api_headers(plant, "planner")
    created = http.post("/api/v1/orders", json={"number": "API-1", "customer": "ERP", "item": "MON-24",
                                                 "quantity": 3, "due_date": "2026-12-28"}, headers=h)
    assert created.status_code == 201 and created.json["status"] == "open"
    patched = http.patch("/api/v1/orders/API-1", json={"quantity": 4}, headers=h)
    assert patched.json["quantity"] == 4
    assert http.delete("/api/v1/orders/API-1", headers=h).json["status"] == "cancelled"
    bad = http.post("/api/v1/orders", json={"number": "API-2", "customer": "ERP", "item": "NOPE", "quantity": 3,
                                             "due_date": "2026-12-28"}, headers=h)
    assert bad.status_code == 400 and bad.json["error"]["details"]["problems"]
    cap = http.get("/api/v1/capacity", headers=h).json[0]
    put = http.put("/api/v1/capacity", json={"rows": [{**{k: cap[k] for k in ("work_center", "period")},
                                                        "regular_min": 999, "overtime_min": 1}]}, headers=h)
    assert put.status_code == 200 and put.json[0]["regular_min"] == 999
    run = http.post("/api/v1/plan-runs", json={"priority": ["late", "overtime"]}, headers=h)
    assert run.status_code == 202 and run.json["status"] == "queued"
    compare = http.get(f"/api/v1/plan-runs/compare?a={plant.run_id}&b={plant.run_id}", headers=h)
    assert compare.status_code == 200 and compare.json["diff"]["units_moved"] == 0
    assert compare.json["diff"]["changed"] == 0 and all(o["change"] == 0 for o in compare.json["objectives"])
    not_ok = http.post(f"/api/v1/plan-runs/{run.json['id']}/approve", headers=h)
    assert not_ok.status_code == 409
    release = http.post("/api/v1/releases", json={"fence": 2}, headers=h)
    assert release.status_code == 201 and release.json["frozen"]


def test_compare_two_runs_is_the_replan_diff_with_objectives_and_items(plant: Plant) -> None:
    other = run_plan(plant.uow(), PlanRequest(costs=Costs(late=1, balance=1, inventory=50, overtime=20)),
                     options=solver_options(plant.settings), actor="test", now=NOW).run_id
    http = plant.app.test_client()
    h = api_headers(plant, "manager")
    response = http.get(f"/api/v1/plan-runs/compare?a={plant.run_id}&b={other}", headers=h)
    assert response.status_code == 200, response.json
    c = response.json
    # the diff is the re-plan diff, unchanged
    assert c["diff"] == replan.plan_diff_dict(replan.plan_diff(plant.uow(), plant.run_id, other))
    assert c["diff"]["units_moved"] > 0 and c["diff"]["changed"] > 0
    # objectives side by side: each run's values, change = b - a
    assert (c["a"]["id"], c["b"]["id"]) == (plant.run_id, other)
    names = {o["objective"] for o in c["objectives"]}
    assert names == set(c["a"]["objectives"]) | set(c["b"]["objectives"]) and "late" in names
    for o in c["objectives"]:
        assert o["a"] == c["a"]["objectives"].get(o["objective"]) and o["b"] == c["b"]["objectives"].get(o["objective"])
        if o["a"] is not None and o["b"] is not None:
            assert abs(o["change"] - (o["b"] - o["a"])) < 1e-6
    # per item: the diff's rows summed per interval (its head item); moved adds up to units moved
    rows = c["diff"]["rows"]
    for it in c["items"]:
        mine = [r for r in rows if r["interval"] == it["interval"]]
        assert it["item"] == it["interval"].removeprefix("I:")
        assert abs(it["a"] - sum(r["old"] for r in mine)) < 1e-6 and abs(it["b"] - sum(r["new"] for r in mine)) < 1e-6
        assert abs(it["change"] - (it["b"] - it["a"])) < 1e-6
        assert it["periods_changed"] == sum(1 for r in mine if r["change"])
    assert abs(sum(it["moved"] for it in c["items"]) - c["diff"]["units_moved"]) < 1e-6
    assert [it["moved"] for it in c["items"]] == sorted((it["moved"] for it in c["items"]), reverse=True)
    # the response matches its schema in the OpenAPI document
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", plant.app)
    spec = http.get("/api/v1/openapi.json").json
    body = spec["paths"]["/api/v1/plan-runs/compare"]["get"]["responses"]["200"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/Compare"}
    assert {"objectives", "items", "diff"} <= set(spec["components"]["schemas"]["Compare"]["required"])
    case = schema["/api/v1/plan-runs/compare"]["GET"].Case(query={"a": plant.run_id, "b": other})
    case.call_and_validate(headers=h, checks=[response_schema_conformance, status_code_conformance])
    # wrong input
    missing = http.get(f"/api/v1/plan-runs/compare?a={plant.run_id}", headers=h)
    assert missing.status_code == 422 and "b" in missing.json["error"]["details"]["fields"]["query"]
    unknown = http.get(f"/api/v1/plan-runs/compare?a={plant.run_id}&b=999999", headers=h)
    assert unknown.status_code == 404 and "999999" in unknown.json["error"]["message"]
    assert http.get(f"/api/v1/plan-runs/compare?a=1&b={other}",
                    headers=api_headers(plant, "supervisor")).status_code == 403


def test_downtime_and_stock_moves(plant: Plant) -> None:
    http = plant.app.test_client()
    wc = http.get("/api/v1/work-centers", headers=api_headers(plant, "supervisor")).json[-1]["code"]
    body = {"work_center": wc, "minutes": 15, "reason": "jam", "client_key": f"dt-{uuid.uuid4().hex}"}
    first = http.post("/api/v1/reports/downtime", json=body, headers=api_headers(plant, "supervisor"))
    assert first.status_code == 201
    assert http.post("/api/v1/reports/downtime", json=body, headers=api_headers(plant, "supervisor")).status_code == 200
    h = api_headers(plant, "planner")
    item = http.get("/api/v1/items", headers=h).json[0]["code"]
    got = http.post("/api/v1/stock-moves", json={"kind": "receipt", "item": item, "quantity": 5}, headers=h)
    assert got.status_code == 201 and got.json["kind"] == "receipt"
    short = http.post("/api/v1/stock-moves", json={"kind": "adjustment", "item": item, "quantity": -10**9,
                                                    "reason": "count"}, headers=h)
    assert short.status_code == 409 and short.json["error"]["code"] == "conflict"
    assert any(m["kind"] == "receipt" for m in http.get(f"/api/v1/stock-moves?item={item}", headers=h).json)


# --- fuzzing --------------------------------------------------------------------------------

FUZZ_EXAMPLES = 12  # per operation: bounded so CI stays fast


def test_api_fuzzing_no_server_error_and_responses_match_the_schema(plant: Plant) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", plant.app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    headers = api_headers(plant, "admin")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=checks)

        run()


def test_a_plan_run_request_takes_a_minimum_interval_lead(plant: Plant) -> None:
    http, h = plant.app.test_client(), api_headers(plant, "planner")
    run = http.post("/api/v1/plan-runs", json={"costs": {"late": 100}, "min_interval_lead": 1}, headers=h)
    assert run.status_code == 202 and run.json["parameters"]["min_interval_lead"] == 1
    bad = http.post("/api/v1/plan-runs", json={"min_interval_lead": 13}, headers=h)
    assert bad.status_code == 422 and bad.json["error"]["code"] == "invalid_input"  # a schema error


def test_a_body_that_is_not_json_or_not_sent_as_json_is_named(plant: Plant) -> None:
    http, h = plant.app.test_client(), api_headers(plant, "supervisor")
    body = '{"work_center": "PACK", "minutes": 10, "reason": "Material shortage", "client_key": "ct-1"}'
    plain = http.post("/api/v1/reports/downtime", data=body, headers={**h, "Content-Type": "text/plain"})
    assert plain.status_code == 422
    assert plain.json["error"]["message"] == ("the request's fields are missing: send the body as JSON with the "
                                              "header Content-Type: application/json")
    broken = http.post("/api/v1/reports/downtime", data=body[:-3], headers={**h, "Content-Type": "application/json"})
    assert broken.status_code == 400
    assert broken.json["error"]["message"] == "the request body is not valid JSON (see details)"
