"""The plant calendar on a database: the rolling horizon (extend_calendar), the current period
(calendar_view, `lpms calendar show`), and `lpms demo` placed around today."""
from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from lpms.cli import main
from lpms.db import models as m
from lpms.db.session import UnitOfWork
from lpms.domain.errors import NotFound
from lpms.services import csv_io
from lpms.services.calendar import calendar_view, extend_calendar
from lpms.services.demo import DATE_COLUMNS, DEMO_DIR, demo_texts, shift_dates, shipped_period_start
from tests.conftest import DatabaseFactory
from tests.helpers import load_demo

PERIOD_4 = dt.datetime(2027, 1, 27, 9, 0, tzinfo=dt.UTC)  # a Wednesday in period 4 of the shipped calendar


@pytest.fixture(autouse=True)
def _no_lpms_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("LPMS_"):
            monkeypatch.delenv(key)


def _capacities(uow: UnitOfWork, work_center: str) -> dict[int, tuple[float, float]]:
    with uow:
        rows = uow.session.execute(
            select(m.Period.seq, m.Capacity.regular_min, m.Capacity.overtime_min)
            .join(m.Period, m.Period.id == m.Capacity.period_id)
            .join(m.WorkCenter, m.WorkCenter.id == m.Capacity.work_center_id)
            .where(m.WorkCenter.code == work_center)).tuples()
        return {seq: (reg, ot) for seq, reg, ot in rows}


# ------------------------------------------------------------------ the service

def test_extend_calendar_appends_the_horizon_repeating_the_pattern_once(uow: UnitOfWork) -> None:
    load_demo(uow)
    result = extend_calendar(uow, horizon_periods=12, timezone="UTC", actor="test", now=PERIOD_4)
    assert result.current_seq == 4 and [p.seq for p in result.added] == [13, 14, 15, 16]
    assert result.added[0].start == dt.date(2027, 3, 29) and result.last.end == dt.date(2027, 4, 25)
    assert result.capacity_rows == 4 * 8 and result.pattern_periods == 8
    paper = _capacities(uow, "PAPER-LINE")
    assert [paper[s] for s in range(13, 17)] == [paper[5], paper[6], paper[7], paper[8]]
    assert paper[15] == (100, 0)  # the short weeks 7-8 of the 8-week block recur
    fa = _capacities(uow, "FA")
    assert all(fa[s] == fa[s - 8] for s in range(13, 17))
    with uow:
        audit = uow.session.scalars(select(m.AuditEntry).where(m.AuditEntry.entity == "calendar")).all()
        assert [(a.action, a.entity_key, a.actor, a.at) for a in audit] == [("extend", "13-16", "test", PERIOD_4)]
        assert audit[0].detail["periods"] == 4 and audit[0].detail["plant_date"] == "2027-01-27"

    again = extend_calendar(uow, horizon_periods=12, timezone="UTC", actor="test", now=PERIOD_4)
    assert again.added == () and again.capacity_rows == 0 and again.last.seq == 16
    assert "already covers 12 periods ahead" in again.summary()
    with uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(m.Period)) == 16
        assert s.scalar(select(func.count()).select_from(m.Capacity)) == 16 * 8
        assert s.scalar(select(func.count()).select_from(m.AuditEntry).where(m.AuditEntry.entity == "calendar")) == 1


def test_the_horizon_counts_from_the_plant_date(uow: UnitOfWork) -> None:
    load_demo(uow, "paper")
    sunday_night = dt.datetime(2027, 1, 24, 23, 30, tzinfo=dt.UTC)  # Sunday of period 3; Monday of period 4 in Tokyo
    assert calendar_view(uow, timezone="UTC", now=sunday_night).current_seq == 3
    assert calendar_view(uow, timezone="Asia/Tokyo", now=sunday_night).current_seq == 4
    assert extend_calendar(uow, horizon_periods=9, timezone="UTC", actor="test", now=sunday_night).added == ()
    tokyo = extend_calendar(uow, horizon_periods=9, timezone="Asia/Tokyo", actor="test", now=sunday_night)
    assert tokyo.current_seq == 4 and [p.seq for p in tokyo.added] == [13]


