#!/usr/bin/env python3
"""Developer tasks, standard library only: `python3 tasks.py TASK [ARGS...]`.

  demo          set up .venv from the lock file, run `lpms demo` (SQLite under instance/), then serve
                it at http://127.0.0.1:8000 with the jobs process (Ctrl-C stops; --no-serve: demo only)
  test          lint, the whole suite on SQLite, the database tests on PostgreSQL, then alembic check
  lint          ruff and mypy
  bench NAME    a benchmark under bench/ (horizon, plan_scale, balance, process)
  lock          re-compile requirements.lock from setup.cfg's ranges (`lock --upgrade`: newest)
  test-latest   the suite against the newest versions setup.cfg allows (.venv-latest, no lock)

Installs are reproducible: .venv gets exactly the versions (and hashes) in requirements.lock;
it is rebuilt when setup.cfg, setup.py, pyproject.toml or the lock file change.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LOCK = ROOT / "requirements.lock"
STAMPED = ("setup.cfg", "setup.py", "pyproject.toml", "requirements.lock")


def bin_dir(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


VENV = ROOT / ".venv"
BIN = bin_dir(VENV)
PY = BIN / "python"


def say(text: str) -> None:
    print(text, flush=True)


def run(*cmd: object, check: bool = True, quiet: bool = False) -> int:
    if not quiet:
        say("+ " + " ".join(str(c) for c in cmd))
    rc = subprocess.call([str(c) for c in cmd], cwd=ROOT)
    if check and rc != 0:
        raise SystemExit(rc)
    return rc


def pip(venv: Path, *args: object) -> None:
    # -qq: only errors; what is being done is said by the caller in one line
    run(bin_dir(venv) / "python", "-m", "pip", "install", "-qq", "--disable-pip-version-check", *args, quiet=True)


def ensure_python() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py runs under any python3 and says why it stops
        raise SystemExit(f"LPMS needs Python 3.11 or newer, this is {sys.version.split()[0]}")


def ensure_venv() -> None:
    """Create .venv with the locked dependencies and LPMS itself (editable), once per lock change."""
    ensure_python()
    stamp = hashlib.sha256(b"".join((ROOT / f).read_bytes() for f in STAMPED)).hexdigest()
    marker = VENV / ".lpms-installed"
    if marker.exists() and marker.read_text() == stamp and PY.exists():
        return
    if not PY.exists():
        say(f"setting up {VENV.name}/ (first run only: installs the locked dependencies, about a minute)")
        run(sys.executable, "-m", "venv", VENV, quiet=True)
    else:
        say(f"updating {VENV.name}/ to requirements.lock")
    pip(VENV, "--require-hashes", "-r", LOCK)
    pip(VENV, "--no-deps", "-e", ".")
    marker.write_text(stamp)
    say(f"{VENV.name}/ ready: {len(_locked())} locked packages and lpms (editable)")


def _locked() -> list[str]:
    return [ln.split(" ")[0] for ln in LOCK.read_text().splitlines() if "==" in ln and not ln.startswith(("#", " "))]


def demo(args: list[str]) -> None:
    """`lpms demo` (load, plan, run the shop floor up to today), then serve it with the jobs
    process beside it until Ctrl-C; `--no-serve` stops after the demo."""
    serve = "--no-serve" not in args
    args = [a for a in args if a != "--no-serve"]
    ensure_venv()
    run(BIN / "lpms", "demo", *args, quiet=True)
    if serve:
        try:
            run(BIN / "lpms", "serve", "--demo", quiet=True)
        except KeyboardInterrupt:  # Ctrl-C reached lpms serve too; it stops the server and the jobs process
            say("stopped")


def _suite(py: Path, lpms: Path, args: list[str]) -> None:
    # 1. the whole suite, database tests on SQLite
    run(py, "-m", "pytest", "--db=sqlite", *args)
    # 2. the database tests again on PostgreSQL (required: an unreachable server fails the run)
    run(py, "-m", "pytest", "-m", "db", "--db=postgresql", *args)
    # 3. alembic check: models and migrations agree
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/check.db"
        run(lpms, "db", "upgrade", "--database-url", url)
        run(lpms, "db", "check", "--database-url", url)


def lint(args: list[str]) -> None:
    """ruff (lint) and mypy (types; strict on lpms/domain and lpms/planning), as configured in the repository."""
    ensure_venv()
    run(BIN / "ruff", "check", ".", *args)
    run(BIN / "mypy")


def test(args: list[str]) -> None:
    lint([])
    _suite(PY, BIN / "lpms", args)


def bench(args: list[str]) -> None:
    ensure_venv()
    run(PY, "-m", "bench", *args)


def lock(args: list[str]) -> None:
    """Compile requirements.lock from setup.cfg (pip-tools in .venv-tools); `--upgrade` takes the newest."""
    ensure_python()
    tools = ROOT / ".venv-tools"
    if not bin_dir(tools).joinpath("pip-compile").exists():
        say("setting up .venv-tools/ (pip-tools)")
        run(sys.executable, "-m", "venv", tools, quiet=True)
        pip(tools, "pip-tools>=7.4,<8")
    run(bin_dir(tools) / "pip-compile", "--quiet", "--extra", "test", "--generate-hashes", "--strip-extras",
        "--no-emit-index-url", "--no-emit-find-links", "--output-file", LOCK.name, *args, "setup.cfg")
    say(f"{LOCK.name}: {len(_locked())} packages pinned")


def test_latest(args: list[str]) -> None:
    """The suite against the newest versions setup.cfg's ranges allow (not part of CI)."""
    ensure_python()
    venv = ROOT / ".venv-latest"
    if venv.exists():
        shutil.rmtree(venv)
    say(f"setting up {venv.name}/ with the newest allowed versions (ignoring {LOCK.name})")
    run(sys.executable, "-m", "venv", venv, quiet=True)
    pip(venv, "--upgrade", "pip")
    pip(venv, "--upgrade", "-e", ".[test]")
    run(bin_dir(venv) / "python", "-m", "pip", "list", "--format=freeze", quiet=True)
    _suite(bin_dir(venv) / "python", bin_dir(venv) / "lpms", args)


TASKS = {"demo": demo, "test": test, "lint": lint, "bench": bench, "lock": lock, "test-latest": test_latest}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        raise SystemExit(f"usage: python3 tasks.py {{{'|'.join(TASKS)}}} [ARGS...]")
    TASKS[sys.argv[1]](sys.argv[2:])
