"""Small helpers shared by tests."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from lpms.db.session import UnitOfWork
from lpms.services.csv_io import export_texts, import_dir
from lpms.services.demo import DEMO_DIR

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)  # the tests' fixed clock


def load_demo(uow: UnitOfWork, *names: str) -> None:
    for name in names or ("paper", "plant"):
        import_dir(uow, DEMO_DIR / name, actor="test", now=NOW)


def snapshot(uow: UnitOfWork) -> dict[str, str]:
    """Everything importable, as exported CSV text: equal snapshots mean nothing changed."""
    return export_texts(uow)


def write_csv(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    return path
