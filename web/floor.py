"""Supervisor screens (tablet first): pick a work center, its queue in the levelled sequence,
report good and scrap with a keypad, report downtime. Every report form carries a client key,
so a double tap or a resent form is recorded once (the report services are idempotent)."""
from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lpms.domain.errors import LpmsError
from lpms.services import reports, views, views_floor
from web.context import now, settings, uow
from web.fields import NumberField
from web.security import actor, roles

bp = Blueprint("floor", __name__, url_prefix="/floor")

DOWNTIME_REASONS = ("Breakdown", "Setup / changeover", "Waiting for material", "Waiting for operator",
                    "Quality problem", "Planned maintenance", "Tooling", "Other")


def new_key() -> str:
    return f"web-{uuid.uuid4().hex}"


class CompletionForm(FlaskForm):
    good = NumberField("Good", validators=[InputRequired("enter the good quantity (0 if none)"),
                                           NumberRange(min=0, message="must be 0 or more")])
    scrap = NumberField("Scrap", default=0, validators=[Optional(), NumberRange(min=0, message="must be 0 or more")])
    client_key = HiddenField(validators=[DataRequired("the form has no key: reload the page"), Length(max=64)])


class DowntimeForm(FlaskForm):
    minutes = NumberField("Minutes lost", validators=[
        InputRequired("enter the minutes lost"),
        NumberRange(min=1, max=100000, message="must be between 1 and 100,000 minutes")])
    reason = SelectField("Reason", choices=[SelectChoice("", "Choose a reason…"),
                                            *(SelectChoice(r, r) for r in DOWNTIME_REASONS)],
                         validators=[DataRequired("choose a reason from the list")])
    note = StringField("Note (optional)", validators=[Optional(), Length(max=120, message="at most 120 characters")])
    client_key = HiddenField(validators=[DataRequired("the form has no key: reload the page"), Length(max=64)])


@bp.route("/")
@roles("supervisor")
def index() -> Any:
    return render_template("floor/index.html", work_centers=views.work_centers(uow()))


@bp.route("/<wc>")
@roles("supervisor")
def queue(wc: str) -> Any:
    view = views_floor.floor_queue(uow(), wc, timezone=settings().timezone, now=now())  # NotFound: no such center
    return render_template("floor/queue.html", q=view, wc=wc)


@bp.route("/<wc>/report/<number>/<int:seq>", methods=["GET", "POST"])
@roles("supervisor")
def report(wc: str, number: str, seq: int) -> Any:
    form = CompletionForm()
    v = views_floor.operation_view(uow(), number, seq, work_center=wc)  # NotFound before anything is read
    if request.method == "GET":
        form.client_key.data = new_key()
        form.scrap.data = None
    error = ""
    status = 200
    if form.validate_on_submit():
        try:
            result = reports.report_completion(
                uow(), number, seq, float(form.good.data or 0), float(form.scrap.data or 0),
                client_key=form.client_key.data or "", actor=actor(), now=now(),
                tolerance=settings().over_completion_tolerance, allow_negative_stock=settings().allow_negative_stock)
        except LpmsError as exc:
            error, status = str(exc), 409 if exc.category == "conflict" else 400
        else:
            op = next(o for o in result.work_order.operations if o.seq == seq)
            remaining = views_floor.remaining(result.work_order, op)
            what = "Already recorded (sent twice)" if result.replayed else "Recorded"
            flash(f"{what}: {number} op {seq} good {result.report.good:g}, scrap {result.report.scrap:g}. "
                  f"Remaining at this operation: {remaining:g}.", "ok")
            return redirect(url_for("floor.queue", wc=wc))
    elif request.method == "POST":
        status = 400
    return render_template("floor/report.html", form=form, wc=wc, v=v, error=error), status


@bp.route("/<wc>/downtime", methods=["GET", "POST"])
@roles("supervisor")
def downtime(wc: str) -> Any:
    form = DowntimeForm()
    center = views.work_center(uow(), wc)  # NotFound: no such work center
    if request.method == "GET":
        form.client_key.data = new_key()
    error = ""
    status = 200
    if form.validate_on_submit():
        reason = form.reason.data or ""
        if form.note.data:
            reason = f"{reason}: {form.note.data.strip()}"
        try:
            result = reports.report_downtime(uow(), wc, float(form.minutes.data or 0), reason,
                                             client_key=form.client_key.data or "", actor=actor(), now=now(),
                                             timezone=settings().timezone)
        except LpmsError as exc:
            error, status = str(exc), 409 if exc.category == "conflict" else 400
        else:
            left = "" if result.remaining_min is None else f" Capacity left this period: {result.remaining_min:g} min."
            flash(f"{'Already recorded' if result.replayed else 'Recorded'}: {wc} down {result.report.minutes:g} min "
                  f"({result.report.reason}).{left}", "ok")
            return redirect(url_for("floor.queue", wc=wc))
    elif request.method == "POST":
        status = 400
    return render_template("floor/downtime.html", form=form, wc=wc, center=center, error=error), status
