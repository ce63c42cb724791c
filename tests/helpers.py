"""Small helpers shared by tests."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

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


def balance_problems(session: Session) -> list[str]:
    """Where ``stock_balances`` differs from the sum of each item's stock moves (it must equal it:
    every move posted adds to its item's balance in the same transaction)."""
    from sqlalchemy import func, select

    from lpms.db import models as m

    sums = {item_id: float(q) for item_id, q in session.execute(
        select(m.StockMove.item_id, func.sum(m.StockMove.quantity)).group_by(m.StockMove.item_id)).tuples()}
    kept = {item_id: float(q) for item_id, q in session.execute(
        select(m.StockBalance.item_id, m.StockBalance.moved)).tuples()}
    return [f"item {item_id}: balance {kept.get(item_id)}, sum of moves {sums.get(item_id)}"
            for item_id in sorted(set(sums) | set(kept))
            if abs(kept.get(item_id, 0.0) - sums.get(item_id, 0.0)) > 1e-6 or (item_id in sums) != (item_id in kept)]