def test_without_a_calendar_there_is_nothing_to_extend(uow: UnitOfWork) -> None:
    with pytest.raises(NotFound, match="no periods to extend"):
        extend_calendar(uow, horizon_periods=12, timezone="UTC", actor="test", now=PERIOD_4)
    view = calendar_view(uow, timezone="UTC", now=PERIOD_4)
    assert view.periods == () and view.current_seq is None and "no periods" in view.note


# ------------------------------------------------------------------ the demo around today

def test_every_date_column_of_the_csv_files_moves_with_the_demo_calendar() -> None:
    dates = {spec.name: tuple(c.name for c in spec.columns if c.parse is csv_io._date) for spec in csv_io.SPECS}
    assert {name: cols for name, cols in dates.items() if cols} == DATE_COLUMNS


def test_shifting_moves_only_the_date_cells() -> None:
    text = "number,customer,item,quantity,due_date\nSO-1,\"Acme, Inc.\",A,5,2027-01-13\n"
    assert shift_dates(text, ("due_date",), 14) == "number,customer,item,quantity,due_date\nSO-1,\"Acme, Inc.\",A,5,2027-01-27\n"
    assert shift_dates(text, ("due_date",), 0) == text
    assert demo_texts("plant", 0) == {p.stem: p.read_text() for p in (DEMO_DIR / "plant").glob("*.csv")}


def _demo(url: str, as_of: str) -> None:
    assert main(["demo", "--no-plan", "--as-of", as_of, "--database-url", url]) == 0


@dataclass(frozen=True)
class Dates:
    periods: dict[int, tuple[dt.date, dt.date]]
    orders: dict[str, dt.date]
    forecasts: list[tuple[dt.date, dt.date]]
    receipts: list[dt.date]
    capacity_rows: int


def _dates(url: str) -> Dates:
    from lpms.bootstrap import open_database
    from lpms.settings import load_settings

    with open_database(load_settings(database_url=url)) as db, db.uow() as uow:
        s = uow.session
        return Dates({p.seq: (p.start_date, p.end_date) for p in s.scalars(select(m.Period))},
                     {o.number: o.due_date for o in s.scalars(select(m.CustomerOrder))},
                     sorted((f.start_date, f.end_date) for f in s.scalars(select(m.Forecast))),
                     sorted(r.due_date for r in s.scalars(select(m.ScheduledReceipt))),
                     int(s.scalar(select(func.count()).select_from(m.Capacity)) or 0))


