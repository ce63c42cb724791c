"""Management screens: the KPI dashboard (on-time, kit rate and its history, progress vs plan,
WIP, buffers and overtime against plan) and the archive of daily progress reports."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, render_template, send_file
from markupsafe import Markup

from lpms.domain.errors import NotFound
from lpms.services import jobs, views_report
from web import charts
from web.context import now, settings, uow
from web.security import roles

bp = Blueprint("report", __name__, url_prefix="/report")


@bp.route("/")
@roles("manager")
def dashboard() -> Any:
    try:
        d = views_report.dashboard(uow(), now=now(), timezone=settings().timezone)
    except NotFound as exc:  # outside the calendar: say so on the page
        return render_template("report/dashboard.html", d=None, note=str(exc), kit_chart=None, overtime_chart=None)
    history = d["kit_history"]
    kit_chart = Markup(charts.line_chart(
        "Kit rate by period (recorded at each period start)", [f"P{h['period']}" for h in history],
        [("kit rate", [h["rate"] for h in history])], y_max=1.0, percent=True,
        y_label="work orders with a full kit")) if history else None
    overtime_chart = Markup(charts.bar_chart(
        "Overtime to date: planned vs used (minutes)", [r["work_center"] for r in d["overtime"]],
        [("planned", [r["planned_min"] for r in d["overtime"]]), ("used", [r["used_min"] for r in d["overtime"]])],
        stacked=False, y_label="minutes")) if any(r["planned_min"] or r["used_min"] for r in d["overtime"]) else None
    return render_template("report/dashboard.html", d=d, note="", kit_chart=kit_chart, overtime_chart=overtime_chart)


@bp.route("/kit-history.csv")
@roles("manager")
def kit_csv() -> Any:
    header, rows = views_report.kit_history_table(uow(), now=now(), timezone=settings().timezone)
    return charts.csv_response("kit-history.csv", header, rows)


@bp.route("/archive")
@roles("manager")
def archive() -> Any:
    return render_template("report/archive.html", reports=jobs.list_reports(uow()))


@bp.route("/archive/<int:report_id>")
@roles("manager")
def archived(report_id: int) -> Any:
    report = jobs.get_report(uow(), report_id)
    path = Path(str(report.html_path or ""))
    if not path.is_file():
        raise NotFound(f"report {report_id}: its HTML file {path.name or '(none)'} is missing")
    return send_file(path.resolve(), mimetype="text/html")
