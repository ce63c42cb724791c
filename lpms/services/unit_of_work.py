"""What a service needs from a unit of work. ``lpms.db.session.SqlAlchemyUnitOfWork`` implements
it on a database; ``tests/fakes.py`` implements it in memory for millisecond service tests."""
from __future__ import annotations

import datetime as dt
from typing import Any, Protocol, Self

from lpms.db.repositories import PlanRunRecord
from lpms.domain.enums import PlanMode
from lpms.planning.network_plan import NetworkPlan
from lpms.planning.snapshot import PlanningRows


class PlanningReaderPort(Protocol):
    def load_rows(self) -> PlanningRows: ...


class PlanRunsPort(Protocol):
    def add(self, *, mode: PlanMode, parameters: dict[str, Any], created_by: str, created_at: dt.datetime) -> int: ...

    def get(self, run_id: int, *, lock: bool = False) -> PlanRunRecord: ...

    def latest_id(self) -> int | None: ...

    def update(self, run_id: int, **fields: Any) -> None: ...

    def store_plan(self, run_id: int, plan: NetworkPlan, gross: dict[str, tuple[float, ...]],
                   net: dict[str, tuple[float, ...]], first_period: int = 1) -> None: ...


class AuditLogPort(Protocol):
    def add(self, *, actor: str, action: str, entity: str, entity_key: str, at: dt.datetime,
            detail: dict[str, Any] | None = None) -> None: ...


class MasterDataPort(Protocol):
    def counts(self) -> dict[str, int]: ...


class UnitOfWork(Protocol):
    """``with uow: ...; uow.commit()``; leaving the block without commit rolls back.

    The repositories are available inside the block only.
    """

    @property
    def planning(self) -> PlanningReaderPort: ...

    @property
    def plan_runs(self) -> PlanRunsPort: ...

    @property
    def audit(self) -> AuditLogPort: ...

    @property
    def master_data(self) -> MasterDataPort: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
