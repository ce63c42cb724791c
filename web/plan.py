"""Planner screens: demand (orders, forecasts, CSV upload), capacity, plan runs (start, watch,
read, compare, Pareto), the network picture, approve and release, fluctuations and re-plans."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import DateField, FloatField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lpms.bootstrap import replan_policy
from lpms.domain.enums import Objective
from lpms.domain.errors import InvalidInput, LpmsError, ValidationFailed
from lpms.domain.values import DEFAULT_COSTS, Costs
from lpms.formats.network_svg import network_svg
from lpms.services import csv_io, release, views, views_plan
from lpms.services import network as network_service
from lpms.services import replan as replan_service
from lpms.services.plan_runs import PlanRequest, request_plan_run
from web import charts, edits
from web.context import now, options, settings, uow
from web.security import actor, roles

bp = Blueprint("plan", __name__, url_prefix="/plan")
OBJECTIVES = [o.value for o in Objective]


class StartRunForm(FlaskForm):
    mode = SelectField("Mode", choices=[SelectChoice("weighted", "Costs (weighted)"),
                                        SelectChoice("priority", "Priority order")])
    late = FloatField("Late cost (per unit and period)", default=DEFAULT_COSTS.late,
                      validators=[Optional(), NumberRange(min=0, max=1e9)])
    balance = FloatField("Balance cost", default=DEFAULT_COSTS.balance, validators=[Optional(), NumberRange(min=0, max=1e9)])
    inventory = FloatField("Inventory cost", default=DEFAULT_COSTS.inventory,
                           validators=[Optional(), NumberRange(min=0, max=1e9)])
    overtime = FloatField("Overtime cost", default=DEFAULT_COSTS.overtime, validators=[Optional(), NumberRange(min=0, max=1e9)])
    priority = StringField("Priority order (e.g. late, overtime, inventory, balance)", validators=[Optional(), Length(max=80)])


class OrderForm(FlaskForm):
    number = StringField("Number", validators=[DataRequired(), Length(max=64)])
    customer = StringField("Customer", validators=[DataRequired(), Length(max=200)])
    item = StringField("Item", validators=[DataRequired(), Length(max=64)])
    quantity = FloatField("Quantity", validators=[InputRequired(), NumberRange(min=0.000001)])
    due_date = DateField("Due date", validators=[InputRequired()])
    priority = IntegerField("Priority", default=0, validators=[Optional()])


class ChangeOrderForm(FlaskForm):
    quantity = FloatField("Quantity", validators=[Optional(), NumberRange(min=0.000001)])
    due_date = DateField("Due date", validators=[Optional()])


class ForecastForm(FlaskForm):
    item = StringField("Item", validators=[DataRequired(), Length(max=64)])
    start_date = DateField("From", validators=[InputRequired()])
    end_date = DateField("To", validators=[InputRequired()])
    quantity = FloatField("Quantity", validators=[InputRequired(), NumberRange(min=0)])


class CapacityForm(FlaskForm):
    work_center = StringField("Work center", validators=[DataRequired(), Length(max=64)])
    period = IntegerField("Period", validators=[InputRequired(), NumberRange(min=1)])
    regular_min = FloatField("Regular minutes", validators=[InputRequired(), NumberRange(min=0)])
    overtime_min = FloatField("Overtime minutes", default=0, validators=[Optional(), NumberRange(min=0)])


class UploadForm(FlaskForm):
    pass


class ReleaseForm(FlaskForm):
    fence = IntegerField("Fence (periods)", validators=[InputRequired(), NumberRange(min=0, max=52)])


def _errors(form: FlaskForm) -> list[str]:
    return [f"{form[name].label.text}: {msg}" for name, msgs in form.errors.items() for msg in msgs]


def parse_request(mode: str, costs: dict[str, float | None], priority: str) -> PlanRequest:
    """A plan request from the form's or the API's fields; InvalidInput names the wrong one."""
    if mode == "priority":
        names = [p.strip().lower() for p in priority.replace(">", ",").split(",") if p.strip()]
        if not names:
            raise InvalidInput("priority order: name the objectives in order, e.g. late, overtime, inventory")
        bad = [n for n in names if n not in OBJECTIVES]
        if bad:
            raise InvalidInput(f"priority order: {', '.join(bad)} not one of {', '.join(OBJECTIVES)}")
        if len(set(names)) != len(names):
            raise InvalidInput("priority order: an objective is named twice")
        return PlanRequest(priority=tuple(Objective(n) for n in names))
    values = {k: (DEFAULT_COSTS.as_weights()[k] if v is None else float(v)) for k, v in costs.items()}
    return PlanRequest(costs=Costs(**values))


# --- plan runs ------------------------------------------------------------------------------


@bp.route("/")
@roles("planner")
def index() -> Any:
    runs = views_plan.plan_runs(uow())
    return render_template("plan/runs.html", runs=runs, form=StartRunForm(), release_form=ReleaseForm(
        fence=settings().release_fence_periods), active=any(views_plan.is_active(r) for r in runs))


@bp.route("/runs", methods=["POST"])
@roles("planner")
def start_run() -> Any:
    form = StartRunForm()
    if not form.validate_on_submit():
        for e in _errors(form):
            flash(e, "error")
        return redirect(url_for("plan.index"))
    try:
        req = parse_request(form.mode.data or "weighted", {k: form[k].data for k in OBJECTIVES}, form.priority.data or "")
    except InvalidInput as exc:
        flash(str(exc), "error")
        return redirect(url_for("plan.index"))
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
    buffer_chart = Markup(charts.line_chart(
        "Buffer inventory (stocked items)", view.labels, list(view.inventory.items())[:8], y_label="units")) \
        if view.inventory else None
    return render_template("plan/run.html", v=view, run=view.run, labels=view.labels, load_charts=load_charts,
                           buffer_chart=buffer_chart, active=views_plan.is_active(view.run),
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


@bp.route("/demand")
@roles("planner")
def demand() -> Any:
    return render_template("plan/demand.html", orders=views.orders(uow()), forecasts=views.forecasts(uow()),
                           order_form=OrderForm(), forecast_form=ForecastForm(), upload_form=UploadForm(),
                           change_form=ChangeOrderForm(), problems=[], files=csv_io.KNOWN_FILES)


@bp.route("/upload", methods=["POST"])
@roles("planner")
def upload() -> Any:
    form = UploadForm()
    problems: list[str] = []
    if not form.validate_on_submit():
        problems = _errors(form) or ["the form was not accepted"]
    else:
        files = [f for f in request.files.getlist("files") if f and f.filename]
        if not files:
            problems = ["Files: choose one or more CSV files (items.csv, orders.csv, ...)"]
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
    return render_template("plan/demand.html", orders=views.orders(uow()), forecasts=views.forecasts(uow()),
                           order_form=OrderForm(), forecast_form=ForecastForm(), upload_form=form,
                           change_form=ChangeOrderForm(), problems=problems, files=csv_io.KNOWN_FILES), 400


def _edit(action: Any, ok: str) -> Any:
    try:
        action()
    except ValidationFailed as exc:
        for p in exc.problems:
            flash(p, "error")
    except LpmsError as exc:
        flash(str(exc), "error")
    else:
        flash(ok, "ok")


@bp.route("/orders", methods=["POST"])
@roles("planner")
def add_order() -> Any:
    form = OrderForm()
    if form.validate_on_submit():
        values = {k: form[k].data for k in ("number", "customer", "item", "quantity", "due_date", "priority")}
        values["priority"] = values["priority"] or 0
        values["status"] = "open"
        _edit(lambda: edits.save_order(values), f"Order {form.number.data} saved.")
    else:
        for e in _errors(form):
            flash(e, "error")
    return redirect(url_for("plan.demand"))


@bp.route("/orders/<number>", methods=["POST"])
@roles("planner")
def change_order(number: str) -> Any:
    form = ChangeOrderForm()
    if form.validate_on_submit():
        values = {"quantity": form.quantity.data, "due_date": form.due_date.data}
        _edit(lambda: edits.save_order(values, existing=number), f"Order {number} changed.")
    else:
        for e in _errors(form):
            flash(e, "error")
    return redirect(url_for("plan.demand"))


@bp.route("/orders/<number>/cancel", methods=["POST"])
@roles("planner")
def cancel_order(number: str) -> Any:
    if UploadForm().validate_on_submit():
        _edit(lambda: edits.cancel_order(number), f"Order {number} cancelled.")
    return redirect(url_for("plan.demand"))


@bp.route("/forecasts", methods=["POST"])
@roles("planner")
def save_forecast() -> Any:
    form = ForecastForm()
    if form.validate_on_submit():
        values = {k: form[k].data for k in ("item", "start_date", "end_date", "quantity")}
        _edit(lambda: edits.save_forecast(values), f"Forecast for {form.item.data} saved.")
    else:
        for e in _errors(form):
            flash(e, "error")
    return redirect(url_for("plan.demand"))


@bp.route("/capacity", methods=["GET", "POST"])
@roles("planner")
def capacity() -> Any:
    form = CapacityForm()
    if request.method == "POST":
        if form.validate_on_submit():
            row = {k: form[k].data for k in ("work_center", "period", "regular_min", "overtime_min")}
            row["overtime_min"] = row["overtime_min"] or 0
            _edit(lambda: edits.set_capacity([row]),
                  f"Capacity of {form.work_center.data} in period {form.period.data} saved.")
        else:
            for e in _errors(form):
                flash(e, "error")
        return redirect(url_for("plan.capacity", wc=form.work_center.data or None))
    wc = request.args.get("wc") or None
    rows = views.capacity(uow(), wc)
    return render_template("plan/capacity.html", rows=rows, form=form, wc=wc, work_centers=views.work_centers(uow()))


# --- fluctuations and re-plans ------------------------------------------------------------


@bp.route("/fluctuations")
@roles("planner", "manager")
def fluctuations() -> Any:
    return render_template("plan/fluctuations.html", events=views_plan.fluctuation_events(uow()),
                           replans=views_plan.replans(uow()), form=UploadForm())


@bp.route("/replans/<int:run_a>/<int:run_b>")
@roles("planner", "manager")
def replan_diff(run_a: int, run_b: int) -> Any:
    """A re-plan's changes against the plan it replaced (lpms.services.replan.plan_diff): per
    interval the production per period, old -> new, frozen periods marked."""
    return render_template("plan/replan_diff.html", d=views_plan.diff_view(uow(), run_a, run_b))


@bp.route("/replan", methods=["POST"])
@roles("planner")
def replan() -> Any:
    if not UploadForm().validate_on_submit():
        flash("The form was not accepted: reload the page and try again.", "error")
        return redirect(url_for("plan.fluctuations"))
    try:
        result = replan_service.replan(uow(), reason="planner (web)", policy=replan_policy(settings()), options=options(),
                                actor=actor(), now=now())
    except LpmsError as exc:
        flash(f"Re-plan: {exc}", "error")
        return redirect(url_for("plan.fluctuations"))
    flash(f"Re-plan run {result.run_id}: {result.status}, {result.units_moved:g} units moved.", "ok")
    return redirect(url_for("plan.run", run_id=result.run_id))
