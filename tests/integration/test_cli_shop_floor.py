"""The process-management commands end to end: plan approve, release, work-orders (table, JSON,
cancel, close), report completion / correction / downtime, stock receive / ship / adjust /
show, with their exit statuses and one-line messages. On SQLite and PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lpms.cli import main
from tests.shop_floor_plant import plant_texts

pytestmark = pytest.mark.db

AS_OF = ["--as-of", "2026-12-01T08:00"]  # period 1 of the test plant


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return rc, out, err


@pytest.fixture
def db(fresh_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """A migrated database holding the test plant with plan run 1; the options to reach it."""
    opts = ["--database-url", fresh_url, *AS_OF]
    data = tmp_path / "plant"
    data.mkdir()
    for name, text in plant_texts().items():
        (data / f"{name}.csv").write_text(text, encoding="utf-8")
    assert _run(capsys, "db", "upgrade", "--database-url", fresh_url)[0] == 0
    assert _run(capsys, "import", str(data), *opts)[0] == 0
    assert _run(capsys, "plan", "run", *opts)[0] == 0
    return opts


def test_approve_release_list_report_and_close_from_the_command_line(db: list[str],
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "release", *db)
    assert rc == 2 and err == "lpms: no plan run is approved: approve one first (lpms plan approve RUN)\n"
    assert _run(capsys, "plan", "approve", "1", *db) == (0, "plan run 1 approved\n", "")
    rc, _, err = _run(capsys, "plan", "approve", "1", *db)
    assert rc == 2 and err == "lpms: plan run 1: cannot go from 'approved' to 'approved'\n"
    rc, out, _ = _run(capsys, "release", "--fence", "1", "--format", "json", *db)
    released = json.loads(out)
    assert rc == 0 and released["fence"] == [1] and released["released"] == [1] and released["plan_run"] == 1
    numbers = [wo["number"] for wo in released["work_orders"]]
    assert numbers == ["WO-P01-0001", "WO-P01-0002"]
    rc, out, _ = _run(capsys, "release", *db)  # the default fence (setting: 2 periods) adds period 2
    assert rc == 0 and "released period(s) 2:" in out and "already released (frozen): period(s) 1" in out

    rc, out, _ = _run(capsys, "work-orders", "--format", "json", "--work-center", "CUT", *db)
    orders = json.loads(out)
    assert rc == 0 and [wo["number"] for wo in orders][0] == "WO-P01-0001"
    assert all("CUT" in [op["work_center"] for op in wo["operations"]] for wo in orders)  # only orders on CUT
    assert set(orders[0]) == {"number", "item", "interval", "quantity", "good", "scrap", "status", "due_period",
                              "operations"}
    assert [op["work_center"] for op in orders[0]["operations"]] == ["CUT", "ASM", "TEST"]
    qty = orders[0]["quantity"]  # the plan's production of P in period 1
    assert qty > 46

    report = ["report", "completion", "WO-P01-0001", "--operation", "10", "--good", "40", "--scrap", "2",
              "--key", "tab-1", "--by", "anna", *db]
    rc, out, _ = _run(capsys, *report)
    assert rc == 0 and out.startswith("report tab-1: work order WO-P01-0001 operation 10: +40 good, +2 scrap\n")
    assert "stock: C -42, M -84" in out and f"0 of {qty:g} good, 2 scrap, in_progress" in out
    rc, out, _ = _run(capsys, *report)
    assert rc == 0 and out.startswith("already recorded: report tab-1:")
    rc, _, err = _run(capsys, *report[:6], "41", *report[7:])
    assert rc == 2 and "client key tab-1 was used for another report" in err and err.count("\n") == 1
    rc, _, err = _run(capsys, "report", "completion", "WO-P01-0001", "--operation", "20", "--good", "41",
                      "--key", "tab-2", *db)
    assert rc == 2 and "more than operation 10 delivered (40 good)" in err
    rc, _, err = _run(capsys, "report", "completion", "WO-P01-0001", "--operation", "10", "--good", f"{qty - 39:g}",
                      "--key", "tab-3", *db)
    assert rc == 2 and err.startswith(
        f"lpms: over-completion: work order WO-P01-0001 operation 10 would have {qty + 1:g}")
    rc, out, _ = _run(capsys, "report", "correction", "tab-1", "--key", "tab-1-fix", "--reason", "wrong order", *db)
    assert rc == 0 and out.startswith("correction tab-1-fix of report tab-1: work order WO-P01-0001 operation 10: "
                                      "-40 good, -2 scrap") and "stock: C +42, M +84" in out

    rc, out, _ = _run(capsys, "report", "downtime", "ASM", "--minutes", "90", "--reason", "jam", "--key", "d1", *db)
    assert rc == 0 and out == ("downtime d1: ASM lost 90 min in period 1 (jam); 90 min lost there this period, 2910 "
                               "of 3000 min capacity remain\n")
    rc, _, err = _run(capsys, "report", "downtime", "NOPE", "--minutes", "9", "--reason", "x", *db)
    assert rc == 2 and err == "lpms: work center NOPE does not exist\n"

    q = "WO-P01-0002"
    rc, _, err = _run(capsys, "work-orders", "close", q, *db)
    assert rc == 2 and "has not started: cancel it instead" in err
    rc, out, _ = _run(capsys, "work-orders", *db, "cancel", q, "--reason", "moved")  # options first, too
    assert rc == 0 and out.startswith(f"work order {q} cancelled")
    _run(capsys, "report", "completion", "WO-P01-0001", "--operation", "10", "--good", "5", "--key", "tab-4", *db)
    rc, _, err = _run(capsys, "work-orders", "close", "WO-P01-0001", *db)
    assert rc == 2 and "short-closing it needs a reason" in err
    rc, out, _ = _run(capsys, "work-orders", "close", "WO-P01-0001", "--reason", "line stop", *db)
    assert rc == 0 and out == f"work order WO-P01-0001 closed: 0 of {qty:g} P good, 0 scrap, {qty:g} short\n"
    rc, out, _ = _run(capsys, "work-orders", "--status", "cancelled", *db)
    assert rc == 0 and q in out and "WO-P01-0001" not in out


def test_stock_commands_post_to_the_ledger(db: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "stock", "receive", "C", "60", "--receipt", "PO-1", *db)
    assert rc == 0 and out.startswith("received 60 C: on hand 1060; scheduled receipt of 2026-12-07 fulfilled by 50")
    rc, out, _ = _run(capsys, "stock", "ship", "SO-1", "10", *db)
    assert rc == 0 and out == "shipped 10 P against SO-1: 10 of 30 shipped, order open; on hand 90\n"
    rc, out, _ = _run(capsys, "stock", "ship", "SO-1", *db)
    assert rc == 0 and "30 of 30 shipped, order shipped; on hand 70" in out
    rc, _, err = _run(capsys, "stock", "ship", "SO-2", *db)
    assert rc == 2 and err == ("lpms: shipping customer order SO-2: not enough stock: Q needs 20, 0 on hand "
                               "(short 20)\n")
    rc, out, _ = _run(capsys, "stock", "adjust", "M", "-5", "--reason", "count", *db)
    assert rc == 0 and out == "adjusted M by -5: on hand 1995\n"
    rc, _, err = _run(capsys, "stock", "adjust", "M", "3", *db)
    assert rc == 2 and "--reason" in err
    rc, out, _ = _run(capsys, "stock", "show", "C", "M", "P", "--format", "json", *db)
    assert rc == 0 and json.loads(out) == [{"item": "C", "opening": 1000.0, "moves": 60.0, "on_hand": 1060.0},
                                           {"item": "M", "opening": 2000.0, "moves": -5.0, "on_hand": 1995.0},
                                           {"item": "P", "opening": 100.0, "moves": -30.0, "on_hand": 70.0}]
    rc, _, err = _run(capsys, "stock", "receive", "NOPE", "1", *db)
    assert rc == 2 and err == "lpms: item NOPE does not exist\n"


@pytest.mark.parametrize("argv", [
    ["plan", "approve"], ["plan", "approve", "x"], ["release", "--fence", "-1"], ["work-orders", "--status", "odd"],
    ["work-orders", "cancel"], ["work-orders", "WO-1"], ["work-orders", "close", "WO-1", "--status", "released"],
    ["work-orders", "--reason", "x"], ["report"], ["report", "completion", "WO-1", "--operation", "10", "--good", "1"],
    ["report", "completion", "WO-1", "--operation", "ten", "--good", "1", "--key", "k"],
    ["report", "downtime", "ASM", "--minutes", "x", "--reason", "r"], ["stock"], ["stock", "adjust", "M", "1"],
    ["stock", "receive", "C", "many"],
], ids=lambda a: " ".join(a))
def test_wrong_arguments_exit_2_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(capsys, *argv)
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1 and err.startswith("lpms")


@pytest.mark.parametrize("words", [["plan", "approve"], ["release"], ["work-orders"], ["report"], ["report", "completion"],
                                   ["report", "correction"], ["report", "downtime"], ["stock"], ["stock", "receive"],
                                   ["stock", "ship"], ["stock", "adjust"], ["stock", "show"]],
                         ids=lambda w: " ".join(w))
def test_every_process_command_describes_itself(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*words, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: lpms") and len(out.splitlines()) > 3
