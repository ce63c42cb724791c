"""Planner screens: demand (orders, forecasts, CSV upload), capacity, plan runs (start, watch,
read, compare, Pareto), the network picture, approve and release, fluctuations and re-plans."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lpms.domain.enums import Objective
from lpms.domain.errors import InvalidInput, LpmsError, ValidationFailed
from lpms.domain.values import DEFAULT_COSTS, Costs
from lpms.formats.network_svg import network_svg
from lpms.services import csv_io, jobs, release, views, views_plan
from lpms.services import network as network_service
from lpms.services.plan_runs import PlanRequest, request_plan_run
from web import charts, edits
from web.context import now, settings, uow
from web.fields import DayField, NumberField, WholeNumberField, form_errors
from web.security import actor, roles

bp = Blueprint("plan", __name__, url_prefix="/plan")
OBJECTIVES = [o.value for o in Objective]


MAX_INTERVAL_LEAD = 12  # periods; more would leave most of a horizon without production
COST = [Optional(), NumberRange(min=0, max=1e9, message="must be between 0 and 1,000,000,000")]


class StartRunForm(FlaskForm):
    mode = SelectField("Mode", choices=[SelectChoice("weighted", "Costs (weighted)"),
                                        SelectChoice("priority", "Priority order")])
    late = NumberField("Late cost (per unit and period)", default=DEFAULT_COSTS.late, validators=COST)
    balance = NumberField("Balance cost", default=DEFAULT_COSTS.balance, validators=COST)
    inventory = NumberField("Inventory cost", default=DEFAULT_COSTS.inventory, validators=COST)
    overtime = NumberField("Overtime cost", default=DEFAULT_COSTS.overtime, validators=COST)
    priority = StringField("Priority order (priority mode; e.g. late, overtime, inventory, balance)",
                           validators=[Optional(), Length(max=80, message="at most 80 characters")])
    min_interval_lead = WholeNumberField(
        "Minimum periods from an interval to the next (0: their own lead times)", default=0,
        validators=[Optional(), NumberRange(min=0, max=MAX_INTERVAL_LEAD, message=f"must be 0 to {MAX_INTERVAL_LEAD}")])


POSITIVE = NumberRange(min=0.000001, max=1e12, message="must be more than 0")


class OrderForm(FlaskForm):
    number = StringField("Number", validators=[DataRequired("enter the order number"), Length(max=64)])
    customer = StringField("Customer", validators=[DataRequired("enter the customer"), Length(max=200)])
    item = StringField("Item", validators=[DataRequired("enter the item code"), Length(max=64)])
    quantity = NumberField("Quantity", validators=[InputRequired("enter the quantity"), POSITIVE])
    due_date = DayField("Due date", validators=[InputRequired("enter the due date")])
    priority = WholeNumberField("Priority", default=0, validators=[Optional()])


class ChangeOrderForm(FlaskForm):
    customer = StringField("Customer", validators=[DataRequired("enter the customer"), Length(max=200)])
    quantity = NumberField("Quantity", validators=[InputRequired("enter the quantity"), POSITIVE])
    due_date = DayField("Due date", validators=[InputRequired("enter the due date")])
    priority = WholeNumberField("Priority", validators=[Optional()])


class CancelOrderForm(FlaskForm):
    confirm = BooleanField("Confirm", validators=[DataRequired("tick the box to confirm")])


class ForecastForm(FlaskForm):
    item = StringField("Item", validators=[DataRequired("enter the item code"), Length(max=64)])
    start_date = DayField("From", validators=[InputRequired("enter the first day")])
    end_date = DayField("To", validators=[InputRequired("enter the last day")])
    quantity = NumberField("Quantity", validators=[InputRequired("enter the quantity (0 to clear)"),
                                                   NumberRange(min=0, max=1e12, message="must be 0 or more")])


MINUTES = NumberRange(min=0, max=1e7, message="must be 0 or more")


class CapacityForm(FlaskForm):
    work_center = StringField("Work center", validators=[DataRequired("choose a work center"), Length(max=64)])
    period = WholeNumberField("Period", validators=[InputRequired("enter the period number"),
                                                    NumberRange(min=1, message="must be 1 or more")])
    regular_min = NumberField("Regular minutes", validators=[InputRequired("enter the regular minutes"), MINUTES])
    overtime_min = NumberField("Overtime minutes", default=0, validators=[Optional(), MINUTES])


class UploadForm(FlaskForm):
    pass


class ReleaseForm(FlaskForm):
    fence = WholeNumberField("Fence (periods)", validators=[InputRequired("enter the fence in periods"),
                                                            NumberRange(min=0, max=52, message="must be 0 to 52")])


_errors = form_errors


def parse_request(mode: str, costs: dict[str, float | None], priority: str,
                  min_interval_lead: int | None = 0) -> PlanRequest:
    """A plan request from the form's or the API's fields; InvalidInput names the wrong one."""
    lead = min_interval_lead or 0
    if mode == "priority":
        names = [p.strip().lower() for p in priority.replace(">", ",").split(",") if p.strip()]
        if not names:
            raise InvalidInput("priority order: name the objectives in order, e.g. late, overtime, inventory")
        bad = [n for n in names if n not in OBJECTIVES]
        if bad:
            raise InvalidInput(f"priority order: {', '.join(bad)} not one of {', '.join(OBJECTIVES)}")
        if len(set(names)) != len(names):
            raise InvalidInput("priority order: an objective is named twice")
        return PlanRequest(priority=tuple(Objective(n) for n in names), min_interval_lead=lead)
    values = {k: (DEFAULT_COSTS.as_weights()[k] if v is None else float(v)) for k, v in costs.items()}
    return PlanRequest(costs=Costs(**values), min_interval_lead=lead)


# --- plan runs ------------------------------------------------------------------------------


@bp.route("/")
@roles("planner")
def index() -> Any:
    return _runs_page(StartRunForm(formdata=None))


def _runs_page(form: StartRunForm, problems: list[str] | None = None, status: int = 200) -> Any:
    runs = views_plan.plan_runs(uow())
    return render_template("plan/runs.html", runs=runs, form=form, problems=problems or [],
                           release_form=ReleaseForm(formdata=None, fence=settings().release_fence_periods),
                           active=any(views_plan.is_active(r) for r in runs)), status


@bp.route("/runs", methods=["POST"])
@roles("planner")
def start_run() -> Any:
    form = StartRunForm()
    if not form.validate_on_submit():
        return _runs_page(form, _errors(form), 400)
    try:
        req = parse_request(form.mode.data or "weighted", {k: form[k].data for k in OBJECTIVES}, form.priority.data or "",
                            form.min_interval_lead.data)
    except InvalidInput as exc:
        return _runs_page(form, [str(exc)], 400)
    run_id = request_plan_run(uow(), req, actor=actor(), now=now())
    flash(f"Plan run {run_id} queued: the jobs process solves it in the background.", "ok")
    return redirect(url_for("plan.run", run_id=run_id))


@bp.route("/runs/<int:run_id>")
@roles("planner", "manager")
def run(run_id: int) -> Any:
    view = views_plan.plan_view(uow(), run_id)
    load_charts = [Markup(charts.bar_chart(
        f"{wc}: load (minutes)", view.labels, [("regular", row["regular"]), ("overtime", row["overtime"])],
        lines=[("regular capacity", row["cap_regular"]), ("regular + overtime", row["cap_total"])],
        y_label="minutes")) for wc, row in view.load.items()]
    groups = charts.split_by_scale(list(view.inventory.items())[:8])
    buffer_charts = [Markup(charts.line_chart(
        "Buffer inventory (stocked items)" + ("" if len(groups) == 1 else
                                              " -- the large ones" if k == 0 else " -- the others"),
        view.labels, group, y_label="units")) for k, group in enumerate(groups)]
    return render_template("plan/run.html", v=view, run=view.run, labels=view.labels, load_charts=load_charts,
                           buffer_charts=buffer_charts, active=views_plan.is_active(view.run),
                           release_form=ReleaseForm(fence=settings().release_fence_periods), approve_form=UploadForm())


@bp.route("/runs/<int:run_id>/<any(load, buffers, plan):what>.csv")
@roles("planner", "manager")
def run_csv(run_id: int, what: str) -> Any:
    header, rows = views_plan.plan_table(views_plan.plan_view(uow(), run_id, levelled=False), what)
    return charts.csv_response(f"run-{run_id}-{what}.csv", header, rows)


@bp.route("/runs/<int:run_id>/approve", methods=["POST"])
@roles("planner")
def approve(run_id: int) -> Any:
    try:
        result = release.approve_plan_run(uow(), run_id, actor=actor(), now=now())
    except LpmsError as exc:
        flash(f"Not approved: {exc}", "error")
    else:
        extra = f" (superseded {', '.join(map(str, result.superseded))})" if result.superseded else ""
        flash(f"Plan run {run_id} approved{extra}.", "ok")
    return redirect(url_for("plan.run", run_id=run_id))


@bp.route("/release", methods=["POST"])
@roles("planner")
def do_release() -> Any:
    form = ReleaseForm()
    back = request.form.get("back_run", type=int)
    target = url_for("plan.run", run_id=back) if back else url_for("plan.index")
    if not form.validate_on_submit():
        for e in _errors(form):
            flash(e, "error")
        return redirect(target)
    try:
        result = release.release_work_orders(uow(), fence_periods=int(form.fence.data or 0), actor=actor(), now=now(),
                                             timezone=settings().timezone)
    except LpmsError as exc:
        flash(f"Not released: {exc}", "error")
    else:
        flash(f"Released run {result.run_id} to periods {', '.join(map(str, result.fence)) or '-'}: "
              f"{len(result.work_orders)} work order(s) created; periods released now: "
              f"{', '.join(map(str, result.released)) or 'none'}; frozen before: "
              f"{', '.join(map(str, result.frozen)) or 'none'}.", "ok")
    return redirect(target)


@bp.route("/compare")
@roles("planner", "manager")
def compare() -> Any:
    a, b = request.args.get("a", type=int), request.args.get("b", type=int)
    runs = views_plan.plan_runs(uow())
    problem = ""
    if (request.args.get("a") or request.args.get("b")) and not (a and b):
        problem = "Choose two plan runs (run A and run B) to compare."
    result = views_plan.compare_runs(uow(), a, b, page=True) if a and b else None
    return render_template("plan/compare.html", runs=runs, a=a, b=b, c=result, problem=problem), \
        (400 if problem else 200)


@bp.route("/pareto")
@roles("planner", "manager")
def pareto() -> Any:
    x = request.args.get("x", Objective.LATE.value)
    y = request.args.get("y", Objective.INVENTORY.value)
    points = views_plan.pareto_points(uow(), x, y)  # InvalidInput: two different objectives
    svg = charts.scatter(f"Plan runs: {x} vs {y} (front: no run is better in both)", [
        {"x": p["x"], "y": p["y"], "label": f"run {p['id']}", "href": url_for("plan.run", run_id=p["id"]),
         "highlight": p["front"]} for p in points], x, y)
    return render_template("plan/pareto.html", svg=Markup(svg), points=points, x=x, y=y, objectives=OBJECTIVES)


@bp.route("/network")
@roles("planner", "manager")
def network() -> Any:
    division = network_service.divide_network(uow())
    return render_template("plan/network.html", svg=Markup(network_svg(division)), division=division)


# --- demand and capacity ---------------------------------------------------------------------


# a one-row edit's problem as the importer words it ("order:2: column item: unknown item 'X'")
_ROW_PROBLEM = re.compile(r"^(?:order|forecast):2: (?:column (\w+): )?(.*)$", re.S)


def _as_form_problem(problem: str) -> str:
    """An order or forecast form's problem named by its field ("Item: unknown item 'X'"), not by
    the importer's file, line and column (the form is saved through the importer)."""
    match = _ROW_PROBLEM.match(problem)
    if match is None:
        return problem
    column, text = match.groups()
    return f"{column.replace('_', ' ').capitalize()}: {text}" if column else text


