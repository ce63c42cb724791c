"""The re-planning repository: re-plan records, their stored diffs, a run's interval production.
Never commits (the unit of work does); returns plain records."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lpms.db import models as m
from lpms.db.models_replan import Replan, ReplanChange
from lpms.domain.enums import PlanRunStatus
from lpms.domain.errors import NotFound


@dataclass(frozen=True)
class DiffRow:
    """One interval and period of two plans: production (head units started) old and new."""

    interval: str
    period: int
    old: float
    new: float
    change: float  # new - old
    frozen: bool = False  # inside the newer run's fence: fixed to released work, not moved by planning


@dataclass(frozen=True)
class ReplanRecord:
    id: int
    plan_run_id: int
    previous_run_id: int | None
    reason: str
    first_period: int
    frozen_periods: tuple[int, ...]
    nervousness_cost: float
    units_moved: float | None
    approved: bool
    released: int
    created_by: str
    created_at: dt.datetime


def _record(r: Replan) -> ReplanRecord:
    return ReplanRecord(r.id, r.plan_run_id, r.previous_run_id, r.reason, r.first_period,
                        tuple(int(p) for p in r.frozen_periods or ()), r.nervousness_cost, r.units_moved, r.approved,
                        r.released, r.created_by, r.created_at)


class ReplanRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, plan_run_id: int, previous_run_id: int | None, reason: str, first_period: int,
            frozen_periods: Sequence[int], nervousness_cost: float, created_by: str, created_at: dt.datetime) -> int:
        row = Replan(plan_run_id=plan_run_id, previous_run_id=previous_run_id, reason=reason, first_period=first_period,
                     frozen_periods=list(frozen_periods), nervousness_cost=nervousness_cost, units_moved=None,
                     approved=False, released=0, created_by=created_by, created_at=created_at)
        self.session.add(row)
        self.session.flush()
        return row.id

    def _row(self, replan_id: int) -> Replan:
        row = self.session.get(Replan, replan_id)
        if row is None:
            raise NotFound(f"re-plan {replan_id} does not exist")
        return row

    def update(self, replan_id: int, **fields: Any) -> None:
        """Set units_moved, approved or released."""
        row = self._row(replan_id)
        for name, value in fields.items():
            if name not in ("units_moved", "approved", "released"):
                raise AttributeError(name)
            setattr(row, name, value)

    def add_changes(self, replan_id: int, rows: Sequence[DiffRow]) -> None:
        self.session.add_all(ReplanChange(replan_id=replan_id, interval_code=r.interval, period_seq=r.period, old=r.old,
                                          new=r.new, change=r.change, frozen=r.frozen) for r in rows)
        self.session.flush()

    def by_run(self, plan_run_id: int) -> ReplanRecord | None:
        row = self.session.scalar(select(Replan).where(Replan.plan_run_id == plan_run_id))
        return None if row is None else _record(row)

    def running(self, *, since: dt.datetime) -> list[ReplanRecord]:
        """Re-plans whose plan run is still running and was created at or after ``since``."""
        return [_record(r) for r in self.session.scalars(
            select(Replan).join(m.PlanRun, m.PlanRun.id == Replan.plan_run_id)
            .where(m.PlanRun.status == PlanRunStatus.RUNNING, Replan.created_at >= since).order_by(Replan.id))]

    def latest(self, limit: int = 100) -> list[ReplanRecord]:
        return [_record(r) for r in self.session.scalars(select(Replan).order_by(Replan.id.desc()).limit(limit))]

    def changes(self, replan_id: int) -> list[DiffRow]:
        return [DiffRow(c.interval_code, c.period_seq, c.old, c.new, c.change, c.frozen)
                for c in self.session.scalars(select(ReplanChange).where(ReplanChange.replan_id == replan_id)
                                              .order_by(ReplanChange.interval_code, ReplanChange.period_seq))]

    def interval_production(self, run_id: int) -> dict[str, dict[int, float]]:
        """A run's production per interval and period: the line of each interval's head item
        (interval code ``I:<head>``); cells without a line are 0."""
        rows = self.session.execute(
            select(m.PlanLine.interval_code, m.Item.code, m.PlanLine.period_seq, m.PlanLine.production)
            .join(m.Item, m.Item.id == m.PlanLine.item_id)
            .where(m.PlanLine.plan_run_id == run_id, m.PlanLine.production != 0)).tuples()
        out: dict[str, dict[int, float]] = {}
        for interval, code, seq, qty in rows:
            if interval == f"I:{code}":
                out.setdefault(interval, {})[int(seq)] = float(qty)
        return out

    def periods_planned(self, run_id: int) -> tuple[int, int] | None:
        """The first and last period a run planned (its loads cover every planned period)."""
        lo, hi = self.session.execute(select(func.min(m.PlanLoad.period_seq), func.max(m.PlanLoad.period_seq))
                                      .where(m.PlanLoad.plan_run_id == run_id)).one()
        if lo is None:
            lo, hi = self.session.execute(select(func.min(m.PlanLine.period_seq), func.max(m.PlanLine.period_seq))
                                          .where(m.PlanLine.plan_run_id == run_id)).one()
        return None if lo is None else (int(lo), int(hi))
