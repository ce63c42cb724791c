"""`lpms plan run` prints the stored plan for people: one aligned table per item and work center."""
from __future__ import annotations

import re

import pytest

from lpms.cli import main
from tests.unit.test_render import NUMBER, assert_aligned, blocks


def test_plan_run_prints_one_aligned_table_per_item(fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-plan", "--database-url", fresh_url]) == 0
    capsys.readouterr()
    assert main(["plan", "run", "--database-url", fresh_url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("plan run 1 stored: 12 intervals")
    titles = [line.split(":")[0] for line in out.splitlines() if re.match(r"^[A-Z][A-Z0-9-]*: ", line)]
    assert len(titles) == len(set(titles)) == 31  # every item of the demo database once
    assert titles[:5] == ["LCD-SPARE", "MON-24", "MON-27", "PANEL-15", "TV-32"]  # end products first
    assert sum(line.startswith("Work center ") for line in out.splitlines()) == 8
    tables = blocks(out)
    for block in tables:
        assert_aligned(block)
    period_tables = [b for b in tables if b[0].split()[0] in ("item", "minutes")]
    assert len(period_tables) == 31 + 8 and len({b[1] for b in period_tables}) == 1
    for block in period_tables:
        for row in block[2:]:
            for cell in re.split(r" {2,}", row.strip())[1:]:
                assert NUMBER.match(cell), cell
    paper = out.split("LCD-SPARE: end product")[1].split("\n\n")[0]
    production = next(line for line in paper.splitlines() if line.startswith("production"))
    assert production.split()[-1] == "2400"  # the total of the paper's net demand
