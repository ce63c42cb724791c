from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from lpms.db import migrate
from lpms.db import models as m
from lpms.db.session import UnitOfWork, make_engine, session_factory
from lpms.domain.errors import ValidationFailed
from lpms.services.csv_io import export_dir, export_texts, import_dir, import_texts
from lpms.services.demo import DEMO_DIR
from tests.helpers import NOW, load_demo, snapshot

ITEMS = "code,name,kind\nA,Assembly A,product\nB,Part B,part\nC,Material C,material\n"


def _reject(uow: UnitOfWork, texts: dict[str, str]) -> list[str]:
    before = snapshot(uow)
    with pytest.raises(ValidationFailed) as info:
        import_texts(uow, texts, actor="test", now=NOW)
    assert snapshot(uow) == before, "a rejected import must change nothing"
    return info.value.problems


def test_demo_data_loads_both_datasets(uow: UnitOfWork) -> None:
    load_demo(uow)
    with uow:
        s = uow.session
        assert s is not None
        assert s.scalar(select(func.count()).select_from(m.Item)) == 31
        assert s.scalar(select(func.count()).select_from(m.Period)) == 12
        assert s.scalar(select(func.count()).select_from(m.WorkCenter)) == 8
        kinds = {k for (k,) in s.execute(select(m.Item.kind))}
        assert kinds == {"product", "assembly", "part", "material"}
        paper = s.scalar(select(m.Item).where(m.Item.code == "LCD-SPARE"))
        assert paper is not None and paper.offset_rule == "backward"


def test_unknown_item_is_reported_with_file_line_and_column(uow: UnitOfWork) -> None:
    problems = _reject(uow, {"items": ITEMS, "bom": "parent,child,qty_per\nA,B,2\nA,ZZZ,1\n"})
    assert problems == ["bom.csv:3: column child: unknown item 'ZZZ'"]


def test_negative_quantity_is_rejected(uow: UnitOfWork) -> None:
    problems = _reject(uow, {"items": ITEMS, "stock": "item,on_hand\nB,-5\n"})
    assert problems == ["stock.csv:2: column on_hand: -5 is negative"]


def test_bad_date_is_rejected(uow: UnitOfWork) -> None:
    problems = _reject(uow, {"items": ITEMS, "forecasts": "item,start_date,end_date,quantity\nA,2027-13-01,2027-12-31,10\n"})
    assert problems == ["forecasts.csv:2: column start_date: '2027-13-01' is not a date (YYYY-MM-DD)"]


def test_duplicate_key_is_rejected_naming_the_first_line(uow: UnitOfWork) -> None:
    problems = _reject(uow, {"items": ITEMS + "B,Again,part\n"})
    assert problems == ["items.csv:5: column code: duplicate key (code=B), first on line 3"]


def test_bom_cycle_is_rejected_with_the_cycle_named(uow: UnitOfWork) -> None:
    problems = _reject(uow, {"items": ITEMS, "bom": "parent,child,qty_per\nA,B,1\nB,A,1\n"})
    assert len(problems) == 1
    assert problems[0].startswith("bom.csv:2: column child: BOM cycle: ")
    assert problems[0].endswith(("A -> B -> A", "B -> A -> B"))


def test_bom_cycle_through_stored_lines_is_found(uow: UnitOfWork) -> None:
    import_texts(uow, {"items": ITEMS, "bom": "parent,child,qty_per\nA,B,1\n"}, actor="test", now=NOW)
    problems = _reject(uow, {"bom": "parent,child,qty_per\nB,A,1\n"})
    assert problems == ["bom.csv:2: column child: BOM cycle: B -> A -> B"]


def test_unknown_enum_value_lists_the_allowed_values(uow: UnitOfWork) -> None:
    problems = _reject(uow, {"items": "code,kind,offset_rule\nX,widget,sideways\n"})
    assert problems == [
        "items.csv:2: column kind: 'widget' is not one of product, assembly, part, material",
        "items.csv:2: column offset_rule: 'sideways' is not one of forecast_only, orders_only, no_offset, "
        "backward, forward, backward_then_forward, forward_then_backward",
    ]


