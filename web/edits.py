"""Edits planners make every week (capacity, customer orders, forecasts), made through the CSV
importer's service (lpms.services.csv_io.import_texts) with a one-row file: the same
validation, the same upsert by business key, the same audit row, and nothing written on error.
Shared by the planner screens and the API."""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from lpms.services import views
from lpms.services.csv_io import SPEC_BY_NAME, ImportResult, import_texts
from web.context import now, uow
from web.security import actor


def _csv(name: str, rows: list[Mapping[str, Any]]) -> str:
    columns = [c.name for c in SPEC_BY_NAME[name].columns]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else str(row.get(c)) for c in columns])
    return buf.getvalue()


def import_rows(name: str, rows: list[Mapping[str, Any]], label: str) -> ImportResult:
    return import_texts(uow(), {name: _csv(name, rows)}, actor=actor(), now=now(), filenames={name: label})


def set_capacity(rows: list[Mapping[str, Any]]) -> ImportResult:
    """rows of {work_center, period, regular_min, overtime_min}."""
    return import_rows("capacity", rows, "capacity")


def save_order(values: Mapping[str, Any], *, existing: str | None = None) -> dict[str, Any]:
    """Add an order, or change one (``existing``: its number; unnamed fields keep their values)."""
    row: dict[str, Any] = {}
    if existing is not None:
        row = views.order(uow(), existing)  # NotFound
    row.update({k: v for k, v in values.items() if v is not None})
    import_rows("orders", [row], "order")
    return views.order(uow(), str(row["number"]))


def cancel_order(number: str) -> dict[str, Any]:
    return save_order({"status": "cancelled"}, existing=number)


def save_forecast(values: Mapping[str, Any]) -> ImportResult:
    return import_rows("forecasts", [values], "forecast")
