"""The importer against hostile files (issue: "The importer, hostile files").

Every rejected set must be reported as ``FILE:LINE: column COLUMN: reason``, change nothing,
and behave the same on SQLite and PostgreSQL (run with --db=postgresql).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from lpms.cli import main
from lpms.db import migrate
from lpms.db import models as m
from lpms.db.session import UnitOfWork, make_engine, session_factory
from lpms.domain.errors import DatabaseUnavailable, InvalidInput, LpmsError, NotFound, ValidationFailed
from lpms.services import csv_io
from lpms.services.csv_io import export_dir, export_texts, import_dir, import_texts
from lpms.services.demo import DEMO_DIR
from tests.helpers import NOW, load_demo, snapshot

pytestmark = pytest.mark.db

ITEMS = "code,name,kind\nA,Assembly A,product\nB,Part B,part\nC,Material C,material\n"
BASE = {
    "items": ITEMS,
    "work_centers": "code,name\nW1,Work center 1\n",
    "bom": "parent,child,qty_per\nA,B,2\n",
    "routings": "item,sequence,work_center,run_min\nA,10,W1,1\nB,10,W1,2\n",
}


def _reject(uow: UnitOfWork, texts: Mapping[str, str | bytes], **kwargs: Any) -> list[str]:
    before = snapshot(uow)
    with pytest.raises(ValidationFailed) as info:
        import_texts(uow, texts, **kwargs, actor="test", now=NOW)
    assert snapshot(uow) == before, "a rejected import must change nothing"
    return info.value.problems


def _reject_dir(uow: UnitOfWork, directory: Path) -> list[str]:
    before = snapshot(uow)
    with pytest.raises(ValidationFailed) as info:
        import_dir(uow, directory, actor="test", now=NOW)
    assert snapshot(uow) == before, "a rejected import must change nothing"
    return info.value.problems


@pytest.fixture
def base(uow: UnitOfWork) -> UnitOfWork:
    """A database holding A (product) <- B (part), C (material), work center W1, routings of A and B."""
    import_texts(uow, BASE, actor="test", now=NOW)
    return uow


# ---------------------------------------------------------------- purchased materials


def test_item_turned_into_material_keeping_stored_components_and_routing_is_rejected(base: UnitOfWork) -> None:
    problems = _reject(base, {"items": "code,kind\nA,material\nB,material\n"})
    assert problems == [
        "items.csv:2: column kind: 'A' cannot be a purchased material: it has components (B) stored by an earlier import",
        "items.csv:2: column kind: 'A' cannot be a purchased material: it has a routing (sequence 10) stored by an "
        "earlier import",
        "items.csv:3: column kind: 'B' cannot be a purchased material: it has a routing (sequence 10) stored by an "
        "earlier import",
    ]


def test_item_turned_into_material_with_components_and_routing_in_the_same_import_is_rejected(uow: UnitOfWork) -> None:
    problems = _reject(uow, {
        "items": "code,kind\nX,part\nY,material\n",
        "work_centers": "code\nW1\n",
        "bom": "parent,child,qty_per\nY,X,1\n",
        "routings": "item,sequence,work_center,run_min\nX,10,W1,1\nY,10,W1,1\n",
    })
    assert problems == [
        "bom.csv:2: column parent: 'Y' is a purchased material and cannot have components",
        "routings.csv:3: column item: 'Y' is a purchased material and cannot have a routing",
    ]


def test_routing_for_a_stored_material_is_rejected_not_ignored(base: UnitOfWork) -> None:
    problems = _reject(base, {"routings": "item,sequence,work_center,run_min\nC,10,W1,1\n"})
    assert problems == ["routings.csv:2: column item: 'C' is a purchased material and cannot have a routing"]


# ---------------------------------------------------------------- limits


@pytest.mark.parametrize(("texts", "expected"), [
    ({"stock": "item,on_hand\nB,1e20\n"},
     "stock.csv:2: column on_hand: 1e20 is too large (at most 1,000,000,000)"),
    ({"orders": "number,customer,item,quantity,due_date\nS1,Acme,A,1000000001,2027-01-04\n"},
     "orders.csv:2: column quantity: 1000000001 is too large (at most 1,000,000,000)"),
    ({"orders": "number,customer,item,quantity,due_date\nS1,Acme,A,1e-300,2027-01-04\n"},
     "orders.csv:2: column quantity: 1e-300 is too small (non-zero values are at least 0.000001)"),
    ({"forecasts": "item,start_date,end_date,quantity\nA,2027-01-01,2027-01-31,1e400\n"},
     "forecasts.csv:2: column quantity: 1e400 is too large (at most 1,000,000,000)"),
    ({"receipts": "item,due_date,quantity\nB,2027-01-04,nan\n"},
     "receipts.csv:2: column quantity: 'nan' is not a number"),
    ({"receipts": "item,due_date,quantity\nB,2027-01-04,1_000\n"},
     "receipts.csv:2: column quantity: '1_000' is not a number"),
    ({"items": "code,kind,safety_stock\nB,part,-Infinity\n"},
     "items.csv:2: column safety_stock: '-Infinity' is not a number"),
    ({"bom": "parent,child,qty_per\nA,C,2000000\n"},
     "bom.csv:2: column qty_per: 2000000 is too large (at most 1,000,000)"),
    ({"routings": "item,sequence,work_center,run_min,setup_min\nA,20,W1,1,1e7\n"},
     "routings.csv:2: column setup_min: 1e7 is too large (at most 1,000,000)"),
    ({"calendar": "period,bucket,start_date,end_date\n1,week,2027-01-04,2027-01-10\n",
      "capacity": "work_center,period,regular_min\nW1,1,2e9\n"},
     "capacity.csv:2: column regular_min: 2e9 is too large (at most 1,000,000,000)"),
])
def test_values_beyond_the_limits_are_rejected(base: UnitOfWork, texts: dict[str, str], expected: str) -> None:
    assert _reject(base, texts) == [expected]


def test_quantities_multiplying_along_a_bom_path_beyond_the_limit_are_rejected(base: UnitOfWork) -> None:
    problems = _reject(base, {
        "items": "code,kind\nP1,product\nP2,assembly\nP3,part\n",
        "bom": "parent,child,qty_per\nP1,P2,1000\nP2,P3,1000\nP3,C,10\n",
    })
    assert problems == ["bom.csv:2: column qty_per: along P1 -> P2 -> P3 -> C the quantities per unit multiply to "
                        "1e+07 (at most 1,000,000 C per P1)"]


def test_bom_path_through_stored_lines_counts_too(base: UnitOfWork) -> None:
    # A <- B (2) is stored; B <- C at 0.000001 makes 0.000002 C per A: fine; at 1,000,000 B -> C it is 2,000,000 C per A
    import_texts(base, {"bom": "parent,child,qty_per\nB,C,0.000001\n"}, actor="test", now=NOW)
    problems = _reject(base, {"bom": "parent,child,qty_per\nB,C,1000000\n"})
    assert problems == ["bom.csv:2: column qty_per: along A -> B -> C the quantities per unit multiply to 2e+06 "
                        "(at most 1,000,000 C per A)"]


@pytest.mark.parametrize(("texts", "expected"), [
    ({"items": "code,kind,lead_time_periods\nQ,part,2147483648\n"},
     "items.csv:2: column lead_time_periods: 2147483648 is too large (at most 10,000)"),
    ({"items": "code,kind,backward_window\nQ,part,99999999999999999999999\n"},
     "items.csv:2: column backward_window: 99999999999999999999999 is too large (at most 10,000)"),
    ({"orders": "number,customer,item,quantity,due_date,priority\nS1,Acme,A,1,2027-01-04,-2147483649\n"},
     "orders.csv:2: column priority: -2147483649 is too small (at least -1,000,000)"),
    ({"routings": "item,sequence,work_center,run_min\nA,9999999999,W1,1\n"},
     "routings.csv:2: column sequence: 9999999999 is too large (at most 1,000,000)"),
    ({"calendar": "period,bucket,start_date,end_date\n10001,week,2027-01-04,2027-01-10\n"},
     "calendar.csv:2: column period: 10001 is too large (at most 10,000)"),
    ({"items": "code,kind,lead_time_periods\nQ,part," + "9" * 5000 + "\n"},
     "items.csv:2: column lead_time_periods: " + "9" * 40 + "… is too large (at most 10,000)"),
])
def test_integers_beyond_the_column_range_are_rejected(base: UnitOfWork, texts: dict[str, str], expected: str) -> None:
    assert _reject(base, texts) == [expected]


def test_text_longer_than_the_column_is_rejected(base: UnitOfWork) -> None:
    problems = _reject(base, {
        "items": "code,name,kind,unit\n" + "K" * 65 + ",x,part,pcs\nL," + "n" * 201 + ",part,pcs\nM,x,part,kilograms-per-box\n",
        "orders": "number,customer,item,quantity,due_date\n" + "9" * 65 + ",Acme,A,1,2027-01-04\n",
    })
    assert problems == [
        "items.csv:2: column code: is 65 characters long (at most 64)",
        "items.csv:3: column name: is 201 characters long (at most 200)",
        "items.csv:4: column unit: is 17 characters long (at most 16)",
        "orders.csv:2: column number: is 65 characters long (at most 64)",
    ]


def test_nul_and_control_characters_are_rejected(base: UnitOfWork) -> None:
    problems = _reject(base, {"items": "code,name,kind\nN\x00,x,part\nM,a\x00b,part\nO,esc\x1b[31m,part\nP,x,part\x00\n"})
    assert problems == [
        "items.csv:2: column code: contains a control character (U+0000)",
        "items.csv:3: column name: contains a control character (U+0000)",
        "items.csv:4: column name: contains a control character (U+001B)",
        "items.csv:5: column kind: contains a control character (U+0000)",
    ]


def test_invisible_characters_in_codes_are_rejected(base: UnitOfWork) -> None:
    problems = _reject(base, {"items": "code,kind\nB\u200b,part\n"})
    assert problems == ["items.csv:2: column code: contains an invisible formatting character (U+200B)"]


def test_non_ascii_digits_are_rejected(base: UnitOfWork) -> None:
    problems = _reject(base, {
        "items": "code,kind,lead_time_periods\nQ,part,²\nR,part,١\n",
        "stock": "item,on_hand\nB,١٢\n",
        "forecasts": "item,start_date,end_date,quantity\nA,２０２７-01-01,2027-01-31,5\n",
    })
    assert problems == [
        "items.csv:2: column lead_time_periods: '²' is not a whole number",
        "items.csv:3: column lead_time_periods: '١' is not a whole number",
        "forecasts.csv:2: column start_date: '２０２７-01-01' is not a date (YYYY-MM-DD)",
        "stock.csv:2: column on_hand: '١٢' is not a number",
    ]


def test_a_field_beyond_the_csv_module_size_limit_is_reported_not_crashed(base: UnitOfWork) -> None:
    problems = _reject(base, {"items": "code,name,kind\nBIG," + "x" * 200_000 + ",part\nOK,fine,part\nBAD,fine,gizmo\n"})
    assert problems == [
        "items.csv:2: column name: is 200,000 characters long (at most 200)",
        "items.csv:4: column kind: 'gizmo' is not one of product, assembly, part, material",
    ]


def test_other_date_spellings_are_rejected(base: UnitOfWork) -> None:
    problems = _reject(base, {"calendar": "period,bucket,start_date,end_date\n1,week,20270104,2027-01-10\n"
                                          "2,week,2027-W02-1,2027-01-17\n"})
    assert problems == ["calendar.csv:2: column start_date: '20270104' is not a date (YYYY-MM-DD)",
                        "calendar.csv:3: column start_date: '2027-W02-1' is not a date (YYYY-MM-DD)"]


def test_values_at_the_limits_are_accepted_and_planned(fresh_url: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-plan", "--database-url", fresh_url]) == 0
    files = {
        "bom": "parent,child,qty_per\nMON-24,BL-24,1000\nBL-24,FRAME-24,1000\nBL-24,LED-STRIP,0.000001\n",
        "routings": "item,sequence,work_center,run_min,setup_min\nFRAME-24,10,STAMP,1000000,1000000\n"
                    "MON-27,10,FA,0.000001,0\n",
        "orders": "number,customer,item,quantity,due_date,priority\nX1,Acme,MON-24,1000000000,2027-01-20,1000000\n"
                  "X2,Acme,TV-32,1000000000,2027-03-20,-1000000\n",
        "capacity": "work_center,period,regular_min,overtime_min\nSTAMP,3,1000000000,1000000000\n",
        "items": "code,kind,lead_time_periods,safety_stock,backward_window,forward_window,offset_rule\n"
                 "MON-27,product,10000,1000000000,10000,10000,backward_then_forward\n",
        "stock": "item,on_hand\nTV-32,1000000000\n",
        "forecasts": "item,start_date,end_date,quantity\nMON-24,2027-01-01,2027-12-31,1000000000\n",
    }
    for name, text in files.items():
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    assert main(["import", str(tmp_path), "--database-url", fresh_url]) == 0
    capsys.readouterr()
    # the planner may find the data infeasible (exit 3) but must not fail on the numbers
    assert main(["plan", "run", "--allow-backlog-past-horizon", "--database-url", fresh_url]) in (0, 3)
    err = capsys.readouterr().err
    assert "HiGHS" not in err and "internal error" not in err


# ---------------------------------------------------------------- letter case


def test_codes_equal_but_for_case_in_one_file_are_duplicates(base: UnitOfWork) -> None:
    problems = _reject(base, {"items": "code,kind\nBEZEL,part\nbezel,part\n",
                              "work_centers": "code\nSMT\nsmt\n",
                              "orders": "number,customer,item,quantity,due_date\nSO-1a,Acme,A,1,2027-01-04\n"
                                        "SO-1A,Acme,A,1,2027-01-04\n"})
    assert problems == [
        "items.csv:3: column code: duplicate key (code=bezel), first on line 2 as 'BEZEL' (codes are unique ignoring letter case)",
        "work_centers.csv:3: column code: duplicate key (code=smt), first on line 2 as 'SMT' (codes are unique ignoring letter case)",
        "orders.csv:3: column number: duplicate key (number=SO-1A), first on line 2 as 'SO-1a' (codes are unique ignoring "
        "letter case)",
    ]


def test_code_equal_but_for_case_to_a_stored_one_is_a_duplicate(base: UnitOfWork) -> None:
    import_texts(base, {"items": "code,kind\nBEZEL,part\n",
                        "orders": "number,customer,item,quantity,due_date\nSO-1,Acme,A,1,2027-01-04\n"}, actor="test", now=NOW)
    problems = _reject(base, {"items": "code,kind\nbezel,part\n", "work_centers": "code\nw1\n",
                              "orders": "number,customer,item,quantity,due_date\nso-1,Acme,A,1,2027-01-04\n"})
    assert problems == [
        "items.csv:2: column code: duplicate key (code=bezel): 'BEZEL' is already stored (codes are unique ignoring letter case)",
        "work_centers.csv:2: column code: duplicate key (code=w1): 'W1' is already stored (codes are unique ignoring "
        "letter case)",
        "orders.csv:2: column number: duplicate key (number=so-1): 'SO-1' is already stored (codes are unique ignoring "
        "letter case)",
    ]


def test_reference_differing_in_case_is_unknown_and_names_the_likely_code(base: UnitOfWork) -> None:
    problems = _reject(base, {"items": "code,kind\nBEZEL,part\n",
                              "bom": "parent,child,qty_per\nA,bezel,1\n",
                              "routings": "item,sequence,work_center,run_min\nBezel,10,w1,1\n",
                              "stock": "item,on_hand\nb,5\n"})
    assert problems == [
        "bom.csv:2: column child: unknown item 'bezel' (did you mean 'BEZEL'? references must match a code exactly, "
        "including letter case)",
        "routings.csv:2: column item: unknown item 'Bezel' (did you mean 'BEZEL'? references must match a code exactly, "
        "including letter case)",
        "routings.csv:2: column work_center: unknown work center 'w1' (did you mean 'W1'? references must match a code "
        "exactly, including letter case)",
        "stock.csv:2: column item: unknown item 'b' (did you mean 'B'? references must match a code exactly, including "
        "letter case)",
    ]


def test_reimporting_a_code_with_the_same_case_is_an_update(base: UnitOfWork) -> None:
    result = import_texts(base, {"items": "code,name,kind\nB,Renamed,part\n"}, actor="test", now=NOW)
    assert result.counts["items"] == {"rows": 1, "inserted": 0, "updated": 1}


# ---------------------------------------------------------------- quotes and encodings


def test_unterminated_quote_is_reported_on_its_line_and_swallows_nothing(base: UnitOfWork) -> None:
    problems = _reject(base, {"items": 'code,name,kind\nQ1,"Bezel 24in,part\nQ2,fine,gizmo\nQ3,"ok, quoted",part\n'
                                       'Q4,"closes" late,part\n'})
    assert problems == [
        "items.csv:2: column name: the quote opened here is not closed on this line (a cell cannot span lines)",
        "items.csv:3: column kind: 'gizmo' is not one of product, assembly, part, material",
        "items.csv:5: column name: unexpected text after the closing quote",
    ]


def test_quote_closing_lines_later_does_not_hide_the_rows_between(base: UnitOfWork) -> None:
    problems = _reject(base, {"items": 'code,name,kind\nQ1,"open,part\nQ2,x,part\nQ3,"x",part\nQ4,close",part\n'})
    assert problems == [
        "items.csv:2: column name: the quote opened here is not closed on this line (a cell cannot span lines)",
    ]


def test_quoted_cells_with_commas_and_doubled_quotes_are_read(uow: UnitOfWork) -> None:
    import_texts(uow, {"items": 'code,name,kind\nQ1,"Bezel, 24"" black",part\nQ2, "spaced" ,part\r\nQ3,5" panel,part\r\n'}, actor="test", now=NOW)
    with uow:
        assert uow.session is not None
        names = {code: name for code, name in uow.session.execute(
            select(m.Item.code, m.Item.name).where(m.Item.code.in_(["Q1", "Q2", "Q3"])))}
    assert names == {"Q1": 'Bezel, 24" black', "Q2": "spaced", "Q3": '5" panel'}


def test_file_that_is_not_utf8_is_reported_with_line_and_column(base: UnitOfWork) -> None:
    problems = _reject(base, {"items": "code,name,kind\nL1,Blende,part\nL2,Blende f\xfcr 24,part\n".encode("latin-1")})
    assert problems == ["items.csv:3: column name: is not UTF-8 text (byte 0xFC); save the file as UTF-8"]


def test_utf16_file_is_rejected_as_a_whole(base: UnitOfWork) -> None:
    assert _reject(base, {"items": "code,kind\nU,part\n".encode("utf-16")}) == [
        "items.csv:1: the file is UTF-16 text; save it as UTF-8"]


def test_utf8_with_byte_order_mark_and_crlf_is_read(uow: UnitOfWork) -> None:
    result = import_texts(uow, {"items": "\ufeffcode,name,kind\r\nÄ1,Blende für 24,part\r\n".encode("utf-8")}, actor="test", now=NOW)
    assert result.counts["items"]["inserted"] == 1


def test_header_problems_name_the_column(base: UnitOfWork) -> None:
    problems = _reject(base, {"items": "code,kind,code,\nA,part,A,\n"})
    assert problems == ["items.csv:1: column code: appears twice in the header",
                        "items.csv:1: column #4: the header cell is empty (a trailing comma?)"]


def test_rows_with_too_few_or_too_many_fields_name_the_column(base: UnitOfWork) -> None:
    problems = _reject(base, {"items": "code,name,kind\nA,x\nB,y,part,extra\n"})
    assert problems == ["items.csv:2: column kind: is missing (the line has 2 fields, the header 3)",
                        "items.csv:3: column #4: is one field too many (the line has 4 fields, the header 3)"]


# ---------------------------------------------------------------- file names


def _write(directory: Path, name: str, text: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text, encoding="utf-8")


def test_file_name_differing_in_case_is_read_and_named_as_found(base: UnitOfWork, tmp_path: Path) -> None:
    _write(tmp_path, "items.csv", "code,kind\nS1,part\n")
    _write(tmp_path, "Stock.csv", "item,on_hand\nS1,5\nS1,6\n")
    assert _reject_dir(base, tmp_path) == ["Stock.csv:3: column item: duplicate key (item=S1), first on line 2"]
    _write(tmp_path, "Stock.csv", "item,on_hand\nS1,5\n")
    result = import_dir(base, tmp_path, actor="test", now=NOW)
    assert result.counts["stock"] == {"rows": 1, "inserted": 1, "updated": 0}


def test_two_files_naming_the_same_kind_are_rejected(base: UnitOfWork, tmp_path: Path) -> None:
    _write(tmp_path, "stock.csv", "item,on_hand\nB,5\n")
    _write(tmp_path, "STOCK.CSV", "item,on_hand\nB,6\n")
    assert _reject_dir(base, tmp_path) == [
        "stock.csv: names the same file as STOCK.CSV (file names ignore letter case); keep one of them"]


def test_unknown_csv_file_is_rejected_never_ignored(base: UnitOfWork, tmp_path: Path) -> None:
    _write(tmp_path, "items.csv", "code,kind\nS1,part\n")
    _write(tmp_path, "stocks.csv", "item,on_hand\nS1,5\n")
    _write(tmp_path, "README.txt", "not an import file\n")
    assert _reject_dir(base, tmp_path) == [
        f"stocks.csv: unknown file (expected any of {csv_io.KNOWN_FILES}; names ignore letter case)"]


def test_missing_directory_is_not_found(uow: UnitOfWork, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="nowhere: no such directory$"):
        import_dir(uow, tmp_path / "nowhere", actor="test", now=NOW)
    _write(tmp_path, "file", "x")
    with pytest.raises(InvalidInput, match="file: not a directory$"):
        import_dir(uow, tmp_path / "file", actor="test", now=NOW)


def test_cli_import_of_a_missing_directory_and_a_hostile_file_exit_2(fresh_url: str, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--database-url", fresh_url]) == 0
    assert main(["import", str(tmp_path / "nowhere"), "--database-url", fresh_url]) == 2
    assert "nowhere: no such directory" in capsys.readouterr().err
    _write(tmp_path / "in", "Items.csv", "code,kind\nN\x00,part\n")
    assert main(["import", str(tmp_path / "in"), "--database-url", fresh_url]) == 2
    assert "Items.csv:2: column code: contains a control character (U+0000)" in capsys.readouterr().err


# ---------------------------------------------------------------- export


def test_export_refuses_a_directory_holding_csv_files_unless_overwrite(base: UnitOfWork, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _write(out, "Items.csv", "old\n")
    _write(out, "notes.txt", "kept\n")
    with pytest.raises(InvalidInput, match=r"Items\.csv: already exists; .*overwrite"):
        export_dir(base, out)
    assert (out / "Items.csv").read_text() == "old\n"
    paths = export_dir(base, out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted([p.name for p in paths] + ["notes.txt"])
    assert (out / "items.csv").read_text() == export_texts(base)["items"]
    # and the directory imports back cleanly (notes.txt is not an import file)
    assert all(c["inserted"] == 0 and c["updated"] == 0 for c in import_dir(base, out, actor="test", now=NOW).counts.values())


def test_export_into_a_file_is_invalid_input(base: UnitOfWork, tmp_path: Path) -> None:
    _write(tmp_path, "file", "x")
    with pytest.raises(InvalidInput, match="exists and is not a directory"):
        export_dir(base, tmp_path / "file")


def test_cli_export_into_a_directory_with_files_exits_2(fresh_url: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--database-url", fresh_url]) == 0
    assert main(["export", str(tmp_path), "--database-url", fresh_url]) == 0
    capsys.readouterr()
    assert main(["export", str(tmp_path), "--database-url", fresh_url]) == 2
    assert "already exists" in capsys.readouterr().err


# ---------------------------------------------------------------- only LpmsError leaves the service


def test_unreachable_database_is_database_unavailable(tmp_path: Path) -> None:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing", connect_args={"connect_timeout": 2})
    try:
        uow = UnitOfWork(session_factory(engine))
        with pytest.raises(DatabaseUnavailable, match="database unavailable"):
            import_texts(uow, {"items": ITEMS}, actor="test", now=NOW)
        with pytest.raises(DatabaseUnavailable, match="database unavailable"):
            export_dir(uow, tmp_path / "out")
    finally:
        engine.dispose()


_cells = st.one_of(st.sampled_from(["A", "B", "C", "a", "1", "-1", "1e20", "0", "2027-01-04", "part", "material", "",
                                    '"', '""', "\x00", "²", "1" * 50, "x" * 300]),
                   st.text(max_size=8))
_lines = st.lists(_cells, min_size=0, max_size=6).map(",".join)


@st.composite
def _files(draw: st.DrawFn) -> dict[str, str | bytes]:
    names = draw(st.lists(st.sampled_from([s.name for s in csv_io.SPECS]), min_size=1, max_size=3, unique=True))
    out: dict[str, str | bytes] = {}
    for name in names:
        spec = csv_io.SPEC_BY_NAME[name]
        header = ",".join(c.name for c in spec.columns if c.required or draw(st.booleans()))
        body = "\n".join(draw(st.lists(_lines, max_size=5)))
        text = header + "\n" + body + draw(st.sampled_from(["", "\n", "\r\n", '"']))
        out[name] = text.encode("utf-8", "surrogatepass") + draw(st.sampled_from([b"", b"\xff", b"\xc3"]))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(texts=_files())
def test_any_file_set_is_imported_or_rejected_with_an_lpms_error(base: UnitOfWork, texts: dict[str, str | bytes]) -> None:
    before = snapshot(base)
    try:
        import_texts(base, texts, actor="test", now=NOW)
    except ValidationFailed as exc:
        assert exc.problems and all(":" in p for p in exc.problems)
        assert snapshot(base) == before
    except LpmsError:
        assert snapshot(base) == before
    with base:
        assert base.session is not None
        assert (base.session.scalar(select(func.count()).select_from(m.Item)) or 0) >= 3


def test_demo_data_still_round_trips(uow: UnitOfWork, fresh_url: str, tmp_path: Path) -> None:
    load_demo(uow)
    export_dir(uow, tmp_path / "out")
    migrate.upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        other = UnitOfWork(session_factory(engine))
        import_dir(other, tmp_path / "out", actor="test", now=NOW)
        assert export_texts(other) == export_texts(uow)
        assert import_dir(other, DEMO_DIR / "plant", actor="test", now=NOW).counts["items"]["inserted"] == 0
    finally:
        engine.dispose()


# ---------------------------------------------------------------- calendar

CALENDAR = ("period,bucket,start_date,end_date\n1,week,2027-01-04,2027-01-10\n2,week,2027-01-11,2027-01-17\n"
            "3,week,2027-01-18,2027-01-24\n")


def test_calendar_shifted_by_a_period_is_written_despite_unique_start_dates(uow: UnitOfWork) -> None:
    import_texts(uow, {"calendar": CALENDAR}, actor="test", now=NOW)
    shifted = ("period,bucket,start_date,end_date\n1,week,2027-01-11,2027-01-17\n2,week,2027-01-18,2027-01-24\n"
               "3,week,2027-01-25,2027-01-31\n")
    result = import_texts(uow, {"calendar": shifted}, actor="test", now=NOW)
    assert result.counts["calendar"] == {"rows": 3, "inserted": 0, "updated": 3}
    assert export_texts(uow)["calendar"] == shifted


def test_imported_period_overlapping_a_stored_later_one_is_rejected(uow: UnitOfWork) -> None:
    import_texts(uow, {"calendar": CALENDAR}, actor="test", now=NOW)
    problems = _reject(uow, {"calendar": "period,bucket,start_date,end_date\n1,week,2027-01-04,2027-01-12\n"})
    assert problems == ["calendar.csv:2: column end_date: period 1 ends 2027-01-12, after period 2 starts (2027-01-11)"]
