from __future__ import annotations

import json
from pathlib import Path

import pytest

from lpms.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BASE = json.loads((EXAMPLES / "paper_table2.json").read_text())


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_solve_json_output_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "plan", "solve", str(EXAMPLES / "paper_table3.json"), "--format", "json")
    assert rc == 0
    data = json.loads(out)
    assert {"gross_demand", "net_demand", "production", "inventory", "backlog", "overtime", "costs", "solver"} <= set(data)
    assert data["production"] == [200] * 6 + [100, 100] + [250] * 4
    assert sum(data["inventory"]) == 1380 and sum(data["overtime"]) == 200 and sum(data["backlog"]) == 0
    assert data["costs"] == {"late": 0, "balance": 0, "inventory": 1380, "overtime": 20000, "total": 21380}
    assert data["solver"]["status"] == "optimal"


def test_solve_table_output_is_laid_out_like_the_paper(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "plan", "solve", str(EXAMPLES / "paper_table2.json"))
    assert rc == 0
    lines = {line[9:].split("  ")[0].strip(): line for line in out.splitlines() if line.strip()}
    assert lines["Production planning"].split()[-13:] == "150 100 200 150 250 350 100 100 250 250 250 250 2400".split()
    assert lines["Inventory planning"].split()[-4:] == ["100", "300", "280", "680"]
    assert lines["Overtime planning"].split()[-7:] == ["50", "150", "50", "50", "50", "50", "400"]


def test_priority_flag_reproduces_table_3_without_costs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = {k: v for k, v in BASE.items() if k != "costs"}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    rc, out, _ = run(capsys, "plan", "solve", str(path), "--priority", "late,overtime,inventory,balance", "--format", "json")
    assert rc == 0
    assert json.loads(out)["production"] == [200] * 6 + [100, 100] + [250] * 4


def test_pareto_flag_lists_efficient_points(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "plan", "solve", str(EXAMPLES / "paper_table2.json"), "--pareto", "inventory,overtime", "--format", "json")
    assert rc == 0
    points = json.loads(out)["pareto"]["points"]
    pairs = [(p["objectives"]["inventory"], p["objectives"]["overtime"]) for p in points]
    assert pairs[0] == (680, 400) and pairs[-1] == (1380, 200)