def _attempt(action: Any) -> list[str]:
    """Run an edit; the problems it was refused for (empty: done)."""
    try:
        action()
    except ValidationFailed as exc:
        return [_as_form_problem(p) for p in exc.problems]
    except LpmsError as exc:
        return [_as_form_problem(str(exc))]
    return []


def _demand_page(*, order_form: OrderForm | None = None, forecast_form: ForecastForm | None = None,
                 upload_form: UploadForm | None = None, problems: list[str] | None = None,
                 order_problems: list[str] | None = None, forecast_problems: list[str] | None = None,
                 status: int = 200) -> Any:
    """The demand page; a form that was refused keeps what was typed and shows its problems."""
    return render_template("plan/demand.html", orders=views.orders(uow()), forecasts=views.forecasts(uow()),
                           order_form=order_form or OrderForm(formdata=None),
                           forecast_form=forecast_form or ForecastForm(formdata=None),
                           upload_form=upload_form or UploadForm(formdata=None), problems=problems or [],
                           order_problems=order_problems or [], forecast_problems=forecast_problems or [],
                           files=csv_io.KNOWN_FILES), status


@bp.route("/demand")
@roles("planner")
def demand() -> Any:
    return _demand_page()


@bp.route("/upload", methods=["POST"])
@roles("planner")
def upload() -> Any:
    form = UploadForm()
    problems: list[str] = []
    if not form.validate_on_submit():
        problems = _errors(form) or ["the form was not accepted: reload the page and try again"]
    else:
        files = [f for f in request.files.getlist("files") if f and f.filename]
        if not files:
            problems = ["CSV files: choose one or more CSV files (items.csv, orders.csv, ...)"]
        else:
            texts: dict[str, bytes] = {}
            names: dict[str, str] = {}
            for f in files:
                stem = f.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].removesuffix(".csv")  # type: ignore[union-attr]
                texts[stem] = f.read()
                names[stem] = f.filename or stem
            try:
                result = csv_io.import_texts(uow(), texts, actor=actor(), now=now(), filenames=names)
            except ValidationFailed as exc:
                problems = exc.problems
            except LpmsError as exc:
                problems = [str(exc)]
            else:
                flash(f"Imported: {result.summary()}", "ok")
                return redirect(url_for("plan.demand"))
    return _demand_page(upload_form=form, problems=problems, status=400)


