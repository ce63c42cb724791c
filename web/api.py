"""The JSON API under /api/v1 (docs/api.md), described by an OpenAPI 3 document that
flask-smorest generates from the marshmallow schemas below (/api/v1/openapi.json; a docs page
at /api/v1/docs rendered from it on the server, no CDN).

Authentication: ``Authorization: Bearer TOKEN`` (a per-user token, see ``lpms users token``);
no session cookie, no CSRF. Errors: ``{"error": {"code", "message", "details"}}`` with the
status of the error table (web/errors.py). Completion and downtime reports are idempotent by
the ``Idempotency-Key`` header or a ``client_key`` field (both given and different: 400).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import Flask, abort, render_template, request
from flask_smorest import Api, Blueprint

from lpms import __version__
from lpms.domain.enums import Objective, OrderStatus, PlanRunStatus, Role, WorkOrderStatus
from lpms.domain.errors import InvalidInput, NotFound
from lpms.services import fluctuations, jobs, progress, release, reports, stock, views, views_plan, work_orders
from lpms.services.plan_runs import request_plan_run
from web import edits
from web.context import now, settings, uow
from web.plan import MAX_INTERVAL_LEAD, parse_request
from web.security import ALL_ROLES, api_user, public, roles

PREFIX = "/api/v1"
blp = Blueprint("api", __name__, url_prefix=PREFIX, description="LPMS integration API")


# --- schemas ------------------------------------------------------------------------------


def _printable(value: str) -> None:
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            raise ma.ValidationError(f"contains a control character (U+{ord(ch):04X})")


def Text(max_len: int, **kw: Any) -> ma.fields.String:
    return ma.fields.String(validate=[ma.validate.Length(max=max_len), _printable], **kw)


def Quantity(**kw: Any) -> ma.fields.Float:
    return ma.fields.Float(allow_nan=False, validate=ma.validate.Range(min=0, max=1e12), **kw)


class ErrorDetail(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ["invalid_input", "unauthorized", "forbidden", "not_found", "conflict", "infeasible", "unavailable",
         "internal"]))
    message = ma.fields.String(required=True)
    details = ma.fields.Dict(required=True)


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorDetail, required=True)


class ItemSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String()
    unit = ma.fields.String()
    lead_time_periods = ma.fields.Integer()
    stocked = ma.fields.Boolean()
    safety_stock = ma.fields.Float()


class BomSchema(ma.Schema):
    parent = ma.fields.String()
    child = ma.fields.String()
    qty_per = ma.fields.Float()


class WorkCenterSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()


class CapacitySchema(ma.Schema):
    work_center = Text(64, required=True)
    period = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=100000))
    start_date = ma.fields.String(dump_only=True)
    regular_min = Quantity(required=True)
    overtime_min = Quantity(load_default=0.0)


class CapacityPutSchema(ma.Schema):
    rows = ma.fields.List(ma.fields.Nested(CapacitySchema), required=True, validate=ma.validate.Length(min=1, max=10000))


class CapacityQuerySchema(ma.Schema):
    work_center = Text(64)


class ForecastSchema(ma.Schema):
    item = Text(64, required=True)
    start_date = ma.fields.Date(required=True)
    end_date = ma.fields.Date(required=True)
    quantity = Quantity(required=True)


class OrderSchema(ma.Schema):
    number = Text(64, required=True)
    customer = Text(200, required=True)
    item = Text(64, required=True)
    quantity = ma.fields.Float(required=True, allow_nan=False, validate=ma.validate.Range(min=0, min_inclusive=False,
                                                                                           max=1e12))
    due_date = ma.fields.Date(required=True)
    priority = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=-1000000, max=1000000))
    status = ma.fields.String(dump_only=True, validate=ma.validate.OneOf([s.value for s in OrderStatus]))


class OrderPatchSchema(ma.Schema):
    customer = Text(200)
    quantity = ma.fields.Float(allow_nan=False, validate=ma.validate.Range(min=0, min_inclusive=False, max=1e12))
    due_date = ma.fields.Date()
    priority = ma.fields.Integer(validate=ma.validate.Range(min=-1000000, max=1000000))


class CostsSchema(ma.Schema):
    late = Quantity()
    balance = Quantity()
    inventory = Quantity()
    overtime = Quantity()


class PlanRunRequestSchema(ma.Schema):
    costs = ma.fields.Nested(CostsSchema, load_default=dict)
    priority = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf([o.value for o in Objective])),
                              load_default=list, validate=ma.validate.Length(max=4))
    min_interval_lead = ma.fields.Integer(load_default=0, strict=True,
                                          validate=ma.validate.Range(min=0, max=MAX_INTERVAL_LEAD),
                                          metadata={"description": "an interval feeding another takes at least this "
                                                                   "many periods (0: their own lead times)"})


class PlanRunSchema(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in PlanRunStatus]))
    mode = ma.fields.String()
    parameters = ma.fields.Dict()
    objectives = ma.fields.Dict()
    message = ma.fields.String()
    notes = ma.fields.List(ma.fields.String())
    created_by = ma.fields.String()
    created_at = ma.fields.DateTime()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)


class PlanRunDetailSchema(PlanRunSchema):
    plan = ma.fields.List(ma.fields.Dict())
    work_center_load = ma.fields.List(ma.fields.Dict())


class CompareQuerySchema(ma.Schema):
    a = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**31 - 1))
    b = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**31 - 1))


class ObjectiveChangeSchema(ma.Schema):
    objective = ma.fields.String(required=True)
    a = ma.fields.Float(required=True, allow_none=True, metadata={"description": "run a's value (null: not computed)"})
    b = ma.fields.Float(required=True, allow_none=True)
    change = ma.fields.Float(required=True, allow_none=True, metadata={"description": "b - a"})


class ItemChangeSchema(ma.Schema):
    interval = ma.fields.String(required=True)
    item = ma.fields.String(required=True, metadata={"description": "the interval's head item"})
    a = ma.fields.Float(required=True, metadata={"description": "run a's production over the compared periods"})
    b = ma.fields.Float(required=True)
    change = ma.fields.Float(required=True, metadata={"description": "b - a"})
    moved = ma.fields.Float(required=True, metadata={"description": "sum of |change| outside run b's frozen periods"})
    periods_changed = ma.fields.Integer(required=True)


class DiffRowSchema(ma.Schema):
    interval = ma.fields.String(required=True)
    period = ma.fields.Integer(required=True)
    old = ma.fields.Float(required=True)
    new = ma.fields.Float(required=True)
    change = ma.fields.Float(required=True)
    frozen = ma.fields.Boolean(required=True)


class PlanDiffSchema(ma.Schema):
    """lpms.services.replan.plan_diff_dict (docs/replan.md "The diff")."""

    run_a = ma.fields.Integer(required=True)
    run_b = ma.fields.Integer(required=True)
    periods = ma.fields.List(ma.fields.Integer(), required=True, allow_none=True,
                             metadata={"description": "[first, last] period compared; null: no period in common"})
    frozen_periods = ma.fields.List(ma.fields.Integer(), required=True)
    units_moved = ma.fields.Float(required=True)
    changed = ma.fields.Integer(required=True)
    rows = ma.fields.List(ma.fields.Nested(DiffRowSchema), required=True)


class CompareSchema(ma.Schema):
    a = ma.fields.Nested(PlanRunSchema, required=True)
    b = ma.fields.Nested(PlanRunSchema, required=True)
    objectives = ma.fields.List(ma.fields.Nested(ObjectiveChangeSchema), required=True)
    items = ma.fields.List(ma.fields.Nested(ItemChangeSchema), required=True,
                           metadata={"description": "per interval (head item), largest units moved first"})
    diff = ma.fields.Nested(PlanDiffSchema, required=True)


class ApprovalSchema(ma.Schema):
    run_id = ma.fields.Integer()
    superseded = ma.fields.List(ma.fields.Integer())


class ReleaseRequestSchema(ma.Schema):
    fence = ma.fields.Integer(validate=ma.validate.Range(min=0, max=520))


class ReleaseSchema(ma.Schema):
    run_id = ma.fields.Integer()
    current_period = ma.fields.Integer()
    fence = ma.fields.List(ma.fields.Integer())
    released = ma.fields.List(ma.fields.Integer())
    frozen = ma.fields.List(ma.fields.Integer())
    beyond_plan = ma.fields.List(ma.fields.Integer())
    work_orders = ma.fields.List(ma.fields.String())


class OperationSchema(ma.Schema):
    seq = ma.fields.Integer()
    work_center = ma.fields.String()
    good = ma.fields.Float()
    scrap = ma.fields.Float()


class WorkOrderSchema(ma.Schema):
    number = ma.fields.String()
    item = ma.fields.String()
    interval = ma.fields.String()
    quantity = ma.fields.Float()
    good = ma.fields.Float()
    scrap = ma.fields.Float()
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in WorkOrderStatus]))
    due_period = ma.fields.Integer()
    operations = ma.fields.List(ma.fields.Nested(OperationSchema))


class WorkOrderQuerySchema(ma.Schema):
    work_center = Text(64)
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in WorkOrderStatus]))


class CompletionRequestSchema(ma.Schema):
    work_order = Text(64, required=True)
    operation = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=1000000))
    good = Quantity(load_default=0.0)
    scrap = Quantity(load_default=0.0)
    client_key = Text(64)


class CompletionSchema(ma.Schema):
    id = ma.fields.Integer()
    client_key = ma.fields.String()
    work_order = ma.fields.Nested(WorkOrderSchema)
    operation = ma.fields.Integer()
    good = ma.fields.Float()
    scrap = ma.fields.Float()
    reported_by = ma.fields.String()
    reported_at = ma.fields.DateTime()
    replayed = ma.fields.Boolean()


class DowntimeRequestSchema(ma.Schema):
    work_center = Text(64, required=True)
    minutes = ma.fields.Float(required=True, allow_nan=False, validate=ma.validate.Range(min=0, min_inclusive=False,
                                                                                         max=1e6))
    reason = Text(200, required=True)
    work_order = Text(64)
    client_key = Text(64)


class DowntimeSchema(ma.Schema):
    id = ma.fields.Integer()
    client_key = ma.fields.String()
    work_center = ma.fields.String()
    period = ma.fields.Integer()
    minutes = ma.fields.Float()
    reason = ma.fields.String()
    lost_min = ma.fields.Float()
    capacity_min = ma.fields.Float(allow_none=True)
    remaining_min = ma.fields.Float(allow_none=True)
    replayed = ma.fields.Boolean()


class StockMoveQuerySchema(ma.Schema):
    item = Text(64)
    work_order = Text(64)


class StockMoveSchema(ma.Schema):
    id = ma.fields.Integer()
    item = ma.fields.String()
    kind = ma.fields.String()
    quantity = ma.fields.Float()
    work_order = ma.fields.String(allow_none=True)
    customer_order = ma.fields.String(allow_none=True)
    reference = ma.fields.String()
    reason = ma.fields.String()
    posted_by = ma.fields.String()
    posted_at = ma.fields.DateTime()


class StockMoveRequestSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(["receipt", "shipment", "adjustment"]))
    item = Text(64)
    order = Text(64)
    quantity = ma.fields.Float(allow_nan=False, validate=ma.validate.Range(min=-1e12, max=1e12))
    reason = Text(500)
    reference = Text(64)


class StockPostSchema(ma.Schema):
    move_id = ma.fields.Integer()
    item = ma.fields.String()
    kind = ma.fields.String()
    quantity = ma.fields.Float()
    on_hand = ma.fields.Float()
    order = ma.fields.String()
    remaining = ma.fields.Float()
    order_status = ma.fields.String()


class MeasureSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    as_of = ma.fields.String()


class KitQuerySchema(ma.Schema):
    window = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=52))


class FluctuationSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    kind = ma.fields.String()
    subject = ma.fields.String()
    amount = ma.fields.Float()
    detail = ma.fields.String()
    triggers_replan = ma.fields.Boolean()


class JobSchema(ma.Schema):
    job_id = ma.fields.String()
    runs = ma.fields.List(ma.fields.Dict())


class JobRequestSchema(ma.Schema):
    job_id = ma.fields.String()
    request_id = ma.fields.Integer()


# --- wiring -------------------------------------------------------------------------------


class LpmsApi(Api):
    """flask-smorest's Api with LPMS's error body; errors are answered by web/errors.py."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        pass  # web.errors handles every error of the app, the API's as JSON


