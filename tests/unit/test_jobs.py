"""The jobs' schedules (aligned fire times, settings checked) and the daily report's HTML (pure)."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from jobs.definitions import EPOCH, default_registry, time_of_day
from jobs.runner import next_fire_times
from lpms.formats.daily_report import fmt_rate, line_chart_svg, render_daily_report
from lpms.services.jobs import JOB_IDS
from lpms.settings import Settings, SettingsError, load_settings

NOW = dt.datetime(2026, 12, 1, 8, 7, 30, tzinfo=dt.UTC)


def test_the_registry_has_the_six_jobs_in_order() -> None:
    assert tuple(default_registry()) == JOB_IDS == (
        "execute_plan_runs", "check_fluctuations", "rolling_replan", "kit_snapshot", "daily_report", "extend_horizon")


def test_fire_times_are_aligned_so_every_scheduler_computes_the_same_ones() -> None:
    settings = Settings(timezone="Europe/Berlin", rolling_replan_time="02:30", daily_report_time="06:00")
    upcoming = next_fire_times(settings, default_registry(), NOW)
    assert upcoming["execute_plan_runs"] == dt.datetime(2026, 12, 1, 8, 7, 30, tzinfo=dt.UTC)
    assert upcoming["check_fluctuations"] == dt.datetime(2026, 12, 1, 8, 15, tzinfo=dt.UTC)
    # times of day are plant time: 02:30 in Berlin (UTC+1 in December) is 01:30 UTC
    assert upcoming["rolling_replan"] == dt.datetime(2026, 12, 2, 1, 30, tzinfo=dt.UTC)
    assert upcoming["daily_report"] == dt.datetime(2026, 12, 2, 5, 0, tzinfo=dt.UTC)
    assert upcoming["kit_snapshot"] == dt.datetime(2026, 12, 1, 23, 5, tzinfo=dt.UTC)
    assert upcoming["extend_horizon"] == dt.datetime(2026, 12, 1, 23, 15, tzinfo=dt.UTC)
    # a second computation a little later (another process started later) finds the same fire
    later = next_fire_times(settings, default_registry(), NOW + dt.timedelta(minutes=3))
    assert later["check_fluctuations"] == upcoming["check_fluctuations"]
    odd = next_fire_times(Settings(fluctuation_check_minutes=7), default_registry(), NOW)
    fire = odd["check_fluctuations"]
    assert fire is not None and (fire - EPOCH) % dt.timedelta(minutes=7) == dt.timedelta(0)


@pytest.mark.parametrize("value", ["25:00", "2pm", "", "02:60", "0200"])
def test_a_time_of_day_setting_must_be_hh_mm(value: str) -> None:
    settings = Settings(rolling_replan_time=value)
    with pytest.raises(SettingsError, match=f"rolling_replan_time={value!r}: not a time of day HH:MM"):
        default_registry()["rolling_replan"].trigger(settings)
    assert time_of_day(Settings(rolling_replan_time="7:05"), "rolling_replan_time") == (7, 5)


def test_interval_settings_must_be_positive() -> None:
    with pytest.raises(SettingsError, match="fluctuation_check_minutes=0: must be at least 1"):
        default_registry()["check_fluctuations"].trigger(Settings(fluctuation_check_minutes=0))
    settings = load_settings(environ={"LPMS_PLAN_RUN_POLL_SECONDS": "2", "LPMS_DAILY_REPORT_TIME": "07:15"},
                             config_path=None)
    assert settings.plan_run_poll_seconds == 2 and settings.daily_report_time == "07:15"


def _data() -> dict[str, Any]:
    return {
        "as_of": "2026-12-08T09:00:00+00:00", "current_period": 2, "period_start": "2026-12-07",
        "progress": {"on_time_rate": 0.5, "intervals": [{"interval": "I:P", "item": "P", "planned": 10, "actual": 4,
                                                          "gap": 6}],
                     "items": [{"item": "<P&amp>", "planned": 10, "actual": 4, "gap": 6}],
                     "work_centers": [{"work_center": "ASM", "planned": 300, "actual": 120, "gap": 180}]},
        "kit": {"rate": 0.75, "window": 1, "history": [{"period": 1, "rate": 1.0}, {"period": 2, "rate": None},
                                                        {"period": 3, "rate": 0.5}],
                "work_orders": [{"number": "WO-P02-0001", "coverage": 0.4, "kit_complete_date": None,
                                 "short": [{"item": "C", "required": 10, "available": 4}]},
                                {"number": "WO-P02-0002", "coverage": 1.0, "kit_complete_date": "2026-12-07",
                                 "short": []}]},
        "on_time": {"rate": 0.5, "counted": 2, "on_time": 1, "late": ["WO-P01-0002"]},
        "wip": {"units": 12, "open_orders": 2, "work_centers": [{"work_center": "TEST", "units": 12}],
                "work_orders": [{"number": "WO-P02-0001", "item": "P", "started": 20, "in_process": 12,
                                 "remaining": 30}]},
        "buffers": {"buffers": [{"item": "S", "on_hand": 3, "safety_stock": 10, "margin": -7, "below": True}],
                    "below": ["S"]},
        "overtime": {"work_centers": [{"work_center": "ASM", "planned_min": 60, "used_min": 90, "excess_min": 30}]},
    }


def _page(data: dict[str, Any]) -> str:
    return render_daily_report(data, title="Progress report 2026-12-08", plant_date=dt.date(2026, 12, 8),
                               timezone="UTC", as_of=dt.datetime(2026, 12, 8, 9, tzinfo=dt.UTC), report_id=7)


def test_the_report_page_shows_every_measure_with_charts_and_escapes_the_data() -> None:
    page = _page(_data())
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 2 and "<script" not in page and not re.search(r"(src|href)=", page)
    assert "75.0%" in page and "50.0%" in page  # kit and on-time rates, shown as percentages
    assert "&lt;P&amp;amp&gt;" in page and "<P&amp>" not in page
    assert "WO-P02-0001" in page and "C 4/10" in page and "beyond the horizon" in page
    assert "WO-P02-0002" not in page.split("Work orders with an incomplete kit")[1].split("<h2>")[0]
    assert "WO-P01-0002" in page and ">S<" in page and "report 7" in page
    # the gap in the kit history splits the line into two pieces
    assert page.count("<polyline") == 2


def test_missing_parts_are_shown_as_none_not_an_error() -> None:
    page = _page({"as_of": "2026-12-08T09:00:00+00:00"})
    assert "no history yet" in page and page.count("none") >= 5 and "&ndash;" in page


def test_rates_and_charts_handle_odd_values() -> None:
    assert fmt_rate(None) == "&ndash;" and fmt_rate(float("nan")) == "&ndash;" and fmt_rate(0.123) == "12.3%"
    svg = line_chart_svg([("P1", 1.5), ("P2", -0.2)])
    ys = [float(y) for y in re.findall(r'cy="([\d.]+)"', svg)]
    assert len(ys) == 2 and min(ys) >= 10 and max(ys) <= 172  # clipped to the chart