def test_missing_and_unknown_columns_are_rejected(uow: UnitOfWork) -> None:
    problems = _reject(uow, {"items": "code,colour\nA,red\n"})
    assert "items.csv:1: column colour: unknown column" in problems[0]
    assert problems[1] == "items.csv:1: column kind: required column is missing"


def test_unknown_work_center_and_period_are_rejected(uow: UnitOfWork) -> None:
    problems = _reject(uow, {
        "items": ITEMS,
        "routings": "item,sequence,work_center,run_min\nA,10,NOPE,2\n",
        "capacity": "work_center,period,regular_min\nNOPE,99,100\n",
    })
    assert problems == [
        "routings.csv:2: column work_center: unknown work center 'NOPE'",
        "capacity.csv:2: column work_center: unknown work center 'NOPE'",
        "capacity.csv:2: column period: unknown period 99 (not in the calendar)",
    ]


def test_row_with_wrong_field_count_and_empty_required_cell(uow: UnitOfWork) -> None:
    problems = _reject(uow, {"items": "code,name,kind\nA,x\n,nameless,part\n"})
    assert problems == ["items.csv:2: column kind: is missing (the line has 2 fields, the header 3)",
                        "items.csv:3: column code: is empty"]


def test_every_problem_of_every_file_is_reported_at_once(uow: UnitOfWork) -> None:
    problems = _reject(uow, {
        "items": ITEMS + "D,bad,thing\n",
        "orders": "number,customer,item,quantity,due_date\nSO1,Acme,A,0,2027-01-01\nSO2,Acme,Q,5,2027-01-01\n",
    })
    assert problems == [
        "items.csv:5: column kind: 'thing' is not one of product, assembly, part, material",
        "orders.csv:2: column quantity: must be greater than 0",
        "orders.csv:3: column item: unknown item 'Q'",
    ]


def test_material_with_components_is_rejected(uow: UnitOfWork) -> None:
    problems = _reject(uow, {"items": ITEMS, "bom": "parent,child,qty_per\nC,B,1\n"})
    assert problems == ["bom.csv:2: column parent: 'C' is a purchased material and cannot have components"]


def test_reimporting_the_same_files_is_idempotent(uow: UnitOfWork) -> None:
    load_demo(uow)
    first = snapshot(uow)
    result = import_dir(uow, DEMO_DIR / "plant", actor="test", now=NOW)
    assert all(c["inserted"] == 0 and c["updated"] == 0 for c in result.counts.values())
    assert snapshot(uow) == first


def test_reimport_updates_changed_rows_by_business_key(uow: UnitOfWork) -> None:
    import_texts(uow, {"items": ITEMS}, actor="test", now=NOW)
    result = import_texts(uow, {"items": "code,name,kind\nB,Renamed,part\n"}, actor="test", now=NOW)
    assert result.counts["items"] == {"rows": 1, "inserted": 0, "updated": 1}
    with uow:
        s = uow.session
        assert s is not None
        assert s.scalar(select(m.Item.name).where(m.Item.code == "B")) == "Renamed"
        assert s.scalar(select(func.count()).select_from(m.Item)) == 3


def test_export_import_export_gives_identical_files(uow: UnitOfWork, fresh_url: str, tmp_path: Path) -> None:
    load_demo(uow)
    first = export_texts(uow)
    export_dir(uow, tmp_path / "out")
    migrate.upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        other = UnitOfWork(session_factory(engine))
        import_dir(other, tmp_path / "out", actor="test", now=NOW)
        assert export_texts(other) == first
    finally:
        engine.dispose()


def test_directory_without_known_files_is_rejected(uow: UnitOfWork, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="no known CSV file found"):
        import_dir(uow, tmp_path, actor="test", now=NOW)


def test_an_import_is_audited_with_who_and_when_and_stamps_items_with_its_time(uow: UnitOfWork) -> None:
    later = NOW.replace(hour=15)
    import_texts(uow, {"items": ITEMS}, actor="ann", now=later)
    with uow:
        s = uow.session
        entry = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "import")).one()
        assert entry.actor == "ann" and entry.at == later and entry.detail["files"] == ["items.csv"]
        assert entry.detail["after"]["items"] == {"rows": 3, "inserted": 3, "updated": 0}
        assert set(s.scalars(select(m.Item.updated_at))) == {later}
