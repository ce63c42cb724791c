"""Management screens: the KPI dashboard (on-time, kit rate history, progress vs plan,
inventory and overtime against plan) and the archive of daily progress reports."""
from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, render_template, send_file
from markupsafe import Markup

from lpms.domain.errors import NotFound
from lpms.services import work_orders
from web import charts, queries
from web.context import now, uow
from web.security import roles

bp = Blueprint("report", __name__, url_prefix="/report")


def _measures() -> dict[str, Any]:
    progress = queries.optional_service("progress")
    if progress is None:
        return {"available": False}
    p = progress.progress_dict(progress.progress_report(uow(), now=now()))
    k = progress.kit_dict(progress.kit_report(uow(), now=now()))
    return {"available": True, "progress": p, "kit": k}


@bp.route("/")
@roles("manager")
def dashboard() -> Any:
    m = _measures()
    orders = work_orders.list_work_orders(uow())
    by_status = Counter(wo.status.value for wo in orders)
    kit_chart = None
    if m.get("available"):
        history = m["kit"].get("history", [])
        labels = [f"P{h['period']}" for h in history]
        kit_chart = Markup(charts.line_chart("Kit rate by period (recorded at each period start)", labels,
                                             [("kit rate", [h["rate"] for h in history])], y_max=1.0,
                                             percent=True, y_label="share of work orders"))
    return render_template("report/dashboard.html", m=m, by_status=dict(sorted(by_status.items())),
                           total=len(orders), kit_chart=kit_chart,
                           good=sum(wo.good for wo in orders), quantity=sum(wo.quantity for wo in orders))


@bp.route("/kit-history.csv")
@roles("manager")
def kit_csv() -> Any:
    m = _measures()
    if not m.get("available"):
        raise NotFound("the kit measure is not available in this installation")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["period", "rate"])
    for h in m["kit"].get("history", []):
        w.writerow([h["period"], h["rate"]])
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="kit-history.csv"'})


@bp.route("/archive")
@roles("manager")
def archive() -> Any:
    jobs = queries.optional_service("jobs")
    reports = list(jobs.list_reports(uow())) if jobs is not None else []
    return render_template("report/archive.html", reports=reports, available=jobs is not None)


@bp.route("/archive/<int:report_id>")
@roles("manager")
def archived(report_id: int) -> Any:
    jobs = queries.optional_service("jobs")
    if jobs is None:
        raise NotFound("the report archive is not available in this installation")
    report = jobs.get_report(uow(), report_id)
    path = Path(str(getattr(report, "html_path", "") or ""))
    if not path.is_file():
        raise NotFound(f"report {report_id}: its HTML file is missing")
    return send_file(path.resolve(), mimetype="text/html")
