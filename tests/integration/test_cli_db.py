from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lpms.cli import main


def test_demo_command_migrates_loads_and_summarises(fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--database-url", fresh_url]) == 0
    out = capsys.readouterr().out
    assert "migrated to head" in out
    assert "database holds: 31 items, 35 BOM lines, 8 work centers" in out


def test_import_refuses_an_unmigrated_database(fresh_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if fresh_url.startswith("sqlite"):  # an existing but empty SQLite file
        sqlite3.connect(fresh_url.split("///", 1)[1]).close()
    (tmp_path / "items.csv").write_text("code,kind\nA,part\n")
    assert main(["import", str(tmp_path), "--database-url", fresh_url]) == 4
    assert "run 'lpms db upgrade' first" in capsys.readouterr().err


def test_import_with_errors_exits_2_and_lists_them(fresh_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--database-url", fresh_url]) == 0
    (tmp_path / "items.csv").write_text("code,kind\nA,part\nB,gadget\n")
    assert main(["import", str(tmp_path), "--database-url", fresh_url]) == 2
    err = capsys.readouterr().err
    assert "items.csv:3: column kind: 'gadget' is not one of" in err
    assert main(["export", str(tmp_path / "out"), "--database-url", fresh_url]) == 0
    assert (tmp_path / "out" / "items.csv").read_text() == (
        "code,name,kind,unit,lead_time_periods,stocked,safety_stock,offset_rule,backward_window,forward_window\n")


def test_plan_run_stores_its_minimum_interval_lead(fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from lpms.bootstrap import Database
    from lpms.db.session import make_engine, session_factory

    assert main(["demo", "--no-plan", "--database-url", fresh_url]) == 0
    assert main(["plan", "run", "--min-interval-lead", "1", "--database-url", fresh_url]) == 0
    assert main(["plan", "run", "--min-interval-lead", "-1", "--database-url", fresh_url]) == 2
    assert "--min-interval-lead: '-1' is not a whole number" in capsys.readouterr().err
    engine = make_engine(fresh_url)
    try:
        uow = Database(fresh_url, engine, session_factory(engine)).uow()
        with uow:
            latest = uow.plan_runs.latest_id()
            assert latest is not None
            run = uow.plan_runs.get(latest)
        assert run.parameters.get("min_interval_lead") == 1
    finally:
        engine.dispose()