@bp.route("/orders", methods=["POST"])
@roles("planner")
def add_order() -> Any:
    form = OrderForm()
    if form.validate_on_submit():
        values = {k: form[k].data for k in ("number", "customer", "item", "quantity", "due_date", "priority")}
        values["priority"] = values["priority"] or 0
        values["status"] = "open"
        problems = _attempt(lambda: edits.save_order(values))
        if not problems:
            flash(f"Order {form.number.data} saved.", "ok")
            return redirect(url_for("plan.demand"))
    else:
        problems = _errors(form)
    return _demand_page(order_form=form, order_problems=problems, status=400)


def _order_page(number: str, *, form: ChangeOrderForm | None = None, cancel_form: CancelOrderForm | None = None,
                problems: list[str] | None = None, cancel_problems: list[str] | None = None, status: int = 200) -> Any:
    order = views.order(uow(), number)  # NotFound
    return render_template("plan/order.html", order=order, form=form or ChangeOrderForm(formdata=None, data=order),
                           cancel_form=cancel_form or CancelOrderForm(formdata=None), problems=problems or [],
                           cancel_problems=cancel_problems or [], editable=order["status"] in ("open", "confirmed")), \
        status


@bp.route("/orders/<number>", methods=["GET", "POST"])
@roles("planner")
def change_order(number: str) -> Any:
    if request.method == "GET":
        return _order_page(number)
    form = ChangeOrderForm()
    if form.validate_on_submit():
        values = {k: form[k].data for k in ("customer", "quantity", "due_date", "priority")}
        problems = _attempt(lambda: edits.save_order(values, existing=number))
        if not problems:
            flash(f"Order {number} changed.", "ok")
            return redirect(url_for("plan.demand"))
    else:
        problems = _errors(form)
    return _order_page(number, form=form, problems=problems, status=400)


