"""Plan tables for people (lpms/formats/render.py): integral units without decimals, at most two
decimals otherwise, aligned columns, one table per item."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from lpms.cli import main
from lpms.formats.render import Table, qty, render_tables

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NUMBER = re.compile(r"^-?\d+(\.\d{1,2})?$")


def solve(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["plan", "solve", *argv]) == 0
    return capsys.readouterr().out


def blocks(text: str) -> list[list[str]]:
    """The tables in a text: a header line, a rule of dashes, rows (a title line above is left out)."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        if line and set(line) <= {"-", " "} and i > 0:
            rows = []
            for row in lines[i + 1:]:
                if not row.strip():
                    break
                rows.append(row)
            found.append([lines[i - 1], line, *rows])
    return found


def spans(rule: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]


def assert_aligned(block: list[str]) -> None:
    """Every cell lies inside its column's span under the rule, numbers right-aligned in it, and
    columns are separated by at least two spaces."""
    header, rule, *rows = block
    cols = spans(rule)
    assert all(nxt[0] - cur[1] >= 2 for cur, nxt in zip(cols, cols[1:]))
    for line in [header, *rows]:
        for m in re.finditer(r"\S+(?: \S+)*", line):
            inside = [c for c in cols if c[0] <= m.start() and m.end() <= c[1]]
            assert inside, f"cell {m.group()!r} at {m.start()}-{m.end()} outside every column in:\n{line}\n{rule}"
            if NUMBER.match(m.group()) and line is not header and inside[0] != cols[0]:
                assert m.end() == inside[0][1], f"number {m.group()!r} not right-aligned in:\n{line}"


@pytest.mark.parametrize("x, text", [
    (240.0, "240"), (239.9999999, "240"), (-1e-9, "0"), (108.333333, "108.33"), (462.5, "462.5"),
    (71.666667, "71.67"), (0.001, "0.001"), (2400, "2400"), (-5.25, "-5.25"),
])
def test_quantities_are_integers_when_integral_else_two_decimals_at_most(x: float, text: str) -> None:
    assert qty(x) == text


def test_table_columns_are_aligned_and_zero_cells_blank_but_totals_shown() -> None:
    t = Table(["item", "1", "2", "total"], [["production", 108.333333, 0.0, 108.333333], ["backlog", 0.0, 0.0, 0.0]],
              zero_shown={3})
    text = t.render()
    (block,) = blocks(text)
    assert_aligned(block)
    assert block[2].split() == ["production", "108.33", "108.33"]
    assert block[3].split() == ["backlog", "0"]


def test_tables_rendered_together_share_column_widths() -> None:
    a = Table(["item", "1", "2"], [["x", 1, 2]], title="A")
    b = Table(["item", "1", "2"], [["longer label", 12345.5, 2]], title="B")
    lines = render_tables([a, b]).splitlines()
    rules = [line for line in lines if line and set(line) <= {"-", " "}]
    assert len(rules) == 2 and rules[0] == rules[1]


def test_single_item_table_prints_whole_units_without_decimals(capsys: pytest.CaptureFixture[str]) -> None:
    out = solve(capsys, str(EXAMPLES / "paper_table2.json"))
    (plan, summary) = blocks(out)
    assert_aligned(plan)
    assert_aligned(summary)
    assert not any("." in line for line in plan)  # every quantity of the paper's case is a whole number
    production = next(line for line in plan if "Production planning" in line)
    assert production.split()[-13:] == "150 100 200 150 250 350 100 100 250 250 250 250 2400".split()
    assert "Solver: HiGHS" in out


def test_priority_mode_lists_the_stages(capsys: pytest.CaptureFixture[str]) -> None:
    out = solve(capsys, str(EXAMPLES / "paper_table2.json"), "--priority", "late,overtime,inventory,balance")
    for block in blocks(out):
        assert_aligned(block)
    assert "Priority stages: late 0 -> overtime 200 -> inventory 1380 -> balance" in out


def test_single_item_pareto_is_one_aligned_table(capsys: pytest.CaptureFixture[str]) -> None:
    out = solve(capsys, str(EXAMPLES / "paper_table2.json"), "--pareto", "inventory,overtime")
    (block,) = blocks(out)
    assert_aligned(block)
    assert block[0].split()[:3] == ["#", "inventory", "overtime"]
    assert block[2].split()[:3] == ["1", "680", "400"] and block[-1].split()[:3] == ["4", "1380", "200"]


def test_network_plan_prints_one_aligned_table_per_item_and_work_center(capsys: pytest.CaptureFixture[str]) -> None:
    out = solve(capsys, str(EXAMPLES / "two_products.json"))
    titles = [line.split(":")[0] for line in out.splitlines() if re.match(r"^[A-Z][A-Z0-9-]*: ", line)]
    assert titles == ["MON", "TV", "BL", "BOARD", "FRAME", "LCD", "PCB", "SHEET"]  # each item once
    assert [line for line in out.splitlines() if line.startswith("Work center ")] == [
        "Work center ASSY", "Work center CELL", "Work center PRESS", "Work center SMT"]
    tables = blocks(out)
    for block in tables:
        assert_aligned(block)
    period_tables = [b for b in tables if b[0].split()[0] in ("item", "minutes")]
    assert len(period_tables) == 12
    assert len({b[1] for b in period_tables}) == 1  # one set of column widths down the page
    for block in period_tables:
        for row in block[2:]:
            for cell in re.split(r" {2,}", row.strip())[1:]:
                assert NUMBER.match(cell), f"{cell!r} is not a number with at most two decimals"
                assert not cell.endswith(".0")
    mon = out.split("MON: end product")[1].split("\n\n")[0]
    assert "gross demand" in mon and "net demand" in mon and "production (started)" in mon and "backlog (end)" in mon
    assert "Final-assembly sequence per period" in out and out.rstrip().splitlines()[-1].startswith("Solver: HiGHS")


def test_network_pareto_prints_a_summary_then_each_point(capsys: pytest.CaptureFixture[str]) -> None:
    out = solve(capsys, str(EXAMPLES / "two_products.json"), "--pareto", "inventory,overtime")
    first = blocks(out)[0]
    assert first[0].split() == ["#", "inventory", "overtime", "delayed", "total", "cost"]
    points = len(first) - 2
    assert points >= 1 and out.count("=== efficient point ") == points
    for block in blocks(out):
        assert_aligned(block)
