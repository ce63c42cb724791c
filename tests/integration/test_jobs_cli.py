"""`lpms jobs ...`: list, run-once, request, runs, and `lpms jobs run` as a real foreground
process that picks up a request and stops cleanly on SIGTERM."""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from lpms.cli import main
from lpms.db import migrate
from lpms.db.session import UnitOfWork, make_engine, session_factory
from lpms.domain.enums import JobRequestStatus
from lpms.services import jobs as job_service
from tests.conftest import DatabaseFactory
from tests.shop_floor_plant import load_plant

pytestmark = pytest.mark.db


@pytest.fixture
def url(db_factory: DatabaseFactory) -> str:
    u = db_factory.new_url()
    migrate.upgrade(u)
    return u


_ENGINES: dict[str, Engine] = {}


def _uow(url: str) -> UnitOfWork:
    """A unit of work for the test's own checks (one engine per database, disposed after the test)."""
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return UnitOfWork(session_factory(_ENGINES[url]))


@pytest.fixture(autouse=True)
def _dispose() -> Iterator[None]:
    yield
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()


def test_list_prints_every_job_with_schedule_next_fire_and_last_run(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jobs", "run-once", "extend_horizon", "--database-url", url, "--as-of", "2026-12-01T08:00"]) == 2
    assert capsys.readouterr().out.startswith("extend_horizon: failed (run 1): not_found: ")
    load_plant(_uow(url))
    assert main(["jobs", "run-once", "extend_horizon", "--database-url", url, "--as-of", "2026-12-01T08:00",
                 "--format", "json"]) == 0
    once = json.loads(capsys.readouterr().out)
    assert once["status"] == "succeeded" and once["job"] == "extend_horizon" and once["fire_time"].startswith("2026-12-01T08:00")
    assert main(["jobs", "list", "--database-url", url, "--as-of", "2026-12-01T08:00", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["job"] for r in rows] == list(job_service.JOB_IDS)
    by_id = {r["job"]: r for r in rows}
    assert by_id["extend_horizon"]["last_run"]["status"] == "succeeded"
    assert by_id["extend_horizon"]["next_fire_time"] == "2026-12-02T00:15:00+00:00"
    assert by_id["daily_report"]["last_run"] is None and "06:00" in by_id["daily_report"]["schedule"]
    assert main(["jobs", "list", "--database-url", url, "--as-of", "2026-12-01T08:00"]) == 0
    table = capsys.readouterr().out
    assert "extend_horizon" in table and "succeeded 2026-12-01 08:00" in table and "never" in table


def test_run_once_of_a_failing_job_exits_with_its_errors_status(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    # an empty database has no calendar: the kit snapshot cannot find a period (not found: exit 2)
    assert main(["jobs", "run-once", "kit_snapshot", "--database-url", url, "--as-of", "2026-12-01T08:00"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("kit_snapshot: failed (run ") and "not_found" in out
    assert main(["jobs", "runs", "--database-url", url, "--format", "json", "--job", "kit_snapshot"]) == 0
    [run] = json.loads(capsys.readouterr().out)
    assert run["status"] == "failed" and run["trigger"] == "manual"


def test_bad_arguments_exit_2_with_one_line(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jobs", "run-once", "nope", "--database-url", url]) == 2
    assert main(["jobs", "request", "nope", "--database-url", url]) == 2
    assert main(["jobs", "runs", "--job", "nope", "--database-url", url]) == 2
    assert main(["jobs", "runs", "--limit", "0", "--database-url", url]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and "invalid choice: 'nope'" in err[0] and "unknown job 'nope'" in err[2]


def test_a_bad_schedule_setting_stops_run_with_exit_2(url: str, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LPMS_ROLLING_REPLAN_TIME", "25:00")
    assert main(["jobs", "run", "--database-url", url]) == 2
    assert "rolling_replan_time='25:00': not a time of day HH:MM" in capsys.readouterr().err


def test_jobs_run_picks_up_a_request_within_5_s_and_stops_cleanly_on_sigterm(url: str, tmp_path: Path) -> None:
    load_plant(_uow(url))
    env = {**os.environ, "LPMS_DATABASE_URL": url, "LPMS_INSTANCE_DIR": str(tmp_path / "instance"),
           "LPMS_AS_OF": "2026-12-01T08:00"}
    proc = subprocess.Popen([sys.executable, "-m", "lpms", "jobs", "run"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("lpms jobs: runner ") and "Ctrl-C or SIGTERM stops" in first, first
        from lpms.services.jobs import request_job

        request_id = request_job(_uow(url), "extend_horizon", actor="web:ann",
                                 now=dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC))
        asked = time.monotonic()
        status = JobRequestStatus.PENDING
        while time.monotonic() - asked < 15 and status in (JobRequestStatus.PENDING, JobRequestStatus.RUNNING):
            time.sleep(0.1)
            status = job_service.list_job_requests(_uow(url), limit=1)[0].status
        took = time.monotonic() - asked
        assert status is JobRequestStatus.SUCCEEDED and took < 5, (status, took)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("lpms jobs: stopped") and "Traceback" not in err
    [run] = job_service.list_job_runs(_uow(url), job_id="extend_horizon")
    assert run.request_id == request_id and run.status.value == "succeeded"
    assert "calendar extended by" in run.message
