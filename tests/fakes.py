"""In-memory fakes of the unit of work and its repositories (cosmicpython's FakeUnitOfWork)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from lpms.db.repositories import PlanRunRecord
from lpms.domain.enums import PlanMode, PlanRunStatus
from lpms.domain.errors import NotFound
from lpms.planning.network_plan import NetworkPlan
from lpms.planning.snapshot import PlanningRows


class FakePlanningReader:
    def __init__(self, rows: PlanningRows) -> None:
        self.rows = rows

    def load_rows(self) -> PlanningRows:
        return self.rows


class FakePlanRuns:
    def __init__(self) -> None:
        self.runs: dict[int, PlanRunRecord] = {}
        self.plans: dict[int, tuple[NetworkPlan, dict[str, tuple[float, ...]], dict[str, tuple[float, ...]]]] = {}

    def add(self, *, mode: PlanMode, parameters: dict[str, Any], created_by: str, created_at: dt.datetime) -> int:
        run_id = len(self.runs) + 1
        self.runs[run_id] = PlanRunRecord(run_id, PlanRunStatus.QUEUED, mode, parameters, {}, {}, "", created_by,
                                          created_at, None, None)
        return run_id

    def get(self, run_id: int, *, lock: bool = False) -> PlanRunRecord:
        if run_id not in self.runs:
            raise NotFound(f"plan run {run_id} does not exist")
        return self.runs[run_id]

    def latest_id(self) -> int | None:
        return max(self.runs, default=None)

    def update(self, run_id: int, **fields: Any) -> None:
        self.runs[run_id] = dataclasses.replace(self.get(run_id), **fields)

    def store_plan(self, run_id: int, plan: NetworkPlan, gross: dict[str, tuple[float, ...]],
                   net: dict[str, tuple[float, ...]], first_period: int = 1) -> None:
        self.plans[run_id] = (plan, gross, net)


class FakeAuditLog:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, *, actor: str, action: str, entity: str, entity_key: str, at: dt.datetime,
            detail: dict[str, Any] | None = None) -> None:
        self.entries.append({"actor": actor, "action": action, "entity": entity, "entity_key": entity_key, "at": at,
                             "detail": detail or {}})


class FakeMasterData:
    def __init__(self, counts: dict[str, int] | None = None) -> None:
        self._counts = counts or {}

    def counts(self) -> dict[str, int]:
        return dict(self._counts)


class FakeUnitOfWork:
    """Like the real one: changes made in a block survive only if the block commits."""

    def __init__(self, rows: PlanningRows) -> None:
        self.planning = FakePlanningReader(rows)
        self.plan_runs = FakePlanRuns()
        self.audit = FakeAuditLog()
        self.master_data = FakeMasterData()
        self.commits = 0
        self.inside = False

    def _state(self) -> tuple[Any, ...]:
        return dict(self.plan_runs.runs), dict(self.plan_runs.plans), list(self.audit.entries)

    def __enter__(self) -> FakeUnitOfWork:
        assert not self.inside, "nested 'with uow'"
        self.inside = True
        self._saved = self._state()
        return self

    def __exit__(self, *exc: object) -> None:
        self.inside = False
        self.rollback()

    def commit(self) -> None:
        assert self.inside, "commit outside 'with uow'"
        self.commits += 1
        self._saved = self._state()

    def rollback(self) -> None:
        runs, plans, entries = self._saved
        self.plan_runs.runs, self.plan_runs.plans, self.audit.entries = dict(runs), dict(plans), list(entries)
