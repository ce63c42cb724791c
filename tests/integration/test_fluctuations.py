"""Fluctuation detection on the database: every kind is found on a constructed case and not
found at (just below) its threshold; findings are stored as the events of one check; the demand
baseline of the approved run; `lpms fluctuations`. SQLite and PostgreSQL."""
from __future__ import annotations

import json

import pytest

from lpms.cli import main
from lpms.db import migrate
from lpms.db.session import UnitOfWork, make_engine, session_factory
from lpms.domain.enums import FluctuationKind as K
from lpms.services.csv_io import import_texts
from lpms.services.fluctuations import (
    FluctuationThresholds,
    detect_fluctuations,
    detection_dict,
    list_fluctuations,
    record_demand_baseline,
)
from lpms.services.reports import report_downtime
from tests.integration.test_kit import competing
from tests.integration.test_progress import MID_P3, at, hand_plant

pytestmark = pytest.mark.db

# thresholds that find nothing in the hand-made plant, so each test moves one of them
QUIET = FluctuationThresholds(behind_plan_units=1000, behind_plan_fraction=1, kit_rate=0, downtime_min=10_000,
                              scrap_fraction=1, buffer_shortfall_units=1000, demand_change_units=1000)


def found(uow: UnitOfWork, kind: K, now: object = MID_P3, **changes: float) -> list[tuple[str, float]]:
    t = FluctuationThresholds(**{**QUIET.__dict__, **changes})
    d = detect_fluctuations(uow, thresholds=t, actor="test", now=now)  # type: ignore[arg-type]
    return [(f.subject, f.amount) for f in d.findings if f.kind is kind]


def test_behind_plan_beyond_units_and_fraction(uow: UnitOfWork) -> None:
    hand_plant(uow)  # I:P 60 of 150 behind (0.4), I:Q 25 of 130 (0.1923)
    assert found(uow, K.BEHIND_PLAN, behind_plan_units=25, behind_plan_fraction=0.1) == [("I:P", 60.0)]
    assert found(uow, K.BEHIND_PLAN, behind_plan_units=24.99, behind_plan_fraction=0.1) == [("I:P", 60.0),
                                                                                            ("I:Q", 25.0)]
    assert found(uow, K.BEHIND_PLAN, behind_plan_units=0, behind_plan_fraction=0.4) == []
    assert found(uow, K.BEHIND_PLAN, behind_plan_units=0, behind_plan_fraction=0.399) == [("I:P", 60.0)]


def test_scrap_beyond_its_share_of_the_order(uow: UnitOfWork) -> None:
    hand_plant(uow)  # 2 scrapped of 40 (0.05)
    assert found(uow, K.SCRAP, scrap_fraction=0.05) == []
    assert found(uow, K.SCRAP, scrap_fraction=0.049) == [("Q-3", 2.0)]


def test_downtime_beyond_the_threshold_in_the_current_period(uow: UnitOfWork) -> None:
    hand_plant(uow)
    report_downtime(uow, "ASM", 500, "earlier week", client_key="d0", actor="test", now=at(2))
    report_downtime(uow, "ASM", 60, "jam", client_key="d1", actor="test", now=at(3))
    report_downtime(uow, "ASM", 30, "jam again", client_key="d2", actor="test", now=at(3, 2))
    assert found(uow, K.DOWNTIME, downtime_min=90) == []
    assert found(uow, K.DOWNTIME, downtime_min=89.9) == [("ASM", 90.0)]


def test_a_buffer_under_its_safety_stock(uow: UnitOfWork) -> None:
    hand_plant(uow)  # P: 100 opening + 90 output
    import_texts(uow, {"items": "code,name,kind,lead_time_periods,stocked,safety_stock\nP,Product P,product,0,true,200\n"},
                 actor="test", now=at(1))
    assert found(uow, K.BUFFER_BELOW_SAFETY, buffer_shortfall_units=10) == []
    assert found(uow, K.BUFFER_BELOW_SAFETY, buffer_shortfall_units=9.99) == [("P", 10.0)]
    assert found(uow, K.BUFFER_BELOW_SAFETY, buffer_shortfall_units=0) == [("P", 10.0)]


def test_the_kit_rate_below_its_threshold_does_not_call_for_a_replan(uow: UnitOfWork) -> None:
    competing(uow)  # period 4: P-A complete, P-B short
    assert found(uow, K.KIT_RATE, at(4), kit_rate=0.5) == []
    d = detect_fluctuations(uow, thresholds=FluctuationThresholds(**{**QUIET.__dict__, "kit_rate": 0.51}),
                            actor="test", now=at(4))
    [f] = d.findings
    assert (f.kind, f.subject, f.amount, f.triggers_replan) == (K.KIT_RATE, "period 4", 0.5, False)
    assert f.detail["short"] == {"P-B": ["C"]} and d.triggers_replan is False


