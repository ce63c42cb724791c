"""The demo plant: load the shipped CSV sets through the importer, summarise the database."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from lpms.db.session import SqlAlchemyUnitOfWork
from lpms.services.csv_io import ImportResult, import_dir
from lpms.services.unit_of_work import UnitOfWork

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"
DEMO_SETS = ("paper", "plant")


@dataclass(frozen=True)
class DemoLoad:
    name: str
    result: ImportResult


def load_demo(uow: SqlAlchemyUnitOfWork, *, actor: str, now: dt.datetime) -> list[DemoLoad]:
    """Import every demo set (the paper's case, then the LCD plant), each all or nothing."""
    return [DemoLoad(name, import_dir(uow, DEMO_DIR / name, actor=actor, now=now)) for name in DEMO_SETS]


def database_counts(uow: UnitOfWork) -> dict[str, int]:
    """Rows per master-data and demand table."""
    with uow:
        return uow.master_data.counts()