@pytest.mark.parametrize("change, message", [
    ({"forecast": None}, "key 'forecast': missing (required)"),
    ({"regular_capacity": [200] * 11}, "key 'regular_capacity': has 11 values, 'forecast' has 12"),
    ({"overtime_capacity": [150] * 11 + [-1]}, "key 'overtime_capacity[12]': -1 is negative"),
    ({"overtime_capacity": [150] * 11 + [1e20]},
     "key 'overtime_capacity[12]': 1e+20 is larger than 1e+09, the largest value LPMS plans with"),
    ({"overtime_capacity": [150] * 11 + [1e-9]},
     "key 'overtime_capacity[12]': 1e-09 is smaller than 1e-06, the smallest non-zero value LPMS plans with"),
    ({"offset_rule": "sideways"}, "key 'offset_rule': 'sideways' is not one of forecast_only"),
    ({"orders": [{"period": 13, "quantity": 5}]}, "key 'orders[1].period': 13 is out of range 1..12"),
    ({"orders": [{"period": 2, "quantity": -5}]}, "key 'orders[1].quantity': -5 is negative"),
    ({"costs": {"late": 1, "speed": 2}}, "key 'costs.speed': unknown cost"),
    ({"colour": "red"}, "key 'colour': unknown key"),
    ({"forecast": "many"}, "key 'forecast': must be a list of numbers"),
])
def test_bad_scenarios_exit_2_naming_the_key(change: dict[str, object], message: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    data = dict(BASE)
    for key, value in change.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    rc, out, err = run(capsys, "plan", "solve", str(path))
    assert rc == 2
    assert message in err
    assert "Traceback" not in err and out == ""


def test_unreadable_or_invalid_json_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "plan", "solve", str(tmp_path / "missing.json"))
    assert rc == 2 and "cannot read" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"forecast": [1, 2,')
    rc, _, err = run(capsys, "plan", "solve", str(bad))
    assert rc == 2 and "not valid JSON at line 1" in err


def test_infeasible_scenario_explains_the_shortfall(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = dict(BASE, overtime_capacity=[0] * 12)
    path = tmp_path / "short.json"
    path.write_text(json.dumps(data))
    rc, _, err = run(capsys, "plan", "solve", str(path))
    assert rc == 3  # infeasible
    assert "periods 1-12 need 2400, capacity (regular + overtime) is 2200, short by 200" in err
    data["allow_backlog_past_horizon"] = True
    path.write_text(json.dumps(data))
    rc, out, _ = run(capsys, "plan", "solve", str(path), "--format", "json")
    assert rc == 0 and json.loads(out)["backlog"][-1] == 200


@pytest.mark.parametrize("words", [["plan"], ["plan", "solve"]])
def test_plan_commands_describe_themselves(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*words, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: lpms plan")


NETWORK = json.loads((EXAMPLES / "two_products.json").read_text())


def test_multi_item_scenario_solves_with_levelled_sequences(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "plan", "solve", str(EXAMPLES / "two_products.json"), "--format", "json")
    assert rc == 0
    data = json.loads(out)
    assert {iv["code"] for iv in data["intervals"]} == {"I:MON", "I:TV", "I:BOARD"}
    assert data["backlog"]["MON"][-1] == 0 and data["backlog"]["TV"][-1] == 0
    assert data["solver"]["status"] == "optimal"
    for period, lv in data["levelling"].items():
        made = {p: round(data["item_production"][p][int(period) - 1]) for p in ("MON", "TV")}
        assert {p: lv["sequence"].count(p) for p in made if made[p]} == {p: n for p, n in made.items() if n}
        assert lv["exact"] and lv["lower_bound"] <= lv["cost"] + 1e-9


@pytest.mark.parametrize("change, message", [
    ({"periods": 0}, "key 'periods': needs at least one period"),
    ({"periods": 10**7}, "key 'periods': 10000000 periods, more than 10000"),
    ({"items": [{"code": "MON"}]}, "key 'items[1].kind': missing (required)"),
    ({"work_centers": [{"code": "ASSY", "regular_min": [1, 2]}]}, "key 'work_centers[1].regular_min': has 2 values, 'periods' is 6"),
    ({"demand": {"GHOST": {"forecast": [1] * 6}}}, "key 'demand.GHOST': unknown item 'GHOST'"),
    ({"bom": [{"parent": "MON", "child": "LCD", "qty": -1}]}, "key 'bom[1].qty': -1 is negative"),
    ({"routings": [{"item": "MON", "work_center": "NOWHERE", "run_min": 1}]}, "unknown work center NOWHERE"),
    ({"bom": NETWORK["bom"] + [{"parent": "FRAME", "child": "MON", "qty": 1}]}, "BOM cycle: "),
])
def test_bad_multi_item_scenarios_exit_2_with_the_problem_named(change: dict[str, object], message: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**NETWORK, **change}))
    rc, out, err = run(capsys, "plan", "solve", str(path))
    assert rc == 2, err
    assert message in err and "Traceback" not in err


def test_network_pareto_sweep_has_no_duplicate_or_dominated_points(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "plan", "solve", str(EXAMPLES / "two_products.json"), "--pareto", "inventory,overtime",
                     "--format", "json")
    assert rc == 0
    pairs = [(p["objectives"]["inventory"], p["objectives"]["overtime"]) for p in json.loads(out)["pareto"]]
    for (i1, o1), (i2, o2) in zip(pairs, pairs[1:]):
        assert i2 > i1 * (1 + 1e-7) and o2 < o1 * (1 - 1e-7)
