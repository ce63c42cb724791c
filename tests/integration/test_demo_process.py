"""`lpms demo` runs the demo plant's shop floor up to today: work orders released period by
period, completion and downtime reports, the kit-rate history, a fluctuation check and a re-plan,
summarised in a few lines; loading it again simulates nothing twice."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from lpms.bootstrap import open_database
from lpms.cli import main
from lpms.db import models as m
from lpms.db import models_process as mp
from lpms.domain.enums import PlanRunStatus
from lpms.settings import load_settings

AS_OF = "2026-12-01T08:00"  # the demo puts it in period 4 (2026-11-30 .. 2026-12-06)


def test_the_demo_runs_the_shop_floor_and_summarises_it(fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--as-of", AS_OF, "--database-url", fresh_url]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) <= 20
    assert re.search(r"shop floor: plan run 1 approved, periods 1-5 released \(\d+ work orders\), \d+ completion and 2 "
                     r"downtime reports, \d+ purchases received before today \(period 4\)", out)
    progress = re.search(r"progress to date: ([\d.]+) of ([\d.]+) planned units made .* kit rate (\d+)% "
                         r"\((\d+) of (\d+) kits complete this period\)", out)
    assert progress, out
    made, planned = float(progress[1]), float(progress[2])
    # the shop floor made something against a plan; some intervals behind it (the detection below)
    # while others may be ahead, so the total can go either way
    assert made > 0 and planned > 0
    assert int(progress[4]) == int(progress[5]) - 1  # exactly one kit is incomplete
    assert "  incomplete kit: WO-P04-" in out
    assert re.search(r"detected \d+ fluctuation\(s\): \d+ behind plan.*1 downtime; a re-plan is called for", out)
    assert re.search(r"re-plan: run 2 approved \(.*\), [\d.]+ units moved", out)

    with open_database(load_settings(database_url=fresh_url)) as db, db.uow() as uow:
        s = uow.session
        assert [p for (p,) in s.execute(select(mp.KitSnapshot.period_seq).order_by(mp.KitSnapshot.period_seq))] == [1, 2, 3]
        assert s.scalar(select(func.count()).select_from(mp.FluctuationCheck)) == 1
        assert (s.scalar(select(func.count()).select_from(mp.DemandBaseline)) or 0) >= 1
        assert (s.scalar(select(func.count()).select_from(m.CompletionReport)) or 0) > 0
        assert {p for (p,) in s.execute(select(m.PeriodRelease.period_seq))} == {1, 2, 3, 4, 5}
        statuses = dict(s.execute(select(m.PlanRun.id, m.PlanRun.status)).tuples().all())
        assert statuses[1] is PlanRunStatus.SUPERSEDED and statuses[2] is PlanRunStatus.APPROVED
        # no stock went negative (the demo plant does not allow it)
        assert all(lvl.on_hand >= 0 for lvl in uow.stock.levels().values())

    # every later command sees the live plant
    assert main(["kit", "--format", "json", "--as-of", AS_OF, "--database-url", fresh_url]) == 0
    kit = json.loads(capsys.readouterr().out)
    assert [h["period"] for h in kit["history"]] == ["2026-11-09", "2026-11-16", "2026-11-23"]
    assert sum(1 for w in kit["work_orders"] if w["short"]) == 1

    # loading the demo again simulates nothing twice
    assert main(["demo", "--as-of", AS_OF, "--database-url", fresh_url]) == 0
    again = capsys.readouterr().out
    assert re.search(r"shop floor already running \(\d+ work orders\): no reports simulated", again)


def test_no_plan_means_no_shop_floor(fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-plan", "--as-of", AS_OF, "--database-url", fresh_url]) == 0
    assert "shop floor" not in capsys.readouterr().out
