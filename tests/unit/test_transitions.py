"""The state-machine tables: every status has a row, terminal states stay terminal, and an
illegal change raises a named Conflict."""
from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import pytest

from lpms.domain.enums import OrderStatus, PlanRunStatus, WorkOrderStatus
from lpms.domain.errors import Conflict, IllegalTransition
from lpms.domain.transitions import ORDER_TRANSITIONS, PLAN_RUN_TRANSITIONS, WORK_ORDER_TRANSITIONS, check_transition

TABLES: list[tuple[str, type[StrEnum], Mapping[Any, frozenset[Any]]]] = [
    ("work order", WorkOrderStatus, WORK_ORDER_TRANSITIONS),
    ("order", OrderStatus, ORDER_TRANSITIONS),
    ("plan run", PlanRunStatus, PLAN_RUN_TRANSITIONS),
]


@pytest.mark.parametrize("entity, enum, table", TABLES, ids=[t[0] for t in TABLES])
def test_every_status_has_a_row_and_every_target_is_a_status(entity: str, enum: type[StrEnum], table: Mapping[Any, frozenset[Any]]) -> None:
    assert set(table) == set(enum)
    for current, targets in table.items():
        assert targets <= set(enum)
        assert current not in targets, f"{entity} {current} -> itself"


@pytest.mark.parametrize("entity, enum, table", TABLES, ids=[t[0] for t in TABLES])
def test_allowed_changes_pass_and_all_others_raise_a_named_conflict(entity: str, enum: type[StrEnum], table: Mapping[Any, frozenset[Any]]) -> None:
    for current in enum:
        for target in enum:
            if target in table[current]:
                assert check_transition(entity, table, current, target) is target
            else:
                with pytest.raises(IllegalTransition) as info:
                    check_transition(entity, table, current, target)
                assert isinstance(info.value, Conflict)
                assert str(info.value) == f"{entity}: cannot go from {current.value!r} to {target.value!r}"


def test_finished_plan_runs_and_work_orders_are_terminal() -> None:
    for status in (PlanRunStatus.FAILED, PlanRunStatus.INFEASIBLE, PlanRunStatus.SUPERSEDED):
        assert PLAN_RUN_TRANSITIONS[status] == frozenset()
    for wo_status in (WorkOrderStatus.CLOSED, WorkOrderStatus.CANCELLED):
        assert WORK_ORDER_TRANSITIONS[wo_status] == frozenset()
    assert PlanRunStatus.APPROVED in PLAN_RUN_TRANSITIONS[PlanRunStatus.SUCCEEDED]
    assert PlanRunStatus.APPROVED not in PLAN_RUN_TRANSITIONS[PlanRunStatus.FAILED]
