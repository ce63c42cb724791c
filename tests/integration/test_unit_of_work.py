"""The unit of work owns the transaction: leaving without commit, or by an exception, rolls back."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lpms.db import models as m
from lpms.db.session import UnitOfWork


def _count(uow: UnitOfWork) -> int:
    with uow:
        assert uow.session is not None
        return int(uow.session.scalar(select(func.count()).select_from(m.WorkCenter)) or 0)


def _add(uow: UnitOfWork, code: str) -> None:
    assert uow.session is not None
    uow.session.add(m.WorkCenter(code=code, name=code))
    uow.session.flush()


def test_leaving_without_commit_rolls_back(uow: UnitOfWork) -> None:
    before = _count(uow)
    with uow:
        _add(uow, "UOW-NO-COMMIT")
    assert _count(uow) == before


def test_an_exception_inside_the_block_rolls_back(uow: UnitOfWork) -> None:
    before = _count(uow)
    with pytest.raises(RuntimeError):
        with uow:
            _add(uow, "UOW-EXCEPTION")
            raise RuntimeError("boom")
    assert _count(uow) == before


def test_commit_keeps_the_change(uow: UnitOfWork) -> None:
    before = _count(uow)
    with uow:
        _add(uow, "UOW-COMMIT")
        uow.commit()
    assert _count(uow) == before + 1