def test_demand_changes_since_the_approved_run(uow: UnitOfWork) -> None:
    hand_plant(uow)
    first = detect_fluctuations(uow, thresholds=QUIET, actor="test", now=MID_P3)
    assert first.baseline_recorded is True and first.findings == ()
    assert record_demand_baseline(uow, actor="test", now=MID_P3) is not None  # kept, not replaced
    import_texts(uow, {
        "orders": "number,customer,item,quantity,due_date,status\nSO-1,Acme,P,35,2026-12-03,open\n"
                  "SO-2,Acme,Q,20,2026-12-10,cancelled\nSO-3,Bolt,Q,5,2026-12-24,open\n",
        "forecasts": "item,start_date,end_date,quantity\nQ,2026-11-30,2027-01-10,305\n"}, actor="test", now=MID_P3)
    assert found(uow, K.ORDER_CHANGED, demand_change_units=5) == []
    assert found(uow, K.ORDER_NEW, demand_change_units=5) == []
    assert found(uow, K.FORECAST_CHANGED, demand_change_units=5) == []
    assert found(uow, K.ORDER_CANCELLED, demand_change_units=5) == [("SO-2", 20.0)]
    d = detect_fluctuations(uow, thresholds=FluctuationThresholds(**{**QUIET.__dict__, "demand_change_units": 4.99}),
                            actor="test", now=MID_P3)
    assert d.baseline_recorded is False and d.triggers_replan is True
    assert sorted((f.kind.value, f.subject, f.amount) for f in d.findings) == [
        ("forecast_changed", "Q", 5.0), ("order_cancelled", "SO-2", 20.0), ("order_changed", "SO-1", 5.0),
        ("order_new", "SO-3", 5.0)]
    # a due date that moved is a change whatever the threshold; a shipped order is fulfilled, not cancelled
    import_texts(uow, {"orders": "number,customer,item,quantity,due_date,status\nSO-1,Acme,P,30,2026-12-03,shipped\n"
                                 "SO-2,Acme,Q,20,2026-12-11,open\nSO-3,Bolt,Q,5,2026-12-24,cancelled\n",
                       "forecasts": "item,start_date,end_date,quantity\nQ,2026-11-30,2027-01-10,300\n"},
                 actor="test", now=MID_P3)
    d = detect_fluctuations(uow, thresholds=QUIET, actor="test", now=MID_P3)
    assert [(f.kind, f.subject, f.detail["before"]["due_date"], f.detail["due_date"]) for f in d.findings] == [
        (K.ORDER_CHANGED, "SO-2", "2026-12-10", "2026-12-11")]


def test_findings_are_stored_as_events_of_one_check(uow: UnitOfWork) -> None:
    hand_plant(uow)
    d = detect_fluctuations(uow, thresholds=FluctuationThresholds(), actor="job", now=MID_P3)
    assert [f.kind for f in d.findings] == [K.BEHIND_PLAN, K.BEHIND_PLAN] and d.triggers_replan
    events = list_fluctuations(uow)
    assert [(e.check_id, e.kind, e.subject, e.triggers_replan, e.detected_at) for e in events] == [
        (d.check_id, K.BEHIND_PLAN, "I:Q", True, MID_P3), (d.check_id, K.BEHIND_PLAN, "I:P", True, MID_P3)]
    assert events[1].detail == {"item": "P", "planned": 150.0, "actual": 90.0, "gap_fraction": 0.4}
    empty = detect_fluctuations(uow, thresholds=QUIET, actor="job", now=MID_P3)
    assert empty.check_id > d.check_id and empty.findings == () and len(list_fluctuations(uow)) == 2
    assert len(list_fluctuations(uow, limit=1)) == 1
    out = detection_dict(d)
    assert out["findings"][0] == {"kind": "behind_plan", "subject": "I:P", "amount": 60.0, "triggers_replan": True,
                                  "detail": {"item": "P", "planned": 150.0, "actual": 90.0, "gap_fraction": 0.4}}


def test_cli_fluctuations(fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    migrate.upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        hand_plant(UnitOfWork(session_factory(engine)))
    finally:
        engine.dispose()
    args = ["--as-of", "2026-12-17T12:00", "--database-url", fresh_url]
    assert main(["fluctuations", *args]) == 0
    out = capsys.readouterr().out
    assert "check 1 at 2026-12-17T12:00:00+00:00 (period 3, plan run 1): 2 finding(s); a re-plan is called for" in out
    assert "behind plan: I:P 60 units behind (40% of 150 planned) [re-plan]" in out
    assert "demand baseline of plan run 1 recorded now" in out
    assert main(["fluctuations", "--format", "json", *args]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["check_id"] == 2 and d["baseline_recorded"] is False and len(d["findings"]) == 2
    assert main(["fluctuations", "--list", "--format", "json", *args]) == 0
    events = json.loads(capsys.readouterr().out)
    assert len(events) == 4 and events[0]["check_id"] == 2 and set(events[0]) == {
        "id", "check_id", "detected_at", "kind", "subject", "amount", "detail", "triggers_replan"}
    assert main(["fluctuations", "--list", "--limit", "0", *args]) == 2
