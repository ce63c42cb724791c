"""No traceback reaches a user: each command with bad settings, URLs, paths and arguments
exits with its category's status and one clear line, and creates nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lpms.cli import EXIT_CODES, main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


@pytest.fixture
def empty_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "empty"
    work.mkdir()
    monkeypatch.chdir(work)
    for key in list(os.environ):
        if key.startswith("LPMS_"):
            monkeypatch.delenv(key)
    return work


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return rc, out, err


NEEDS_DATABASE = [
    ["plan", "run"],
    ["network", "show"],
    ["export", "out"],
    ["import", "."],
    ["db", "current"],
    ["db", "downgrade"],
    ["db", "check"],
]


@pytest.mark.parametrize("argv", NEEDS_DATABASE, ids=[" ".join(a) for a in NEEDS_DATABASE])
def test_commands_in_an_empty_directory_say_there_is_no_database_and_create_nothing(
        argv: list[str], empty_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, *argv)
    assert rc == 2
    assert "no database at" in err and "lpms demo" in err and "lpms db upgrade" in err
    assert err.count("\n") == 1
    assert list(empty_dir.iterdir()) == []


@pytest.mark.parametrize("argv", NEEDS_DATABASE + [["demo"], ["db", "upgrade"]],
                         ids=[" ".join(a) for a in NEEDS_DATABASE + [["demo"], ["db", "upgrade"]]])
def test_a_bad_setting_is_named_and_nothing_is_created(argv: list[str], empty_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LPMS_LOG_LEVEL", "LOUD")
    rc, _, err = _run(capsys, *argv)
    assert rc == 2
    assert "environment LPMS_LOG_LEVEL: log_level='LOUD': not one of DEBUG, INFO" in err
    assert list(empty_dir.iterdir()) == []


@pytest.mark.parametrize("url, words", [
    ("nonsense", "is not a database URL"),
    ("mysql://root@127.0.0.1/x", "only sqlite:/// and postgresql+psycopg:// are supported"),
    ("postgresql+psycopg2://u@h/x", "driver 'psycopg2' is not installed"),
    ("sqlite://", "names no file"),
])
def test_a_bad_database_url_is_named(url: str, words: str, empty_dir: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "db", "current", "--database-url", url)
    assert rc == 2 and words in err and "--database-url" in err


def test_a_port_nobody_listens_on_is_unavailable(empty_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "db", "upgrade", "--database-url", "postgresql://postgres@127.0.0.1:9/lpms")
    assert rc == EXIT_CODES["unavailable"] == 4
    assert err.startswith("lpms: database postgresql+psycopg://postgres@127.0.0.1:9/lpms: ")
    assert err.count("\n") == 1


def test_a_missing_scenario_file_and_a_missing_import_directory_are_named(
        empty_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "plan", "solve", "nope.json")
    assert rc == 2 and "nope.json: cannot read" in err
    rc, _, err = _run(capsys, "plan", "solve", "nope.json", "--priority", "late,nonsense")
    assert rc == 2 and "unknown objective 'nonsense'" in err


@pytest.mark.db
def test_unknown_revisions_are_named(fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--database-url", fresh_url]) == 0
    capsys.readouterr()
    for action in ("upgrade", "downgrade"):
        rc, _, err = _run(capsys, "db", action, "nonsense-rev", "--database-url", fresh_url)
        assert rc == 2
        assert "revision 'nonsense-rev'" in err and "known: head, base" in err


@pytest.mark.db
def test_a_database_that_does_not_exist_on_the_server_is_unavailable(
        request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> None:
    if request.config.getoption("--db") != "postgresql":
        pytest.skip("a PostgreSQL server is needed (runs in the --db=postgresql pass)")
    admin = request.config.getoption("--pg-admin-url")
    url = admin.rsplit("/", 1)[0] + "/lpms_no_such_database"
    for argv in (["db", "current"], ["demo"], ["plan", "run"]):
        rc, _, err = _run(capsys, *argv, "--database-url", url)
        assert rc == 4
        assert 'database "lpms_no_such_database" does not exist' in err
        assert err.count("\n") == 1


@pytest.mark.db
def test_demo_reset_empties_the_database_on_every_backend(fresh_url: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-plan", "--database-url", fresh_url]) == 0
    (tmp_path / "items.csv").write_text("code,kind\nEXTRA-ITEM,part\n")
    assert main(["import", str(tmp_path), "--database-url", fresh_url]) == 0
    capsys.readouterr()
    assert main(["demo", "--reset", "--no-plan", "--database-url", fresh_url]) == 0
    out = capsys.readouterr().out
    assert "database holds: 31 items" in out
    export = tmp_path / "export"
    assert main(["export", str(export), "--database-url", fresh_url]) == 0
    assert "EXTRA-ITEM" not in (export / "items.csv").read_text()


def test_an_unexpected_error_prints_one_line_and_where_the_details_are(
        empty_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import lpms.cli as cli

    def boom(_args: object) -> int:
        raise KeyError("surprise")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    subparsers: Any = parser._subparsers._group_actions[0]  # type: ignore[union-attr]  # argparse internals
    subparsers.choices["export"].set_defaults(func=boom)
    rc, _, err = _run(capsys, "export", "x")
    assert rc == EXIT_CODES["internal"] == 1
    assert err.startswith("lpms: internal error (KeyError: 'surprise'); details in ")
    log = Path(err.rsplit("details in ", 1)[1].strip())
    assert "Traceback" in log.read_text() and "surprise" in log.read_text()
    log.unlink()


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
@pytest.mark.parametrize("extra", [[], ["--priority", "late,overtime,inventory,balance"],
                                   ["--pareto", "inventory,overtime"]], ids=["weighted", "priority", "pareto"])
def test_every_json_output_is_pure_json_in_a_fresh_process(example: Path, extra: list[str], tmp_path: Path) -> None:
    # a fresh process: the solver's banner would appear on the first solve of a process
    done = subprocess.run([sys.executable, "-m", "lpms", "plan", "solve", str(example), "--format", "json", *extra],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)
    assert done.stderr == ""


@pytest.mark.db
def test_a_solver_failure_is_unavailable_and_the_run_is_recorded_failed(
        fresh_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import lpms.services.plan_runs as plan_runs
    from lpms.planning.solver import SolverError

    assert main(["demo", "--no-plan", "--database-url", fresh_url]) == 0

    def fail(*_args: object, **_kwargs: object) -> None:
        raise SolverError("HiGHS stopped without a proven optimum: Solve error")

    monkeypatch.setattr(plan_runs, "plan_weighted", fail)
    capsys.readouterr()
    rc, _, err = _run(capsys, "plan", "run", "--database-url", fresh_url)
    assert rc == EXIT_CODES["unavailable"] == 4
    assert err == "lpms: HiGHS stopped without a proven optimum: Solve error\n"
    from lpms.bootstrap import open_database
    from lpms.settings import load_settings

    with open_database(load_settings(environ={}, database_url=fresh_url)) as db:
        uow = db.uow()
        with uow:
            run = uow.plan_runs.get(1)
    assert run.status.value == "failed" and run.message == "HiGHS stopped without a proven optimum: Solve error"
    assert run.finished_at is not None


def test_users_add_refuses_an_unknown_role_and_a_missing_password_plainly(
        empty_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    rc, _, err = _run(capsys, "users", "add", "x", "--role", "god")
    assert rc == 2 and "argument --role: invalid choice: 'god'" in err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal, nothing piped in
    rc, _, err = _run(capsys, "users", "add", "x", "--role", "planner")
    assert rc == 2 and err.strip() == "lpms users: no terminal to type the password at: pipe it in with " \
        "--password-stdin"
    rc, _, err = _run(capsys, "users", "add", "x", "--role", "planner", "--password-stdin")
    assert rc == 2 and err.strip() == "lpms users: --password-stdin: no password on standard input"


def test_a_database_option_before_the_command_gets_a_hint(empty_dir: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "--database-url", "sqlite:///x.db", "progress")
    assert rc == 2 and err.strip().endswith("(--database-url goes after the command: lpms COMMAND --database-url ...)")
    assert not (empty_dir / "x.db").exists()