@bp.route("/orders/<number>/cancel", methods=["POST"])
@roles("planner")
def cancel_order(number: str) -> Any:
    form = CancelOrderForm()
    if form.validate_on_submit():
        problems = _attempt(lambda: edits.cancel_order(number))
        if not problems:
            flash(f"Order {number} cancelled.", "ok")
            return redirect(url_for("plan.demand"))
    else:
        problems = _errors(form)
    return _order_page(number, cancel_form=form, cancel_problems=problems, status=400)


@bp.route("/forecasts", methods=["POST"])
@roles("planner")
def save_forecast() -> Any:
    form = ForecastForm()
    if form.validate_on_submit():
        values = {k: form[k].data for k in ("item", "start_date", "end_date", "quantity")}
        problems = _attempt(lambda: edits.save_forecast(values))
        if not problems:
            flash(f"Forecast for {form.item.data} saved.", "ok")
            return redirect(url_for("plan.demand"))
    else:
        problems = _errors(form)
    return _demand_page(forecast_form=form, forecast_problems=problems, status=400)


def _capacity_page(form: CapacityForm, wc: str | None, problems: list[str] | None = None, status: int = 200) -> Any:
    return render_template("plan/capacity.html", rows=views.capacity(uow(), wc), form=form, wc=wc,
                           work_centers=views.work_centers(uow()), problems=problems or []), status


