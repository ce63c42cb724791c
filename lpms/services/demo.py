"""Summaries of what the demo database holds."""
from __future__ import annotations

from sqlalchemy import func, select

from lpms.db import models as m
from lpms.db.session import UnitOfWork


def demo_summary(uow: UnitOfWork) -> str:
    """Count the rows of the master-data and demand tables, one line."""
    tables = [("items", m.Item), ("BOM lines", m.BomLine), ("work centers", m.WorkCenter),
              ("operations", m.Operation), ("periods", m.Period), ("capacity rows", m.Capacity),
              ("forecasts", m.Forecast), ("customer orders", m.CustomerOrder), ("stock rows", m.Stock),
              ("scheduled receipts", m.ScheduledReceipt)]
    with uow:
        assert uow.session is not None
        counts = [f"{uow.session.scalar(select(func.count()).select_from(model))} {label}" for label, model in tables]
    return "database holds: " + ", ".join(counts)