@pytest.mark.parametrize("as_of, today", [
    ("2026-12-01T08:00", dt.date(2026, 12, 1)),  # a Tuesday
    ("2031-06-15T23:30:00+00:00", dt.date(2031, 6, 15)),  # a Sunday, the last day of a week
])
def test_the_demo_puts_today_in_period_4_and_keeps_every_date_relative(
        as_of: str, today: dt.date, fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _demo(fresh_url, as_of)
    out = capsys.readouterr().out
    d = _dates(fresh_url)
    start, end = d.periods[4]
    assert start <= today <= end and start.weekday() == 0  # period 4 holds today; weeks still start on Monday
    shift = d.periods[1][0] - shipped_period_start(1)
    assert shift.days % 7 == 0 and shift.days != 0
    assert f"demo calendar moved {shift.days // 7:+d} weeks" in out and "today is in period 4" in out
    # every other date moved by the same days, so orders, forecasts and receipts keep their periods
    assert d.orders["PAPER-SO-1"] == dt.date(2027, 1, 20) + shift
    assert d.orders["SO-1011"] == dt.date(2027, 3, 17) + shift
    assert d.receipts[0] == dt.date(2027, 1, 13) + shift
    assert d.forecasts[0] == (dt.date(2027, 1, 4) + shift, dt.date(2027, 1, 31) + shift)
    assert d.periods[12] == (dt.date(2027, 3, 22) + shift, dt.date(2027, 3, 28) + shift)
    # the rolling horizon: 12 periods after period 4, capacity for each of the 8 work centers
    assert sorted(d.periods) == list(range(1, 17)) and d.capacity_rows == 16 * 8
    assert "calendar extended by 4 period(s) (13-16" in out and "is in period 4" in out


def test_two_dates_give_two_placements_of_the_same_plant(db_factory: DatabaseFactory,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    first, second = db_factory.new_url(), db_factory.new_url()
    _demo(first, "2026-12-01T08:00")
    _demo(second, "2027-03-10T08:00")
    capsys.readouterr()
    a, b = _dates(first), _dates(second)
    shift = b.periods[1][0] - a.periods[1][0]
    assert shift == dt.timedelta(weeks=14)
    assert b.periods == {k: (s + shift, e + shift) for k, (s, e) in a.periods.items()}
    assert b.orders == {k: v + shift for k, v in a.orders.items()}
    assert b.forecasts == [(s + shift, e + shift) for s, e in a.forecasts]
    assert b.receipts == [r + shift for r in a.receipts]


def test_loading_the_demo_again_keeps_its_dates_and_rolls_the_horizon_on(
        fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _demo(fresh_url, "2026-12-01T08:00")
    before = _dates(fresh_url)
    _demo(fresh_url, "2026-12-15T08:00")  # two weeks later: today is in period 6
    out = capsys.readouterr().out.split("migrated to head")[-1]
    after = _dates(fresh_url)
    assert "demo calendar kept where an earlier load put it: period 1 starts 2026-11-09" in out
    assert "forecasts: 9 rows (0 new, 0 changed)" in out
    assert "calendar extended by 2 period(s) (17-18" in out and "is in period 6" in out
    assert after.orders == before.orders and after.forecasts == before.forecasts
    assert sorted(after.periods) == list(range(1, 19))


def test_the_demo_plan_is_still_the_papers_table_2(fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--as-of", "2026-12-01T08:00", "--database-url", fresh_url]) == 0
    assert "plan run 1: optimal" in capsys.readouterr().out
    from lpms.bootstrap import open_database
    from lpms.settings import load_settings

    with open_database(load_settings(database_url=fresh_url)) as db, db.uow() as uow:
        s = uow.session
        paper = s.scalar(select(m.Item.id).where(m.Item.code == "LCD-SPARE"))
        lines = {ln.period_seq: (ln.production, ln.inventory, ln.backlog)
                 for ln in s.scalars(select(m.PlanLine).where(m.PlanLine.item_id == paper,
                                                              m.PlanLine.plan_run_id == 1))}  # not the re-plan
    # 16 periods now (12 after today's period 4); the paper's 12 weeks keep Table 2, nothing is made after them
    assert [lines[t][0] for t in range(1, 13)] == [150, 100, 200, 150, 250, 350, 100, 100, 250, 250, 250, 250]
    assert sum(lines[t][1] for t in range(1, 13)) == 680
    assert all(lines.get(t, (0, 0, 0)) == (0, 0, 0) for t in range(13, 17))


# ------------------------------------------------------------------ the commands

def test_calendar_show_marks_the_current_period_of_as_of(fresh_url: str, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    _demo(fresh_url, "2026-12-01T08:00")  # period 4 is 2026-11-30 .. 2026-12-06
    capsys.readouterr()
    assert main(["calendar", "show", "--as-of", "2026-12-06T23:30", "--database-url", fresh_url]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "plant date 2026-12-06 (UTC): current period 4"
    marked = [line for line in out.splitlines() if line.endswith("<- current")]
    assert len(marked) == 1 and marked[0].split()[:4] == ["4", "week", "2026-11-30", "2026-12-06"]
    monkeypatch.setenv("LPMS_TIMEZONE", "Asia/Tokyo")  # 08:30 on Monday 7 December there
    assert main(["calendar", "show", "--as-of", "2026-12-06T23:30", "--database-url", fresh_url,
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["plant_date"] == "2026-12-07" and data["timezone"] == "Asia/Tokyo" and data["current_period"] == 5
    assert data["as_of"] == "2026-12-06T23:30:00+00:00" and len(data["periods"]) == 16
    assert [p["period"] for p in data["periods"] if p["current"]] == [5]
    assert data["periods"][6] == {"period": 7, "bucket": "week", "start_date": "2026-12-21",
                                  "end_date": "2026-12-27", "regular_min": 26500.0, "overtime_min": 7200.0,
                                  "current": False}


def test_calendar_show_past_the_end_says_so_and_extend_catches_up(fresh_url: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _demo(fresh_url, "2026-12-01T08:00")  # the calendar runs to 2027-02-28 (period 16)
    capsys.readouterr()
    assert main(["calendar", "show", "--as-of", "2027-06-01", "--database-url", fresh_url]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == ("plant date 2027-06-01 (UTC): no current period: plant date 2027-06-01 is after "
                                   "the calendar's last period (period 16 ends 2027-02-28): run 'lpms calendar extend'")
    assert "<- current" not in out
    assert main(["calendar", "extend", "--as-of", "2027-06-01", "--horizon", "2", "--database-url", fresh_url]) == 0
    assert capsys.readouterr().out.startswith("calendar extended by 16 period(s) (17-32, 2027-03-01 to 2027-06-20)")
    assert main(["calendar", "extend", "--as-of", "2027-06-01", "--horizon", "2", "--database-url", fresh_url,
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["added"] == [] and data["current_period"] == 30 and data["last_period"] == 32


@pytest.mark.parametrize("argv, words", [
    (["calendar", "show", "--as-of", "yesterday"], "argument --as-of: 'yesterday' is not an ISO 8601 date-time"),
    (["calendar", "extend", "--as-of", "2026-13-01"], "argument --as-of: '2026-13-01' is not an ISO 8601 date-time"),
    (["calendar", "extend", "--horizon", "-3"], "argument --horizon: '-3' is not a whole number"),
])
def test_a_bad_argument_exits_2_with_one_line(argv: list[str], words: str, fresh_url: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--database-url", fresh_url]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("argv", [["calendar", "show"], ["calendar", "extend"], ["demo"]],
                         ids=lambda a: " ".join(a))
def test_a_bad_timezone_exits_2_with_one_line(argv: list[str], fresh_url: str, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LPMS_TIMEZONE", "Mars/Olympus")
    assert main([*argv, "--database-url", fresh_url]) == 2
    err = capsys.readouterr().err
    assert err == ("lpms: environment LPMS_TIMEZONE: timezone='Mars/Olympus': not an IANA time zone name "
                   "(e.g. Europe/Berlin)\n")


def test_a_bad_as_of_setting_exits_2_with_one_line(fresh_url: str, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LPMS_AS_OF", "soon")
    assert main(["calendar", "show", "--database-url", fresh_url]) == 2
    err = capsys.readouterr().err
    assert "environment LPMS_AS_OF" in err and "'soon' is not an ISO 8601 date-time" in err and err.count("\n") == 1


def test_the_as_of_setting_pins_now_for_calendar_show(fresh_url: str, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _demo(fresh_url, "2026-12-01T08:00")
    capsys.readouterr()
    monkeypatch.setenv("LPMS_AS_OF", "2026-12-08T12:00")
    assert main(["calendar", "show", "--database-url", fresh_url]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "plant date 2026-12-08 (UTC): current period 5"


@pytest.mark.parametrize("words", [["calendar"], ["calendar", "show"], ["calendar", "extend"]], ids=" ".join)
def test_the_calendar_commands_describe_themselves(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*words, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: lpms calendar") and "current period" in out