@bp.route("/capacity", methods=["GET", "POST"])
@roles("planner")
def capacity() -> Any:
    if request.method == "POST":
        form = CapacityForm()
        if form.validate_on_submit():
            row = {k: form[k].data for k in ("work_center", "period", "regular_min", "overtime_min")}
            row["overtime_min"] = row["overtime_min"] or 0
            problems = _attempt(lambda: edits.set_capacity([row]))
            if not problems:
                flash(f"Capacity of {form.work_center.data} in period {form.period.data} saved.", "ok")
                return redirect(url_for("plan.capacity", wc=form.work_center.data))
        else:
            problems = _errors(form)
        return _capacity_page(form, request.args.get("wc") or None, problems, 400)
    wc = request.args.get("wc") or None
    period = request.args.get("period", type=int)
    prefill = next((r for r in views.capacity(uow(), wc) if r["period"] == period), None) if wc and period else None
    return _capacity_page(CapacityForm(formdata=None, data=prefill), wc)


# --- fluctuations and re-plans ------------------------------------------------------------


@bp.route("/fluctuations")
@roles("planner", "manager")
def fluctuations() -> Any:
    return render_template("plan/fluctuations.html", events=views_plan.fluctuation_events(uow()),
                           replans=views_plan.replans(uow()), requests=views_plan.open_replan_requests(uow()),
                           form=UploadForm())


@bp.route("/replans/<int:run_a>/<int:run_b>")
@roles("planner", "manager")
def replan_diff(run_a: int, run_b: int) -> Any:
    """A re-plan's changes against the plan it replaced (lpms.services.replan.plan_diff): per
    interval the production per period, old -> new, frozen periods marked."""
    return render_template("plan/replan_diff.html", d=views_plan.diff_view(uow(), run_a, run_b))


@bp.route("/replan", methods=["POST"])
@roles("planner")
def replan() -> Any:
    """Ask the jobs process to re-plan now (the rolling_replan job): the solve runs there, not in
    this request; the fluctuations page shows the request until it is done."""
    if not UploadForm().validate_on_submit():
        flash("The form was not accepted: reload the page and try again.", "error")
        return redirect(url_for("plan.fluctuations"))
    request_id = jobs.request_job(uow(), views_plan.REPLAN_JOB, actor=actor(), now=now())
    flash(f"Re-plan requested (job request {request_id}): the jobs process re-plans within seconds; "
          f"the new run appears under Re-plans.", "ok")
    return redirect(url_for("plan.fluctuations"))