def init_api(app: Flask) -> LpmsApi:
    app.config.update(
        API_TITLE="LPMS API", API_VERSION=__version__, OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX, OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "Integration API of LPMS (MES, scanners, ERP). See docs/api.md."},
            "servers": [{"url": "/"}],
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    api = LpmsApi(app)
    api.register_blueprint(blp)
    # the description and the docs page are public (declared for the route-role test)
    spec_view = app.view_functions["api-docs.openapi_json"]

    @public
    def openapi_json() -> Any:
        return spec_view()

    app.view_functions["api-docs.openapi_json"] = openapi_json
    app.add_url_rule(f"{PREFIX}/docs", "api_docs_page", public(lambda: render_template("api_docs.html",
                                                                                           spec=api.spec.to_dict())))
    return api


ERROR_CODES = (400, 401, 403, 404, 409, 503)


def documented(*extra: int) -> Callable[[Any], Any]:
    """Document the error responses an endpoint can give (the error table's statuses)."""
    def decorate(view: Any) -> Any:
        for code in sorted(set(ERROR_CODES + extra)):
            view = blp.alt_response(code, schema=ErrorSchema, description="error")(view)
        return view
    return decorate


@blp.before_request
def authenticate() -> None:
    """Every API request needs a valid bearer token (401 otherwise); the session is not used."""
    if api_user() is None:
        abort(401)


