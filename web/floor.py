"""Supervisor screens (tablet first): pick a work center, its queue in the levelled sequence,
report good and scrap with a keypad, report downtime. Every report form carries a client key,
so a double tap or a resent form is recorded once (the report services are idempotent)."""
from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import FloatField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lpms.domain.errors import LpmsError
from lpms.services import reports, views, views_floor
from web.context import now, settings, uow
from web.security import actor, roles

bp = Blueprint("floor", __name__, url_prefix="/floor")

DOWNTIME_REASONS = ("Breakdown", "Setup / changeover", "Waiting for material", "Waiting for operator",
                    "Quality problem", "Planned maintenance", "Tooling", "Other")


def new_key() -> str:
    return f"web-{uuid.uuid4().hex}"


class CompletionForm(FlaskForm):
    good = FloatField("Good", validators=[InputRequired("enter the good quantity (0 if none)"),
                                          NumberRange(min=0, message="good: must be 0 or more")])
    scrap = FloatField("Scrap", default=0, validators=[Optional(), NumberRange(min=0, message="scrap: must be 0 or more")])
    client_key = HiddenField(validators=[DataRequired(), Length(max=64)])


class DowntimeForm(FlaskForm):
    minutes = FloatField("Minutes", validators=[InputRequired("enter the minutes lost"),
                                                NumberRange(min=1, max=100000, message="minutes: 1 or more")])
    reason = SelectField("Reason", choices=list(DOWNTIME_REASONS), validators=[DataRequired()])
    note = StringField("Note", validators=[Optional(), Length(max=120)])
    client_key = HiddenField(validators=[DataRequired(), Length(max=64)])


@bp.route("/")
@roles("supervisor")
def index() -> Any:
    return render_template("floor/index.html", work_centers=views.work_centers(uow()))


@bp.route("/<wc>")
@roles("supervisor")
def queue(wc: str) -> Any:
    view = views_floor.floor_queue(uow(), wc, timezone=settings().timezone, now=now())
    return render_template("floor/queue.html", q=view, wc=wc)


@bp.route("/<wc>/report/<number>/<int:seq>", methods=["GET", "POST"])
@roles("supervisor")
def report(wc: str, number: str, seq: int) -> Any:
    form = CompletionForm()
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
    v = views_floor.operation_view(uow(), number, seq)
    return render_template("floor/report.html", form=form, wc=wc, wo=v.work_order, op=v.operation, error=error,
                           remaining=v.remaining), status


@bp.route("/<wc>/downtime", methods=["GET", "POST"])
@roles("supervisor")
def downtime(wc: str) -> Any:
    form = DowntimeForm()
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
    return render_template("floor/downtime.html", form=form, wc=wc, error=error), status