@blp.after_request
def no_session(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    return response


def _query(name: str) -> str | None:
    return request.args.get(name) or None


# --- master data and demand ------------------------------------------------------------


@blp.route("/items", methods=["GET"])
@roles(*ALL_ROLES)
@blp.response(200, ItemSchema(many=True))
@documented()
def get_items() -> Any:
    return views.items(uow())


@blp.route("/bom", methods=["GET"])
@roles(*ALL_ROLES)
@blp.response(200, BomSchema(many=True))
@documented()
def get_bom() -> Any:
    return views.bom(uow())


@blp.route("/work-centers", methods=["GET"])
@roles(*ALL_ROLES)
@blp.response(200, WorkCenterSchema(many=True))
@documented()
def get_work_centers() -> Any:
    return views.work_centers(uow())


@blp.route("/capacity", methods=["GET"])
@roles(*ALL_ROLES)
@blp.arguments(CapacityQuerySchema(), location="query")
@blp.response(200, CapacitySchema(many=True))
@documented()
def get_capacity(args: dict[str, Any]) -> Any:
    return views.capacity(uow(), args.get("work_center"))


@blp.route("/capacity", methods=["PUT"])
@roles("planner")
@blp.arguments(CapacityPutSchema())
@blp.response(200, CapacitySchema(many=True))
@documented()
def put_capacity(body: dict[str, Any]) -> Any:
    rows = body["rows"]
    edits.set_capacity(rows)
    changed = {(r["work_center"], r["period"]) for r in rows}
    return [r for r in views.capacity(uow()) if (r["work_center"], r["period"]) in changed]


@blp.route("/forecasts", methods=["GET"])
@roles("planner", "manager")
@blp.response(200, ForecastSchema(many=True))
@documented()
def get_forecasts() -> Any:
    return views.forecasts(uow())


@blp.route("/forecasts", methods=["POST"])
@roles("planner")
@blp.arguments(ForecastSchema())
@blp.response(201, ForecastSchema)
@documented()
def post_forecast(body: dict[str, Any]) -> Any:
    edits.save_forecast(body)
    return body


@blp.route("/orders", methods=["GET"])
@roles("planner", "manager")
@blp.response(200, OrderSchema(many=True))
@documented()
def get_orders() -> Any:
    return views.orders(uow())


@blp.route("/orders", methods=["POST"])
@roles("planner")
@blp.arguments(OrderSchema())
@blp.response(201, OrderSchema)
@documented()
def post_order(body: dict[str, Any]) -> Any:
    return edits.save_order({**body, "status": OrderStatus.OPEN.value})


@blp.route("/orders/<number>", methods=["GET"])
@roles("planner", "manager")
@blp.response(200, OrderSchema)
@documented()
def get_order(number: str) -> Any:
    return views.order(uow(), number)


@blp.route("/orders/<number>", methods=["PATCH"])
@roles("planner")
@blp.arguments(OrderPatchSchema())
@blp.response(200, OrderSchema)
@documented()
def patch_order(body: dict[str, Any], number: str) -> Any:
    if not body:
        raise InvalidInput("nothing to change: give customer, quantity, due_date or priority")
    return edits.save_order(body, existing=number)


@blp.route("/orders/<number>", methods=["DELETE"])
@roles("planner")
@blp.response(200, OrderSchema)
@documented()
def cancel_order(number: str) -> Any:
    return edits.cancel_order(number)


# --- plan runs ------------------------------------------------------------------------------


@blp.route("/plan-runs", methods=["GET"])
@roles("planner", "manager")
@blp.response(200, PlanRunSchema(many=True))
@documented()
def get_plan_runs() -> Any:
    return views_plan.plan_runs(uow())


@blp.route("/plan-runs", methods=["POST"])
@roles("planner")
@blp.arguments(PlanRunRequestSchema())
@blp.response(202, PlanRunSchema)
@documented()
def post_plan_run(body: dict[str, Any]) -> Any:
    priority = body.get("priority") or []
    req = parse_request("priority" if priority else "weighted", dict.fromkeys(o.value for o in Objective) |
                        body.get("costs", {}), ",".join(priority), body.get("min_interval_lead", 0))
    run_id = request_plan_run(uow(), req, actor=_actor(), now=now())
    return views_plan.plan_run(uow(), run_id)


@blp.route("/plan-runs/compare", methods=["GET"])
@roles("planner", "manager")
@blp.arguments(CompareQuerySchema(), location="query")
@blp.response(200, CompareSchema)
@documented()
def compare_runs(args: dict[str, Any]) -> Any:
    return views_plan.compare_runs(uow(), args["a"], args["b"])


@blp.route("/plan-runs/<int:run_id>", methods=["GET"])
@roles("planner", "manager")
@blp.response(200, PlanRunDetailSchema)
@documented()
def get_plan_run(run_id: int) -> Any:
    return views_plan.plan_run_detail(uow(), run_id)


@blp.route("/plan-runs/<int:run_id>/approve", methods=["POST"])
@roles("planner")
@blp.response(200, ApprovalSchema)
@documented()
def approve_run(run_id: int) -> Any:
    result = release.approve_plan_run(uow(), run_id, actor=_actor(), now=now())
    return {"run_id": result.run_id, "superseded": list(result.superseded)}


@blp.route("/releases", methods=["POST"])
@roles("planner")
@blp.arguments(ReleaseRequestSchema())
@blp.response(201, ReleaseSchema)
@documented()
def post_release(body: dict[str, Any]) -> Any:
    fence = body.get("fence", settings().release_fence_periods)
    r = release.release_work_orders(uow(), fence_periods=fence, actor=_actor(), now=now(), timezone=settings().timezone)
    return {"run_id": r.run_id, "current_period": r.current_period, "fence": list(r.fence),
            "released": list(r.released), "frozen": list(r.frozen), "beyond_plan": list(r.beyond_plan),
            "work_orders": [wo.number for wo in r.work_orders]}


# --- shop floor -------------------------------------------------------------------------------


@blp.route("/work-orders", methods=["GET"])
@roles(*ALL_ROLES)
@blp.arguments(WorkOrderQuerySchema(), location="query")
@blp.response(200, WorkOrderSchema(many=True))
@documented()
def get_work_orders(args: dict[str, Any]) -> Any:
    status = WorkOrderStatus(args["status"]) if args.get("status") else None
    return [work_orders.work_order_dict(wo)
            for wo in work_orders.list_work_orders(uow(), status=status, work_center=args.get("work_center"))]


@blp.route("/work-orders/<number>", methods=["GET"])
@roles(*ALL_ROLES)
@blp.response(200, WorkOrderSchema)
@documented()
def get_work_order(number: str) -> Any:
    return work_orders.work_order_dict(work_orders.get_work_order(uow(), number))


def client_key(body: dict[str, Any]) -> str:
    """The report's idempotency key: the Idempotency-Key header or the client_key field."""
    header = request.headers.get("Idempotency-Key")
    field = body.get("client_key")
    if header is not None and field is not None and header != field:
        raise InvalidInput("Idempotency-Key header and client_key differ: give one, or the same in both")
    key = header if header is not None else field
    if not key:
        raise InvalidInput("an idempotency key is required: the Idempotency-Key header or a client_key field")
    return key


def _actor() -> str:
    user = api_user()
    return f"api:{user.username}" if user else "api"


@blp.route("/reports/completions", methods=["POST"])
@roles("supervisor")
@blp.arguments(CompletionRequestSchema())
@blp.response(201, CompletionSchema, description="recorded")
@blp.alt_response(200, schema=CompletionSchema, description="the same key was reported before: the original report",
                  success=True)
@documented()
def post_completion(body: dict[str, Any]) -> Any:
    s = settings()
    result = reports.report_completion(uow(), body["work_order"], body["operation"], body["good"], body["scrap"],
                                       client_key=client_key(body), actor=_actor(), now=now(),
                                       tolerance=s.over_completion_tolerance,
                                       allow_negative_stock=s.allow_negative_stock)
    r = result.report
    out = {"id": r.id, "client_key": r.client_key, "work_order": work_orders.work_order_dict(result.work_order),
           "operation": r.operation_seq, "good": r.good, "scrap": r.scrap, "reported_by": r.reported_by,
           "reported_at": r.reported_at, "replayed": result.replayed}
    return out, (200 if result.replayed else 201)


@blp.route("/reports/downtime", methods=["POST"])
@roles("supervisor")
@blp.arguments(DowntimeRequestSchema())
@blp.response(201, DowntimeSchema, description="recorded")
@blp.alt_response(200, schema=DowntimeSchema, description="the same key was reported before: the original report",
                  success=True)
@documented()
def post_downtime(body: dict[str, Any]) -> Any:
    result = reports.report_downtime(uow(), body["work_center"], body["minutes"], body["reason"],
                                     client_key=client_key(body), actor=_actor(), now=now(),
                                     work_order=body.get("work_order"), timezone=settings().timezone)
    r = result.report
    out = {"id": r.id, "client_key": r.client_key, "work_center": r.work_center, "period": r.period_seq,
           "minutes": r.minutes, "reason": r.reason, "lost_min": result.lost_min, "capacity_min": result.capacity_min,
           "remaining_min": result.remaining_min, "replayed": result.replayed}
    return out, (200 if result.replayed else 201)


@blp.route("/stock-moves", methods=["GET"])
@roles("planner", "manager", "supervisor")
@blp.arguments(StockMoveQuerySchema(), location="query")
@blp.response(200, StockMoveSchema(many=True))
@documented()
def get_stock_moves(args: dict[str, Any]) -> Any:
    moves = stock.stock_moves(uow(), item=args.get("item"), work_order=args.get("work_order"))
    return [{"id": mv.id, "item": mv.item, "kind": mv.kind.value, "quantity": mv.quantity, "work_order": mv.work_order,
             "customer_order": mv.customer_order, "reference": mv.reference, "reason": mv.reason,
             "posted_by": mv.posted_by, "posted_at": mv.posted_at} for mv in moves]


@blp.route("/stock-moves", methods=["POST"])
@roles("planner")
@blp.arguments(StockMoveRequestSchema())
@blp.response(201, StockPostSchema)
@documented()
def post_stock_move(body: dict[str, Any]) -> Any:
    kind = body["kind"]
    if kind == "shipment":
        if not body.get("order"):
            raise InvalidInput("a shipment names its customer order: order")
        shipped = stock.ship_order(uow(), body["order"], body.get("quantity"), actor=_actor(), now=now())
        p = shipped.post
        return {"move_id": p.move_id, "item": p.item, "kind": p.kind.value, "quantity": p.quantity,
                "on_hand": p.on_hand, "order": shipped.order, "remaining": shipped.remaining,
                "order_status": shipped.order_status.value}
    if not body.get("item"):
        raise InvalidInput(f"a {kind} names its item: item")
    if body.get("quantity") is None:
        raise InvalidInput(f"a {kind} needs a quantity")
    if kind == "receipt":
        p = stock.receive_stock(uow(), body["item"], body["quantity"], actor=_actor(), now=now(),
                                reference=body.get("reference", ""))
    else:
        p = stock.adjust_stock(uow(), body["item"], body["quantity"], reason=body.get("reason", ""), actor=_actor(),
                               now=now())
    return {"move_id": p.move_id, "item": p.item, "kind": p.kind.value, "quantity": p.quantity, "on_hand": p.on_hand}


# --- measures, fluctuations, jobs ---------------------------------------------------------------


@blp.route("/measures/progress", methods=["GET"])
@roles("planner", "manager", "supervisor")
@blp.response(200, MeasureSchema)
@documented()
def get_progress() -> Any:
    return progress.progress_dict(progress.progress_report(uow(), now=now(), timezone=settings().timezone))


@blp.route("/measures/kit", methods=["GET"])
@roles("planner", "manager", "supervisor")
@blp.arguments(KitQuerySchema(), location="query")
@blp.response(200, MeasureSchema)
@documented()
def get_kit(args: dict[str, Any]) -> Any:
    return progress.kit_dict(progress.kit_report(uow(), now=now(), window=args["window"], timezone=settings().timezone))


@blp.route("/fluctuations", methods=["GET"])
@roles("planner", "manager")
@blp.response(200, FluctuationSchema(many=True))
@documented()
def get_fluctuations() -> Any:
    return [fluctuations.fluctuation_dict(e) for e in fluctuations.list_fluctuations(uow(), limit=200)]


@blp.route("/jobs", methods=["GET"])
@roles()
@blp.response(200, JobSchema(many=True))
@documented()
def get_jobs() -> Any:
    return views.job_runs_by_job(uow())


@blp.route("/jobs/<job_id>/run", methods=["POST"])
@roles()
@blp.response(202, JobRequestSchema)
@documented()
def run_job(job_id: str) -> Any:
    if job_id not in jobs.JOB_IDS:  # a path that names no job
        raise NotFound(f"job {job_id} does not exist (jobs: {', '.join(jobs.JOB_IDS)})")
    return {"job_id": job_id, "request_id": jobs.request_job(uow(), job_id, actor=_actor(), now=now())}


__all__ = ["PREFIX", "Role", "blp", "init_api"]
